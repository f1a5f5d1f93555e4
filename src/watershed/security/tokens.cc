// security/tokens.cc — see tokens.h.
#include "watershed/security/tokens.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>

#include "watershed/base/strings.h"

namespace watershed::security {

namespace {

constexpr size_t kIdLength = 12;
constexpr size_t kSecretLength = 43;
constexpr std::string_view kIdChars = "abcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::string_view kSecretChars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

// `n` characters drawn uniformly from `alphabet` (rejection sampling over random bytes).
StatusOr<std::string> RandomText(size_t n, std::string_view alphabet) {
  std::string out;
  const unsigned limit = 256 - 256 % alphabet.size();
  while (out.size() < n) {
    unsigned char buf[64];
    if (RAND_bytes(buf, sizeof buf) != 1) {
      return absl::InternalError("the system's random source failed (OpenSSL RAND_bytes)");
    }
    for (unsigned char b : buf) {
      if (b < limit && out.size() < n) out += alphabet[b % alphabet.size()];
    }
  }
  return out;
}

std::string Hex(const unsigned char* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 15];
  }
  return out;
}

std::string Hmac(std::string_view key, std::string_view secret) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), mac, &len);
  return Hex(mac, len);
}

bool OnlyFrom(std::string_view text, std::string_view alphabet) {
  return std::all_of(text.begin(), text.end(),
                     [&](char c) { return alphabet.find(c) != std::string_view::npos; });
}

}  // namespace

StatusOr<MintedToken> MintToken(const std::string& principal, int64_t now_micros,
                                int64_t expires_micros, std::string_view key) {
  if (key.size() < 32) return absl::InvalidArgumentError("the token key is shorter than 32 bytes");
  MintedToken out;
  WS_ASSIGN_OR_RETURN(out.record.id, RandomText(kIdLength, kIdChars));
  WS_ASSIGN_OR_RETURN(std::string secret, RandomText(kSecretLength, kSecretChars));
  out.token = StrCat(kTokenPrefix, out.record.id, "_", secret);
  out.record.principal = principal;
  out.record.hash = Hmac(key, secret);
  out.record.created_micros = now_micros;
  out.record.expires_micros = expires_micros;
  return out;
}

std::optional<PresentedToken> ParseToken(std::string_view text) {
  if (!text.starts_with(kTokenPrefix)) return std::nullopt;
  text.remove_prefix(kTokenPrefix.size());
  if (text.size() != kIdLength + 1 + kSecretLength || text[kIdLength] != '_') return std::nullopt;
  PresentedToken t{std::string(text.substr(0, kIdLength)), std::string(text.substr(kIdLength + 1))};
  if (!OnlyFrom(t.id, kIdChars) || !OnlyFrom(t.secret, kSecretChars)) return std::nullopt;
  return t;
}

std::string_view TokenCheckMessage(TokenCheck check) {
  switch (check) {
    case TokenCheck::kOk:
      return "ok";
    case TokenCheck::kMalformed:
      return "not a Watershed token (ws_<id>_<secret>)";
    case TokenCheck::kUnknown:
      return "unknown token";
    case TokenCheck::kWrongSecret:
      return "invalid token";
    case TokenCheck::kExpired:
      return "token expired (`watershed token rotate` makes a new one)";
    case TokenCheck::kRevoked:
      return "token revoked";
  }
  return "invalid token";
}

TokenCheck CheckToken(const TokenRecord* record, const PresentedToken& presented,
                      std::string_view key, int64_t now_micros) {
  if (record == nullptr) return TokenCheck::kUnknown;
  const std::string mac = Hmac(key, presented.secret);
  if (mac.size() != record->hash.size() ||
      CRYPTO_memcmp(mac.data(), record->hash.data(), mac.size()) != 0) {
    return TokenCheck::kWrongSecret;
  }
  if (record->revoked_micros != 0 && record->revoked_micros <= now_micros) {
    return TokenCheck::kRevoked;
  }
  if (record->expires_micros != 0 && record->expires_micros <= now_micros) {
    return TokenCheck::kExpired;
  }
  return TokenCheck::kOk;
}

StatusOr<std::string> NewTokenKey() { return RandomText(64, "0123456789abcdef"); }

}  // namespace watershed::security
