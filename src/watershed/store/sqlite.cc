// store/sqlite.cc — the SQLite backend of store.h: WAL journal, a 30 s busy timeout so several
// processes can share a catalog, result codes as Status (SQLITE_BUSY/LOCKED -> kUnavailable,
// transient; anything else -> kInternal), each message naming the database file. The only file
// that includes sqlite3.h.
#include <sqlite3.h>

#include <filesystem>

#include "watershed/base/private_files.h"
#include "watershed/base/strings.h"
#include "watershed/store/store.h"

namespace watershed::store {
namespace {

std::string FileName(sqlite3* db) {
  const char* path = db ? sqlite3_db_filename(db, "main") : nullptr;
  std::string_view p = path ? path : "";
  if (p.empty()) return "sqlite";
  size_t slash = p.rfind('/');
  return std::string(slash == std::string_view::npos ? p : p.substr(slash + 1));
}

Status Error(sqlite3* db, int rc, std::string_view context) {
  std::string msg =
      StrCat(FileName(db), ": ", context.empty() ? "" : StrCat(std::string(context), ": "),
             db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    return absl::UnavailableError(StrCat(msg, " (busy; retry)"));
  }
  const int extended = db ? sqlite3_extended_errcode(db) : rc;
  if (extended == SQLITE_CONSTRAINT_UNIQUE || extended == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return absl::AlreadyExistsError(msg);
  }
  return absl::InternalError(msg);
}

class SqliteConnection : public Connection {
 public:
  explicit SqliteConnection(sqlite3* db) : Connection(Dialect{Backend::kSqlite}), db_(db) {}
  ~SqliteConnection() override { sqlite3_close(db_); }

  std::string name() const override { return FileName(db_); }

  Status Exec(std::string_view sql) override {
    std::string text(sql);
    char* err = nullptr;
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
    if (rc == SQLITE_OK) return absl::OkStatus();
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    int primary = rc & 0xff;
    std::string where = StrCat(FileName(db_), ": ", msg);
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
      return absl::UnavailableError(StrCat(where, " (busy; retry)"));
    }
    return absl::InternalError(where);
  }

  int64_t LastInsertId() override { return sqlite3_last_insert_rowid(db_); }
  int64_t Changes() override { return sqlite3_changes(db_); }

 private:
  class Statement : public PreparedStatement {
   public:
    Statement(sqlite3* db, std::string_view sql) : db_(db) {
      rc_ = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
    }
    ~Statement() override { sqlite3_finalize(stmt_); }
    Status status() const override {
      return rc_ == SQLITE_OK ? absl::OkStatus() : Error(db_, rc_, "preparing a statement");
    }
    void Bind(int i, int64_t v) override { sqlite3_bind_int64(stmt_, i, v); }
    void Bind(int i, double v) override { sqlite3_bind_double(stmt_, i, v); }
    void Bind(int i, std::string_view v) override {
      sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    }
    void BindBlob(int i, std::string_view b) override {
      sqlite3_bind_blob(stmt_, i, b.data(), static_cast<int>(b.size()), SQLITE_TRANSIENT);
    }
    void BindNull(int i) override { sqlite3_bind_null(stmt_, i); }
    StatusOr<bool> Step() override {
      if (rc_ != SQLITE_OK) return status();
      int rc = sqlite3_step(stmt_);
      if (rc == SQLITE_ROW) return true;
      if (rc == SQLITE_DONE) return false;
      return Error(db_, rc, "");
    }
    void Reset(bool clear_binds) override {
      sqlite3_reset(stmt_);
      if (clear_binds) sqlite3_clear_bindings(stmt_);
    }
    int64_t Int(int col) override { return sqlite3_column_int64(stmt_, col); }
    double Double(int col) override { return sqlite3_column_double(stmt_, col); }
    bool IsNull(int col) override { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
    int ColumnCount() override { return sqlite3_column_count(stmt_); }
    std::string ColumnName(int col) override {
      const char* name = sqlite3_column_name(stmt_, col);
      return name ? name : "";
    }
    ValueType TypeOf(int col) override {
      switch (sqlite3_column_type(stmt_, col)) {
        case SQLITE_INTEGER: return ValueType::kInt;
        case SQLITE_FLOAT: return ValueType::kDouble;
        case SQLITE_BLOB: return ValueType::kBlob;
        case SQLITE_NULL: return ValueType::kNull;
        default: return ValueType::kText;
      }
    }
    std::string_view Bytes(int col) override {
      const void* p = sqlite3_column_blob(stmt_, col);
      int n = sqlite3_column_bytes(stmt_, col);
      return p == nullptr ? std::string_view() : std::string_view(static_cast<const char*>(p), n);
    }

   private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
    int rc_;
  };

  std::unique_ptr<PreparedStatement> Prepare(std::string_view sql) override {
    return std::make_unique<Statement>(db_, sql);
  }

  sqlite3* db_;
};

}  // namespace

StatusOr<std::unique_ptr<Connection>> OpenSqlite(const std::string& path,
                                                 const OpenOptions& options) {
  const bool on_disk = !path.empty() && path != ":memory:" && !path.starts_with("file:");
  if (!options.read_only && on_disk) {
    if (options.owner_only) {
      // The folder first (0700); the file is narrowed below, by name.
      MakePrivateDirs(std::filesystem::path(path).parent_path().string()).IgnoreError();
    } else {
      std::error_code ec;  // a missing folder is reported by sqlite3_open_v2 below
      std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    }
  }
  sqlite3* db = nullptr;
  int flags =
      options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    // A missing folder or a permission problem is not cured by retrying.
    return absl::FailedPreconditionError(StrCat("cannot open ", path, ": ", msg));
  }
  if (!options.read_only && on_disk && options.owner_only) {
    // The catalog holds the project's state (cursors, scheduler state, runs): 0600 before the
    // WAL pragma below creates -wal and -shm, which SQLite gives the database file's mode. By
    // name, never through a descriptor: closing one would drop SQLite's POSIX locks on the file
    // held by this process's other connections.
    for (const char* suffix : {"", "-wal", "-shm"}) {
      const std::string file = path + suffix;
      if (*suffix == '\0' || std::filesystem::exists(file)) MakeFilePrivate(file).IgnoreError();
    }
  }
  sqlite3_busy_timeout(db, 30000);
  auto conn = std::make_unique<SqliteConnection>(db);
  if (!options.read_only) {
    WS_RETURN_IF_ERROR(conn->Exec(options.synchronous_normal
                                      ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                      : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"));
  }
  return std::unique_ptr<Connection>(std::move(conn));
}

}  // namespace watershed::store
