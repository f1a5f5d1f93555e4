// project/access_tokens.cc — see access_tokens.h.
#include "watershed/project/access_tokens.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "watershed/base/columns.h"
#include "watershed/base/log.h"
#include "watershed/base/private_files.h"
#include "watershed/base/strings.h"

namespace watershed::project {

namespace {

constexpr char kTokensV1[] = R"(
CREATE TABLE access_tokens (
  id TEXT PRIMARY KEY,
  principal TEXT NOT NULL,
  secret_hmac TEXT NOT NULL,
  created_us INTEGER NOT NULL,
  expires_us INTEGER NOT NULL,
  last_used_us INTEGER NOT NULL,
  revoked_us INTEGER NOT NULL,
  replaced_by TEXT NOT NULL
);
)";

const store::Schema& TokensSchema() {
  static const auto* schema = new store::Schema{"access", {kTokensV1}};
  return *schema;
}

constexpr char kColumns[] =
    "id, principal, secret_hmac, created_us, expires_us, last_used_us, revoked_us, replaced_by";

security::TokenRecord Row(store::Stmt& s) {
  security::TokenRecord r;
  r.id = s.Text(0);
  r.principal = s.Text(1);
  r.hash = s.Text(2);
  r.created_micros = s.Int(3);
  r.expires_micros = s.Int(4);
  r.last_used_micros = s.Int(5);
  r.revoked_micros = s.Int(6);
  r.replaced_by = s.Text(7);
  return r;
}

bool HexKey(const std::string& key) {
  return key.size() >= 64 && key.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
}

std::string KeyPath(const Project& project) {
  return (std::filesystem::path(project.root()) / ".watershed/token.key").string();
}

StatusOr<std::string> LoadKey(const Project& project, bool create) {
  if (const char* env = std::getenv("WATERSHED_TOKEN_KEY"); env != nullptr && *env != '\0') {
    const std::string key(Trim(env));
    if (!HexKey(key)) {
      return absl::InvalidArgumentError(
          "WATERSHED_TOKEN_KEY must be at least 64 hex digits (32 bytes), e.g. from "
          "`openssl rand -hex 32`");
    }
    RegisterSecret(key);
    return key;
  }
  const std::string path = KeyPath(project);
  std::ifstream in(path);
  std::string key;
  if (in && std::getline(in, key)) {
    key = std::string(Trim(key));
    if (!HexKey(key)) {
      return absl::FailedPreconditionError(
          StrCat(path,
                 " does not hold a token key (64 hex digits); restore it from a backup: "
                 "without it no token can be checked"));
    }
    RegisterSecret(key);
    return key;
  }
  if (!create) {
    return absl::FailedPreconditionError(
        StrCat("no token key (", path,
               " or $WATERSHED_TOKEN_KEY): create a token first with "
               "`watershed token create --for PRINCIPAL`"));
  }
  return std::string();  // made by the first token minted
}

// Makes `.watershed/token.key` (0600) holding a new key.
StatusOr<std::string> MakeKey(const Project& project) {
  const std::string path = KeyPath(project);
  WS_ASSIGN_OR_RETURN(std::string key, security::NewTokenKey());
  WS_ASSIGN_OR_RETURN(int fd, OpenPrivateFile(path, O_WRONLY | O_EXCL));
  const std::string line = key + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  if (!written) return absl::UnavailableError(StrCat("could not write ", path));
  RegisterSecret(key);
  return key;
}

}  // namespace

StatusOr<std::unique_ptr<AccessTokens>> AccessTokens::Open(Project& project, bool create_key) {
  WS_ASSIGN_OR_RETURN(std::string key, LoadKey(project, create_key));
  WS_ASSIGN_OR_RETURN(auto db, store::Connection::Open(project.config().catalog_path));
  WS_RETURN_IF_ERROR(Annotate(store::Migrate(*db, TokensSchema()),
                              StrCat("opening the access tokens in ", db->name())));
  return std::unique_ptr<AccessTokens>(new AccessTokens(project, std::move(db), std::move(key)));
}

