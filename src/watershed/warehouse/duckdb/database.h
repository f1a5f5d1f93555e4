// warehouse/duckdb/database.h — a small RAII wrapper over DuckDB's C API (the embedded engine).
//
// Owns: opening databases (never touching the network: extension autoload/autoinstall off),
// connections, queries, prepared statements, materialized results, and bulk append of a
// TableBatch through data chunks, and restricting a database's file access (user SQL may only
// reach the folders it is given). Every DuckDB failure comes back as a Status carrying DuckDB's
// message. Does not own: which SQL runs (lake/, transform/ decide that), or which folders user
// SQL may reach (project/sql_sandbox.h).
// Thread safety: a Database may be shared by threads; a Connection and its results are used by
// one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <duckdb.h>
#include "watershed/base/columns.h"
#include "watershed/base/status.h"

namespace watershed::warehouse {

// SQL quoting helpers: Ident("a b") -> "a b" in double quotes; Literal("it's") -> 'it''s'.
std::string QuoteIdent(std::string_view name);
std::string QuoteLiteral(std::string_view value);

// A materialized query result. Values are read by (column, row).
class Result {
 public:
  Result() = default;
  explicit Result(duckdb_result r) : result_(r), valid_(true) {}
  Result(Result&& o) noexcept;
  Result& operator=(Result&& o) noexcept;
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  ~Result();

  size_t column_count();
  size_t row_count();
  std::string column_name(size_t col);
  duckdb_type column_type(size_t col);
  bool IsNull(size_t col, size_t row);
  std::string GetString(size_t col, size_t row);  // any type rendered as text; "" for NULL
  int64_t GetInt64(size_t col, size_t row);
  double GetDouble(size_t col, size_t row);
  bool GetBool(size_t col, size_t row);

 private:
  duckdb_result result_{};
  bool valid_ = false;
};

class PreparedStatement;

class Connection {
 public:
  // `restriction_hint`: what a statement refused by Database::RestrictFileAccess adds to its
  // error (shared with the database; empty until the database is restricted).
  explicit Connection(duckdb_connection c,
                      std::shared_ptr<const std::string> restriction_hint = nullptr)
      : conn_(c), restriction_hint_(std::move(restriction_hint)) {}
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements; returns the last statement's result. On a restricted database
  // (Database::RestrictFileAccess), a statement refused for touching a file outside the allowed
  // folders, or for changing a locked setting, fails with kPermissionDenied: DuckDB's message,
  // then the hint on a line of its own.
  StatusOr<Result> Query(std::string_view sql);
  Status Execute(std::string_view sql);
  StatusOr<std::unique_ptr<PreparedStatement>> Prepare(std::string_view sql);
  // Appends every row of `batch` to the existing table `table` (schema-qualified names allowed
  // as "schema.table"); the table's columns must match batch.columns in order and type.
  Status AppendBatch(std::string_view table, const TableBatch& batch);
  // Interrupts a query running on this connection from another thread.
  void Interrupt();
  duckdb_connection raw() { return conn_; }

 private:
  Status Failed(std::string_view what, const char* message) const;

  duckdb_connection conn_;
  std::shared_ptr<const std::string> restriction_hint_;
};

// A table function `name()` that scans the TableBatch currently set on it, with projection
// pushdown — lets DuckDB stream a batch straight into COPY ... TO without materializing a table.
class BatchScan {
 public:
  static StatusOr<std::unique_ptr<BatchScan>> Register(Connection& conn, const std::string& name);
  // The batch the next query scans; it must outlive that query.
  void Set(const TableBatch* batch) { batch_ = batch; }
  const TableBatch* batch() const { return batch_; }

 private:
  BatchScan() = default;
  const TableBatch* batch_ = nullptr;
};

class PreparedStatement {
 public:
  explicit PreparedStatement(duckdb_prepared_statement s) : stmt_(s) {}
  ~PreparedStatement();
  PreparedStatement(const PreparedStatement&) = delete;
  PreparedStatement& operator=(const PreparedStatement&) = delete;

  // Parameters are 1-based, as in DuckDB.
  Status Bind(size_t index, int64_t value);
  Status Bind(size_t index, double value);
  Status Bind(size_t index, std::string_view value);
  Status BindNull(size_t index);
  StatusOr<Result> Execute();

 private:
  duckdb_prepared_statement stmt_;
};

struct DatabaseOptions {
  int threads = 0;              // 0 = DuckDB's default (all cores)
  std::string memory_limit;     // e.g. "1GB"; empty = default
  std::string temp_directory;   // spill folder; empty = default
};

class Database {
 public:
  // path "" or ":memory:" opens an in-memory database.
  static StatusOr<std::unique_ptr<Database>> Open(const std::string& path,
                                                  const DatabaseOptions& options = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  StatusOr<std::unique_ptr<Connection>> Connect();

  // Sandboxes the SQL of every connection of this database, opened before or after: files may
  // be read, written or attached only under `allowed_directories` (absolute folders; DuckDB's
  // `allowed_directories` with `enable_external_access = false`, so read_csv('/etc/passwd'),
  // COPY ... TO elsewhere, ATTACH elsewhere, glob() elsewhere and INSTALL fail), and the
  // configuration is locked (`lock_configuration = true`): no later SET or RESET of any global
  // setting succeeds, so SQL cannot lift the restriction. Databases already attached and views
  // already defined keep working when their files lie in the allowed folders. DuckDB's own
  // spill files (temp_directory) are not affected. Refused statements fail with `hint` added
  // (see Connection::Query). Call once, before the database is used by several threads.
  Status RestrictFileAccess(const std::vector<std::string>& allowed_directories, std::string hint);

 private:
  explicit Database(duckdb_database db)
      : db_(db), restriction_hint_(std::make_shared<std::string>()) {}
  duckdb_database db_;
  std::shared_ptr<std::string> restriction_hint_;  // written once by RestrictFileAccess
};

}  // namespace watershed::warehouse
