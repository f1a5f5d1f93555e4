// lake/writer.cc — see writer.h.
#include "watershed/lake/writer.h"

#include <filesystem>

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

std::string TableFolder(std::string_view ns, std::string_view name) {
  return StrCat("structured/", ns, "/", name);
}

std::string EscapePartitionValue(std::string_view value) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '.' || c == '_' || c == '-') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

StatusOr<std::unique_ptr<LakeWriter>> LakeWriter::Create(Storage* storage, int threads) {
  warehouse::DatabaseOptions options;
  options.threads = threads;
  WS_ASSIGN_OR_RETURN(auto db, warehouse::Database::Open("", options));
  WS_ASSIGN_OR_RETURN(auto conn, db->Connect());
  // Keeps the in-memory batch table from being reordered or held across statements.
  WS_RETURN_IF_ERROR(conn->Execute("SET preserve_insertion_order = true"));
  return std::unique_ptr<LakeWriter>(new LakeWriter(storage, std::move(db), std::move(conn)));
}

StatusOr<std::vector<ColumnStats>> LakeWriter::Stats(const std::vector<ColumnSpec>& columns,
                                                     const std::string& where, int64_t* rows) {
  std::string sql = "SELECT count(*)";
  for (const ColumnSpec& c : columns) {
    std::string q = QuoteIdent(c.name);
    if (c.type == ColumnType::kVarchar) {
      sql += StrCat(", left(min(", q, "), 64), left(max(", q, "), 64)");
    } else {
      sql += StrCat(", CAST(min(", q, ") AS VARCHAR), CAST(max(", q, ") AS VARCHAR)");
    }
    sql += StrCat(", count(*) - count(", q, ")");
  }
  sql += StrCat(" FROM ws_batch", where);
  WS_ASSIGN_OR_RETURN(auto r, conn_->Query(sql));
  *rows = r.GetInt64(0, 0);
  std::vector<ColumnStats> out;
  for (size_t i = 0; i < columns.size(); ++i) {
    ColumnStats s;
    s.column = columns[i].name;
    if (!r.IsNull(1 + 3 * i, 0)) s.min = r.GetString(1 + 3 * i, 0);
    if (!r.IsNull(2 + 3 * i, 0)) s.max = r.GetString(2 + 3 * i, 0);
    s.null_count = r.GetInt64(3 + 3 * i, 0);
    out.push_back(std::move(s));
  }
  return out;
}

StatusOr<std::vector<DataFile>> LakeWriter::Write(const TableBatch& batch,
                                                  const std::string& partition_by,
                                                  const std::string& ingest_date,
                                                  const std::string& stem) {
  WS_ASSIGN_OR_RETURN(auto names, SplitTableName(batch.table));
  const std::string folder = TableFolder(names.first, names.second);
  std::string create = "CREATE OR REPLACE TEMP TABLE ws_batch (";
  for (size_t i = 0; i < batch.columns.size(); ++i) {
    if (i > 0) create += ", ";
    create += StrCat(QuoteIdent(batch.columns[i].name), " ", ColumnTypeSql(batch.columns[i].type));
  }
  create += ")";
  WS_RETURN_IF_ERROR(conn_->Execute(create));
  WS_RETURN_IF_ERROR(conn_->AppendBatch("ws_batch", batch));

  struct Part {
    std::string partition;  // "key=value"
    std::string where;      // " WHERE ..." or ""
    std::string suffix;
  };
  std::vector<Part> parts;
  std::vector<ColumnSpec> file_columns = batch.columns;
  std::string exclude;
  if (partition_by.empty() || partition_by == kIngestDatePartition) {
    parts.push_back({StrCat(kIngestDatePartition, "=", ingest_date), "", ""});
  } else {
    auto it = std::find_if(file_columns.begin(), file_columns.end(),
                           [&](const ColumnSpec& c) { return c.name == partition_by; });
    if (it == file_columns.end()) {
      // The column has not appeared yet: every row's value is NULL.
      parts.push_back({StrCat(partition_by, "=__HIVE_DEFAULT_PARTITION__"), "", ""});
    } else {
      file_columns.erase(it);
      exclude = StrCat(" EXCLUDE (", QuoteIdent(partition_by), ")");
      const std::string q = QuoteIdent(partition_by);
      WS_ASSIGN_OR_RETURN(auto values,
                          conn_->Query(StrCat("SELECT DISTINCT CAST(", q,
                                              " AS VARCHAR) AS v FROM ws_batch ORDER BY v")));
      for (size_t i = 0; i < values.row_count(); ++i) {
        Part p;
        p.suffix = StrCat("-p", i);
        if (values.IsNull(0, i)) {
          p.partition = StrCat(partition_by, "=__HIVE_DEFAULT_PARTITION__");
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

  std::vector<DataFile> files;
  for (const Part& p : parts) {
    DataFile f;
    f.table = batch.table;
    f.partition = p.partition;
    f.key = StrCat(folder, "/", p.partition, "/", stem, p.suffix, ".parquet");
    f.columns = file_columns;
    WS_ASSIGN_OR_RETURN(f.stats, Stats(file_columns, p.where, &f.row_count));
    WS_ASSIGN_OR_RETURN(std::string path, storage_->PathForWrite(f.key));
    WS_RETURN_IF_ERROR(Annotate(
        conn_->Execute(StrCat("COPY (SELECT *", exclude, " FROM ws_batch", p.where, ") TO ",
                              QuoteLiteral(path),
                              " (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)")),
        StrCat("writing ", f.key)));
    std::error_code ec;
    f.size_bytes = static_cast<int64_t>(std::filesystem::file_size(path, ec));
    WS_RETURN_IF_ERROR(storage_->Publish(f.key));
    files.push_back(std::move(f));
  }
  WS_RETURN_IF_ERROR(conn_->Execute("DROP TABLE ws_batch"));
  return files;
}

}  // namespace watershed::lake
