// cli/commands.cc — see commands.h.
#include "watershed/cli/commands.h"

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
namespace {

std::string Bytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} {}", b, units[u]) : fmt::format("{:.1f} {}", b, units[u]);
}

std::string Thousands(uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(i, ",");
  return s;
}

StatusOr<int64_t> ResolveSnapshot(lake::Catalog& catalog, const ReadAt& at) {
  if (at.snapshot != 0 && !at.as_of.empty()) {
    return absl::InvalidArgumentError("use either --snapshot or --as-of, not both");
  }
  if (!at.as_of.empty()) return catalog.SnapshotAsOf(at.as_of);
  WS_ASSIGN_OR_RETURN(int64_t latest, catalog.LatestSnapshot());
  if (at.snapshot == 0) return latest;
  if (at.snapshot < 0 || at.snapshot > latest) {
    return absl::NotFoundError(
        StrCat("snapshot ", at.snapshot, " does not exist (latest is ", latest, ")"));
  }
  return at.snapshot;
}

}  // namespace

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

namespace {

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s + ",") {
    if (c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur.push_back(c);
    }
  }
  return out;
}

}  // namespace

Status RunBuild(const GlobalOptions& g, const BuildCommand& c) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  transform::BuildOptions o{c.select, c.full_refresh, c.threads};
  WS_ASSIGN_OR_RETURN(auto results, transform::Build(*project, o));
  TextTable t;
  t.header = {"model", "materialized", "status", "rows", "seconds"};
  t.numeric = {false, false, false, true, true};
  int errors = 0, skipped = 0;
  double total = 0;
  for (const auto& r : results) {
    t.rows.push_back({r.model, r.materialized, r.status, Thousands(static_cast<uint64_t>(r.rows)),
                      fmt::format("{:.2f}", r.seconds)});
    errors += r.status == "error";
    skipped += r.status == "skipped";
    total += r.seconds;
  }
  Print(t, OutputFormat::kTable, std::cout);
  for (const auto& r : results) {
    if (r.status != "ok") std::cout << "  " << r.status << ": " << r.model << ": " << r.message << "\n";
  }
  std::cout << results.size() - errors - skipped << " built, " << errors << " failed, " << skipped
            << " skipped\n";
  if (errors > 0) {
    return absl::FailedPreconditionError(StrCat(errors, " model(s) failed; see above"));
  }
  return absl::OkStatus();
}

Status RunDocs(const GlobalOptions& g, const std::string& out) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  const std::string path = out.empty() ? project->root() + "/docs/index.html" : out;
  WS_ASSIGN_OR_RETURN(int n, transform::WriteDocs(*project, path));
  std::cout << "Wrote " << path << " (" << n << " models). Open it in a browser.\n";
  return absl::OkStatus();
}

