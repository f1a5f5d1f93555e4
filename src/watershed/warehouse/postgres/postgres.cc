// warehouse/postgres/postgres.cc — the libpq calls behind postgres.h, and the DuckDB -> PostgreSQL
// table load (the only place that reads DuckDB results chunk by chunk for PostgreSQL).
// Over 600 lines on purpose: the only libpq adapter (connections, COPY, DDL, Redshift keys),
// kept in one file so that no other file sees libpq.
#include "watershed/warehouse/postgres/postgres.h"

#include <libpq-fe.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "watershed/base/strings.h"
#include "watershed/warehouse/duckdb/database.h"

namespace watershed::warehouse::postgres {
namespace {

// PostgreSQL truncates longer identifiers (NAMEDATALEN - 1).
constexpr size_t kMaxIdentifierBytes = 63;
constexpr std::string_view kLoadingSuffix = "__loading";

std::string_view TrimTrailing(std::string_view s, std::string_view chars) {
  while (!s.empty() && chars.find(s.back()) != std::string_view::npos) s.remove_suffix(1);
  return s;
}

// libpq's messages end in a newline and may span lines: one line, for logs.
std::string Trimmed(const char* s) {
  std::string out;
  for (char c : TrimTrailing(s == nullptr ? "" : s, " \t\r\n")) {
    if (c == '\n' || c == '\r') {
      out.append("; ");
    } else if (c == '\t' && !out.empty() && out.back() == ' ') {
      continue;
    } else {
      out.push_back(c == '\t' ? ' ' : c);
    }
  }
  return out;
}

// Replaces every occurrence of `secret` in `text`. Secrets shorter than 3 bytes are left alone:
// scrubbing every "a" from a message would hide the message, not a password.
std::string Scrub(std::string text, std::string_view secret) {
  if (secret.size() < 3) return text;
  for (size_t pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 3)) {
    text.replace(pos, secret.size(), "***");
  }
  return text;
}

// Drops everything inside double quotes: libpq's conninfo parse errors quote the offending
// fragment of the string, which may be (part of) a password.
std::string WithoutQuoted(std::string_view text) {
  std::string out;
  bool inside = false;
  for (char c : text) {
    if (c == '"') {
      out.append(inside ? "\"" : "\"...");
      inside = !inside;
    } else if (!inside) {
      out.push_back(c);
    }
  }
  return out;
}

// The first line of a statement, shortened, for error messages.
std::string Snippet(std::string_view sql) {
  constexpr size_t kMax = 120;
  while (!sql.empty() && (sql.front() == ' ' || sql.front() == '\n' || sql.front() == '\t')) {
    sql.remove_prefix(1);
  }
  size_t end = sql.find('\n');
  bool cut = end != std::string_view::npos;
  if (!cut) end = sql.size();
  if (end > kMax) {
    end = kMax;
    cut = true;
  }
  return StrCat(sql.substr(0, end), cut ? "..." : "");
}

absl::StatusCode CodeForSqlState(std::string_view state) {
  if (state.size() != 5) return absl::StatusCode::kInvalidArgument;
  const std::string_view cls = state.substr(0, 2);
  if (cls == "08") return absl::StatusCode::kUnavailable;  // connection exception
  if (state == "40001" || state == "40P01") return absl::StatusCode::kAborted;
  if (cls == "53") return absl::StatusCode::kResourceExhausted;  // insufficient resources
  if (state == "57P01" || state == "57P02" || state == "57P03") {
    return absl::StatusCode::kUnavailable;  // shutdown / cannot connect now
  }
  if (state == "57014") return absl::StatusCode::kDeadlineExceeded;  // statement timeout/cancel
  return absl::StatusCode::kInvalidArgument;
}

void IgnoreNotice(void* /*arg*/, const char* /*message*/) {}

}  // namespace

// ---- Text helpers ----

void AppendCopyTextEscaped(std::string_view value, std::string* out) {
  size_t start = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    char escaped;
    switch (value[i]) {
      case '\\':
        escaped = '\\';
        break;
      case '\t':
        escaped = 't';
        break;
      case '\n':
        escaped = 'n';
        break;
      case '\r':
        escaped = 'r';
        break;
      default:
        continue;
    }
    out->append(value.substr(start, i - start));
    out->push_back('\\');
    out->push_back(escaped);
    start = i + 1;
  }
  out->append(value.substr(start));
}

std::string CopyTextEscape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  AppendCopyTextEscaped(value, &out);
  return out;
}