Status AccessTokens::Put(const security::TokenRecord& r) {
  store::Transaction tx(*db_);
  WS_RETURN_IF_ERROR(tx.Begin());
  {
    store::Stmt del(*db_, "DELETE FROM access_tokens WHERE id = ?");
    del.Bind(1, r.id);
    WS_RETURN_IF_ERROR(del.Run());
    store::Stmt ins(
        *db_, StrCat("INSERT INTO access_tokens (", kColumns, ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    ins.Bind(1, r.id)
        .Bind(2, r.principal)
        .Bind(3, r.hash)
        .Bind(4, r.created_micros)
        .Bind(5, r.expires_micros)
        .Bind(6, r.last_used_micros)
        .Bind(7, r.revoked_micros)
        .Bind(8, r.replaced_by);
    WS_RETURN_IF_ERROR(ins.Run());
  }
  return tx.Commit();
}

StatusOr<std::optional<security::TokenRecord>> AccessTokens::Get(const std::string& id) {
  store::Stmt s(*db_, StrCat("SELECT ", kColumns, " FROM access_tokens WHERE id = ?"));
  s.Bind(1, id);
  WS_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<security::TokenRecord>();
  return std::optional<security::TokenRecord>(Row(s));
}

StatusOr<std::vector<security::TokenRecord>> AccessTokens::List() {
  store::Stmt s(*db_, StrCat("SELECT ", kColumns, " FROM access_tokens ORDER BY created_us, id"));
  std::vector<security::TokenRecord> out;
  while (true) {
    WS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(Row(s));
  }
  return out;
}

StatusOr<security::MintedToken> AccessTokens::Create(const std::string& principal,
                                                     int64_t expires_micros) {
  const auto& access = project_.config().access;
  if (!access) {
    return absl::FailedPreconditionError(
        "watershed.yml has no access: section: tokens are for its principals (add access: with "
        "groups or service_accounts; docs/formats/access.md)");
  }
  if (!access->IsPrincipal(principal)) {
    const std::string close = ClosestMatch(principal, access->Principals());
    return absl::InvalidArgumentError(
        StrCat("\"", principal,
               "\" is not a user (a member of a group) or a service account of "
               "access:",
               close.empty() ? "" : StrCat(" (did you mean ", close, "?)")));
  }
  const int64_t now = NowMicros();
  if (expires_micros != 0 && expires_micros <= now) {
    return absl::InvalidArgumentError("the expiry is in the past");
  }
  if (key_.empty()) {
    WS_ASSIGN_OR_RETURN(key_, MakeKey(project_));
  }
  WS_ASSIGN_OR_RETURN(auto minted, security::MintToken(principal, now, expires_micros, key_));
  WS_RETURN_IF_ERROR(Put(minted.record));
  return minted;
}

StatusOr<security::MintedToken> AccessTokens::Rotate(const std::string& id,
                                                     int64_t overlap_end_micros,
                                                     std::optional<int64_t> expires_micros) {
  WS_ASSIGN_OR_RETURN(auto old, Get(id));
  if (!old) {
    return absl::NotFoundError(StrCat("no token ", id, " (`watershed token list` lists them)"));
  }
  const int64_t now = NowMicros();
  if (old->revoked_micros != 0) {
    return absl::FailedPreconditionError(StrCat("token ", id, " is revoked: create a new one"));
  }
  int64_t expires = 0;
  if (expires_micros) {
    expires = *expires_micros;
  } else if (old->expires_micros != 0) {
    expires = now + (old->expires_micros - old->created_micros);
  }
  WS_ASSIGN_OR_RETURN(auto minted, Create(old->principal, expires));
  old->replaced_by = minted.record.id;
  if (old->expires_micros == 0 || old->expires_micros > overlap_end_micros) {
    old->expires_micros = std::max(overlap_end_micros, now);
  }
  WS_RETURN_IF_ERROR(Put(*old));
  return minted;
}

Status AccessTokens::Revoke(const std::string& id) {
  WS_ASSIGN_OR_RETURN(auto old, Get(id));
  if (!old) {
    return absl::NotFoundError(StrCat("no token ", id, " (`watershed token list` lists them)"));
  }
  if (old->revoked_micros == 0) old->revoked_micros = NowMicros();
  return Put(*old);
}

StatusOr<AccessTokens::Authenticated> AccessTokens::Authenticate(const std::string& token) {
  const auto presented = security::ParseToken(token);
  if (!presented) {
    return absl::UnauthenticatedError(
        std::string(security::TokenCheckMessage(security::TokenCheck::kMalformed)));
  }
  WS_ASSIGN_OR_RETURN(auto record, Get(presented->id));
  const int64_t now = NowMicros();
  const security::TokenCheck check =
      security::CheckToken(record ? &*record : nullptr, *presented, key_, now);
  if (check != security::TokenCheck::kOk) {
    return absl::UnauthenticatedError(std::string(security::TokenCheckMessage(check)));
  }
  if (now - record->last_used_micros > 60'000'000) {
    store::Stmt s(*db_, "UPDATE access_tokens SET last_used_us = ? WHERE id = ?");
    s.Bind(1, now).Bind(2, record->id);
    if (Status st = s.Run(); !st.ok())
      LogWarn(StrCat("token last-used not recorded: ", st.ToString()));
  }
  return Authenticated{record->principal, record->id};
}

}  // namespace watershed::project
