// warehouse/duckdb/database.cc — the C API calls behind database.h.
#include "watershed/warehouse/duckdb/database.h"

#include <cstring>


namespace watershed::warehouse {
namespace {

Status DuckError(std::string_view what, const char* message) {
  return absl::InvalidArgumentError(
      StrCat(what, ": ", message != nullptr ? message : "unknown DuckDB error"));
}

duckdb_type SlotDuckType(ColumnType t) {
  switch (t) {
    case ColumnType::kBoolean: return DUCKDB_TYPE_BOOLEAN;
    case ColumnType::kBigint: return DUCKDB_TYPE_BIGINT;
    case ColumnType::kDouble: return DUCKDB_TYPE_DOUBLE;
    case ColumnType::kDecimal: return DUCKDB_TYPE_DECIMAL;
    case ColumnType::kDate: return DUCKDB_TYPE_DATE;
    case ColumnType::kTimestamp: return DUCKDB_TYPE_TIMESTAMP;
    case ColumnType::kVarchar: return DUCKDB_TYPE_VARCHAR;
  }
  return DUCKDB_TYPE_VARCHAR;
}

duckdb_logical_type MakeLogicalType(ColumnType t) {
  if (t == ColumnType::kDecimal) return duckdb_create_decimal_type(18, kDecimalScale);
  return duckdb_create_logical_type(SlotDuckType(t));
}

// Copies rows [begin, begin+n) of one column into a chunk vector.
void FillVector(duckdb_vector vec, ColumnType type, const ColumnData& col, size_t begin,
                size_t n, bool borrow_strings) {
  bool has_null = false;
  for (size_t i = 0; i < n; ++i) has_null |= !col.valid[begin + i];
  uint64_t* validity = nullptr;
  if (has_null) {
    duckdb_vector_ensure_validity_writable(vec);
    validity = duckdb_vector_get_validity(vec);
  }
  if (type == ColumnType::kVarchar) {
    if (!borrow_strings) {
      for (size_t i = 0; i < n; ++i) {
        if (!col.valid[begin + i]) {
          duckdb_validity_set_row_invalid(validity, i);
          continue;
        }
        const std::string_view s = col.strings[begin + i];
        duckdb_vector_assign_string_element_len(vec, i, s.data(), s.size());
      }
      return;
    }
    // The batch outlives the query reading it, so the vector may point into the batch's
    // arena instead of copying every string (duckdb_string_t is a non-owning view).
    auto* out = static_cast<duckdb_string_t*>(duckdb_vector_get_data(vec));
    for (size_t i = 0; i < n; ++i) {
      if (!col.valid[begin + i]) {
        duckdb_validity_set_row_invalid(validity, i);
        out[i].value.inlined.length = 0;
        continue;
      }
      const std::string_view s = col.strings[begin + i];
      duckdb_string_t& d = out[i];
      d.value.inlined.length = static_cast<uint32_t>(s.size());
      if (s.size() <= sizeof d.value.inlined.inlined) {
        std::memset(d.value.inlined.inlined, 0, sizeof d.value.inlined.inlined);
        std::memcpy(d.value.inlined.inlined, s.data(), s.size());
      } else {
        std::memcpy(d.value.pointer.prefix, s.data(), sizeof d.value.pointer.prefix);
        d.value.pointer.ptr = const_cast<char*>(s.data());
      }
    }
    return;
  }
  void* data = duckdb_vector_get_data(vec);
  const uint64_t* src = col.slots.data() + begin;
  switch (type) {
    case ColumnType::kBoolean: {
      auto* out = static_cast<bool*>(data);
      for (size_t i = 0; i < n; ++i) out[i] = src[i] != 0;
      break;
    }
    case ColumnType::kDate: {
      auto* out = static_cast<int32_t*>(data);
      for (size_t i = 0; i < n; ++i) out[i] = static_cast<int32_t>(static_cast<int64_t>(src[i]));
      break;
    }
    default:  // bigint, double, decimal(18,x) and timestamp are all 8-byte slots
      std::memcpy(data, src, n * sizeof(uint64_t));
  }
  if (has_null) {
    for (size_t i = 0; i < n; ++i) {
      if (!col.valid[begin + i]) duckdb_validity_set_row_invalid(validity, i);
    }
  }
}

}  // namespace

namespace {
std::string Quote(std::string_view s, char q) {
  std::string out(1, q);
  for (char c : s) {
    out.push_back(c);
    if (c == q) out.push_back(q);
  }
  out.push_back(q);
  return out;
}
}  // namespace

std::string QuoteIdent(std::string_view name) { return Quote(name, '"'); }
std::string QuoteLiteral(std::string_view value) { return Quote(value, '\''); }

// ---- Result ----

Result::Result(Result&& o) noexcept : result_(o.result_), valid_(o.valid_) { o.valid_ = false; }

Result& Result::operator=(Result&& o) noexcept {
  if (this != &o) {
    if (valid_) duckdb_destroy_result(&result_);
    result_ = o.result_;
    valid_ = o.valid_;
    o.valid_ = false;
  }
  return *this;
}

Result::~Result() {
  if (valid_) duckdb_destroy_result(&result_);
}

size_t Result::column_count() { return valid_ ? duckdb_column_count(&result_) : 0; }
size_t Result::row_count() { return valid_ ? duckdb_row_count(&result_) : 0; }
std::string Result::column_name(size_t col) { return duckdb_column_name(&result_, col); }
duckdb_type Result::column_type(size_t col) { return duckdb_column_type(&result_, col); }
bool Result::IsNull(size_t col, size_t row) { return duckdb_value_is_null(&result_, col, row); }

std::string Result::GetString(size_t col, size_t row) {
  if (IsNull(col, row)) return "";
  char* s = duckdb_value_varchar(&result_, col, row);
  if (s == nullptr) return "";
  std::string out(s);
  duckdb_free(s);
  return out;
}

int64_t Result::GetInt64(size_t col, size_t row) { return duckdb_value_int64(&result_, col, row); }
double Result::GetDouble(size_t col, size_t row) {
  return duckdb_value_double(&result_, col, row);
}
bool Result::GetBool(size_t col, size_t row) { return duckdb_value_boolean(&result_, col, row); }

// ---- Connection ----

Connection::~Connection() { duckdb_disconnect(&conn_); }

Status Connection::Failed(std::string_view what, const char* message) const {
  Status s = DuckError(what, message);
  if (restriction_hint_ == nullptr || restriction_hint_->empty() || message == nullptr) return s;
  const std::string_view text(message);
  // DuckDB's words for a file outside allowed_directories and for a SET after the lock.
  if (text.find("disabled by configuration") == std::string_view::npos &&
      text.find("the configuration has been locked") == std::string_view::npos) {
    return s;
  }
  return absl::PermissionDeniedError(StrCat(MessageOf(s), "\n", *restriction_hint_));
}

StatusOr<Result> Connection::Query(std::string_view sql) {
  std::string text(sql);
  duckdb_result r;
  if (duckdb_query(conn_, text.c_str(), &r) == DuckDBError) {
    Status s = Failed("query failed", duckdb_result_error(&r));
    duckdb_destroy_result(&r);
    return s;
  }
  return Result(r);
}

Status Connection::Execute(std::string_view sql) { return Query(sql).status(); }

StatusOr<std::unique_ptr<PreparedStatement>> Connection::Prepare(std::string_view sql) {
  std::string text(sql);
  duckdb_prepared_statement stmt;
  if (duckdb_prepare(conn_, text.c_str(), &stmt) == DuckDBError) {
    Status s = Failed("prepare failed", duckdb_prepare_error(stmt));
    duckdb_destroy_prepare(&stmt);
    return s;
  }
  return std::make_unique<PreparedStatement>(stmt);
}

Status Connection::AppendBatch(std::string_view table, const TableBatch& batch) {
  std::string schema_name, table_name(table);
  if (size_t dot = table.find('.'); dot != std::string_view::npos) {
    schema_name = std::string(table.substr(0, dot));
    table_name = std::string(table.substr(dot + 1));
  }
  duckdb_appender appender;
  if (duckdb_appender_create(conn_, schema_name.empty() ? nullptr : schema_name.c_str(),
                             table_name.c_str(), &appender) == DuckDBError) {
    Status s = DuckError(StrCat("appending to ", table), duckdb_appender_error(appender));
    duckdb_appender_destroy(&appender);
    return s;
  }
  std::vector<duckdb_logical_type> types;
  types.reserve(batch.columns.size());
  for (const ColumnSpec& c : batch.columns) types.push_back(MakeLogicalType(c.type));
  Status status;
  const size_t kChunk = duckdb_vector_size();
  for (size_t begin = 0; begin < batch.num_rows && status.ok(); begin += kChunk) {
    const size_t n = std::min(kChunk, batch.num_rows - begin);
    duckdb_data_chunk chunk = duckdb_create_data_chunk(types.data(), types.size());
    for (size_t c = 0; c < batch.columns.size(); ++c) {
      FillVector(duckdb_data_chunk_get_vector(chunk, c), batch.columns[c].type, batch.data[c],
                 begin, n, /*borrow_strings=*/false);
    }
    duckdb_data_chunk_set_size(chunk, n);
    if (duckdb_append_data_chunk(appender, chunk) == DuckDBError) {
      status = DuckError(StrCat("appending to ", table), duckdb_appender_error(appender));
    }
    duckdb_destroy_data_chunk(&chunk);
  }
  if (status.ok() && duckdb_appender_close(appender) == DuckDBError) {
    status = DuckError(StrCat("appending to ", table), duckdb_appender_error(appender));
  }
  duckdb_appender_destroy(&appender);
  for (auto& t : types) duckdb_destroy_logical_type(&t);
  return status;
}

void Connection::Interrupt() { duckdb_interrupt(conn_); }

// ---- BatchScan ----

namespace {

struct ScanState {
  size_t offset = 0;
  std::vector<idx_t> columns;  // projected batch columns, in output order
};

void ScanBind(duckdb_bind_info info) {
  auto* scan = static_cast<BatchScan*>(duckdb_bind_get_extra_info(info));
  if (scan->batch() == nullptr) {
    duckdb_bind_set_error(info, "no batch is set on this scan");
    return;
  }
  for (const ColumnSpec& c : scan->batch()->columns) {
    duckdb_logical_type t = MakeLogicalType(c.type);
    duckdb_bind_add_result_column(info, c.name.c_str(), t);
    duckdb_destroy_logical_type(&t);
  }
}

void ScanInit(duckdb_init_info info) {
  auto* state = new ScanState();
  idx_t n = duckdb_init_get_column_count(info);
  for (idx_t i = 0; i < n; ++i) state->columns.push_back(duckdb_init_get_column_index(info, i));
  duckdb_init_set_init_data(info, state, [](void* p) { delete static_cast<ScanState*>(p); });
  duckdb_init_set_max_threads(info, 1);
}

void ScanFunction(duckdb_function_info info, duckdb_data_chunk output) {
  auto* scan = static_cast<BatchScan*>(duckdb_function_get_extra_info(info));
  auto* state = static_cast<ScanState*>(duckdb_function_get_init_data(info));
  const TableBatch& batch = *scan->batch();
  const size_t n = std::min<size_t>(duckdb_vector_size(), batch.num_rows - state->offset);
  for (size_t i = 0; i < state->columns.size(); ++i) {
    const idx_t c = state->columns[i];
    FillVector(duckdb_data_chunk_get_vector(output, i), batch.columns[c].type, batch.data[c],
               state->offset, n, /*borrow_strings=*/true);
  }
  duckdb_data_chunk_set_size(output, n);
  state->offset += n;
}

}  // namespace

StatusOr<std::unique_ptr<BatchScan>> BatchScan::Register(Connection& conn,
                                                         const std::string& name) {
  std::unique_ptr<BatchScan> scan(new BatchScan());
  duckdb_table_function f = duckdb_create_table_function();
  duckdb_table_function_set_name(f, name.c_str());
  duckdb_table_function_set_extra_info(f, scan.get(), nullptr);
  duckdb_table_function_set_bind(f, ScanBind);
  duckdb_table_function_set_init(f, ScanInit);
  duckdb_table_function_set_function(f, ScanFunction);
  duckdb_table_function_supports_projection_pushdown(f, true);
  duckdb_state state = duckdb_register_table_function(conn.raw(), f);
  duckdb_destroy_table_function(&f);
  if (state == DuckDBError) {
    return absl::InternalError(StrCat("cannot register table function ", name));
  }
  return scan;
}

// ---- PreparedStatement ----

PreparedStatement::~PreparedStatement() { duckdb_destroy_prepare(&stmt_); }

Status PreparedStatement::Bind(size_t index, int64_t value) {
  if (duckdb_bind_int64(stmt_, index, value) == DuckDBError) {
    return absl::InvalidArgumentError(StrCat("cannot bind parameter ", index));
  }
  return absl::OkStatus();
}

Status PreparedStatement::Bind(size_t index, double value) {
  if (duckdb_bind_double(stmt_, index, value) == DuckDBError) {
    return absl::InvalidArgumentError(StrCat("cannot bind parameter ", index));
  }
  return absl::OkStatus();
}

Status PreparedStatement::Bind(size_t index, std::string_view value) {
  if (duckdb_bind_varchar_length(stmt_, index, value.data(), value.size()) == DuckDBError) {
    return absl::InvalidArgumentError(StrCat("cannot bind parameter ", index));
  }
  return absl::OkStatus();
}

Status PreparedStatement::BindNull(size_t index) {
  if (duckdb_bind_null(stmt_, index) == DuckDBError) {
    return absl::InvalidArgumentError(StrCat("cannot bind parameter ", index));
  }
  return absl::OkStatus();
}

StatusOr<Result> PreparedStatement::Execute() {
  duckdb_result r;
  if (duckdb_execute_prepared(stmt_, &r) == DuckDBError) {
    Status s = DuckError("statement failed", duckdb_result_error(&r));
    duckdb_destroy_result(&r);
    return s;
  }
  return Result(r);
}

// ---- Database ----

StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& path,
                                                   const DatabaseOptions& options) {
  duckdb_config config;
  if (duckdb_create_config(&config) == DuckDBError) {
    return absl::InternalError("duckdb: cannot create a configuration");
  }
  auto set = [&](const char* name, const std::string& value) {
    return duckdb_set_config(config, name, value.c_str()) == DuckDBSuccess;
  };
  bool ok = set("autoinstall_known_extensions", "false") &&
            set("autoload_known_extensions", "false");
  if (options.threads > 0) ok = ok && set("threads", std::to_string(options.threads));
  if (!options.memory_limit.empty()) ok = ok && set("memory_limit", options.memory_limit);
  if (!options.temp_directory.empty()) ok = ok && set("temp_directory", options.temp_directory);
  if (!ok) {
    duckdb_destroy_config(&config);
    return absl::InvalidArgumentError("duckdb: invalid database option");
  }
  duckdb_database db;
  char* error = nullptr;
  const char* p = path.empty() ? nullptr : path.c_str();
  duckdb_state state = duckdb_open_ext(p, &db, config, &error);
  duckdb_destroy_config(&config);
  if (state == DuckDBError) {
    Status s = DuckError(StrCat("opening database ", path.empty() ? ":memory:" : path),
                         error);
    if (error != nullptr) duckdb_free(error);
    return s;
  }
  return std::unique_ptr<Database>(new Database(db));
}

Database::~Database() { duckdb_close(&db_); }

StatusOr<std::unique_ptr<Connection>> Database::Connect() {
  duckdb_connection conn;
  if (duckdb_connect(db_, &conn) == DuckDBError) {
    return absl::InternalError("duckdb: cannot open a connection");
  }
  return std::make_unique<Connection>(conn, restriction_hint_);
}

Status Database::RestrictFileAccess(const std::vector<std::string>& allowed_directories,
                                    std::string hint) {
  WS_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn, Connect());
  std::string list;
  for (const std::string& dir : allowed_directories) {
    if (!list.empty()) list += ", ";
    list += QuoteLiteral(dir);
  }
  // The order matters: allowed_directories cannot be set once external access is off, and
  // nothing can be set once the configuration is locked.
  WS_RETURN_IF_ERROR(Annotate(conn->Execute(StrCat("SET allowed_directories = [", list,
                                                   "]; SET enable_external_access = false; "
                                                   "SET lock_configuration = true")),
                              "restricting file access"));
  *restriction_hint_ = std::move(hint);
  return absl::OkStatus();
}

}  // namespace watershed::warehouse
