// quality/checks.cc — selecting and running checks, the quarantine, recording. See checks.h.
#include "watershed/quality/checks.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "watershed/audit/audit_log.h"
#include "watershed/base/columns.h"
#include "watershed/base/ids.h"
#include "watershed/base/log.h"
#include "watershed/base/metrics.h"
#include "watershed/base/strings.h"
#include "watershed/lake/reader.h"
#include "watershed/lake/writer.h"
#include "watershed/observe/metrics.h"
#include "watershed/project/sql_sandbox.h"
#include "watershed/quality/registry.h"
#include "watershed/quality/result_store.h"

namespace watershed::quality {
namespace {

namespace fs = std::filesystem;
using warehouse::QuoteIdent;
using warehouse::QuoteLiteral;

struct Sample {
  std::string check, table, row_json;
};

StatusOr<std::unique_ptr<ResultStore>> OpenResults(project::Project& project) {
  WS_RETURN_IF_ERROR(project.catalog().status());  // creates the catalog's folder and database
  return ResultStore::Open(project.config().catalog_path);
}

// Runs one check. `unavailable`: marts that could not be attached, with why.
CheckResult Evaluate(warehouse::Connection& conn, const Check& c, int sample_rows,
                     ResultStore& history, const std::map<std::string, std::string>& unavailable,
                     std::vector<Sample>* samples) {
  const auto start = std::chrono::steady_clock::now();
  CheckResult r;
  r.check = c.name;
  r.table = c.table;
  r.type = c.type;
  r.severity = c.severity;
  std::vector<Sample> mine;
  StatusOr<CheckOutcome> outcome = [&]() -> StatusOr<CheckOutcome> {
    for (const std::string& t : {c.table, c.to_table}) {
      auto it = unavailable.find(t.substr(0, t.find('.')));
      if (!t.empty() && it != unavailable.end()) return absl::UnavailableError(it->second);
    }
    if (c.kind == nullptr) {
      return absl::InternalError(StrCat("check ", c.name, ": kind '", c.type, "' not resolved"));
    }
    EvalContext ctx{conn, history};
    WS_ASSIGN_OR_RETURN(CheckOutcome o, c.kind->Evaluate(c, ctx));
    if (o.failed && !o.failing_sql.empty() && sample_rows > 0) {
      WS_ASSIGN_OR_RETURN(
          auto rows,
          conn.Query(StrCat("SELECT CAST(to_json(ws_row) AS VARCHAR) FROM (SELECT * FROM (",
                            o.failing_sql, ") AS ws_failing LIMIT ", sample_rows, ") AS ws_row")));
      for (size_t i = 0; i < rows.row_count(); ++i) {
        mine.push_back({c.name, c.table, rows.GetString(0, i)});
      }
    }
    return o;
  }();
  if (!outcome.ok()) {
    r.status = "error";
    r.message = std::string(MessageOf(outcome.status()));
  } else {
    r.failing_rows = outcome->failing_rows;
    r.observed = outcome->observed;
    r.message = std::move(outcome->message);
    r.status = !outcome->failed ? "pass" : c.severity == Severity::kWarn ? "warn" : "fail";
    for (auto& m : mine) samples->push_back(std::move(m));
    r.quarantined = static_cast<int64_t>(mine.size());
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

// Appends the samples to quality.quarantine in one catalog commit.
Status WriteQuarantine(project::Project& project, const CheckReport& report, int64_t run_at,
                       const std::vector<Sample>& samples) {
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project.catalog());
  WS_ASSIGN_OR_RETURN(int64_t load_id, catalog->BeginLoad(StrCat("quality ", report.run_id)));
  std::vector<lake::DataFile> files;
  Status s = [&]() -> Status {
    WS_ASSIGN_OR_RETURN(auto writer, lake::LakeWriter::Create(&project.storage(), catalog, 1));
    TableBatch b;
    b.table = std::string(kQuarantineTable);
    b.arena = std::make_shared<StringArena>();
    b.columns = {{"check_name", ColumnType::kVarchar},
                 {"table_name", ColumnType::kVarchar},
                 {"run_id", ColumnType::kVarchar},
                 {"run_at", ColumnType::kTimestamp},
                 {"row_json", ColumnType::kVarchar}};
    b.data.resize(b.columns.size());
    b.num_rows = samples.size();
    for (const Sample& x : samples) {
      for (auto [col, text] : {std::pair{0, &x.check}, std::pair{1, &x.table},
                               std::pair{2, &report.run_id}, std::pair{4, &x.row_json}}) {
        b.data[col].strings.push_back(b.arena->Copy(*text));
        b.data[col].valid.push_back(1);
      }
      b.data[3].slots.push_back(static_cast<uint64_t>(run_at));
      b.data[3].valid.push_back(1);
    }
    WS_ASSIGN_OR_RETURN(files, writer->Write(b, std::string(lake::kIngestDatePartition), TodayUtc(),
                                             fmt::format("quality-{:06d}", load_id)));
    lake::CommitRequest commit;
    commit.operation = "quality";
    commit.load_id = load_id;
    commit.summary = nlohmann::json{{"run_id", report.run_id},
                                    {"rows", {{std::string(kQuarantineTable), samples.size()}}}}
                         .dump();
    commit.tables.push_back({std::string(kQuarantineTable), "", b.columns,
                             std::string(lake::kIngestDatePartition), "", ""});
    commit.added = files;
    WS_ASSIGN_OR_RETURN(int64_t snapshot, catalog->Commit(commit));
    // A data change like any load's: in the audit log (audit/audit_log.h).
    return audit::AuditDataChange(
        project.root(), load_id, snapshot,
        {{std::string(kQuarantineTable), static_cast<int64_t>(samples.size())}}, absl::OkStatus());
  }();
  if (!s.ok()) {
    for (const auto& f : files) project.storage().Delete(f.key).IgnoreError();
  }
  catalog
      ->FinishLoad(load_id, s.ok() ? "committed" : "failed",
                   s.ok() ? "" : std::string(MessageOf(s)))
      .IgnoreError();
  return s;
}

StatusOr<CheckReport> Run(project::Project& project, warehouse::Connection& conn,
                          const std::vector<Check>& checks, const CheckSelection& options,
                          const std::map<std::string, std::string>& unavailable) {
  WS_ASSIGN_OR_RETURN(auto history, OpenResults(project));
  CheckReport report;
  report.run_id = NewId("checks");
  const int64_t run_at = NowMicros();
  report.run_at = IsoUtc(run_at);
  std::vector<Sample> samples;
  for (const Check& c : checks) {
    report.results.push_back(
        Evaluate(conn, c, options.sample_rows, *history, unavailable, &samples));
    const CheckResult& r = report.results.back();
    if (r.status != "pass") {
      LogInfo("check did not pass", {{"run_id", report.run_id},
                                     {"check", r.check},
                                     {"table", r.table},
                                     {"status", r.status},
                                     {"message", r.message}});
    }
  }
  if (!samples.empty()) {
    Status q = WriteQuarantine(project, report, run_at, samples);
    if (!q.ok()) {
      LogWarn("failing rows were not quarantined",
              {{"run_id", report.run_id}, {"error", std::string(MessageOf(q))}});
      for (auto& r : report.results) {
        if (r.quarantined > 0) {
          r.quarantined = 0;
          r.message += StrCat(" (not quarantined: ", MessageOf(q), ")");
        }
      }
    }
  }
  WS_RETURN_IF_ERROR(Annotate(history->Record(report, options.context), "recording check results"));
  for (const CheckResult& r : report.results) {  // watershed_checks_{passed,failed}_total
    const metrics::MetricLabels labels = {{"table", r.table}, {"check", r.check}};
    if (r.status == "pass") {
      metrics::GetCounter("watershed_checks_passed_total", labels).Inc(1);
    } else {
      metrics::GetCounter("watershed_checks_failed_total", labels).Inc(1);
    }
  }
  observe::FlushMetrics(project).IgnoreError();
  return report;
}

}  // namespace

StatusOr<std::vector<Check>> ProjectChecks(const project::Project& project) {
  WS_ASSIGN_OR_RETURN(auto checks, ParseChecks(project.config().raw["checks"]));
  // dbt schema.yml tests (registry.h) join the declared checks; names stay unique.
  WS_ASSIGN_OR_RETURN(auto dbt, SchemaYmlChecks((fs::path(project.root()) / "models").string()));
  for (Check& c : dbt) {
    for (const Check& other : checks) {
      if (other.name == c.name) {
        return absl::InvalidArgumentError(
            StrCat("a schema.yml test of ", c.table, " is named '", c.name,
                   "' like a check in watershed.yml: give one of them a name:"));
      }
    }
    checks.push_back(std::move(c));
  }
  return checks;
}

std::vector<Check> Select(const std::vector<Check>& checks, const std::string& selection) {
  std::vector<Check> out;
  for (const Check& c : checks) {
    if (selection.empty() || selection == "all" || c.table == selection ||
        c.table.starts_with(selection + ".")) {
      out.push_back(c);
    }
  }
  return out;
}

std::string CheckResult::Line() const {
  return StrCat(table, " ", check, " (", SeverityName(severity), "): ", status,
                message.empty() ? "" : ": ", message);
}

bool CheckReport::blocking() const {
  return std::any_of(results.begin(), results.end(),
                     [](const CheckResult& r) { return r.blocking(); });
}

std::string CheckReport::Summary() const {
  int pass = 0, warn = 0, fail = 0, error = 0;
  std::vector<std::string> blocking;
  for (const CheckResult& r : results) {
    pass += r.status == "pass";
    warn += r.status == "warn";
    fail += r.status == "fail";
    error += r.status == "error";
    if (r.blocking()) blocking.push_back(r.check);
  }
  std::string s =
      StrCat(results.size(), results.size() == 1 ? " check: " : " checks: ", pass, " passed, ",
             warn, " warned, ", fail, " failed, ", error, " could not run");
  if (!blocking.empty()) s += StrCat("; blocking (severity error): ", Join(blocking, ", "));
  return s;
}

StatusOr<CheckReport> RunChecksOn(project::Project& project, warehouse::Connection& conn,
                                  const std::vector<Check>& checks, const CheckSelection& options) {
  return Run(project, conn, checks, options, {});
}

StatusOr<CheckReport> RunChecks(project::Project& project, const CheckSelection& selection) {
  WS_ASSIGN_OR_RETURN(auto all, ProjectChecks(project));
  std::vector<Check> chosen = Select(all, selection.table);
  if (chosen.empty()) {
    if (all.empty()) {
      return absl::NotFoundError(
          "no checks declared: add a checks: section to watershed.yml (docs/formats/checks.md)");
    }
    std::set<std::string> tables;
    for (const Check& c : all) tables.insert(c.table);
    return absl::NotFoundError(
        StrCat("no checks declared for '", selection.table, "' (tables with checks: ",
               Join(std::vector<std::string>(tables.begin(), tables.end()), ", "), ")"));
  }
  WS_ASSIGN_OR_RETURN(auto db, warehouse::Database::Open(""));
  WS_ASSIGN_OR_RETURN(auto conn, db->Connect());
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project.catalog());
  WS_ASSIGN_OR_RETURN(int64_t snapshot, catalog->LatestSnapshot());
  if (snapshot > 0) {
    WS_RETURN_IF_ERROR(lake::AttachLakeViews(*conn, *catalog, project.storage(), snapshot, ""));
  }
  // DuckDB marts, read-only; one that cannot be attached (a build holds it) fails only its checks.
  std::map<std::string, std::string> unavailable;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(project.root()) / "marts", ec)) {
    if (!e.is_regular_file() || e.path().extension() != ".duckdb") continue;
    const std::string mart = e.path().stem().string();
    Status s = conn->Execute(StrCat("ATTACH ", QuoteLiteral(e.path().string()), " AS ",
                                    QuoteIdent(mart), " (READ_ONLY)"));
    if (!s.ok()) unavailable[mart] = StrCat("mart ", mart, " cannot be opened: ", MessageOf(s));
  }
  // Custom SQL checks are user SQL: only the lake and the marts from here on.
  WS_RETURN_IF_ERROR(project::SandboxUserSql(project, *db));
  return Run(project, *conn, chosen, selection, unavailable);
}

StatusOr<std::vector<CheckResult>> History(const project::Project& project,
                                           const std::string& check_name, int limit) {
  WS_ASSIGN_OR_RETURN(auto db, ResultStore::Open(project.config().catalog_path));
  return db->History(check_name, limit);
}

}  // namespace watershed::quality
