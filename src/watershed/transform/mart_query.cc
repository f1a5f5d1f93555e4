// transform/mart_query.cc — see mart_query.h.
#include "watershed/transform/mart_query.h"

#include <algorithm>
#include <cctype>
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

// ---- a table the query names that does not exist ----------------------------------------

// DuckDB reports a missing table as `Table with name X does not exist` (X: the last part of the
// name as written). Empty when `message` is another error.
std::string MissingTableName(std::string_view message) {
  static constexpr std::string_view kLead = "Table with name ";
  const size_t at = message.find(kLead);
  if (at == std::string_view::npos) return "";
  const size_t start = at + kLead.size();
  const size_t end = message.find(" does not exist", start);
  if (end == std::string_view::npos) return "";
  return std::string(message.substr(start, end - start));
}

// The dotted name in `sql` whose last part is `last`, as written but unquoted and lower-cased
// ("Shop"."Customer" -> shop.customer); `last` itself when the query does not show it.
std::string ReferenceIn(std::string_view sql, std::string_view last) {
  const auto ident = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '"' || c == '.' ||
           static_cast<unsigned char>(c) >= 0x80;
  };
  for (size_t i = 0; i < sql.size();) {
    if (!ident(sql[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < sql.size() && ident(sql[j])) ++j;
    std::string word;
    for (char c : sql.substr(i, j - i)) {
      if (c != '"') word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    const std::string tail = ToLower(last);
    const size_t dot = word.rfind('.');
    if ((dot == std::string::npos ? word : word.substr(dot + 1)) == tail) return word;
    i = j;
  }
  return ToLower(last);
}

// At most `n` names, joined, with how many more there are.
std::string Listed(const std::vector<std::string>& names, size_t n = 12) {
  if (names.empty()) return "none";
  std::vector<std::string> shown(names.begin(), names.begin() + std::min(n, names.size()));
  std::string out = Join(shown, ", ");
  if (names.size() > n) out += StrCat(" and ", names.size() - n, " more");
  return out;
}

// The closest of `names` to `wanted`, compared whole and by the part after the dot.
std::string Closest(const std::string& wanted, const std::vector<std::string>& names) {
  std::string best = ClosestMatch(wanted, names);
  if (!best.empty()) return best;
  const std::string last = wanted.substr(wanted.rfind('.') + 1);
  std::vector<std::string> lasts;
  for (const auto& n : names) lasts.push_back(n.substr(n.rfind('.') + 1));
  const std::string close = ClosestMatch(last, lasts);
  for (size_t i = 0; i < names.size(); ++i) {
    if (!close.empty() && lasts[i] == close) return names[i];
  }
  return "";
}

// Rewrites DuckDB's "Table with name X does not exist! Did you mean pg_catalog...?" as which lake
// or mart table is missing, at which snapshot, and what exists with a close name. `mart` is ""
// for a lake query; `mart_tables` are the marts' tables as mart.name.
Status ExplainMissingTable(const Status& s, const std::string& sql, lake::Catalog& catalog,
                           int64_t snapshot, const std::string& mart,
                           const std::vector<std::string>& mart_tables) {
  const std::string missing = MissingTableName(MessageOf(s));
  if (missing.empty()) return s;
  const std::string wanted = ReferenceIn(sql, missing);
  std::vector<std::string> lake_tables;
  if (snapshot > 0) {
    auto tables = catalog.ListTables(snapshot);
    if (tables.ok()) {
      for (const auto& t : *tables) lake_tables.push_back(t.name);
    }
  }
  WS_ASSIGN_OR_RETURN(int64_t latest, catalog.LatestSnapshot());
  const std::string at =
      snapshot == 0 ? "(nothing has been loaded yet: `watershed load` or `watershed crunchbase`)"
                    : StrCat("at snapshot ", snapshot, snapshot == latest ? " (the latest)" : "");
  if (mart.empty()) {
    // A table that exists now but not yet at the snapshot read.
    if (snapshot > 0 && snapshot != latest) {
      auto later = catalog.GetTable(wanted);
      if (later.ok() && later->has_value()) {
        return absl::NotFoundError(StrCat(
            "lake table ", wanted, " did not exist at snapshot ", snapshot, ": it was created in "
            "snapshot ", (*later)->created_snapshot, " (`watershed describe ", wanted,
            "` shows its snapshots)"));
      }
    }
    const std::string close = Closest(wanted, lake_tables);
    return absl::NotFoundError(StrCat(
        "no lake table ", wanted, " ", at, close.empty() ? "" : StrCat("; did you mean ", close, "?"),
        snapshot == 0 ? "" : StrCat(" Lake tables: ", Listed(lake_tables),
                                    " (`watershed tables` lists them; marts are queried with "
                                    "--mart NAME)")));
  }
  std::vector<std::string> all = mart_tables;
  all.insert(all.end(), lake_tables.begin(), lake_tables.end());
  const std::string close = Closest(wanted, all);
  return absl::NotFoundError(StrCat(
      "no table ", wanted, " in mart ", mart, ", the other marts or the lake",
      close.empty() ? "" : StrCat("; did you mean ", close, "?"), " Mart tables: ",
      Listed(mart_tables), "; lake tables ", at, ": ", Listed(lake_tables),
      ". In a mart query the mart's models are addressed by name or mart.name, other marts' as "
      "mart.name and lake tables as namespace.name, as in a lake query"));
}

// DuckDB's read-only refusal, with what to do about it.
Status ExplainReadOnly(const Status& s) {
  if (MessageOf(s).find("read-only mode") == std::string_view::npos &&
      MessageOf(s).find("read_only") == std::string_view::npos) {
    return s;
  }
  return absl::PermissionDeniedError(
      StrCat(MessageOf(s), "\n`watershed query --mart` opens the marts read-only; add --write to "
                           "change a mart (models are better changed by `watershed build`)"));
}

// The marts' tables and views, as mart.name, in a session from OpenMarts.
std::vector<std::string> MartTables(warehouse::Connection& conn) {
  std::vector<std::string> out;
  auto r = conn.Query(
      "SELECT table_catalog || '.' || table_name FROM information_schema.tables WHERE "
      "table_catalog NOT IN ('memory', 'system', 'temp') ORDER BY 1");
  if (!r.ok()) return out;
  for (size_t i = 0; i < r->row_count(); ++i) out.push_back(r->GetString(0, i));
  return out;
}

StatusOr<QueryResult> QueryPostgres(const std::string& mart, const MartTarget& target,
                                    const std::string& sql, const QueryOptions& options) {
  namespace pg = warehouse::postgres;
  WS_ASSIGN_OR_RETURN(auto conn, pg::PgConnection::Connect(target.target));
  WS_RETURN_IF_ERROR(
      Annotate(conn->Execute(StrCat("SET search_path TO ", pg::PgQuoteIdent(mart), ", public")),
               StrCat("mart ", mart, " (", conn->Describe(), ")")));
  if (!options.write) {  // the server refuses writes in this session
    WS_RETURN_IF_ERROR(conn->Execute("SET default_transaction_read_only = on"));
  }
  auto queried = conn->Query(sql);
  if (!queried.ok()) {
    if (MessageOf(queried.status()).find("read-only transaction") != std::string_view::npos) {
      return ExplainReadOnly(absl::PermissionDeniedError(
          StrCat(MessageOf(queried.status()), " (read-only mode)")));
    }
    return queried.status();
  }
  pg::PgResult r = std::move(*queried);
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
  WS_ASSIGN_OR_RETURN(MartSession session, OpenMarts(project, mart, !options.write));
  auto r = QueryDuckDb(*session.conn, sql, options);
  if (r.ok()) return r;
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project.catalog());
  WS_ASSIGN_OR_RETURN(int64_t latest, catalog->LatestSnapshot());
  return ExplainReadOnly(ExplainMissingTable(r.status(), sql, *catalog, latest, mart,
                                             MartTables(*session.conn)));
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
  auto r = QueryDuckDb(*conn, sql, options);
  if (r.ok()) return r;
  return ExplainMissingTable(r.status(), sql, *catalog, snapshot, "", {});
}

}  // namespace watershed::transform
