// cli/lake_commands.cc — `init`, `load`, `tables`, `describe`, `query`, `gc`: the project, its
// lake and catalog, and queries of the lake and the marts. See commands.h.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "watershed/base/clock.h"
#include "watershed/base/redact.h"
#include "watershed/cli/commands.h"
#include "watershed/cli/common.h"
#include "watershed/cli/output.h"
#include "watershed/lake/gc.h"
#include "watershed/lake/glue_catalog.h"
#include "watershed/lake/iceberg_export.h"
#include "watershed/lake/s3_storage.h"
#include "watershed/load/loader.h"
#include "watershed/normalize/naming.h"
#include "watershed/observe/lineage_store.h"
#include "watershed/observe/metric_store.h"
#include "watershed/orchestrate/run_store.h"
#include "watershed/project/project.h"
#include "watershed/quality/result_store.h"
#include "watershed/store/store.h"
#include "watershed/transform/mart_query.h"

namespace watershed::cli {

Status RunInit(const std::string& dir, const std::string& name) {
  WS_RETURN_IF_ERROR(project::Project::Init(dir, name));
  std::cout << "Created a Watershed project in " << dir << "\n\n"
            << "Next:\n"
            << "  cd " << dir << "\n"
            << "  watershed load data.ndjson --table crunchbase.organizations\n"
            << "  watershed tables\n"
            << "  watershed query \"SELECT count(*) FROM crunchbase.organizations\"\n";
  return absl::OkStatus();
}

Status RunLoad(const GlobalOptions& g, const LoadCommand& c) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  load::LoadOptions o;
  o.input = c.file;
  o.table = c.table;
  WS_ASSIGN_OR_RETURN(o.format, sources::ParseFileFormat(c.format));
  o.max_bad = c.max_bad;
  o.threads = c.threads;
  o.force = c.force;
  o.batch_bytes = static_cast<size_t>(std::max(0.001, c.batch_mb) * 1e6);
  o.limits = c.limits;
  if (!c.contract.empty()) {
    WS_ASSIGN_OR_RETURN(o.contract, normalize::ParseContract(c.contract));
  }
  const bool live = !g.quiet && isatty(STDERR_FILENO);
  if (live) {
    o.on_progress = [](const load::LoadProgress& p) {
      std::string pct =
          p.total_bytes ? fmt::format(" {:3.0f}%", 100.0 * p.bytes_read / p.total_bytes) : "";
      std::fprintf(stderr, "\r  loading:%s %s read, %s records, %s bad, %.0f MB/s   ", pct.c_str(),
                   Bytes(static_cast<double>(p.bytes_read)).c_str(), Thousands(p.records).c_str(),
                   Thousands(p.bad).c_str(), p.bytes_read / 1e6 / std::max(p.seconds, 1e-9));
    };
  }
  auto result = load::LoadFile(*project, o);
  if (live) std::fprintf(stderr, "\r%80s\r", "");
  if (!result.ok()) return result.status();
  const load::LoadSummary& s = *result;
  if (s.skipped) {
    std::cout << "Skipped: " << s.skip_reason << "\n";
    return absl::OkStatus();
  }
  if (s.snapshot_id == 0) {
    std::cout << "No records in " << s.input_name << "; nothing was committed.\n";
    return absl::OkStatus();
  }
  std::cout << "Loaded " << s.input_name << " into " << c.table << " — snapshot " << s.snapshot_id
            << ", load " << s.load_id << "\n";
  TextTable t;
  t.header = {"table", "rows"};
  t.numeric = {false, true};
  for (const auto& [table, rows] : s.rows_per_table) {
    t.rows.push_back({table, Thousands(static_cast<uint64_t>(rows))});
  }
  Print(t, OutputFormat::kTable, std::cout);
  const uint64_t bytes = std::max(s.data_bytes, s.input_bytes);
  const double mbs = bytes / 1e6 / std::max(s.seconds, 1e-9);
  std::string size = Bytes(static_cast<double>(bytes));
  if (s.data_bytes > s.input_bytes) {
    size += fmt::format(" ({} compressed)", Bytes(static_cast<double>(s.input_bytes)));
  }
  std::cout << fmt::format(
      "{} record{}, {} quarantined{}, {:.2f} s, {}, {:.1f} MB/s\n", Thousands(s.records),
      s.records == 1 ? "" : "s", Thousands(s.quarantined),
      s.discarded ? fmt::format(" ({} discarded by contract)", s.discarded) : "", s.seconds, size,
      mbs);
  if (s.quarantined > 0) {
    for (const auto& e : s.first_errors) std::cout << "  bad: " << e << "\n";
    std::cout << "Quarantined records: watershed query \"SELECT * FROM " << load::kQuarantineTable
              << " WHERE _ws_load_id = " << s.load_id << "\"\n";
  }
  return absl::OkStatus();
}