Status RunCrunchbase(const GlobalOptions& g, const CrunchbaseCommand& c) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  WS_ASSIGN_OR_RETURN(load::CrunchbaseRun run, load::CrunchbaseSettings(*project));
  // Command-line flags win over watershed.yml and the environment.
  if (!c.mode.empty()) run.mode = c.mode;
  if (!c.base_url.empty()) run.api.base_url = c.base_url;
  if (c.rate_limit >= 0) run.api.requests_per_minute = c.rate_limit;
  if (!c.orgs.empty()) run.unload.orgs = c.orgs;
  if (!c.cards.empty()) run.unload.cards = SplitList(c.cards);
  if (!c.collections.empty()) run.unload.collections = SplitList(c.collections);
  run.unload.page_size = c.page_size;
  run.unload.commit_every_pages = c.commit_every;
  run.unload.max_pages = c.max_pages;
  run.session.threads = c.threads;
  const bool live = !g.quiet && isatty(STDERR_FILENO);
  if (live) {
    run.unload.on_progress = [](const sources::crunchbase::Progress& p) {
      std::string eta;
      if (p.expected > 0 && p.entities > 0 && p.phase.starts_with("search")) {
        double rate = p.entities / std::max(p.seconds, 1e-9);
        eta = fmt::format(", ETA {:.0f} s", std::max(0.0, (p.expected - p.entities) / rate));
      }
      std::fprintf(stderr, "\r  %s: %s pages, %s entities%s, %.0f requests/min%s   ",
                   p.phase.c_str(), Thousands(p.pages).c_str(), Thousands(p.entities).c_str(),
                   p.expected > 0 ? fmt::format(" of {}", Thousands(p.expected)).c_str() : "",
                   p.requests_per_minute, eta.c_str());
    };
  }
  auto result = load::RunCrunchbase(*project, run);
  if (live) std::fprintf(stderr, "\r%100s\r", "");
  if (!result.ok()) return result.status();
  const load::CrunchbaseResult& r = *result;
  std::cout << "Crunchbase " << run.mode << " unload"
            << (r.unload.resumed ? " (resumed after an interrupted run)" : "") << ": "
            << Thousands(r.unload.entities) << " entities, " << Thousands(r.unload.pages)
            << " search pages, " << Thousands(r.unload.card_items) << " card items, "
            << Thousands(r.unload.tombstones) << " deletions — load " << r.load_id << ", "
            << r.unload.checkpoints << " commit(s), last snapshot " << r.last_snapshot << "\n";
  TextTable t;
  t.header = {"table", "rows landed"};
  t.numeric = {false, true};
  for (const auto& [table, rows] : r.rows) {
    t.rows.push_back({table, Thousands(static_cast<uint64_t>(rows))});
  }
  if (!t.rows.empty()) Print(t, OutputFormat::kTable, std::cout);
  std::cout << fmt::format("{} requests ({} retried, {} throttled), {:.1f} s, {:.0f} requests/min; "
                           "raw responses in {}\n",
                           r.requests, r.retries, r.throttled, r.seconds,
                           r.requests * 60.0 / std::max(r.seconds, 1e-9), r.package);
  for (const auto& nf : r.unload.not_found) std::cout << "  not found: " << nf << "\n";
  return absl::OkStatus();
}

namespace {

StatusOr<orchestrate::Pipeline> FindPipeline(project::Project& project, const std::string& name) {
  WS_ASSIGN_OR_RETURN(auto pipelines, orchestrate::ParsePipelines(project.config().raw["pipelines"]));
  auto it = pipelines.find(name);
  if (it == pipelines.end()) {
    std::string known;
    for (const auto& [n, p] : pipelines) known += (known.empty() ? "" : ", ") + n;
    return absl::NotFoundError(StrCat("no pipeline '", name, "' in watershed.yml (pipelines: ",
                                      known.empty() ? "none" : known, ")"));
  }
  return it->second;
}

Status PrintOutcome(const orchestrate::RunOutcome& o) {
  TextTable t;
  t.header = {"task", "status", "attempts", "seconds", "log"};
  t.numeric = {false, false, true, true, false};
  for (const auto& task : o.tasks) {
    t.rows.push_back({task.task, task.status, std::to_string(task.attempts),
                      fmt::format("{:.2f}", task.seconds), task.log_path});
  }
  Print(t, OutputFormat::kTable, std::cout);
  std::cout << "run " << o.run_id << ": " << o.status << fmt::format(" in {:.1f} s", o.seconds)
            << (o.status == "success" ? "" : fmt::format("; rerun what failed: watershed run --resume {}", o.run_id))
            << "\n";
  if (o.status != "success") return absl::FailedPreconditionError(StrCat("run ", o.run_id, " failed"));
  return absl::OkStatus();
}

}  // namespace

Status RunPipeline(const GlobalOptions& g, const RunCommand& c) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  std::string name = c.pipeline;
  if (!c.resume.empty() && name.empty()) {
    WS_ASSIGN_OR_RETURN(auto store, orchestrate::RunStore::Open(project->config().catalog_path));
    WS_ASSIGN_OR_RETURN(auto runs, store->Runs());
    for (const auto& r : runs) {
      if (r.run_id == c.resume) name = r.pipeline;
    }
    if (name.empty()) return absl::NotFoundError(StrCat("no run ", c.resume, " (see watershed runs)"));
  }
  WS_ASSIGN_OR_RETURN(auto pipeline, FindPipeline(*project, name));
  orchestrate::RunOptions o;
  o.logical_date = c.date.empty() ? TodayUtc() : c.date;
  o.resume_run_id = c.resume;
  o.on_state = [](const std::string& task, const std::string& state, int attempt) {
    std::cout << fmt::format("  {:<24} {}{}\n", task, state,
                             attempt > 1 ? fmt::format(" (attempt {})", attempt) : "")
              << std::flush;
  };
  WS_ASSIGN_OR_RETURN(auto outcome, orchestrate::Execute(*project, pipeline, o));
  return PrintOutcome(outcome);
}

