// security/tokens.h — API tokens: what a principal presents to a door (docs/formats/access.md).
//
// Owns: the token format `ws_<id>_<secret>` (id: 12 characters [a-z0-9], secret: 43 characters
// [A-Za-z0-9], ~256 bits; the `ws_` prefix lets secret scanners recognise leaked ones), minting
// one from the system's random source, the record kept of it (never the secret: only
// HMAC-SHA256 of the secret under a key kept apart from the records), and checking a presented
// token against its record: malformed, unknown, wrong secret (compared in constant time),
// expired, revoked. Rotation is two records: the new one, and the old one with its expiry moved
// to the end of the overlap window.
// Does not own: where records are stored (TokenStore implementations: project/token_store.h),
// where the key comes from, what a principal may do (access.h).
// Depends on base only. Thread safety: the functions are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "watershed/base/status.h"

namespace watershed::security {

inline constexpr std::string_view kTokenPrefix = "ws_";

struct TokenRecord {
  std::string id;         // "k3f9a0c2m1xz"
  std::string principal;  // a user or service account of access:
  std::string hash;       // hex HMAC-SHA256(key, secret)
  int64_t created_micros = 0;
  int64_t expires_micros = 0;  // 0 = never
  int64_t last_used_micros = 0;
  int64_t revoked_micros = 0;  // 0 = not revoked
  std::string replaced_by;     // the id of the token a rotation made
};

// Where token records live. Implementations must make Put atomic per record.
class TokenStore {
 public:
  virtual ~TokenStore() = default;
  virtual Status Put(const TokenRecord& record) = 0;  // insert or replace by id
  virtual StatusOr<std::optional<TokenRecord>> Get(const std::string& id) = 0;
  virtual StatusOr<std::vector<TokenRecord>> List() = 0;
};

struct MintedToken {
  std::string token;  // shown once, never stored
  TokenRecord record;
};
// A new token for `principal`; `expires_micros` 0 = never. `key`: the HMAC key (32+ bytes).
StatusOr<MintedToken> MintToken(const std::string& principal, int64_t now_micros,
                                int64_t expires_micros, std::string_view key);

struct PresentedToken {
  std::string id;
  std::string secret;
};
// The parts of a `ws_<id>_<secret>` token; nullopt when `text` does not have that form.
std::optional<PresentedToken> ParseToken(std::string_view text);

enum class TokenCheck { kOk, kMalformed, kUnknown, kWrongSecret, kExpired, kRevoked };
// "token expired", ... (never the token or its secret).
std::string_view TokenCheckMessage(TokenCheck check);
// `record`: the stored record of the presented id (null when none).
TokenCheck CheckToken(const TokenRecord* record, const PresentedToken& presented,
                      std::string_view key, int64_t now_micros);

// 32 random bytes, hex: a new HMAC key.
StatusOr<std::string> NewTokenKey();

}  // namespace watershed::security