std::string PgQuoteIdent(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    out.push_back(c);
    if (c == '"') out.push_back('"');
  }
  out.push_back('"');
  return out;
}

std::string RedshiftTableSuffix(const std::string& distkey,
                                const std::vector<std::string>& sortkeys) {
  std::string out;
  if (!distkey.empty()) out = StrCat(" DISTKEY(", PgQuoteIdent(distkey), ")");
  if (!sortkeys.empty()) {
    out.append(" SORTKEY(");
    for (size_t i = 0; i < sortkeys.size(); ++i) {
      if (i > 0) out.append(", ");
      out.append(PgQuoteIdent(sortkeys[i]));
    }
    out.push_back(')');
  }
  return out;
}

// ---- PgResult ----

PgResult::PgResult(PgResult&& o) noexcept : result_(o.result_) { o.result_ = nullptr; }

PgResult& PgResult::operator=(PgResult&& o) noexcept {
  if (this != &o) {
    PQclear(result_);
    result_ = o.result_;
    o.result_ = nullptr;
  }
  return *this;
}

PgResult::~PgResult() { PQclear(result_); }

int64_t PgResult::rows() const { return result_ ? PQntuples(result_) : 0; }
int PgResult::columns() const { return result_ ? PQnfields(result_) : 0; }

std::string PgResult::column_name(int col) const {
  const char* name = result_ ? PQfname(result_, col) : nullptr;
  return name ? name : "";
}

bool PgResult::IsNull(int col, int64_t row) const {
  return result_ == nullptr || PQgetisnull(result_, static_cast<int>(row), col) != 0;
}

std::string PgResult::GetString(int col, int64_t row) const {
  if (IsNull(col, row)) return "";
  const int r = static_cast<int>(row);
  return std::string(PQgetvalue(result_, r, col), PQgetlength(result_, r, col));
}

int64_t PgResult::affected_rows() const {
  const char* n = result_ ? PQcmdTuples(result_) : nullptr;
  return (n == nullptr || *n == '\0') ? 0 : std::strtoll(n, nullptr, 10);
}

std::string DefaultSslMode(std::string_view hosts) {
  while (!hosts.empty()) {
    const size_t comma = hosts.find(',');
    const std::string_view host = hosts.substr(0, comma);
    hosts = comma == std::string_view::npos ? std::string_view() : hosts.substr(comma + 1);
    const bool local =
        host.empty() || host.front() == '/' || host.front() == '@' || IsLoopbackHost(host);
    if (!local) return "verify-full";
  }
  return "";
}

// ---- PgConnection ----

StatusOr<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& conninfo) {
  // Parse first: for Describe() before connecting, and to know the password to scrub.
  char* parse_error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &parse_error);
  if (options == nullptr) {
    std::string why = parse_error ? WithoutQuoted(Trimmed(parse_error)) : "out of memory";
    if (parse_error) PQfreemem(parse_error);
    return absl::InvalidArgumentError(StrCat("postgres: invalid connection string: ", why));
  }
  std::string host, hostaddr, port, dbname, user, password, sslmode;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const std::string_view key = o->keyword;
    if (key == "host") host = o->val;
    if (key == "hostaddr") hostaddr = o->val;
    if (key == "port") port = o->val;
    if (key == "dbname") dbname = o->val;
    if (key == "user") user = o->val;
    if (key == "password") password = o->val;
    if (key == "sslmode") sslmode = o->val;
  }
  PQconninfoFree(options);
  // A malformed port is the caller's mistake, not a transient failure.
  if (port.find_first_not_of("0123456789,") != std::string::npos) {
    return absl::InvalidArgumentError(
        StrCat("postgres: invalid connection string: port \"", port, "\" is not a number"));
  }
  const std::string planned =
      StrCat(!host.empty()       ? host
             : !hostaddr.empty() ? hostaddr
                                 : "(default host)",
             ":", port.empty() ? "(default port)" : port, "/",
             dbname.empty() ? (user.empty() ? "(default db)" : user) : dbname);

  // Earlier keywords are defaults; values from the expanded conninfo (last) override them.
  // TLS by default to any host off this machine (issue 16): unless the conninfo or
  // $PGSSLMODE says otherwise, sslmode=verify-full.
  const char* env_sslmode = std::getenv("PGSSLMODE");
  const std::string default_sslmode =
      (sslmode.empty() && (env_sslmode == nullptr || *env_sslmode == '\0'))
          ? DefaultSslMode(!host.empty() ? host : hostaddr)
          : "";
  std::vector<const char*> keywords = {"connect_timeout", "client_encoding"};
  std::vector<const char*> values = {"10", "UTF8"};
  if (!default_sslmode.empty()) {
    keywords.push_back("sslmode");
    values.push_back(default_sslmode.c_str());
  }
  keywords.insert(keywords.end(), {"dbname", nullptr});
  values.insert(values.end(), {conninfo.c_str(), nullptr});
  PGconn* conn = PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/1);
  if (conn == nullptr) return absl::ResourceExhaustedError("postgres: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = Scrub(Trimmed(PQerrorMessage(conn)), password);
    PQfinish(conn);
    if (!default_sslmode.empty()) {
      why +=
          " (Watershed connects to hosts off this machine with sslmode=verify-full; give the "
          "server's CA as sslrootcert=..., or set sslmode in the connection string)";
    }
    return absl::UnavailableError(StrCat("postgres ", planned, ": cannot connect: ", why));
  }
  PQsetNoticeProcessor(conn, IgnoreNotice, nullptr);
  const char* h = PQhost(conn);
  std::string describe = StrCat(h ? h : "", ":", PQport(conn), "/", PQdb(conn));
  return std::unique_ptr<PgConnection>(
      new PgConnection(conn, std::move(describe), std::move(password)));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