Status RunBackfill(const GlobalOptions& g, const RunCommand& c) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  WS_ASSIGN_OR_RETURN(auto pipeline, FindPipeline(*project, c.pipeline));
  auto from = normalize::ParseDate(c.from), to = normalize::ParseDate(c.to);
  if (!from || !to || *from > *to) {
    return absl::InvalidArgumentError("--from and --to must be dates YYYY-MM-DD, from <= to");
  }
  orchestrate::SchedulerOptions o;
  o.on_run = [](const std::string&, const std::string& date, const std::string& status) {
    std::cout << date << "  " << status << "\n" << std::flush;
  };
  if (c.parallel > 1) {
    // Intervals at once: each a `watershed run PIPELINE --date D` process (the catalog keeps
    // any interval from running twice at the same time).
    std::error_code ec;
    const std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    std::map<pid_t, std::string> running;
    int failed = 0;
    auto reap = [&]() {
      int status = 0;
      pid_t pid = wait(&status);
      if (pid <= 0) return;
      const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      std::cout << running[pid] << "  " << (ok ? "success" : "failed") << "\n" << std::flush;
      failed += !ok;
      running.erase(pid);
    };
    for (int64_t day = *from; day <= *to; ++day) {
      while (static_cast<int>(running.size()) >= c.parallel) reap();
      const std::string date = FormatDate(day);
      WS_ASSIGN_OR_RETURN(auto store, orchestrate::RunStore::Open(project->config().catalog_path));
      WS_ASSIGN_OR_RETURN(auto runs, store->Runs(pipeline.name));
      if (std::any_of(runs.begin(), runs.end(), [&](const orchestrate::RunRecord& r) {
            return r.logical_date == date && r.status == "success";
          })) {
        continue;  // done before
      }
      pid_t pid = fork();
      if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        execl(self.c_str(), self.c_str(), "run", pipeline.name.c_str(), "--date", date.c_str(),
              "--project", project->root().c_str(), "--quiet", static_cast<char*>(nullptr));
        _exit(127);
      }
      running[pid] = date;
    }
    while (!running.empty()) reap();
    std::cout << (*to - *from + 1) << " intervals, " << failed << " failed\n";
    if (failed > 0) return absl::FailedPreconditionError(StrCat(failed, " interval(s) failed"));
    return absl::OkStatus();
  }
  WS_ASSIGN_OR_RETURN(int failed, orchestrate::Backfill(*project, pipeline, *from, *to, o));
  std::cout << (*to - *from + 1) << " intervals (those that had succeeded before were skipped), "
            << failed << " failed\n";
  if (failed > 0) return absl::FailedPreconditionError(StrCat(failed, " interval(s) failed"));
  return absl::OkStatus();
}

namespace {
std::atomic<bool> g_stop{false};
}  // namespace

Status RunSchedulerCommand(const GlobalOptions& g, bool once, const std::string& until) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  orchestrate::SchedulerOptions o;
  o.once = once;
  if (!until.empty()) {
    auto t = normalize::ParseTimestamp(until.size() == 10 ? until + "T00:00:00Z" : until);
    if (!t) return absl::InvalidArgumentError(StrCat("--until '", until, "' is not a UTC time"));
    o.until = *t / 1000000;
  }
  o.stop = &g_stop;
  std::signal(SIGINT, [](int) { g_stop = true; });
  std::signal(SIGTERM, [](int) { g_stop = true; });
  o.on_run = [](const std::string& pipeline, const std::string& date, const std::string& status) {
    std::cout << pipeline << "  " << date << "  " << status << "\n" << std::flush;
  };
  if (!once) std::cout << "scheduler running (Ctrl-C stops it)\n" << std::flush;
  return orchestrate::RunScheduler(*project, o);
}

