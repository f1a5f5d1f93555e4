// lake/reader.cc — see reader.h.
#include "watershed/lake/reader.h"

#include <map>
#include <set>

#include "watershed/base/log.h"
#include "watershed/lake/prune.h"
#include "watershed/lake/writer.h"
#include "watershed/normalize/naming.h"

namespace watershed::lake {

using warehouse::QuoteIdent;
using warehouse::QuoteLiteral;

namespace {

// Wraps the scan of a keyed table so that newer rows replace older ones (see TableInfo).
std::string MergeKeyedRows(const TableState& table, const std::vector<ColumnSpec>& columns,
                           const std::string& scan) {
  const std::string& key = table.info.key_column;
  auto has = [&](std::string_view name) {
    return std::any_of(columns.begin(), columns.end(),
                       [&](const ColumnSpec& c) { return c.name == name; });
  };
  using normalize::kDeletedColumn, normalize::kIdColumn, normalize::kLoadIdColumn;
  if (key.empty() || !has(key) || !has(kIdColumn) || !has(kLoadIdColumn)) return scan;
  const std::string k = QuoteIdent(key);
  if (table.info.key_mode == "latest_load") {
    return StrCat("SELECT * FROM (", scan, ") QUALIFY ", kLoadIdColumn, " = max(", kLoadIdColumn,
                  ") OVER (PARTITION BY ", k, ")");
  }
  // latest_row; rows without a key are never merged.
  std::string sql = StrCat("SELECT * FROM (", scan, ") QUALIFY row_number() OVER (PARTITION BY ",
                           k, ", CASE WHEN ", k, " IS NULL THEN ", kIdColumn, " END ORDER BY ",
                           kLoadIdColumn, " DESC, ", kIdColumn, " DESC) = 1");
  if (has(kDeletedColumn)) {
    sql = StrCat("SELECT * FROM (", sql, ") WHERE ", kDeletedColumn, " IS NOT TRUE");
  }
  return sql;
}

}  // namespace

StatusOr<std::string> TableScanSql(const TableState& table, Storage& storage,
                                   const std::string& parent_view, const ScanOptions& options) {
  const std::string& pkey =
      table.info.partition_by.empty() ? std::string(kIngestDatePartition) : table.info.partition_by;
  const std::vector<ColumnSpec>& schema = table.schema.columns;
  ColumnType ptype = ColumnType::kDate;
  bool partition_in_schema = false;
  for (const ColumnSpec& c : schema) {
    if (c.name == pkey) {
      ptype = c.type;
      partition_in_schema = true;
    }
  }
  // The columns of the view: the schema, then the partition key when it is not a data column.
  std::vector<ColumnSpec> view_columns = schema;
  if (!partition_in_schema) view_columns.push_back({pkey, ptype});

  // Files written with the same columns are read by one read_parquet call.
  std::map<std::string, std::vector<const DataFile*>> groups;
  for (const DataFile& f : table.files) groups[ColumnsToJson(f.columns)].push_back(&f);

  std::string hive = StrCat("hive_partitioning = true, hive_types = {", QuoteLiteral(pkey), ": ",
                            QuoteLiteral(ColumnTypeSql(ptype)), "}");
  std::vector<std::string> keys;
  for (const DataFile& f : table.files) keys.push_back(f.key);
  WS_RETURN_IF_ERROR(storage.Prefetch(keys));  // an S3 lake fetches them in parallel
  std::vector<std::string> selects;
  for (const auto& [key, files] : groups) {
    const std::vector<ColumnSpec>& present = files.front()->columns;
    std::string list;
    for (const DataFile* f : files) {
      WS_ASSIGN_OR_RETURN(std::string path, storage.PathForRead(f->key));
      if (!list.empty()) list += ", ";
      list += QuoteLiteral(path);
    }
    std::string select = "SELECT ";
    for (size_t i = 0; i < view_columns.size(); ++i) {
      const ColumnSpec& c = view_columns[i];
      if (i > 0) select += ", ";
      auto it = std::find_if(present.begin(), present.end(),
                             [&](const ColumnSpec& p) { return p.name == c.name; });
      std::string q = QuoteIdent(c.name);
      if (c.name == pkey) {
        select += q;
      } else if (it == present.end()) {
        select += StrCat("CAST(NULL AS ", ColumnTypeSql(c.type), ") AS ", q);
      } else if (it->type != c.type) {
        select += StrCat("CAST(", q, " AS ", ColumnTypeSql(c.type), ") AS ", q);
      } else {
        select += q;
      }
    }
    if (options.row_ids) select += ", _ws_file, file_row_number";
    select += StrCat(" FROM read_parquet([", list, "], ", hive,
                     options.row_ids ? ", filename = '_ws_file', file_row_number = true" : "", ")");
    selects.push_back(std::move(select));
  }
  if (selects.empty()) {  // no files yet: an empty relation with the right columns
    std::string select = "SELECT ";
    for (size_t i = 0; i < view_columns.size(); ++i) {
      if (i > 0) select += ", ";
      select += StrCat("CAST(NULL AS ", ColumnTypeSql(view_columns[i].type), ") AS ",
                       QuoteIdent(view_columns[i].name));
    }
    if (options.row_ids)
      select += ", CAST(NULL AS VARCHAR) AS _ws_file, CAST(NULL AS BIGINT) AS file_row_number";
    return select + " WHERE false";
  }
  std::string sql;
  for (size_t i = 0; i < selects.size(); ++i) {
    if (i > 0) sql += " UNION ALL ";
    sql += selects[i];
  }
  if (!options.merge) return sql;
  sql = MergeKeyedRows(table, view_columns, sql);
  if (!parent_view.empty()) {
    sql = StrCat("SELECT * FROM (", sql, ") WHERE ", normalize::kParentIdColumn, " IN (SELECT ",
                 normalize::kIdColumn, " FROM ", parent_view, ")");
  }
  return sql;
}

Status AttachLakeViews(warehouse::Connection& conn, Catalog& catalog, Storage& storage,
                       int64_t snapshot, std::string_view sql) {
  WS_ASSIGN_OR_RETURN(auto tables, catalog.ListTables(snapshot));
  std::map<std::string, const TableInfo*> by_name;
  for (const TableInfo& t : tables) by_name[t.name] = &t;
  // The tables the query names, and their ancestors (a child's view reads its parent's).
  std::set<std::string> wanted;
  const std::string lower_sql = ToLower(sql);
  for (const TableInfo& t : tables) {
    WS_ASSIGN_OR_RETURN(auto names, SplitTableName(t.name));
    if (!sql.empty() && lower_sql.find(ToLower(names.second)) == std::string::npos) continue;
    for (const TableInfo* a = &t; a != nullptr;) {
      wanted.insert(a->name);
      auto it = by_name.find(a->parent);
      a = it == by_name.end() ? nullptr : it->second;
    }
  }
  // Whether a table or one of its ancestors is keyed: then its rows follow the parent's.
  std::map<std::string, bool> keyed;
  for (const std::string& name : wanted) {  // std::set order: parents before children
    const TableInfo& t = *by_name[name];
    keyed[name] = !t.key_column.empty() || (keyed.contains(t.parent) && keyed[t.parent]);
  }
  // The query's parse tree, for partition pruning (none: every file is read).
  std::string ast;
  if (!sql.empty()) {
    auto parsed = conn.Query(StrCat("SELECT json_serialize_sql(", QuoteLiteral(sql), ")"));
    if (parsed.ok() && parsed->row_count() == 1) ast = parsed->GetString(0, 0);
  }
  for (const std::string& name : wanted) {
    const TableInfo& t = *by_name[name];
    WS_ASSIGN_OR_RETURN(auto names, SplitTableName(t.name));
    std::string parent_view;
    if (!t.parent.empty() && keyed[t.parent]) {
      WS_ASSIGN_OR_RETURN(auto p, SplitTableName(t.parent));
      parent_view = StrCat(QuoteIdent(p.first), ".", QuoteIdent(p.second));
    }
    WS_ASSIGN_OR_RETURN(TableState state, catalog.GetTableState(t.name, snapshot));
    if (!ast.empty() && !keyed[name]) {
      const std::string pkey = t.partition_by.empty() ? std::string(kIngestDatePartition)
                                                      : t.partition_by;
      ColumnType ptype = ColumnType::kDate;
      for (const ColumnSpec& c : state.schema.columns) {
        if (c.name == pkey) ptype = c.type;
      }
      const std::vector<PartitionBound> bounds = PartitionBounds(ast, t.name, pkey);
      if (!bounds.empty()) {
        const size_t before = state.files.size();
        std::erase_if(state.files, [&](const DataFile& f) {
          return !PartitionMayMatch(f.partition, ptype, bounds);
        });
        LogDebug("partition pruning", {{"table", t.name},
                                       {"files", StrCat(state.files.size(), " of ", before)}});
      }
      // Then by each file's min/max of any other column the query bounds.
      for (const ColumnSpec& c : state.schema.columns) {
        if (c.name == pkey || state.files.empty()) continue;
        if (ast.find(StrCat("\"", c.name, "\"")) == std::string::npos) continue;
        const std::vector<PartitionBound> column_bounds = PartitionBounds(ast, t.name, c.name);
        if (column_bounds.empty()) continue;
        WS_ASSIGN_OR_RETURN(auto stats, catalog.ColumnStatsByFile(t.name, c.name));
        const size_t before = state.files.size();
        std::erase_if(state.files, [&](const DataFile& f) {
          auto it = stats.find(f.key);
          return it != stats.end() && !StatsMayMatch(it->second, c.type, column_bounds);
        });
        LogDebug("min/max pruning", {{"table", t.name},
                                     {"column", c.name},
                                     {"files", StrCat(state.files.size(), " of ", before)}});
      }
    }
    WS_ASSIGN_OR_RETURN(std::string scan, TableScanSql(state, storage, parent_view));
    WS_RETURN_IF_ERROR(
        conn.Execute(StrCat("CREATE SCHEMA IF NOT EXISTS ", QuoteIdent(names.first))));
    WS_RETURN_IF_ERROR(Annotate(conn.Execute(StrCat("CREATE OR REPLACE VIEW ",
                                                    QuoteIdent(names.first), ".",
                                                    QuoteIdent(names.second), " AS ", scan)),
                                StrCat("opening table ", t.name)));
  }
  return absl::OkStatus();
}

}  // namespace watershed::lake