Status PgConnection::ConnectionError(std::string_view what) const {
  return absl::UnavailableError(Scrub(
      StrCat("postgres ", describe_, ": ", what, ": ", Trimmed(PQerrorMessage(conn_))), password_));
}

Status PgConnection::ErrorFrom(PGresult* result, std::string_view sql) const {
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  std::string message = StrCat("postgres ", describe_, ": ");
  if (primary != nullptr) {
    message.append(primary);
  } else {
    std::string text = Trimmed(PQresultErrorMessage(result));
    message.append(text.empty() ? Trimmed(PQerrorMessage(conn_)) : text);
  }
  if (state != nullptr) message.append(StrCat(" (SQLSTATE ", state, ")"));
  const std::pair<int, const char*> extras[] = {
      {PG_DIAG_MESSAGE_DETAIL, "detail"},
      {PG_DIAG_MESSAGE_HINT, "hint"},
      {PG_DIAG_CONTEXT, "context"},
  };
  for (const auto& [field, label] : extras) {
    if (const char* v = PQresultErrorField(result, field)) {
      message.append(StrCat("; ", label, ": ", v));
    }
  }
  message.append(StrCat("; in: ", Snippet(sql)));
  absl::StatusCode code = CodeForSqlState(state ? state : "");
  if (PQstatus(conn_) == CONNECTION_BAD) code = absl::StatusCode::kUnavailable;
  return Status(code, Scrub(std::move(message), password_));
}

StatusOr<PgResult> PgConnection::Run(std::string_view sql) {
  const PGTransactionStatusType before = PQtransactionStatus(conn_);
  const std::string text(sql);
  if (PQsendQuery(conn_, text.c_str()) != 1) return ConnectionError("sending a statement");
  PgResult last;
  Status error;
  while (PGresult* r = PQgetResult(conn_)) {
    switch (PQresultStatus(r)) {
      case PGRES_COPY_IN:  // a COPY FROM STDIN in plain SQL: refuse it, the server reports it
        PQputCopyEnd(conn_, "COPY FROM STDIN needs PgConnection::CopyIn");
        PQclear(r);
        continue;
      case PGRES_COPY_OUT: {  // a COPY TO STDOUT: the data is not wanted here
        char* buffer = nullptr;
        while (PQgetCopyData(conn_, &buffer, /*async=*/0) > 0) PQfreemem(buffer);
        PQclear(r);
        continue;
      }
      case PGRES_BAD_RESPONSE:
      case PGRES_FATAL_ERROR:
        if (error.ok()) error = ErrorFrom(r, sql);
        PQclear(r);
        continue;
      default:
        last = PgResult(r);
    }
  }
  if (error.ok() && PQstatus(conn_) == CONNECTION_BAD) {
    error = ConnectionError("connection lost");
  }
  if (!error.ok()) {
    // A failed statement inside a BEGIN this call sent leaves the session in an aborted
    // transaction: end it, so the next call works.
    if (before == PQTRANS_IDLE && PQtransactionStatus(conn_) == PQTRANS_INERROR) {
      PQclear(PQexec(conn_, "ROLLBACK"));
    }
    return error;
  }
  return last;
}

