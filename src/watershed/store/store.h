// store/store.h — the catalog database: one opener, one statement/transaction interface, one
// schema registry with versioned migrations. Every module that keeps state in the catalog
// (lake tables and snapshots, metrics, lineage, check history, pipeline runs) owns a store
// class of its own built on a Connection from here, and declares its tables as a Schema.
//
// Owns: opening a catalog location (a SQLite file, or a PostgreSQL database by its
// postgres:// URL: postgres.cc), busy handling (SQLite's busy timeout, then
// base/retry around opening), statements with 1-based `?` binds and typed column reads,
// write transactions (one writer at a time: BEGIN IMMEDIATE on SQLite, a transaction-scoped
// advisory lock on PostgreSQL), the Dialect (the few SQL
// spellings that differ between backends) and Migrate (each module's schema, versioned in
// `store_migrations`). Does not own: any module's tables or queries.
// Errors: a busy database, a lost connection or a serialization failure is kUnavailable
// (transient), a violated unique key kAlreadyExists, anything else kInternal; each names the
// catalog (a PostgreSQL URL without its password).
// Thread safety: a Connection and its statements are used by one thread at a time; any number
// of processes may open the same catalog.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "watershed/base/status.h"

namespace watershed::store {

enum class Backend { kSqlite, kPostgres };

// The SQL spellings that differ between backends. Schemas and queries write the SQLite form
// and the tokens below; Dialect::Render turns them into this backend's SQL.
//   {ID}       an auto-assigned 64-bit primary key column type
//   {BLOB}     a byte-string column type
//   {IGNORE}   "INSERT {IGNORE} INTO t ..." — insert unless the key exists
//   {ROWID}    insertion order of an append-only table ("ORDER BY {ROWID}"): rowid, ctid
// PostgreSQL also gets `?`/`?N` as `$N` and the types INTEGER/REAL/BLOB as BIGINT/DOUBLE
// PRECISION/BYTEA (outside quoted text).
struct Dialect {
  Backend backend = Backend::kSqlite;
  std::string Render(std::string_view sql) const;
};

struct OpenOptions {
  bool read_only = false;
  // SQLite: synchronous=NORMAL (WAL still survives a process crash; a power loss may lose the
  // last commits). Default FULL.
  bool synchronous_normal = false;
  // SQLite: a database created by this open is 0600 in folders created 0700
  // (base/private_files.h; an existing file is narrowed to 0600): the catalog holds the
  // project's state. False for data meant for readers (the real-time mart): the process umask
  // (077 in the CLI) decides.
  bool owner_only = true;
};

class Stmt;

// The type of one value of a result row (SQLite's storage classes; PostgreSQL by column type).
enum class ValueType { kNull, kInt, kDouble, kText, kBlob };

class Connection {
 public:
  // The one opener. `location` is a file path (SQLite), `sqlite:PATH`, or a libpq URL
  // `postgres://user[:password]@host[:port]/database[?sslmode=...&options=-csearch_path=...]`.
  static StatusOr<std::unique_ptr<Connection>> Open(const std::string& location,
                                                    const OpenOptions& options = {});
  virtual ~Connection() = default;

  const Dialect& dialect() const { return dialect_; }
  // Where it is, for messages ("catalog.db").
  virtual std::string name() const = 0;

  // Runs one or more statements without results (after Dialect::Render).
  virtual Status Exec(std::string_view sql) = 0;
  // The id assigned by the last insert into an {ID} table, and the rows the last statement
  // changed.
  virtual int64_t LastInsertId() = 0;
  virtual int64_t Changes() = 0;

 protected:
  explicit Connection(Dialect dialect) : dialect_(dialect) {}

 private:
  friend class Stmt;
  // A backend's prepared statement (internal; Stmt is the interface).
  struct Prepared {
    virtual ~Prepared() = default;
    virtual Status status() const = 0;
    virtual void Bind(int i, int64_t v) = 0;
    virtual void Bind(int i, double v) = 0;
    virtual void Bind(int i, std::string_view v) = 0;
    virtual void BindBlob(int i, std::string_view bytes) = 0;
    virtual void BindNull(int i) = 0;
    virtual StatusOr<bool> Step() = 0;
    virtual void Reset(bool clear_binds) = 0;
    virtual int64_t Int(int col) = 0;
    virtual double Double(int col) = 0;
    virtual bool IsNull(int col) = 0;
    virtual std::string_view Bytes(int col) = 0;
    virtual int ColumnCount() = 0;
    virtual std::string ColumnName(int col) = 0;
    virtual ValueType TypeOf(int col) = 0;
  };
  virtual std::unique_ptr<Prepared> Prepare(std::string_view sql) = 0;

 protected:
  using PreparedStatement = Prepared;
  Dialect dialect_;
};

// A prepared statement: binds are 1-based, columns 0-based.
class Stmt {
 public:
  Stmt(Connection& db, std::string_view sql);
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
  // The result's shape (after a Step that returned a row).
  int ColumnCount();
  std::string ColumnName(int col);
  ValueType TypeOf(int col);

 private:
  std::unique_ptr<Connection::Prepared> p_;
};

// A write transaction, rolled back when destroyed uncommitted.
class Transaction {
 public:
  explicit Transaction(Connection& db) : db_(db) {}
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Status Begin();
  Status Commit();

 private:
  Connection& db_;
  bool open_ = false;
};

// A module's tables: migration i (0-based) brings the module from version i to i + 1. Each
// migration is one or more statements in the Dialect's form. Append migrations; never edit
// one that has shipped.
struct Schema {
  std::string module;  // "lake", "metrics", "lineage", "quality", "orchestrate", ...
  std::vector<std::string> migrations;
  int version() const { return static_cast<int>(migrations.size()); }
};

// Brings `schema` to its newest version in `db`: each missing migration runs in its own write
// transaction together with the new version in `store_migrations(module, version)`. A database
// whose version of the module is newer than this build's is kFailedPrecondition (upgrade
// Watershed). Cheap when up to date (one read).
Status Migrate(Connection& db, const Schema& schema);
// The recorded version of `module` (0 = never migrated).
StatusOr<int> SchemaVersion(Connection& db, const std::string& module);

// The tables of `db` (store_migrations and the backend's own excluded), sorted.
StatusOr<std::vector<std::string>> ListTables(Connection& db);

struct CopyResult {
  std::vector<std::pair<std::string, int64_t>> tables;  // (table, rows copied)
  std::vector<std::string> skipped;                     // in `from` only (no module owns them)
};
// Copies every row of every table of `from` that `to` also has into `to`, in one write
// transaction on `to`, column by column by name (columns `to` lacks are an error; a row whose
// key `to` already has, such as meta.format_version written when it was opened, stays); afterwards
// `to`'s id sequences continue after the largest copied id. The caller migrates both first and
// checks that `to` is empty.
StatusOr<CopyResult> CopyTables(Connection& from, Connection& to);

}  // namespace watershed::store