Status RunTables(const GlobalOptions& g, const ReadAt& at, const std::string& format) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project->catalog());
  WS_ASSIGN_OR_RETURN(OutputFormat f, ParseOutputFormat(format));
  WS_ASSIGN_OR_RETURN(int64_t snapshot, ResolveSnapshot(*catalog, at));
  WS_ASSIGN_OR_RETURN(auto tables, catalog->ListTables(snapshot));
  TextTable t;
  t.header = {"table", "rows", "files", "columns", "schema_version", "partition_by"};
  t.numeric = {false, true, true, true, true, false};
  for (const auto& info : tables) {
    WS_ASSIGN_OR_RETURN(auto state, catalog->GetTableState(info.name, snapshot));
    t.rows.push_back({info.name, std::to_string(state.row_count),
                      std::to_string(state.files.size()),
                      std::to_string(state.schema.columns.size()),
                      std::to_string(state.schema.version), info.partition_by});
  }
  if (tables.empty() && f == OutputFormat::kTable) {
    std::cout << "No tables yet. Load data with: watershed load FILE --table NAMESPACE.NAME\n";
    return absl::OkStatus();
  }
  Print(t, f, std::cout);
  return absl::OkStatus();
}

Status RunIcebergShow(const GlobalOptions& g, const std::string& given, const ReadAt& at,
                      const std::string& format) {
  const std::string table = lake::CanonicalTableName(given).value_or(given);
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project->catalog());
  WS_ASSIGN_OR_RETURN(int64_t snapshot, ResolveSnapshot(*catalog, at));
  WS_ASSIGN_OR_RETURN(auto s,
                      lake::DescribeIcebergTable(*catalog, project->storage(), table, snapshot));
  if (format == "json") {
    nlohmann::json j = {{"table", s.table},
                        {"location", s.location},
                        {"metadata_location", s.metadata_location},
                        {"metadata_version", s.metadata_version},
                        {"snapshot_id", s.snapshot_id},
                        {"sequence_number", s.sequence_number},
                        {"timestamp_ms", s.timestamp_ms},
                        {"manifest_list", s.manifest_list},
                        {"schema_id", s.schema_id},
                        {"summary", s.summary},
                        {"snapshots", s.snapshots},
                        {"data_manifests", s.data_manifests},
                        {"delete_manifests", s.delete_manifests}};
    std::cout << j.dump(2) << "\n";
    return absl::OkStatus();
  }
  std::cout << s.table << "  (Iceberg v2, metadata version " << s.metadata_version << ", "
            << s.snapshots << " snapshots kept)\n"
            << "  location           " << s.location << "\n"
            << "  metadata           " << s.metadata_location << "\n"
            << "  snapshot           " << s.snapshot_id << " (sequence " << s.sequence_number
            << ", schema " << s.schema_id << ", " << IsoUtc(s.timestamp_ms * 1000) << ")\n"
            << "  manifest list      " << s.manifest_list << " (" << s.data_manifests
            << " data manifests, " << s.delete_manifests << " delete manifests)\n";
  for (const auto& [k, v] : s.summary)
    std::cout << "  " << k << std::string(k.size() < 19 ? 19 - k.size() : 1, ' ') << v << "\n";
  return absl::OkStatus();
}

Status RunIcebergRegister(const GlobalOptions& g, const std::vector<std::string>& given,
                          const std::string& format) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  if (!project->config().glue) {
    return absl::FailedPreconditionError(
        "no catalog to register in: add `catalogs: {glue: {region: eu-west-1, database: "
        "watershed_lake}}` to watershed.yml (docs/formats/iceberg.md)");
  }
  std::vector<std::string> tables;
  for (const std::string& t : given) tables.push_back(lake::CanonicalTableName(t).value_or(t));
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project->catalog());
  WS_ASSIGN_OR_RETURN(auto pointers, lake::IcebergPointers(*catalog, project->storage(), tables));
  lake::GlueCatalog glue(*project->config().glue);
  WS_ASSIGN_OR_RETURN(auto done, glue.Register(pointers));
  auto action = [](lake::GlueRegistration::Action a) {
    return a == lake::GlueRegistration::Action::kCreated   ? "created"
           : a == lake::GlueRegistration::Action::kUpdated ? "updated"
                                                           : "current";
  };
  if (format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : done) {
      out.push_back({{"table", r.table},
                     {"glue_database", glue.settings().database},
                     {"glue_table", r.glue_table},
                     {"action", action(r.action)},
                     {"metadata_version", r.metadata_version}});
    }
    std::cout << out.dump(2) << "\n";
    return absl::OkStatus();
  }
  TextTable t;
  t.header = {"table", "glue table", "action", "metadata version"};
  std::map<std::string, int> counts;
  for (const auto& r : done) {
    t.rows.push_back({r.table, StrCat(glue.settings().database, ".", r.glue_table),
                      action(r.action), std::to_string(r.metadata_version)});
    ++counts[action(r.action)];
  }
  Print(t, OutputFormat::kTable, std::cout);
  std::cout << done.size() << " table(s) in Glue database " << glue.settings().database << ": "
            << counts["created"] << " created, " << counts["updated"] << " updated, "
            << counts["current"] << " already current\n";
  return absl::OkStatus();
}

