// base/sqlite.cc — see sqlite.h.
#include "watershed/base/sqlite.h"

#include <sqlite3.h>

#include "watershed/base/strings.h"

namespace watershed::sqlite {
namespace {

std::string FileName(sqlite3* db) {
  const char* path = db ? sqlite3_db_filename(db, "main") : nullptr;
  std::string_view p = path ? path : "";
  if (p.empty()) return "sqlite";
  size_t slash = p.rfind('/');
  return std::string(slash == std::string_view::npos ? p : p.substr(slash + 1));
}

}  // namespace

Status Error(sqlite3* db, int rc, std::string_view context) {
  std::string msg = StrCat(FileName(db), ": ", context.empty() ? "" : StrCat(std::string(context), ": "),
                           db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    return absl::UnavailableError(StrCat(msg, " (busy; retry)"));
  }
  return absl::InternalError(msg);
}

StatusOr<sqlite3*> Open(const std::string& path, bool read_only, bool synchronous_normal) {
  sqlite3* db = nullptr;
  int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return absl::UnavailableError(StrCat("cannot open ", path, ": ", msg));
  }
  sqlite3_busy_timeout(db, 30000);
  if (!read_only) {
    Status s = Exec(db, synchronous_normal ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                           : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
    if (!s.ok()) {
      sqlite3_close(db);
      return s;
    }
  }
  return db;
}

Status Exec(sqlite3* db, std::string_view sql) {
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db, text.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return absl::OkStatus();
  std::string msg = err ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  int primary = rc & 0xff;
  std::string where = StrCat(FileName(db), ": ", msg);
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    return absl::UnavailableError(StrCat(where, " (busy; retry)"));
  }
  return absl::InternalError(where);
}

Stmt::Stmt(sqlite3* db, std::string_view sql) : db_(db) {
  rc_ = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
}

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

Status Stmt::status() const {
  return rc_ == SQLITE_OK ? absl::OkStatus() : Error(db_, rc_, "preparing a statement");
}

Stmt& Stmt::Bind(int i, int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}

Stmt& Stmt::Bind(int i, double v) {
  sqlite3_bind_double(stmt_, i, v);
  return *this;
}

Stmt& Stmt::Bind(int i, std::string_view v) {
  sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}

Stmt& Stmt::Bind(int i, const std::optional<std::string>& v) {
  if (v) return Bind(i, std::string_view(*v));
  return BindNull(i);
}

Stmt& Stmt::BindBlob(int i, std::string_view bytes) {
  sqlite3_bind_blob(stmt_, i, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  return *this;
}

Stmt& Stmt::BindNull(int i) {
  sqlite3_bind_null(stmt_, i);
  return *this;
}

StatusOr<bool> Stmt::Step() {
  if (rc_ != SQLITE_OK) return status();
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Error(db_, rc);
}

Status Stmt::Run() {
  Status s = Step().status();
  sqlite3_reset(stmt_);
  return s;
}

void Stmt::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Stmt::Int(int col) { return sqlite3_column_int64(stmt_, col); }
double Stmt::Double(int col) { return sqlite3_column_double(stmt_, col); }
bool Stmt::IsNull(int col) { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

std::string Stmt::Text(int col) {
  const unsigned char* t = sqlite3_column_text(stmt_, col);
  return t == nullptr ? std::string()
                      : std::string(reinterpret_cast<const char*>(t), sqlite3_column_bytes(stmt_, col));
}

std::optional<std::string> Stmt::OptText(int col) {
  if (IsNull(col)) return std::nullopt;
  return Text(col);
}

std::string_view Stmt::Blob(int col) {
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p == nullptr ? std::string_view() : std::string_view(static_cast<const char*>(p), n);
}

Transaction::~Transaction() {
  if (open_) Exec(db_, "ROLLBACK").IgnoreError();
}

Status Transaction::Begin() {
  Status s = Exec(db_, "BEGIN IMMEDIATE");
  open_ = s.ok();
  return s;
}

Status Transaction::Commit() {
  Status s = Exec(db_, "COMMIT");
  if (s.ok()) open_ = false;
  return s;
}

}  // namespace watershed::sqlite
