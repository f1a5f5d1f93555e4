// project/access_tokens.h — the project's API tokens: their records in the catalog database and
// the key their secrets are hashed with (docs/formats/access.md).
//
// Owns: the `access_tokens` table (module "access" of store/; one row per token: id,
// principal, HMAC of the secret, created/expires/last-used/revoked times, the id a rotation
// replaced it with), the HMAC key — $WATERSHED_TOKEN_KEY (hex, at least 64 digits: every
// machine of a shared catalog must use the same key, e.g. from Secrets Manager), else
// `.watershed/token.key` (0600, created by the first `watershed token create`) — and the token
// operations the CLI and the server use: create, list, rotate, revoke, authenticate.
// A catalog reader learns who has tokens, never a usable secret (the key is not in it).
// Does not own: the token format and the checks (security/tokens.h), what a principal may do
// (security/access.h). Thread safety: one thread per AccessTokens.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/project/project.h"
#include "watershed/security/tokens.h"
#include "watershed/store/store.h"

namespace watershed::project {

class AccessTokens : public security::TokenStore {
 public:
  // Opens the token records of `project`'s catalog; `create_key`: the first Create makes the
  // key file when there is none (token create), else a missing key is kFailedPrecondition
  // saying how to make one.
  static StatusOr<std::unique_ptr<AccessTokens>> Open(Project& project, bool create_key);

  Status Put(const security::TokenRecord& record) override;
  StatusOr<std::optional<security::TokenRecord>> Get(const std::string& id) override;
  StatusOr<std::vector<security::TokenRecord>> List() override;

  // A new token for `principal` (a principal of access:), valid until `expires_micros` (0 =
  // never).
  StatusOr<security::MintedToken> Create(const std::string& principal, int64_t expires_micros);
  // A new token for the principal of `id`, with the same lifetime from now (or
  // `expires_micros`), and `id` valid until `overlap_end_micros` (or its expiry, if sooner).
  StatusOr<security::MintedToken> Rotate(const std::string& id, int64_t overlap_end_micros,
                                         std::optional<int64_t> expires_micros);
  Status Revoke(const std::string& id);

  // Who presents `token`: the principal, with last-used updated (at most once a minute). An
  // error says why not (kUnauthenticated; never the token).
  struct Authenticated {
    std::string principal;
    std::string token_id;
  };
  StatusOr<Authenticated> Authenticate(const std::string& token);

 private:
  AccessTokens(Project& project, std::unique_ptr<store::Connection> db, std::string key)
      : project_(project), db_(std::move(db)), key_(std::move(key)) {}
  Project& project_;
  std::unique_ptr<store::Connection> db_;
  std::string key_;  // "" until the first Create makes it (create_key)
};

}  // namespace watershed::project