Status RunDescribe(const GlobalOptions& g, const std::string& given, const ReadAt& at) {
  // One form per name: `SHOP.Customers` is shop.customers (an invalid name is left to the
  // not-found message, which lists close names).
  const std::string table = lake::CanonicalTableName(given).value_or(given);
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project->catalog());
  WS_ASSIGN_OR_RETURN(int64_t snapshot, ResolveSnapshot(*catalog, at));
  auto found = catalog->GetTableState(table, snapshot);
  if (absl::IsNotFound(found.status())) {  // a mistyped name: suggest the closest table
    std::vector<std::string> names;
    if (auto tables = catalog->ListTables(snapshot); tables.ok()) {
      for (const auto& info : *tables) names.push_back(info.name);
    }
    const std::string closest = ClosestMatch(table, names);
    if (!closest.empty()) {
      return absl::NotFoundError(
          StrCat(MessageOf(found.status()), "; did you mean ", closest, "?"));
    }
  }
  WS_ASSIGN_OR_RETURN(auto state, std::move(found));
  std::cout << table << "  (snapshot " << snapshot << ", " << Thousands(state.row_count)
            << " rows in " << state.files.size() << " files, partitioned by "
            << state.info.partition_by << (state.info.parent.empty() ? "" : ", child of ")
            << state.info.parent << ")\n\nColumns (schema version " << state.schema.version
            << "):\n";
  TextTable cols;
  cols.header = {"column", "type", "from"};  // from: the JSON path (normalize/naming.h)
  for (const ColumnSpec& c : state.schema.columns) {
    cols.rows.push_back({c.name, std::string(ColumnTypeSql(c.type)),
                         c.name == normalize::kIndexColumn ? "" : c.source});
  }
  Print(cols, OutputFormat::kTable, std::cout);

  WS_ASSIGN_OR_RETURN(auto history, catalog->SchemaHistory(table));
  std::cout << "\nSchema versions:\n";
  TextTable hv;
  hv.header = {"version", "snapshot", "columns", "change"};
  hv.numeric = {true, true, true, false};
  for (size_t i = 0; i < history.size(); ++i) {
    std::string change;
    if (i == 0) {
      change = "created";
    } else {
      for (const ColumnSpec& c : history[i].columns) {
        auto& prev = history[i - 1].columns;
        auto it = std::find_if(prev.begin(), prev.end(),
                               [&](const ColumnSpec& p) { return p.name == c.name; });
        if (it == prev.end()) {
          change += StrCat(change.empty() ? "" : ", ", "+", c.name);
        } else if (it->type != c.type) {
          change += StrCat(change.empty() ? "" : ", ", c.name, " ", ColumnTypeName(it->type), "→",
                           ColumnTypeName(c.type));
        }
      }
    }
    hv.rows.push_back({std::to_string(history[i].version), std::to_string(history[i].snapshot_id),
                       std::to_string(history[i].columns.size()), change});
  }
  Print(hv, OutputFormat::kTable, std::cout);

  WS_ASSIGN_OR_RETURN(auto snapshots, catalog->TableSnapshots(table, snapshot));
  std::cout << "\nSnapshots that changed " << table << ":\n";
  TextTable sv;
  sv.header = {"snapshot", "committed_at", "operation", "load", "summary"};
  sv.numeric = {true, false, false, true, false};
  for (const auto& s : snapshots) {
    sv.rows.push_back({std::to_string(s.snapshot_id), s.committed_at, s.operation,
                       std::to_string(s.load_id), s.summary});
  }
  Print(sv, OutputFormat::kTable, std::cout);

  std::cout << "\nFiles:\n";
  TextTable fv;
  fv.header = {"file", "partition", "rows", "bytes"};
  fv.numeric = {false, false, true, true};
  fv.whole = {true};  // storage keys are never cut
  for (const auto& f : state.files) {
    fv.rows.push_back(
        {f.key, f.partition, std::to_string(f.row_count), std::to_string(f.size_bytes)});
  }
  Print(fv, OutputFormat::kTable, std::cout);
  if (!state.files.empty()) {
    WS_ASSIGN_OR_RETURN(auto stats, catalog->FileStats(state.files.back().key));
    std::cout << "\nColumn statistics of the newest file:\n";
    TextTable st;
    st.header = {"column", "min", "max", "nulls"};
    st.numeric = {false, false, false, true};
    for (const auto& s : stats) {
      st.rows.push_back(
          {s.column, s.min.value_or("NULL"), s.max.value_or("NULL"), std::to_string(s.null_count)});
    }
    Print(st, OutputFormat::kTable, std::cout);
  }
  return absl::OkStatus();
}

