// lake/writer.cc — see writer.h.
#include "watershed/lake/writer.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <unordered_map>

#include "watershed/base/strings.h"
#include "watershed/iceberg/manifest.h"
#include "watershed/lake/iceberg_export.h"
#include "watershed/normalize/naming.h"

namespace watershed::lake {

using warehouse::QuoteIdent;
using warehouse::QuoteLiteral;

StatusOr<std::pair<std::string, std::string>> SplitTableName(std::string_view name) {
  size_t dot = name.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size() ||
      name.find('.', dot + 1) != std::string_view::npos || name.find('/') != std::string_view::npos) {
    return absl::InvalidArgumentError(
        StrCat("table name '", name, "' must be NAMESPACE.NAME, e.g. crunchbase.organizations"));
  }
  return std::make_pair(std::string(name.substr(0, dot)), std::string(name.substr(dot + 1)));
}

StatusOr<std::string> CanonicalTableName(std::string_view name) {
  const std::string lower = ToLower(name);
  const size_t dot = lower.find('.');
  auto identifier = [](std::string_view part) {
    return !part.empty() && part.size() <= normalize::kMaxNameLength &&
           !(part[0] >= '0' && part[0] <= '9') &&
           std::all_of(part.begin(), part.end(), [](char c) {
             return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
           });
  };
  if (dot != std::string::npos && identifier(std::string_view(lower).substr(0, dot)) &&
      identifier(std::string_view(lower).substr(dot + 1))) {
    return lower;
  }
  std::string hint;
  if (dot != std::string::npos && dot > 0 && dot + 1 < name.size()) {
    hint = StrCat("; use ", normalize::NormalizeKey(name.substr(0, dot)), ".",
                  normalize::NormalizeKey(name.substr(dot + 1)));
  }
  return absl::InvalidArgumentError(
      StrCat("table name '", ToValidUtf8(name.substr(0, 200)),
             "' must be NAMESPACE.NAME, two identifiers of letters, digits and _ (not starting "
             "with a digit), e.g. crunchbase.organizations; case does not matter",
             hint));
}

std::string TableFolder(std::string_view ns, std::string_view name) {
  return StrCat("structured/", ns, "/", name);
}

std::string EscapePartitionValue(std::string_view value) {
  if (value == "NULL") return "%4EULL";  // the bare word NULL means a NULL value
  return PercentEncode(value, "._-");
}

StatusOr<std::unique_ptr<LakeWriter>> LakeWriter::Create(Storage* storage, Catalog* catalog,
                                                         int threads) {
  std::unique_ptr<LakeWriter> w(new LakeWriter());
  w->storage_ = storage;
  w->catalog_ = catalog;
  warehouse::DatabaseOptions options;
  options.threads = threads;
  WS_ASSIGN_OR_RETURN(w->db_, warehouse::Database::Open("", options));
  WS_ASSIGN_OR_RETURN(w->conn_, w->db_->Connect());
  WS_ASSIGN_OR_RETURN(w->scan_, warehouse::BatchScan::Register(*w->conn_, "ws_batch"));
  return w;
}

namespace {

// Orders two statistics values of one column: numbers numerically, everything else (ISO dates
// and timestamps, strings, booleans) as text.
bool StatLess(ColumnType type, const std::string& a, const std::string& b) {
  switch (type) {
    case ColumnType::kBigint:
    case ColumnType::kDouble:
    case ColumnType::kDecimal:
      return std::strtod(a.c_str(), nullptr) < std::strtod(b.c_str(), nullptr);
    default:
      return a < b;
  }
}

}  // namespace

StatusOr<std::vector<ColumnStats>> LakeWriter::FooterStats(const std::string& path,
                                                           const std::vector<ColumnSpec>& columns,
                                                           int64_t* rows) {
  WS_ASSIGN_OR_RETURN(
      auto r, conn_->Query(StrCat("SELECT row_group_id, row_group_num_rows, path_in_schema, "
                                  "stats_min_value, stats_max_value, stats_null_count "
                                  "FROM parquet_metadata(", QuoteLiteral(path), ")")));
  std::vector<ColumnStats> out(columns.size());
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < columns.size(); ++i) {
    out[i].column = columns[i].name;
    index[columns[i].name] = i;
  }
  std::unordered_map<int64_t, int64_t> group_rows;
  for (size_t row = 0; row < r.row_count(); ++row) {
    group_rows[r.GetInt64(0, row)] = r.GetInt64(1, row);
    auto it = index.find(r.GetString(2, row));
    if (it == index.end()) continue;
    ColumnStats& s = out[it->second];
    const ColumnType type = columns[it->second].type;
    if (!r.IsNull(3, row)) {
      std::string v = r.GetString(3, row);
      if (!s.min || StatLess(type, v, *s.min)) s.min = v;
    }
    if (!r.IsNull(4, row)) {
      std::string v = r.GetString(4, row);
      if (!s.max || StatLess(type, *s.max, v)) s.max = v;
    }
    s.null_count += r.IsNull(5, row) ? 0 : r.GetInt64(5, row);
  }
  *rows = 0;
  for (const auto& [group, n] : group_rows) *rows += n;
  for (ColumnStats& s : out) {
    // Long strings are summarised: the catalog keeps 64 characters.
    if (s.min && s.min->size() > 64) s.min->resize(64);
    if (s.max && s.max->size() > 64) s.max->resize(64);
  }
  return out;
}

