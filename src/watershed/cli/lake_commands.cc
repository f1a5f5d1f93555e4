// cli/lake_commands.cc — `init`, `load`, `tables`, `describe`, `query`, `gc`: the project, its lake and catalog. See commands.h.
#include "watershed/cli/commands.h"

#include "watershed/cli/common.h"

#include "watershed/orchestrate/run_store.h"
#include "watershed/net/aws.h"
#include "watershed/observe/cloudwatch.h"
#include "watershed/observe/alarms.h"
#include "watershed/observe/metrics.h"
#include "watershed/server/streams.h"
#include "watershed/server/server.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <pwd.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "watershed/cli/output.h"
#include "watershed/lake/gc.h"
#include "watershed/normalize/infer.h"
#include "watershed/observe/audit.h"
#include "watershed/load/crunchbase.h"
#include "watershed/lake/reader.h"
#include "watershed/project/project.h"
#include "watershed/orchestrate/executor.h"
#include "watershed/orchestrate/scheduler.h"
#include "watershed/orchestrate/task.h"
#include "watershed/base/retry.h"
#include "watershed/transform/docs.h"
#include "watershed/transform/runner.h"
#include "watershed/warehouse/postgres/postgres.h"
#include "watershed/warehouse/duckdb/database.h"

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
      std::string pct = p.total_bytes ? fmt::format(" {:3.0f}%", 100.0 * p.bytes_read / p.total_bytes) : "";
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
  std::cout << fmt::format("{} record{}, {} quarantined{}, {:.2f} s, {}, {:.1f} MB/s\n",
                           Thousands(s.records), s.records == 1 ? "" : "s",
                           Thousands(s.quarantined),
                           s.discarded ? fmt::format(" ({} discarded by contract)", s.discarded)
                                       : "",
                           s.seconds, size, mbs);
  if (s.quarantined > 0) {
    for (const auto& e : s.first_errors) std::cout << "  bad: " << e << "\n";
    std::cout << "Quarantined records: watershed query \"SELECT * FROM "
              << load::kQuarantineTable << " WHERE _ws_load_id = " << s.load_id << "\"\n";
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

Status RunDescribe(const GlobalOptions& g, const std::string& table, const ReadAt& at) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project->catalog());
  WS_ASSIGN_OR_RETURN(int64_t snapshot, ResolveSnapshot(*catalog, at));
  WS_ASSIGN_OR_RETURN(auto state, catalog->GetTableState(table, snapshot));
  std::cout << table << "  (snapshot " << snapshot << ", " << Thousands(state.row_count)
            << " rows in " << state.files.size() << " files, partitioned by "
            << state.info.partition_by << (state.info.parent.empty() ? "" : ", child of ")
            << state.info.parent << ")\n\nColumns (schema version " << state.schema.version
            << "):\n";
  TextTable cols;
  cols.header = {"column", "type"};
  for (const ColumnSpec& c : state.schema.columns) {
    cols.rows.push_back({c.name, std::string(ColumnTypeSql(c.type))});
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
          change += StrCat(change.empty() ? "" : ", ", c.name, " ", ColumnTypeName(it->type),
                           "→", ColumnTypeName(c.type));
        }
      }
    }
    hv.rows.push_back({std::to_string(history[i].version), std::to_string(history[i].snapshot_id),
                       std::to_string(history[i].columns.size()), change});
  }
  Print(hv, OutputFormat::kTable, std::cout);

  WS_ASSIGN_OR_RETURN(auto snapshots, catalog->Snapshots());
  std::cout << "\nSnapshots:\n";
  TextTable sv;
  sv.header = {"snapshot", "committed_at", "operation", "load", "summary"};
  sv.numeric = {true, false, false, true, false};
  for (const auto& s : snapshots) {
    if (s.snapshot_id > snapshot) continue;
    sv.rows.push_back({std::to_string(s.snapshot_id), s.committed_at, s.operation,
                       std::to_string(s.load_id), s.summary});
  }
  Print(sv, OutputFormat::kTable, std::cout);

  std::cout << "\nFiles:\n";
  TextTable fv;
  fv.header = {"file", "partition", "rows", "bytes"};
  fv.numeric = {false, false, true, true};
  for (const auto& f : state.files) {
    fv.rows.push_back({f.key, f.partition, std::to_string(f.row_count),
                       std::to_string(f.size_bytes)});
  }
  Print(fv, OutputFormat::kTable, std::cout);
  if (!state.files.empty()) {
    WS_ASSIGN_OR_RETURN(auto stats, catalog->FileStats(state.files.back().key));
    std::cout << "\nColumn statistics of the newest file:\n";
    TextTable st;
    st.header = {"column", "min", "max", "nulls"};
    st.numeric = {false, false, false, true};
    for (const auto& s : stats) {
      st.rows.push_back({s.column, s.min.value_or("NULL"), s.max.value_or("NULL"),
                         std::to_string(s.null_count)});
    }
    Print(st, OutputFormat::kTable, std::cout);
  }
  return absl::OkStatus();
}

