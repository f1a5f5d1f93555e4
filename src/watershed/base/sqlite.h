// base/sqlite.h — the one thin layer over SQLite's C API that every SQLite store uses (the
// catalog, metrics, lineage, check history, the real-time mart).
//
// Owns: opening a database the way Watershed always does (WAL journal, a 30 s busy timeout so
// several processes can share it), prepared statements with 1-based binds and typed column
// reads, one-shot statements, BEGIN IMMEDIATE transactions that roll back unless committed, and
// turning SQLite's result codes into Status: SQLITE_BUSY/LOCKED -> kUnavailable (transient, the
// caller may retry), anything else -> kInternal, each message naming the database file.
// Does not own: any schema. Thread safety: a connection is used by one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "watershed/base/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace watershed::sqlite {

// Opens (creating unless read_only) the database at `path`: WAL, synchronous=FULL unless
// `synchronous_normal`, busy timeout 30 s. The caller closes it with sqlite3_close.
StatusOr<sqlite3*> Open(const std::string& path, bool read_only = false,
                        bool synchronous_normal = false);

// The Status of SQLite result `rc` on `db`, naming the database file and `context`.
Status Error(sqlite3* db, int rc, std::string_view context = "");

// Runs one or more statements without results.
Status Exec(sqlite3* db, std::string_view sql);

class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Whether the statement compiled (Step() reports the error otherwise).
  Status status() const;

  Stmt& Bind(int i, int64_t v);
  Stmt& Bind(int i, int v) { return Bind(i, static_cast<int64_t>(v)); }
  Stmt& Bind(int i, double v);
  Stmt& Bind(int i, std::string_view v);
  Stmt& Bind(int i, const std::string& v) { return Bind(i, std::string_view(v)); }
  Stmt& Bind(int i, const char* v) { return Bind(i, std::string_view(v)); }
  Stmt& Bind(int i, const std::optional<std::string>& v);
  Stmt& BindBlob(int i, std::string_view bytes);
  Stmt& BindNull(int i);

  // Steps once: true when a row is available, false when done.
  StatusOr<bool> Step();
  // Steps to the end (a statement without rows) and resets, keeping the binds.
  Status Run();
  // Makes the statement reusable: resets it and clears its binds.
  void Reset();

  int64_t Int(int col);
  double Double(int col);
  bool IsNull(int col);
  std::string Text(int col);
  std::optional<std::string> OptText(int col);
  std::string_view Blob(int col);  // valid until the next Step/Reset

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

// BEGIN IMMEDIATE ... COMMIT; rolled back when destroyed uncommitted.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {}
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Status Begin();
  Status Commit();

 private:
  sqlite3* db_;
  bool open_ = false;
};

}  // namespace watershed::sqlite