int RunTaskCommand(const GlobalOptions& g, const std::string& pipeline_name,
                   const std::string& task_name, const std::string& date) {
  Status s = [&]() -> Status {
    WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
    WS_ASSIGN_OR_RETURN(auto pipeline, FindPipeline(*project, pipeline_name));
    const orchestrate::Task* task = pipeline.Find(task_name);
    if (task == nullptr) {
      return absl::NotFoundError(StrCat("pipeline ", pipeline_name, " has no task '", task_name, "'"));
    }
    Status ran = orchestrate::RunTask(*project, pipeline, *task, date.empty() ? TodayUtc() : date);
    observe::FlushMetrics(*project).IgnoreError();
    return ran;
  }();
  if (s.ok()) return 0;
  std::cerr << "error: " << MessageOf(s) << "\n";
  return IsTransient(s) ? orchestrate::kTransientExitCode : 1;
}

Status RunRuns(const GlobalOptions& g, const std::string& show) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  WS_ASSIGN_OR_RETURN(auto store, orchestrate::RunStore::Open(project->config().catalog_path));
  TextTable t;
  if (show.empty()) {
    WS_ASSIGN_OR_RETURN(auto runs, store->Runs());
    t.header = {"run", "pipeline", "date", "started_at", "finished_at", "status"};
    for (const auto& r : runs) {
      t.rows.push_back({r.run_id, r.pipeline, r.logical_date, r.started_at, r.finished_at, r.status});
    }
    Print(t, OutputFormat::kTable, std::cout);
    return absl::OkStatus();
  }
  WS_ASSIGN_OR_RETURN(auto attempts, store->Attempts(show));
  if (attempts.empty()) return absl::NotFoundError(StrCat("no run ", show, " (see watershed runs)"));
  t.header = {"task", "attempt", "status", "exit", "seconds", "log"};
  t.numeric = {false, true, false, true, true, false};
  for (const auto& a : attempts) {
    t.rows.push_back({a.task, std::to_string(a.attempt), a.status, std::to_string(a.exit_code),
                      fmt::format("{:.2f}", a.seconds), a.log_path});
  }
  Print(t, OutputFormat::kTable, std::cout);
  for (const auto& a : attempts) {
    if (a.log_path.empty()) continue;
    std::ifstream in(a.log_path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::cout << "\n--- " << a.task << " attempt " << a.attempt << " (" << a.log_path << ")\n"
              << ss.str();
  }
  return absl::OkStatus();
}

Status RunExportAirflow(const GlobalOptions& g, const std::string& name, const std::string& out) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  WS_ASSIGN_OR_RETURN(auto pipeline, FindPipeline(*project, name));
  const std::string path = out.empty() ? StrCat(project->root(), "/airflow/", name, ".py") : out;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::ofstream(path) << orchestrate::AirflowDag(pipeline, project->root());
  std::cout << "Wrote " << path << "\n";
  return absl::OkStatus();
}

void AuditCommand(const GlobalOptions& g, int argc, char** argv, const Status& outcome) {
  auto project = project::Project::Open(g.project);
  if (!project.ok()) return;  // not in a project: nothing to audit into
  std::string command;
  for (int i = 1; i < argc; ++i) command += (i > 1 ? " " : "") + std::string(argv[i]);
  const passwd* pw = getpwuid(geteuid());
  observe::FlushMetrics(**project).IgnoreError();  // what this process counted (metrics.h)
  observe::AuditLog log((*project)->root() + "/.watershed/audit.log");
  log.Append({0, "", pw != nullptr ? pw->pw_name : std::to_string(geteuid()), "command", command,
              outcome.ok() ? "ok" : StrCat("error: ", MessageOf(outcome))})
      .IgnoreError();
}

Status RunAudit(const GlobalOptions& g, bool verify) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  observe::AuditLog log(project->root() + "/.watershed/audit.log");
  if (verify) {
    WS_RETURN_IF_ERROR(log.Verify());
    WS_ASSIGN_OR_RETURN(auto entries, log.Read());
    std::cout << "audit log intact: " << entries.size() << " entries, hash chain verified ("
              << log.path() << ")\n";
    return absl::OkStatus();
  }
  WS_ASSIGN_OR_RETURN(auto entries, log.Read());
  TextTable t;
  t.header = {"seq", "time", "principal", "action", "target", "outcome"};
  t.numeric = {true, false, false, false, false, false};
  for (const auto& e : entries) {
    t.rows.push_back({std::to_string(e.seq), e.time, e.principal, e.action, e.target, e.outcome});
  }
  Print(t, OutputFormat::kTable, std::cout);
  return absl::OkStatus();
}

