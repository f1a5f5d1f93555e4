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

BearerAuth::Result BearerToken(std::string_view header, std::string_view* token) {
  while (!header.empty() && IsSpace(header.front())) header.remove_prefix(1);
  while (!header.empty() && IsSpace(header.back())) header.remove_suffix(1);
  if (header.empty()) return BearerAuth::Result::kMissing;
  constexpr std::string_view kScheme = "bearer";
  if (header.size() <= kScheme.size() || !IsSpace(header[kScheme.size()]) ||
      ToLower(header.substr(0, kScheme.size())) != kScheme) {
    return BearerAuth::Result::kNotBearer;
  }
  std::string_view t = header.substr(kScheme.size());
  while (!t.empty() && IsSpace(t.front())) t.remove_prefix(1);
  if (t.empty()) return BearerAuth::Result::kNotBearer;
  *token = t;
  return BearerAuth::Result::kOk;
}

BearerAuth::Result BearerAuth::Check(std::string_view header) const {
  std::string_view token;
  if (Result r = BearerToken(header, &token); r != Result::kOk) return r;
  const std::array<unsigned char, 32> given = Sha256(token);
  return CRYPTO_memcmp(given.data(), digest_.data(), given.size()) == 0 ? Result::kOk
                                                                        : Result::kWrongToken;
}

}  // namespace watershed::server