Status PgConnection::Execute(std::string_view sql) { return Run(sql).status(); }

StatusOr<PgResult> PgConnection::Query(std::string_view sql) { return Run(sql); }

Status PgConnection::CopyIn(std::string_view copy_sql,
                            const std::function<StatusOr<bool>(std::string* chunk)>& next,
                            int64_t* rows_copied) {
  if (rows_copied != nullptr) *rows_copied = 0;
  const std::string text(copy_sql);
  if (PQsendQuery(conn_, text.c_str()) != 1) return ConnectionError("starting COPY");
  PGresult* start = PQgetResult(conn_);
  if (start == nullptr || PQresultStatus(start) != PGRES_COPY_IN) {
    Status s =
        start != nullptr && PQresultStatus(start) == PGRES_FATAL_ERROR
            ? ErrorFrom(start, copy_sql)
            : absl::InvalidArgumentError(StrCat(
                  "postgres ", describe_, ": not a COPY ... FROM STDIN: ", Snippet(copy_sql)));
    PQclear(start);
    // Collect whatever else the statement produced (refusing any COPY it started).
    while (PGresult* r = PQgetResult(conn_)) {
      if (PQresultStatus(r) == PGRES_COPY_IN) PQputCopyEnd(conn_, "not the expected COPY");
      PQclear(r);
    }
    return s;
  }
  PQclear(start);

  Status failure;  // the client side's: `next` failed, or sending failed
  std::string chunk;
  for (;;) {
    chunk.clear();
    StatusOr<bool> more = next(&chunk);
    if (!more.ok()) {
      failure = more.status();
      break;
    }
    if (!chunk.empty() && PQputCopyData(conn_, chunk.data(), static_cast<int>(chunk.size())) != 1) {
      failure = ConnectionError("sending COPY data");
      break;
    }
    if (!*more) break;
  }
  if (failure.ok()) {
    if (PQputCopyEnd(conn_, nullptr) != 1) failure = ConnectionError("ending COPY");
  } else {
    // The server rolls the COPY back and answers with an error, which the loop below drains.
    PQputCopyEnd(conn_, StrCat("aborted by the client: ", MessageOf(failure)).c_str());
  }
  Status server;
  while (PGresult* r = PQgetResult(conn_)) {
    const ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK) {
      if (rows_copied != nullptr)
        *rows_copied = PgResult(r).affected_rows();
      else
        PQclear(r);
      continue;
    }
    if ((st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE) && server.ok()) {
      server = ErrorFrom(r, copy_sql);
    }
    PQclear(r);
  }
  if (!failure.ok()) {
    return Annotate(failure,
                    StrCat("postgres ", describe_, ": COPY aborted (", Snippet(copy_sql), ")"));
  }
  if (!server.ok()) return server;
  if (PQstatus(conn_) == CONNECTION_BAD) return ConnectionError("connection lost during COPY");
  return absl::OkStatus();
}

// ---- DuckDB -> PostgreSQL ----

namespace {

std::string PgTypeFor(duckdb_logical_type type) {
  switch (duckdb_get_type_id(type)) {
    case DUCKDB_TYPE_BOOLEAN:
      return "BOOLEAN";
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_UTINYINT:
      return "SMALLINT";
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_USMALLINT:
      return "INTEGER";
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UINTEGER:
      return "BIGINT";
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_UHUGEINT:
      return "NUMERIC";
    case DUCKDB_TYPE_FLOAT:
      return "REAL";
    case DUCKDB_TYPE_DOUBLE:
      return "DOUBLE PRECISION";
    case DUCKDB_TYPE_DECIMAL:
      return StrCat("NUMERIC(", static_cast<int>(duckdb_decimal_width(type)), ",",
                    static_cast<int>(duckdb_decimal_scale(type)), ")");
    case DUCKDB_TYPE_DATE:
      return "DATE";
    case DUCKDB_TYPE_TIME:
      return "TIME";
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_S:
    case DUCKDB_TYPE_TIMESTAMP_MS:
    case DUCKDB_TYPE_TIMESTAMP_NS:
      return "TIMESTAMP";
    case DUCKDB_TYPE_TIMESTAMP_TZ:
      return "TIMESTAMPTZ";
    case DUCKDB_TYPE_UUID:
      return "UUID";
    default:
      return "TEXT";  // VARCHAR, and everything rendered by DuckDB as text
  }
}

// A prepared DuckDB statement, destroyed on scope exit.
struct DuckPrepared {
  duckdb_prepared_statement stmt = nullptr;
  ~DuckPrepared() { duckdb_destroy_prepare(&stmt); }
};

Status DuckPrepare(duckdb_connection conn, const std::string& sql, DuckPrepared* out) {
  if (duckdb_prepare(conn, sql.c_str(), &out->stmt) == DuckDBError) {
    const char* e = duckdb_prepare_error(out->stmt);
    return absl::InvalidArgumentError(StrCat("duckdb: ", e ? e : "cannot prepare the query"));
  }
  return absl::OkStatus();
}

struct SourceColumn {
  std::string name;
  std::string pg_type;
};

// Streams a DuckDB result whose columns are all VARCHAR into COPY text chunks.
class DuckTextStream {
 public:
  DuckTextStream() = default;
  ~DuckTextStream() {
    if (chunk_ != nullptr) duckdb_destroy_data_chunk(&chunk_);
    if (has_result_) duckdb_destroy_result(&result_);
    if (pending_ != nullptr) duckdb_destroy_pending(&pending_);
  }
  DuckTextStream(const DuckTextStream&) = delete;
  DuckTextStream& operator=(const DuckTextStream&) = delete;

