// store/store.cc — the opener, Stmt, Transaction, Dialect and migrations. See store.h; the
// SQLite backend is sqlite.cc.
#include "watershed/store/store.h"

#include "watershed/base/redact.h"
#include "watershed/base/retry.h"
#include "watershed/base/strings.h"

namespace watershed::store {

// Defined in sqlite.cc.
StatusOr<std::unique_ptr<Connection>> OpenSqlite(const std::string& path,
                                                 const OpenOptions& options);

std::string Dialect::Render(std::string_view sql) const {
  std::string out(sql);
  auto replace = [&out](std::string_view token, std::string_view with) {
    for (size_t at = out.find(token); at != std::string::npos;
         at = out.find(token, at + with.size())) {
      out.replace(at, token.size(), with);
    }
  };
  if (backend == Backend::kSqlite) {
    replace("{ID}", "INTEGER PRIMARY KEY AUTOINCREMENT");
    replace("{BLOB}", "BLOB");
    replace("{IGNORE}", "OR IGNORE");
  } else {
    replace("{ID}", "BIGSERIAL PRIMARY KEY");
    replace("{BLOB}", "BYTEA");
    replace("{IGNORE}", "");  // the PostgreSQL backend appends ON CONFLICT DO NOTHING
  }
  return out;
}

StatusOr<std::unique_ptr<Connection>> Connection::Open(const std::string& location,
                                                       const OpenOptions& options) {
  std::string path = location;
  if (StartsWith(location, "postgres://") || StartsWith(location, "postgresql://")) {
    return absl::UnimplementedError(
        StrCat("catalog ", RedactUrl(location),
               ": a PostgreSQL catalog is not supported by this build yet; use a SQLite file "
               "(storage.catalog: path/catalog.db)"));
  }
  if (StartsWith(location, "sqlite:")) path = location.substr(7);
  // SQLite waits up to 30 s on a lock itself; a catalog being created by another process at the
  // same moment can still answer busy, which a few retries cure.
  RetryPolicy policy{.max_attempts = 5, .initial_backoff = absl::Milliseconds(50)};
  return Retry(policy, nullptr, [&](int) { return OpenSqlite(path, options); });
}

Stmt::Stmt(Connection& db, std::string_view sql) : p_(db.Prepare(db.dialect().Render(sql))) {}
Stmt::~Stmt() = default;
Status Stmt::status() const { return p_->status(); }
Stmt& Stmt::Bind(int i, int64_t v) {
  p_->Bind(i, v);
  return *this;
}
Stmt& Stmt::Bind(int i, double v) {
  p_->Bind(i, v);
  return *this;
}
Stmt& Stmt::Bind(int i, std::string_view v) {
  p_->Bind(i, v);
  return *this;
}
Stmt& Stmt::Bind(int i, const std::optional<std::string>& v) {
  if (v) return Bind(i, std::string_view(*v));
  return BindNull(i);
}
Stmt& Stmt::BindBlob(int i, std::string_view bytes) {
  p_->BindBlob(i, bytes);
  return *this;
}
Stmt& Stmt::BindNull(int i) {
  p_->BindNull(i);
  return *this;
}
StatusOr<bool> Stmt::Step() { return p_->Step(); }
Status Stmt::Run() {
  Status s = p_->Step().status();
  p_->Reset(false);
  return s;
}
void Stmt::Reset() { p_->Reset(true); }
int64_t Stmt::Int(int col) { return p_->Int(col); }
double Stmt::Double(int col) { return p_->Double(col); }
bool Stmt::IsNull(int col) { return p_->IsNull(col); }
std::string Stmt::Text(int col) { return std::string(p_->Bytes(col)); }
std::optional<std::string> Stmt::OptText(int col) {
  if (IsNull(col)) return std::nullopt;
  return Text(col);
}
std::string_view Stmt::Blob(int col) { return p_->Bytes(col); }

Transaction::~Transaction() {
  if (open_) db_.Exec("ROLLBACK").IgnoreError();
}

Status Transaction::Begin() {
  Status s = db_.Exec(db_.dialect().backend == Backend::kSqlite ? "BEGIN IMMEDIATE" : "BEGIN");
  open_ = s.ok();
  return s;
}

Status Transaction::Commit() {
  Status s = db_.Exec("COMMIT");
  if (s.ok()) open_ = false;
  return s;
}

namespace {

constexpr char kMigrationsTable[] =
    "CREATE TABLE IF NOT EXISTS store_migrations(module TEXT PRIMARY KEY, "
    "version INTEGER NOT NULL, migrated_at TEXT NOT NULL DEFAULT '')";

}  // namespace

StatusOr<int> SchemaVersion(Connection& db, const std::string& module) {
  Stmt q(db, "SELECT version FROM store_migrations WHERE module = ?");
  if (!q.status().ok()) {
    // No table yet: nothing was ever migrated (a read-only opener must not create it).
    return 0;
  }
  q.Bind(1, module);
  WS_ASSIGN_OR_RETURN(bool row, q.Step());
  return row ? static_cast<int>(q.Int(0)) : 0;
}

Status Migrate(Connection& db, const Schema& schema) {
  WS_ASSIGN_OR_RETURN(int current, SchemaVersion(db, schema.module));
  if (current == schema.version()) return absl::OkStatus();
  if (current > schema.version()) {
    return absl::FailedPreconditionError(StrCat(
        db.name(), ": the ", schema.module, " tables are at version ", current,
        ", newer than this build of Watershed knows (", schema.version(), "); upgrade Watershed"));
  }
  // Several processes may open a new catalog at once (parallel task runs): each step runs under
  // the write lock, and a busy database is retried.
  RetryPolicy policy{.max_attempts = 100,
                     .initial_backoff = absl::Milliseconds(50),
                     .multiplier = 1.0,
                     .jitter = 0.5};
  return Retry(policy, nullptr, [&](int) -> Status {
    WS_RETURN_IF_ERROR(db.Exec(kMigrationsTable));
    for (int v = current; v < schema.version(); ++v) {
      Transaction txn(db);
      WS_RETURN_IF_ERROR(txn.Begin());
      // Another process may have migrated meanwhile: re-read under the write lock.
      WS_ASSIGN_OR_RETURN(int now, SchemaVersion(db, schema.module));
      if (now > v) continue;
      WS_RETURN_IF_ERROR(Annotate(db.Exec(db.dialect().Render(schema.migrations[v])),
                                  StrCat("migrating ", schema.module, " to version ", v + 1)));
      Stmt up(db,
              "INSERT INTO store_migrations(module, version, migrated_at) VALUES (?, ?, "
              "strftime('%Y-%m-%dT%H:%M:%fZ','now')) ON CONFLICT(module) DO UPDATE SET "
              "version = excluded.version, migrated_at = excluded.migrated_at");
      WS_RETURN_IF_ERROR(up.Bind(1, schema.module).Bind(2, v + 1).Run());
      WS_RETURN_IF_ERROR(txn.Commit());
    }
    return absl::OkStatus();
  });
}

}  // namespace watershed::store