Status RunCheck(const GlobalOptions& g, const quality::CheckCommandOptions& c) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  return quality::CheckCommand(*project, c, std::cout);
}

Status RunLineage(const GlobalOptions& g, const std::string& node,
                  const observe::TraceOptions& options, const std::string& format) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  std::string out;
  WS_RETURN_IF_ERROR(observe::LineageCommand(*project, node, options, format, &out));
  std::cout << out;
  if (!out.empty() && out.back() != '\n') std::cout << "\n";
  return absl::OkStatus();
}

Status RunMetrics(const GlobalOptions& g, const std::string& format, const std::string& push) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  if (push.empty()) return observe::PrintMetrics(*project, format, std::cout);
  if (push != "cloudwatch") {
    return absl::InvalidArgumentError(StrCat("--push ", push, ": the only target is cloudwatch"));
  }
  const YAML::Node cw = project->config().raw["metrics"]["cloudwatch"];
  WS_ASSIGN_OR_RETURN(net::AwsConfig aws, net::AwsConfigFromYaml(cw ? cw : YAML::Node()));
  const std::string ns = cw && cw["namespace"] ? cw["namespace"].as<std::string>() : "Watershed";
  WS_ASSIGN_OR_RETURN(auto pending, observe::PendingCloudWatchDatums(*project));
  const std::vector<observe::MetricDatum>& datums = pending.first;
  if (!datums.empty()) {
    net::HttpClient client({});
    WS_RETURN_IF_ERROR(observe::PutMetricData(client, aws, ns, datums));
  }
  WS_RETURN_IF_ERROR(observe::MarkCloudWatchPushed(*project, pending.second));
  std::cout << "pushed " << datums.size() << " datums to CloudWatch namespace " << ns << " ("
            << (aws.endpoint.empty() ? "region " + aws.region : aws.endpoint) << ")\n";
  return absl::OkStatus();
}

Status RunAlarms(const GlobalOptions& g, const std::string& format, bool evaluate) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  return observe::PrintAlarms(*project, format, std::cout, evaluate);
}

Status RunServe(const GlobalOptions& g, const ServeCommand& c) {
  server::ServeOptions o;
  o.project_dir = g.project;
  o.host = c.host;
  o.port = c.port;
  o.http_threads = c.threads;
  const char* token = std::getenv("WATERSHED_TOKEN");
  o.token = token ? token : "";
  o.on_listening = [&](int port) {
    std::cout << "listening on http://" << c.host << ":" << port << std::endl;
  };
  return server::Serve(o);
}

Status RunStreams(const GlobalOptions& g, const std::string& format) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  WS_ASSIGN_OR_RETURN(OutputFormat f, ParseOutputFormat(format));
  WS_ASSIGN_OR_RETURN(auto streams, server::StreamsStatus(*project));
  if (streams.empty()) {
    std::cout << "no streams: declare them under `streams:` in watershed.yml (docs/formats/streams.md)\n";
    return absl::OkStatus();
  }
  TextTable t;
  t.header = {"stream", "source", "table", "log_next", "lake_next", "lag", "events/s (1 min)",
              "lake rows", "quarantined (1 h)", "last commit"};
  t.numeric = {false, false, false, true, true, true, true, true, true, false};
  auto num = [](int64_t v) { return v < 0 ? std::string("-") : std::to_string(v); };
  for (const server::StreamStatus& s : streams) {
    char rate[32];
    std::snprintf(rate, sizeof rate, "%.1f", s.events_per_second);
    t.rows.push_back({s.stream, s.source, s.table, num(s.next_offset), num(s.lake_offset),
                      num(s.lag_events), rate, std::to_string(s.lake_rows),
                      std::to_string(s.quarantined), s.last_commit.empty() ? "never" : s.last_commit});
    t.nulls.push_back(std::vector<bool>(t.header.size(), false));
  }
  Print(t, f, std::cout);
  return absl::OkStatus();
}

}  // namespace watershed::cli
