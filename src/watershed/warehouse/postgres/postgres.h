// warehouse/postgres/postgres.h — PostgreSQL (and Redshift-flavoured) targets through libpq.
//
// Owns: connections (libpq's PGconn), statements and their results (PGresult), bulk loading with
// COPY ... FROM STDIN in text format, and publishing a table built in DuckDB to PostgreSQL with
// an atomic swap. Every libpq failure comes back as a Status carrying PostgreSQL's message and
// SQLSTATE, never the password. Codes: connection failures and lost connections are
// kUnavailable; serialization failures/deadlocks kAborted; out of resources kResourceExhausted;
// statement timeouts kDeadlineExceeded; every other SQL error kInvalidArgument.
// Does not own: which SQL runs or which tables are loaded (load/, transform/ decide that), retries
// (base/retry.h), or the DuckDB side (warehouse/duckdb/).
// Thread safety: a PgConnection and its results are used by one thread at a time; free functions
// are pure. libpq itself is thread-safe across connections.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "watershed/base/status.h"

// libpq's types, declared so that this header does not pull in <libpq-fe.h>.
struct pg_conn;
struct pg_result;

namespace watershed::warehouse {
class Connection;  // warehouse/duckdb/database.h
}

namespace watershed::warehouse::postgres {

// A materialized query result in text format. Values are read by (column, row), as in the
// DuckDB wrapper (libpq itself takes (row, column)).
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(pg_result* result) : result_(result) {}
  PgResult(PgResult&& o) noexcept;
  PgResult& operator=(PgResult&& o) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  ~PgResult();

  int64_t rows() const;
  int columns() const;
  std::string column_name(int col) const;
  bool IsNull(int col, int64_t row) const;
  std::string GetString(int col, int64_t row) const;  // PostgreSQL's text form; "" for NULL
  // Rows affected by INSERT/UPDATE/DELETE/COPY/...; 0 when the command reports none.
  int64_t affected_rows() const;

 private:
  pg_result* result_ = nullptr;
};

// The sslmode Watershed adds to a conninfo whose `sslmode` is not given (and $PGSSLMODE unset):
// "verify-full" when any host is neither loopback (127.x, ::1, localhost) nor a Unix socket
// path, else "" (libpq's default). `hosts` is libpq's comma-separated host (or hostaddr) list.
std::string DefaultSslMode(std::string_view hosts);

class PgConnection {
 public:
  // `conninfo` is a URI ("postgres://user:pw@127.0.0.1:5432/db?sslmode=disable") or key=value
  // pairs ("host=127.0.0.1 port=5432 dbname=db user=u"); libpq's environment defaults apply.
  // Blocks until connected (connect_timeout defaults to 10 s); the client encoding is UTF8.
  // TLS: without an `sslmode` in `conninfo` or $PGSSLMODE, a host that is not loopback (nor a
  // Unix socket) is connected with sslmode=verify-full (TLS, the certificate checked against
  // ~/.postgresql/root.crt or `sslrootcert`, the host name matched); see DefaultSslMode.
  // Fails with kUnavailable, or kInvalidArgument for a malformed conninfo.
  static StatusOr<std::unique_ptr<PgConnection>> Connect(const std::string& conninfo);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs one or more ';'-separated statements (simple query protocol). Without an explicit
  // BEGIN they run as one implicit transaction. If a statement fails, the rest are skipped and a
  // transaction this call opened is rolled back, so the connection stays usable.
  Status Execute(std::string_view sql);
  // Like Execute; returns the last statement's result (rows in text format).
  StatusOr<PgResult> Query(std::string_view sql);
  // Runs `copy_sql` ("COPY s.t (a, b) FROM STDIN", text format by default) and sends what
  // `next` produces until it returns false. `next` appends whole or partial rows of COPY text
  // data to `*chunk` (cleared before each call; see CopyTextEscape). If `next` fails, or
  // PostgreSQL rejects a row, the COPY is aborted (nothing is loaded) and the connection stays
  // usable; the first error is returned. `rows_copied` (optional) receives the loaded row count.
  Status CopyIn(std::string_view copy_sql,
                const std::function<StatusOr<bool>(std::string* chunk)>& next,
                int64_t* rows_copied = nullptr);
  // "host:port/db" — for messages and logs; never holds the password.
  std::string Describe() const { return describe_; }
  pg_conn* raw() { return conn_; }

 private:
  PgConnection(pg_conn* conn, std::string describe, std::string password)
      : conn_(conn), describe_(std::move(describe)), password_(std::move(password)) {}
  // Sends `sql` and collects every result; returns the last one, or the first error.
  StatusOr<PgResult> Run(std::string_view sql);
  Status ErrorFrom(pg_result* result, std::string_view sql) const;
  Status ConnectionError(std::string_view what) const;

  pg_conn* conn_;
  std::string describe_;
  std::string password_;  // only to scrub messages; empty when the conninfo has none
};

// COPY text format: escapes backslash, tab, newline and carriage return in a value. Rows are
// values joined by '\t' and ended by '\n'; a NULL is kCopyTextNull.
std::string CopyTextEscape(std::string_view value);
void AppendCopyTextEscaped(std::string_view value, std::string* out);
inline constexpr std::string_view kCopyTextNull = "\\N";
inline void AppendCopyTextNull(std::string* out) { out->append(kCopyTextNull); }

// Double-quotes a PostgreSQL identifier: PgQuoteIdent("a\"b") -> "a""b" (with quotes).
std::string PgQuoteIdent(std::string_view name);

struct LoadOptions {
  // Appended after "CREATE TABLE s.t (...)", e.g. RedshiftTableSuffix(...) for redshift targets.
  std::string create_table_suffix;
  // COPY data is sent in chunks of about this many bytes.
  size_t chunk_bytes = 1 << 20;
};

// Publishes the result of `select_sql` (one DuckDB SELECT, no trailing statements) as
// `schema.table` in PostgreSQL: creates the schema if missing, builds `schema.table__loading`
// with matching column types (BOOLEAN, SMALLINT/INTEGER/BIGINT, REAL, DOUBLE PRECISION,
// NUMERIC(w,s), DATE, TIME, TIMESTAMP, TIMESTAMPTZ, UUID, TEXT for VARCHAR and anything else),
// streams the rows with COPY FROM STDIN (DuckDB renders each value as text; the result is never
// materialized), then in one transaction drops `schema.table` and renames the loading table to it,
// so readers see the old table or the new one, never a part. A leftover loading table from an
// interrupted run is dropped first. Returns the row count. On any failure the published table is
// left as it was and the loading copy is dropped; views depending on the old table make the swap
// fail that way.
StatusOr<int64_t> LoadTableFromDuckDb(warehouse::Connection& duck, std::string_view select_sql,
                                      PgConnection& pg, const std::string& schema,
                                      const std::string& table, const LoadOptions& options = {});

// " DISTKEY(x) SORTKEY(a, b)" (identifiers quoted); empty parts are omitted, so no keys -> "".
std::string RedshiftTableSuffix(const std::string& distkey,
                                const std::vector<std::string>& sortkeys);

}  // namespace watershed::warehouse::postgres
