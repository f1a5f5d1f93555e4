// server/auth.cc — see auth.h.
#include "watershed/server/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "watershed/base/strings.h"

namespace watershed::server {
namespace {

std::array<unsigned char, 32> Sha256(std::string_view data) {
  std::array<unsigned char, 32> digest{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &len, EVP_sha256(), nullptr);
  return digest;
}

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

}  // namespace

BearerAuth::BearerAuth(std::string_view token) : digest_(Sha256(token)) {}

BearerAuth::Result BearerAuth::Check(std::string_view header) const {
  while (!header.empty() && IsSpace(header.front())) header.remove_prefix(1);
  while (!header.empty() && IsSpace(header.back())) header.remove_suffix(1);
  if (header.empty()) return Result::kMissing;
  constexpr std::string_view kScheme = "bearer";
  if (header.size() <= kScheme.size() || !IsSpace(header[kScheme.size()]) ||
      ToLower(header.substr(0, kScheme.size())) != kScheme) {
    return Result::kNotBearer;
  }
  std::string_view token = header.substr(kScheme.size());
  while (!token.empty() && IsSpace(token.front())) token.remove_prefix(1);
  if (token.empty()) return Result::kNotBearer;
  const std::array<unsigned char, 32> given = Sha256(token);
  return CRYPTO_memcmp(given.data(), digest_.data(), given.size()) == 0 ? Result::kOk
                                                                        : Result::kWrongToken;
}

}  // namespace watershed::server