Status RunQuery(const GlobalOptions& g, const QueryCommand& c) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  WS_ASSIGN_OR_RETURN(OutputFormat f, ParseOutputFormat(c.format));
  transform::QueryOptions o;
  o.max_rows = f == OutputFormat::kTable ? c.max_rows : 0;
  o.write = c.write;
  if (c.write && c.mart.empty()) {
    return absl::InvalidArgumentError("--write changes a mart: give --mart NAME (the lake is "
                                      "changed only by loads)");
  }
  transform::QueryResult r;
  if (!c.mart.empty()) {
    if (c.at.snapshot != 0 || !c.at.as_of.empty()) {
      return absl::InvalidArgumentError("--snapshot and --as-of read the lake, not a mart");
    }
    WS_ASSIGN_OR_RETURN(r, transform::QueryMart(*project, c.mart, c.sql, o));
  } else {
    WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project->catalog());
    WS_ASSIGN_OR_RETURN(int64_t snapshot, ResolveSnapshot(*catalog, c.at));
    WS_ASSIGN_OR_RETURN(r, transform::QueryLake(*project, snapshot, c.sql, o));
  }
  const bool truncated = r.truncated();
  TextTable t;
  t.header = std::move(r.columns);
  t.numeric = std::move(r.numeric);
  t.rows = std::move(r.rows);
  t.nulls = std::move(r.nulls);
  Print(t, f, std::cout);
  if (f == OutputFormat::kTable) {
    std::cout << "(" << Thousands(static_cast<uint64_t>(r.total_rows)) << " row"
              << (r.total_rows == 1 ? "" : "s")
              << (truncated
                      ? fmt::format(", first {} shown; use --max-rows or --format csv", c.max_rows)
                      : "")
              << ")\n";
  }
  return absl::OkStatus();
}

Status RunGc(const GlobalOptions& g, bool dry_run, const std::string& grace_text) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project->catalog());
  // A lake several machines share (S3) keeps recent orphans: another machine's commit may be
  // about to reference them. A local lake knows its running loads by process id.
  const bool shared = project->storage().Describe().starts_with("s3://");
  absl::Duration grace = shared ? absl::Hours(1) : absl::ZeroDuration();
  if (!grace_text.empty()) {
    auto parsed = ParseDuration(grace_text);
    if (!parsed.ok()) return Annotate(parsed.status(), "--grace");
    grace = *parsed;
  }
  WS_ASSIGN_OR_RETURN(auto r,
                      lake::CollectGarbage(*catalog, project->storage(), dry_run, grace));
  for (const auto& k : r.removed)
    std::cout << (dry_run ? "would remove " : "removed ") << k << "\n";
  if (!r.foreign.empty()) {
    std::cout << "not removed: not written by the lake (no snapshot references them; move or "
                 "delete them yourself):\n";
    for (const auto& k : r.foreign) std::cout << "  " << k << "\n";
  }
  std::cout << (dry_run ? "Would remove " : "Removed ") << r.removed.size() << " orphan file(s), "
            << Bytes(static_cast<double>(r.bytes)) << ".";
  if (!r.kept_running.empty()) {
    std::cout << " Kept " << r.kept_running.size() << " file(s) of loads still running.";
  }
  if (!r.kept_recent.empty()) {
    std::cout << " Kept " << r.kept_recent.size() << " file(s) younger than the grace period ("
              << absl::FormatDuration(grace) << "; --grace to change).";
  }
  if (!r.aborted_uploads.empty()) {
    std::cout << (dry_run ? " Would abort " : " Aborted ") << r.aborted_uploads.size()
              << " unfinished upload(s).";
  }
  if (!r.foreign.empty()) {
    std::cout << " Left " << r.foreign.size() << " file(s) not written by the lake, "
              << Bytes(static_cast<double>(r.foreign_bytes)) << ".";
  }
  std::cout << "\n";
  return absl::OkStatus();
}