StatusOr<std::string> LakeWriter::IcebergOptions(const std::string& table,
                                                 const std::vector<ColumnSpec>& columns,
                                                 const std::optional<ColumnSpec>& extra) {
  if (catalog_ == nullptr) return std::string();  // a writer outside any catalog (tests)
  std::vector<ColumnSpec> all = columns;
  if (extra) all.insert(all.begin(), *extra);
  std::vector<std::string> names;
  names.push_back(std::string(kIngestDatePartition));  // first: id 1 in every table
  for (const ColumnSpec& c : all) names.push_back(c.name);
  std::map<std::string, int>& ids = field_ids_[table];
  if (std::any_of(names.begin(), names.end(),
                  [&](const std::string& n) { return !ids.contains(n); })) {
    WS_ASSIGN_OR_RETURN(ids, catalog_->FieldIds(table, names));
  }
  std::string field_ids;
  for (const ColumnSpec& c : all) {
    field_ids += StrCat(field_ids.empty() ? "" : ", ", QuoteIdent(c.name), ": ", ids.at(c.name));
  }
  const std::string schema = iceberg::SchemaJson(IcebergSchema(all, ids, 0));
  return StrCat(", FIELD_IDS {", field_ids,
                "}, KV_METADATA {\"iceberg.schema\": ", QuoteLiteral(schema), "}");
}

StatusOr<std::vector<DataFile>> LakeWriter::Write(const TableBatch& batch,
                                                  const std::string& partition_by,
                                                  const std::string& ingest_date,
                                                  const std::string& stem) {
  WS_ASSIGN_OR_RETURN(auto names, SplitTableName(batch.table));
  const std::string folder = TableFolder(names.first, names.second);
  scan_->Set(&batch);

  struct Part {
    std::string partition;  // "key=value"
    std::string where;      // " WHERE ..." or ""
    std::string suffix;
  };
  std::vector<Part> parts;
  std::vector<ColumnSpec> file_columns = batch.columns;
  std::string extra_select;  // the ingest date as a column of the file
  std::optional<ColumnSpec> extra;
  if (partition_by.empty() || partition_by == kIngestDatePartition) {
    parts.push_back({StrCat(kIngestDatePartition, "=", ingest_date), "", ""});
    if (std::none_of(file_columns.begin(), file_columns.end(),
                     [](const ColumnSpec& c) { return c.name == kIngestDatePartition; })) {
      extra = ColumnSpec{std::string(kIngestDatePartition), ColumnType::kDate};
      extra_select = StrCat("CAST(", QuoteLiteral(ingest_date), " AS DATE) AS ",
                            QuoteIdent(kIngestDatePartition), ", ");
    }
  } else {
    auto it = std::find_if(file_columns.begin(), file_columns.end(),
                           [&](const ColumnSpec& c) { return c.name == partition_by; });
    if (it == file_columns.end()) {
      // The column has not appeared yet: every row's value is NULL.
      parts.push_back({StrCat(partition_by, "=NULL"), "", ""});
    } else {
      const std::string q = QuoteIdent(partition_by);
      WS_ASSIGN_OR_RETURN(auto values,
                          conn_->Query(StrCat("SELECT DISTINCT CAST(", q,
                                              " AS VARCHAR) AS v FROM ws_batch() ORDER BY v")));
      for (size_t i = 0; i < values.row_count(); ++i) {
        Part p;
        p.suffix = StrCat("-p", i);
        if (values.IsNull(0, i)) {
          p.partition = StrCat(partition_by, "=NULL");
          p.where = StrCat(" WHERE ", q, " IS NULL");
        } else {
          std::string v = values.GetString(0, i);
          p.partition = StrCat(partition_by, "=", EscapePartitionValue(v));
          p.where = StrCat(" WHERE CAST(", q, " AS VARCHAR) = ", QuoteLiteral(v));
        }
        parts.push_back(std::move(p));
      }
    }
  }

  WS_ASSIGN_OR_RETURN(const std::string iceberg, IcebergOptions(batch.table, file_columns, extra));
  std::vector<DataFile> files;
  for (const Part& p : parts) {
    DataFile f;
    f.table = batch.table;
    f.partition = p.partition;
    f.key = StrCat(folder, "/", p.partition, "/", stem, p.suffix, ".parquet");
    f.columns = file_columns;
    WS_ASSIGN_OR_RETURN(std::string path, storage_->PathForWrite(f.key));
    WS_RETURN_IF_ERROR(
        Annotate(conn_->Execute(StrCat("COPY (SELECT ", extra_select, "* FROM ws_batch()", p.where,
                                       ") TO ", QuoteLiteral(path),
                                       " (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880",
                                       iceberg, ")")),
                 StrCat("writing ", f.key)));
    WS_ASSIGN_OR_RETURN(f.stats, FooterStats(path, file_columns, &f.row_count));
    std::error_code ec;
    f.size_bytes = static_cast<int64_t>(std::filesystem::file_size(path, ec));
    WS_RETURN_IF_ERROR(storage_->Publish(f.key));
    files.push_back(std::move(f));
  }
  scan_->Set(nullptr);
  return files;
}

