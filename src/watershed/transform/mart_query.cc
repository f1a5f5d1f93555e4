// transform/mart_query.cc — see mart_query.h.
#include "watershed/transform/mart_query.h"

#include <filesystem>
#include <memory>

#include "watershed/base/strings.h"
#include "watershed/lake/reader.h"
#include "watershed/project/sql_sandbox.h"
#include "watershed/transform/runner.h"
#include "watershed/warehouse/duckdb/database.h"
#include "watershed/warehouse/postgres/postgres.h"

namespace watershed::transform {
namespace {

bool IsNumeric(duckdb_type t) {
  switch (t) {
    case DUCKDB_TYPE_BOOLEAN:
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UTINYINT:
    case DUCKDB_TYPE_USMALLINT:
    case DUCKDB_TYPE_UINTEGER:
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_FLOAT:
    case DUCKDB_TYPE_DOUBLE:
    case DUCKDB_TYPE_DECIMAL:
    case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_UHUGEINT:
      return true;
    default:
      return false;
  }
}

StatusOr<QueryResult> QueryDuckDb(warehouse::Connection& conn, const std::string& sql,
                                  const QueryOptions& options) {
  WS_ASSIGN_OR_RETURN(warehouse::Result r, conn.Query(sql));
  QueryResult out;
  out.engine = "duckdb";
  const size_t cols = r.column_count();
  for (size_t c = 0; c < cols; ++c) {
    out.columns.push_back(r.column_name(c));
    out.numeric.push_back(IsNumeric(r.column_type(c)));
  }
  const size_t rows = r.row_count();
  out.total_rows = static_cast<int64_t>(rows);
  const size_t kept = options.max_rows > 0 ? std::min(rows, options.max_rows) : rows;
  for (size_t row = 0; row < kept; ++row) {
    std::vector<std::string> cells;
    std::vector<bool> nulls;
    for (size_t c = 0; c < cols; ++c) {
      const bool null = r.IsNull(c, row);
      nulls.push_back(null);
      cells.push_back(null ? "" : r.GetString(c, row));
    }
    out.rows.push_back(std::move(cells));
    out.nulls.push_back(std::move(nulls));
  }
  return out;
}

StatusOr<QueryResult> QueryPostgres(const std::string& mart, const MartTarget& target,
                                    const std::string& sql, const QueryOptions& options) {
  namespace pg = warehouse::postgres;
  WS_ASSIGN_OR_RETURN(auto conn, pg::PgConnection::Connect(target.target));
  WS_RETURN_IF_ERROR(
      Annotate(conn->Execute(StrCat("SET search_path TO ", pg::PgQuoteIdent(mart), ", public")),
               StrCat("mart ", mart, " (", conn->Describe(), ")")));
  WS_ASSIGN_OR_RETURN(pg::PgResult r, conn->Query(sql));
  QueryResult out;
  out.engine = target.type;
  for (int c = 0; c < r.columns(); ++c) {
    out.columns.push_back(r.column_name(c));
    out.numeric.push_back(false);
  }
  out.total_rows = r.rows();
  const int64_t kept = options.max_rows > 0
                           ? std::min<int64_t>(r.rows(), static_cast<int64_t>(options.max_rows))
                           : r.rows();
  for (int64_t row = 0; row < kept; ++row) {
    std::vector<std::string> cells;
    std::vector<bool> nulls;
    for (int c = 0; c < r.columns(); ++c) {
      nulls.push_back(r.IsNull(c, row));
      cells.push_back(r.GetString(c, row));
    }
    out.rows.push_back(std::move(cells));
    out.nulls.push_back(std::move(nulls));
  }
  return out;
}

}  // namespace

StatusOr<QueryResult> QueryMart(project::Project& project, const std::string& mart,
                                const std::string& sql, const QueryOptions& options) {
  WS_ASSIGN_OR_RETURN(auto targets, MartTargets(project));
  auto target = targets.find(mart);
  if (target == targets.end() && mart != "realtime") {
    std::vector<std::string> known;
    for (const auto& [name, t] : targets) known.push_back(name);
    return absl::NotFoundError(
        StrCat("no mart named '", mart, "' (marts: ", known.empty() ? "none" : Join(known, ", "),
               "; a mart is a folder of models in ",
               (std::filesystem::path(project.root()) / "models").string(), ", or realtime)"));
  }
  if (target != targets.end() && target->second.type != "duckdb") {
    return QueryPostgres(mart, target->second, sql, options);
  }
  WS_ASSIGN_OR_RETURN(MartSession session, OpenMarts(project, mart));
  return QueryDuckDb(*session.conn, sql, options);
}

StatusOr<QueryResult> QueryLake(project::Project& project, int64_t snapshot, const std::string& sql,
                                const QueryOptions& options) {
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project.catalog());
  WS_ASSIGN_OR_RETURN(auto db, warehouse::Database::Open(""));
  WS_ASSIGN_OR_RETURN(auto conn, db->Connect());
  if (snapshot > 0) {
    WS_RETURN_IF_ERROR(lake::AttachLakeViews(*conn, *catalog, project.storage(), snapshot, sql));
  }
  WS_RETURN_IF_ERROR(project::SandboxUserSql(project, *db));
  return QueryDuckDb(*conn, sql, options);
}

}  // namespace watershed::transform