namespace {

// Creates (or brings up to date) every module's tables in the catalog at `location`.
Status MigrateAllModules(const std::string& location) {
  WS_RETURN_IF_ERROR(lake::Catalog::Open(location).status());
  WS_RETURN_IF_ERROR(orchestrate::RunStore::Open(location).status());
  WS_RETURN_IF_ERROR(observe::MetricStore::Open(location).status());
  WS_RETURN_IF_ERROR(observe::LineageStore::Open(location).status());
  WS_RETURN_IF_ERROR(quality::ResultStore::Open(location).status());
  return absl::OkStatus();
}

}  // namespace

Status RunMigrate(const GlobalOptions& g, const std::string& to_catalog, const std::string& to_lake) {
  if (to_catalog.empty() && to_lake.empty()) {
    return absl::InvalidArgumentError(
        "migrate: give --to-catalog postgres://USER@HOST:5432/DB and/or --to-lake s3://BUCKET/PREFIX");
  }
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  const std::string from_catalog = project->config().catalog_path;
  if (!to_catalog.empty()) {
    if (to_catalog == from_catalog) {
      return absl::InvalidArgumentError("migrate: --to-catalog is the project's catalog already");
    }
    WS_RETURN_IF_ERROR(MigrateAllModules(from_catalog));
    WS_RETURN_IF_ERROR(Annotate(MigrateAllModules(to_catalog), "migrate: --to-catalog"));
    WS_ASSIGN_OR_RETURN(auto from, store::Connection::Open(from_catalog));
    WS_ASSIGN_OR_RETURN(auto to, store::Connection::Open(to_catalog));
    for (const char* table : {"snapshots", "runs", "metric_points"}) {
      store::Stmt any(*to, StrCat("SELECT count(*) FROM ", table));
      WS_ASSIGN_OR_RETURN(bool row, any.Step());
      if (row && any.Int(0) > 0) {
        return absl::FailedPreconditionError(
            StrCat("migrate: the catalog ", to->name(), " is not empty (", any.Int(0), " rows in ",
                   table, "); migrate into an empty database"));
      }
    }
    WS_ASSIGN_OR_RETURN(store::CopyResult copied, store::CopyTables(*from, *to));
    int64_t rows = 0;
    for (const auto& [table, n] : copied.tables) rows += n;
    std::cout << "Copied the catalog " << from->name() << " to " << to->name() << ": " << rows
              << " rows in " << copied.tables.size() << " tables.\n";
    for (const std::string& t : copied.skipped) {
      std::cout << "  not copied: table " << t << " (no module of this build owns it)\n";
    }
  }
  if (!to_lake.empty()) {
    if (!to_lake.starts_with("s3://")) {
      return absl::InvalidArgumentError(StrCat("migrate: --to-lake must be an s3:// URL, not '",
                                               to_lake, "'"));
    }
    lake::S3StorageOptions options = project->config().s3;  // storage.s3: region, endpoint, ...
    options.url = to_lake;
    auto target = lake::S3Storage::Open(options);
    if (!target.ok()) return Annotate(target.status(), "migrate: --to-lake");
    WS_ASSIGN_OR_RETURN(
        lake::CopyFilesResult r,
        lake::CopyFiles(project->storage(), **target, [&](const lake::CopyFilesResult& p) {
          if (!g.quiet && (p.copied + p.skipped) % 100 == 0) {
            std::cerr << "\r" << p.copied << " files copied, " << p.skipped << " already there"
                      << std::flush;
          }
        }));
    if (!g.quiet) std::cerr << "\r";
    std::cout << "Copied the lake " << project->storage().Describe() << " to " << to_lake << ": "
              << r.copied << " files, " << Bytes(static_cast<double>(r.bytes)) << " (" << r.skipped
              << " already there).\n";
  }
  std::cout << "Now set in " << project->root() << "/watershed.yml:\nstorage:\n";
  if (!to_lake.empty()) std::cout << "  lake: " << to_lake << "\n";
  if (!to_catalog.empty()) {
    std::cout << "  catalog: " << RedactUrl(to_catalog)
              << "   # the password through ${ENV}, $PGPASSWORD or ~/.pgpass\n";
  }
  return absl::OkStatus();
}

}  // namespace watershed::cli