  Status Start(duckdb_prepared_statement stmt) {
    if (duckdb_pending_prepared_streaming(stmt, &pending_) == DuckDBError) {
      const char* e = duckdb_pending_error(pending_);
      return absl::InvalidArgumentError(StrCat("duckdb: ", e ? e : "cannot run the query"));
    }
    if (duckdb_execute_pending(pending_, &result_) == DuckDBError) {
      has_result_ = true;
      const char* e = duckdb_result_error(&result_);
      return absl::InvalidArgumentError(StrCat("duckdb: ", e ? e : "query failed"));
    }
    has_result_ = true;
    return absl::OkStatus();
  }

  // Appends rows to `*out` until it holds at least `bytes` or the result ends (returns false).
  StatusOr<bool> Fill(std::string* out, size_t bytes) {
    while (out->size() < bytes) {
      if (chunk_ == nullptr || row_ >= duckdb_data_chunk_get_size(chunk_)) {
        if (chunk_ != nullptr) duckdb_destroy_data_chunk(&chunk_);
        chunk_ = duckdb_fetch_chunk(result_);
        row_ = 0;
        if (chunk_ == nullptr) {
          if (const char* e = duckdb_result_error(&result_)) {
            return absl::InvalidArgumentError(StrCat("duckdb: ", e));
          }
          return false;
        }
        Bind();
        continue;
      }
      const idx_t n = duckdb_data_chunk_get_size(chunk_);
      for (; row_ < n && out->size() < bytes; ++row_) {
        for (size_t c = 0; c < data_.size(); ++c) {
          if (c > 0) out->push_back('\t');
          if (validity_[c] != nullptr && !duckdb_validity_row_is_valid(validity_[c], row_)) {
            AppendCopyTextNull(out);
            continue;
          }
          duckdb_string_t& s = data_[c][row_];
          AppendCopyTextEscaped(
              std::string_view(duckdb_string_t_data(&s), duckdb_string_t_length(s)), out);
        }
        out->push_back('\n');
        ++rows_;
      }
    }
    return true;
  }

  int64_t rows() const { return rows_; }

 private:
  void Bind() {
    const idx_t columns = duckdb_data_chunk_get_column_count(chunk_);
    data_.assign(columns, nullptr);
    validity_.assign(columns, nullptr);
    for (idx_t c = 0; c < columns; ++c) {
      duckdb_vector v = duckdb_data_chunk_get_vector(chunk_, c);
      data_[c] = static_cast<duckdb_string_t*>(duckdb_vector_get_data(v));
      validity_[c] = duckdb_vector_get_validity(v);
    }
  }

  duckdb_pending_result pending_ = nullptr;
  duckdb_result result_{};
  bool has_result_ = false;
  duckdb_data_chunk chunk_ = nullptr;
  idx_t row_ = 0;
  int64_t rows_ = 0;
  std::vector<duckdb_string_t*> data_;
  std::vector<uint64_t*> validity_;
};

}  // namespace

