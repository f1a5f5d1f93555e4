// store/store.cc — the opener, Stmt, Transaction, Dialect and migrations. See store.h; the
// SQLite backend is sqlite.cc.
#include "watershed/store/store.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_replace.h"
#include "watershed/base/columns.h"
#include "watershed/base/redact.h"
#include "watershed/base/retry.h"
#include "watershed/base/strings.h"

namespace watershed::store {

// Defined in sqlite.cc and postgres.cc.
StatusOr<std::unique_ptr<Connection>> OpenSqlite(const std::string& path,
                                                 const OpenOptions& options);
StatusOr<std::unique_ptr<Connection>> OpenPostgres(const std::string& url,
                                                   const OpenOptions& options);

bool IsPostgresUrl(std::string_view location) {
  return StartsWith(location, "postgres://") || StartsWith(location, "postgresql://");
}

namespace {

bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// PostgreSQL's spelling of SQLite-form SQL, outside quoted text: `?` and `?N` become `$N` (a bare
// `?` takes the largest number so far + 1, as in SQLite), and the column types INTEGER, REAL and
// BLOB become BIGINT, DOUBLE PRECISION and BYTEA (SQLite's INTEGER holds 64 bits).
std::string ToPostgres(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int highest = 0;
  for (size_t i = 0; i < sql.size();) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {
      const size_t end = sql.find(c, i + 1);
      const size_t stop = end == std::string_view::npos ? sql.size() : end + 1;
      out.append(sql.substr(i, stop - i));
      i = stop;
    } else if (c == '?') {
      size_t j = i + 1;
      while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9') ++j;
      int n =
          j > i + 1 ? std::atoi(std::string(sql.substr(i + 1, j - i - 1)).c_str()) : highest + 1;
      highest = std::max(highest, n);
      out += StrCat("$", n);
      i = j;
    } else if (IsWordChar(c)) {
      size_t j = i;
      while (j < sql.size() && IsWordChar(sql[j])) ++j;
      const std::string_view word = sql.substr(i, j - i);
      if (word == "INTEGER") {
        out += "BIGINT";
      } else if (word == "REAL") {
        out += "DOUBLE PRECISION";
      } else if (word == "BLOB") {
        out += "BYTEA";
      } else {
        out.append(word);
      }
      i = j;
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return out;
}

}  // namespace

std::string Dialect::Render(std::string_view sql) const {
  if (backend == Backend::kSqlite) {
    return absl::StrReplaceAll(absl::string_view(sql.data(), sql.size()),
                               {{"{ID}", "INTEGER PRIMARY KEY AUTOINCREMENT"},
                                {"{BLOB}", "BLOB"},
                                {"{IGNORE}", "OR IGNORE"},
                                {"{ROWID}", "rowid"}});
  }
  const bool ignore = sql.find("{IGNORE}") != std::string_view::npos;
  // {ROWID}: insertion order of rows never updated (the tables ordered by it are append-only).
  std::string out = absl::StrReplaceAll(absl::string_view(sql.data(), sql.size()),
                                        {{"{ID}", "BIGSERIAL PRIMARY KEY"},
                                         {"INTEGER PRIMARY KEY", "BIGSERIAL PRIMARY KEY"},
                                         {"{BLOB}", "BYTEA"},
                                         {"{ROWID}", "ctid"},
                                         {"INSERT {IGNORE} INTO", "INSERT INTO"},
                                         {"{IGNORE}", ""}});
  if (ignore) {
    while (!out.empty() && (out.back() == ';' || out.back() == ' ' || out.back() == '\n')) {
      out.pop_back();
    }
    out += " ON CONFLICT DO NOTHING";
  }
  return ToPostgres(out);
}

StatusOr<std::unique_ptr<Connection>> Connection::Open(const std::string& location,
                                                       const OpenOptions& options) {
  std::string path = location;
  if (IsPostgresUrl(location)) {
    // A server restarting or a pool briefly full is cured by a few retries.
    RetryPolicy policy{.max_attempts = 4, .initial_backoff = absl::Milliseconds(200)};
    return Retry(policy, nullptr, [&](int) { return OpenPostgres(location, options); });
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
int Stmt::ColumnCount() { return p_->ColumnCount(); }
std::string Stmt::ColumnName(int col) { return p_->ColumnName(col); }
ValueType Stmt::TypeOf(int col) { return p_->TypeOf(col); }

Transaction::~Transaction() {
  if (open_) db_.Exec("ROLLBACK").IgnoreError();
}

Status Transaction::Begin() {
  // One writer at a time, as SQLite's BEGIN IMMEDIATE gives: on PostgreSQL a transaction-scoped
  // advisory lock on the catalog's database, released at COMMIT or ROLLBACK (or when the
  // connection is lost), so commits from any number of machines are totally ordered.
  Status s = db_.Exec(db_.dialect().backend == Backend::kSqlite
                          ? "BEGIN IMMEDIATE"
                          : "BEGIN; SELECT pg_advisory_xact_lock(7306404412337410151)");
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
  // No table yet: nothing was ever migrated (a read-only opener must not create it).
  Stmt exists(db, db.dialect().backend == Backend::kSqlite
                      ? "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                        "name = 'store_migrations'"
                      : "SELECT count(*) FROM pg_catalog.pg_tables WHERE tablename = "
                        "'store_migrations' AND schemaname = current_schema()");
  WS_ASSIGN_OR_RETURN(bool any, exists.Step());
  if (!any || exists.Int(0) == 0) return 0;
  Stmt q(db, "SELECT version FROM store_migrations WHERE module = ?");
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
    {
      // Under the write lock: two PostgreSQL sessions creating one table at once collide.
      Transaction txn(db);
      WS_RETURN_IF_ERROR(txn.Begin());
      WS_RETURN_IF_ERROR(db.Exec(kMigrationsTable));
      WS_RETURN_IF_ERROR(txn.Commit());
    }
    for (int v = current; v < schema.version(); ++v) {
      Transaction txn(db);
      WS_RETURN_IF_ERROR(txn.Begin());
      // Another process may have migrated meanwhile: re-read under the write lock.
      WS_ASSIGN_OR_RETURN(int now, SchemaVersion(db, schema.module));
      if (now > v) continue;
      WS_RETURN_IF_ERROR(Annotate(db.Exec(db.dialect().Render(schema.migrations[v])),
                                  StrCat("migrating ", schema.module, " to version ", v + 1)));
      Stmt up(db,
              "INSERT INTO store_migrations(module, version, migrated_at) VALUES (?, ?, ?) "
              "ON CONFLICT(module) DO UPDATE SET "
              "version = excluded.version, migrated_at = excluded.migrated_at");
      WS_RETURN_IF_ERROR(
          up.Bind(1, schema.module).Bind(2, v + 1).Bind(3, IsoUtc(NowMicros())).Run());
      WS_RETURN_IF_ERROR(txn.Commit());
    }
    return absl::OkStatus();
  });
}

StatusOr<std::vector<std::string>> ListTables(Connection& db) {
  Stmt q(db, db.dialect().backend == Backend::kSqlite
                 ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                   "'sqlite_%' ORDER BY name"
                 : "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = "
                   "current_schema() ORDER BY tablename");
  std::vector<std::string> out;
  while (true) {
    WS_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    if (q.Text(0) != "store_migrations") out.push_back(q.Text(0));
  }
  return out;
}

StatusOr<CopyResult> CopyTables(Connection& from, Connection& to) {
  WS_ASSIGN_OR_RETURN(std::vector<std::string> source, ListTables(from));
  WS_ASSIGN_OR_RETURN(std::vector<std::string> target, ListTables(to));
  CopyResult result;
  Transaction txn(to);
  WS_RETURN_IF_ERROR(txn.Begin());
  for (const std::string& table : source) {
    if (std::find(target.begin(), target.end(), table) == target.end()) {
      result.skipped.push_back(table);
      continue;
    }
    Stmt read(from, StrCat("SELECT * FROM ", table));
    std::unique_ptr<Stmt> write;
    int64_t rows = 0;
    while (true) {
      StatusOr<bool> row = read.Step();
      if (!row.ok()) return Annotate(row.status(), StrCat("reading ", table));
      if (!*row) break;
      const int n = read.ColumnCount();
      if (write == nullptr) {
        std::string columns, marks;
        for (int c = 0; c < n; ++c) {
          columns += StrCat(c ? ", " : "", read.ColumnName(c));
          marks += c ? ", ?" : "?";
        }
        write = std::make_unique<Stmt>(
            to, StrCat("INSERT {IGNORE} INTO ", table, "(", columns, ") VALUES(", marks, ")"));
      }
      for (int c = 0; c < n; ++c) {
        switch (read.TypeOf(c)) {
          case ValueType::kNull:
            write->BindNull(c + 1);
            break;
          case ValueType::kInt:
            write->Bind(c + 1, read.Int(c));
            break;
          case ValueType::kDouble:
            write->Bind(c + 1, read.Double(c));
            break;
          case ValueType::kText:
            write->Bind(c + 1, read.Text(c));
            break;
          case ValueType::kBlob:
            write->BindBlob(c + 1, read.Blob(c));
            break;
        }
      }
      WS_RETURN_IF_ERROR(
          Annotate(write->Run(), StrCat("copying a row of ", table, " to ", to.name())));
      write->Reset();
      ++rows;
    }
    result.tables.emplace_back(table, rows);
  }
  if (to.dialect().backend == Backend::kPostgres) {
    // Ids assigned by a sequence continue after the copied ones.
    Stmt serial(to,
                "SELECT table_name, column_name FROM information_schema.columns WHERE "
                "table_schema = current_schema() AND column_default LIKE 'nextval(%'");
    std::vector<std::pair<std::string, std::string>> columns;
    while (true) {
      WS_ASSIGN_OR_RETURN(bool row, serial.Step());
      if (!row) break;
      columns.emplace_back(serial.Text(0), serial.Text(1));
    }
    for (const auto& [table, column] : columns) {
      WS_RETURN_IF_ERROR(
          to.Exec(StrCat("SELECT setval(pg_get_serial_sequence('", table, "', '", column,
                         "'), GREATEST((SELECT "
                         "MAX(",
                         column, ") FROM ", table, "), 1), (SELECT MAX(", column, ") FROM ", table,
                         ") IS NOT NULL)")));
    }
  }
  WS_RETURN_IF_ERROR(txn.Commit());
  return result;
}

}  // namespace watershed::store