StatusOr<DataFile> LakeWriter::Rewrite(const std::string& table,
                                       const std::vector<DataFile>& inputs,
                                       const std::vector<ColumnSpec>& schema,
                                       const std::string& stem) {
  if (inputs.empty()) return absl::InvalidArgumentError("nothing to rewrite");
  WS_ASSIGN_OR_RETURN(auto names, SplitTableName(table));
  std::set<std::string> present;
  std::string list;
  for (const DataFile& f : inputs) {
    for (const ColumnSpec& c : f.columns) present.insert(c.name);
    WS_ASSIGN_OR_RETURN(std::string path, storage_->PathForRead(f.key));
    list += StrCat(list.empty() ? "" : ", ", QuoteLiteral(path));
  }
  DataFile out;
  out.table = table;
  out.partition = inputs.front().partition;
  out.key = StrCat(TableFolder(names.first, names.second), "/", out.partition, "/", stem, ".parquet");
  // The partition column comes from the path: files written before it was also kept inside
  // them lack it.
  const std::string pkey = out.partition.substr(0, out.partition.find('='));
  std::string select;
  std::optional<ColumnSpec> extra;
  if (std::none_of(schema.begin(), schema.end(),
                   [&](const ColumnSpec& c) { return c.name == pkey; })) {
    extra = ColumnSpec{pkey, ColumnType::kDate};
    select = StrCat("CAST(", QuoteIdent(pkey), " AS DATE) AS ", QuoteIdent(pkey));
  }
  ColumnType ptype = ColumnType::kDate;
  for (const ColumnSpec& c : schema) {
    if (c.name == pkey) ptype = c.type;
    if (!present.contains(c.name) && c.name != pkey) continue;
    out.columns.push_back(c);
    select += StrCat(select.empty() ? "" : ", ", "CAST(", QuoteIdent(c.name), " AS ",
                     ColumnTypeSql(c.type), ") AS ", QuoteIdent(c.name));
  }
  WS_ASSIGN_OR_RETURN(const std::string iceberg, IcebergOptions(table, out.columns, extra));
  WS_ASSIGN_OR_RETURN(std::string path, storage_->PathForWrite(out.key));
  WS_RETURN_IF_ERROR(Annotate(
      conn_->Execute(StrCat(
          "COPY (SELECT ", select, " FROM read_parquet([", list,
          "], union_by_name = true, hive_partitioning = true, hive_types = {", QuoteLiteral(pkey),
          ": ", QuoteLiteral(ColumnTypeSql(ptype)), "})) TO ", QuoteLiteral(path),
          " (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880", iceberg, ")")),
      StrCat("compacting into ", out.key)));
  WS_ASSIGN_OR_RETURN(out.stats, FooterStats(path, out.columns, &out.row_count));
  std::error_code ec;
  out.size_bytes = static_cast<int64_t>(std::filesystem::file_size(path, ec));
  WS_RETURN_IF_ERROR(storage_->Publish(out.key));
  return out;
}

}  // namespace watershed::lake