StatusOr<int64_t> LoadTableFromDuckDb(warehouse::Connection& duck, std::string_view select_sql,
                                      PgConnection& pg, const std::string& schema,
                                      const std::string& table, const LoadOptions& options) {
  const std::string target = StrCat(schema, ".", table);
  auto fail = [&](const Status& s) {
    return Annotate(s, StrCat("loading postgres table ", target));
  };
  if (schema.empty() || table.empty()) {
    return absl::InvalidArgumentError("loading into postgres: schema and table must be set");
  }
  const std::string loading = StrCat(table, kLoadingSuffix);
  if (schema.size() > kMaxIdentifierBytes || loading.size() > kMaxIdentifierBytes) {
    return fail(absl::InvalidArgumentError(
        StrCat("names are limited to ", kMaxIdentifierBytes, " bytes (the table's to ",
               kMaxIdentifierBytes - kLoadingSuffix.size(), ", for its loading copy)")));
  }
  const std::string source(TrimTrailing(select_sql, " \t\r\n;"));

  // Column names and types, from the prepared (not yet run) query.
  DuckPrepared described;
  if (Status s = DuckPrepare(duck.raw(), source, &described); !s.ok()) return fail(s);
  std::vector<SourceColumn> columns;
  const idx_t count = duckdb_prepared_statement_column_count(described.stmt);
  for (idx_t c = 0; c < count; ++c) {
    SourceColumn col;
    if (const char* name = duckdb_prepared_statement_column_name(described.stmt, c)) {
      col.name = name;
      duckdb_free(const_cast<char*>(name));
    }
    duckdb_logical_type type = duckdb_prepared_statement_column_logical_type(described.stmt, c);
    col.pg_type = PgTypeFor(type);
    duckdb_destroy_logical_type(&type);
    columns.push_back(std::move(col));
  }

  // The query that streams: every column cast to text by DuckDB. Renaming the columns in the
  // alias list keeps duplicate or odd source names out of the way.
  std::string select = "SELECT ";
  std::string aliases, column_defs, column_list;
  for (size_t c = 0; c < columns.size(); ++c) {
    const std::string sep = c > 0 ? ", " : "";
    aliases.append(StrCat(sep, "ws_c", c));
    select.append(StrCat(sep, "CAST(ws_c", c, " AS VARCHAR)"));
    column_defs.append(StrCat(sep, PgQuoteIdent(columns[c].name), " ", columns[c].pg_type));
    column_list.append(StrCat(sep, PgQuoteIdent(columns[c].name)));
  }
  select.append(StrCat(" FROM (", source, "\n) AS ws_source(", aliases, ")"));
  DuckPrepared streaming;
  if (Status s = DuckPrepare(duck.raw(), select, &streaming); !s.ok()) return fail(s);

  const std::string qschema = PgQuoteIdent(schema);
  const std::string qloading = StrCat(qschema, ".", PgQuoteIdent(loading));
  if (Status s = pg.Execute(StrCat("CREATE SCHEMA IF NOT EXISTS ", qschema, ";\n",
                                   "DROP TABLE IF EXISTS ", qloading, ";\n", "CREATE TABLE ",
                                   qloading, " (", column_defs, ")", options.create_table_suffix));
      !s.ok()) {
    return fail(s);
  }
  auto drop_loading = [&]() { (void)pg.Execute(StrCat("DROP TABLE IF EXISTS ", qloading)); };

  DuckTextStream stream;
  if (Status s = stream.Start(streaming.stmt); !s.ok()) {
    drop_loading();
    return fail(s);
  }
  int64_t copied = 0;
  Status copy = pg.CopyIn(
      StrCat("COPY ", qloading, " (", column_list, ") FROM STDIN"),
      [&](std::string* chunk) { return stream.Fill(chunk, options.chunk_bytes); }, &copied);
  if (!copy.ok()) {
    drop_loading();
    return fail(copy);
  }
  if (copied != stream.rows()) {
    drop_loading();
    return fail(absl::InternalError(
        StrCat("sent ", stream.rows(), " rows but PostgreSQL loaded ", copied)));
  }

  // The swap: one transaction, so readers see the old table or the new one.
  if (Status s = pg.Execute(StrCat("BEGIN;\n", "DROP TABLE IF EXISTS ", qschema, ".",
                                   PgQuoteIdent(table), ";\n", "ALTER TABLE ", qloading,
                                   " RENAME TO ", PgQuoteIdent(table), ";\n", "COMMIT"));
      !s.ok()) {
    drop_loading();
    return fail(s);
  }
  return copied;
}

}  // namespace watershed::warehouse::postgres