Status RunQuery(const GlobalOptions& g, const QueryCommand& c) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project->catalog());
  WS_ASSIGN_OR_RETURN(OutputFormat f, ParseOutputFormat(c.format));
  std::unique_ptr<warehouse::Database> db;
  std::unique_ptr<warehouse::Connection> conn;
  if (!c.mart.empty()) {
    if (c.at.snapshot != 0 || !c.at.as_of.empty()) {
      return absl::InvalidArgumentError("--snapshot and --as-of read the lake, not a mart");
    }
    WS_ASSIGN_OR_RETURN(auto targets, transform::MartTargets(*project));
    auto t = targets.find(c.mart);
    if (t != targets.end() && t->second.type != "duckdb") {  // the mart lives in PostgreSQL
      WS_ASSIGN_OR_RETURN(auto pg, warehouse::postgres::PgConnection::Connect(t->second.target));
      WS_RETURN_IF_ERROR(pg->Execute(StrCat("SET search_path TO ",
                                            warehouse::postgres::PgQuoteIdent(c.mart), ", public")));
      WS_ASSIGN_OR_RETURN(auto r, pg->Query(c.sql));
      TextTable table;
      for (int col = 0; col < r.columns(); ++col) {
        table.header.push_back(r.column_name(col));
        table.numeric.push_back(false);
      }
      for (int64_t row = 0; row < r.rows(); ++row) {
        std::vector<std::string> cells;
        std::vector<bool> nulls;
        for (int col = 0; col < r.columns(); ++col) {
          nulls.push_back(r.IsNull(col, row));
          cells.push_back(r.GetString(col, row));
        }
        table.rows.push_back(std::move(cells));
        table.nulls.push_back(std::move(nulls));
      }
      Print(table, f, std::cout);
      if (f == OutputFormat::kTable) std::cout << "(" << Thousands(r.rows()) << " rows)\n";
      return absl::OkStatus();
    }
    WS_ASSIGN_OR_RETURN(transform::MartSession s, transform::OpenMarts(*project, c.mart));
    db = std::move(s.db);
    conn = std::move(s.conn);
  } else {
    WS_ASSIGN_OR_RETURN(int64_t snapshot, ResolveSnapshot(*catalog, c.at));
    WS_ASSIGN_OR_RETURN(db, warehouse::Database::Open(""));
    WS_ASSIGN_OR_RETURN(conn, db->Connect());
    if (snapshot > 0) {
      WS_RETURN_IF_ERROR(
          lake::AttachLakeViews(*conn, *catalog, project->storage(), snapshot, c.sql));
    }
  }
  WS_ASSIGN_OR_RETURN(auto result, conn->Query(c.sql));
  bool truncated = false;
  TextTable t = ToTextTable(result, f == OutputFormat::kTable ? c.max_rows : 0, &truncated);
  Print(t, f, std::cout);
  if (f == OutputFormat::kTable) {
    std::cout << "(" << Thousands(result.row_count()) << " row"
              << (result.row_count() == 1 ? "" : "s")
              << (truncated ? fmt::format(", first {} shown; use --max-rows or --format csv",
                                          c.max_rows)
                            : "")
              << ")\n";
  }
  return absl::OkStatus();
}

Status RunGc(const GlobalOptions& g, bool dry_run) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project->catalog());
  WS_ASSIGN_OR_RETURN(auto r, lake::CollectGarbage(*catalog, project->storage(), dry_run));
  for (const auto& k : r.removed) std::cout << (dry_run ? "would remove " : "removed ") << k << "\n";
  std::cout << (dry_run ? "Would remove " : "Removed ") << r.removed.size()
            << " orphan file(s), " << Bytes(static_cast<double>(r.bytes)) << ".";
  if (!r.kept_running.empty()) {
    std::cout << " Kept " << r.kept_running.size() << " file(s) of loads still running.";
  }
  std::cout << "\n";
  return absl::OkStatus();
}

}  // namespace watershed::cli
