// quality/checks_test.cc — every check type passing and failing on small NDJSON fixtures loaded
// into a real lake, the quarantine, the results history and volume anomalies, YAML errors,
// `watershed check` output, marts not published when their checks fail, and a pipeline whose
// failing check task blocks its downstream task.
#include "watershed/quality/checks.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "gtest/gtest.h"
#include "watershed/base/retry.h"
#include "watershed/base/test_util.h"
#include "watershed/cli/quality_view.h"
#include "watershed/lake/reader.h"
#include "watershed/load/loader.h"
#include "watershed/orchestrate/executor.h"
#include "watershed/orchestrate/task.h"
#include "watershed/transform/runner.h"

namespace watershed::quality {
namespace {

using testing_util::MakeTempDir;
using testing_util::WriteFile;

// Four organizations: a duplicate uuid (b), one NULL name, a status outside the list, a
// negative and a huge employee count, one malformed email; all updated in January 2020.
constexpr const char* kOrgs =
    R"({"uuid":"a","name":"A","status":"operating","employees":10,"email":"a@x.com","updated_at":"2020-01-01T00:00:00Z"}
{"uuid":"b","name":null,"status":"closed","employees":-5,"email":"bad","updated_at":"2020-01-02T00:00:00Z"}
{"uuid":"b","name":"B2","status":"zombie","employees":20,"email":"b@x.com","updated_at":"2020-01-03T00:00:00Z"}
{"uuid":"c","name":"C","status":"operating","employees":1000000,"email":"c@x.com","updated_at":"2020-01-04T00:00:00Z"}
)";
// Three rounds: one points at an organization that does not exist, one at none.
constexpr const char* kRounds = R"({"id":1,"org_uuid":"a","amount":5}
{"id":2,"org_uuid":"zz","amount":7}
{"id":3,"org_uuid":null,"amount":1}
)";

class Checks : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    root_ = dir_ + "/p";
    ASSERT_TRUE(project::Project::Init(root_, "t").ok());
    Reopen();
  }
  void Reopen() {
    auto p = project::Project::Open(root_);
    ASSERT_TRUE(p.ok()) << p.status();
    project_ = std::move(*p);
  }
  void Load(const std::string& table, const std::string& ndjson) {
    load::LoadOptions o;
    o.input = WriteFile(dir_, StrCat("in", ++loads_, ".ndjson"), ndjson);
    o.table = table;
    o.threads = 1;
    auto r = load::LoadFile(*project_, o);
    ASSERT_TRUE(r.ok()) << r.status();
  }
  // Appends a top-level section to watershed.yml and reopens the project.
  void Yaml(const std::string& text) {
    std::ofstream(root_ + "/watershed.yml", std::ios::app) << "\n" << text << "\n";
    Reopen();
  }
  std::map<std::string, CheckResult> Run(const std::string& table = "", int sample = 100) {
    CheckSelection s;
    s.table = table;
    s.sample_rows = sample;
    auto r = RunChecks(*project_, s);
    EXPECT_TRUE(r.ok()) << r.status();
    std::map<std::string, CheckResult> out;
    if (r.ok()) {
      last_ = *r;
      for (const auto& c : r->results) out[c.check] = c;
    }
    return out;
  }
  // A query over the lake at its latest snapshot.
  std::vector<std::vector<std::string>> Lake(const std::string& sql) {
    std::vector<std::vector<std::string>> rows;
    auto db = warehouse::Database::Open("");
    EXPECT_TRUE(db.ok());
    auto conn = (*db)->Connect();
    auto catalog = project_->catalog();
    EXPECT_TRUE(lake::AttachLakeViews(**conn, **catalog, project_->storage(), 0, "").ok());
    auto r = (*conn)->Query(sql);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return rows;
    for (size_t i = 0; i < r->row_count(); ++i) {
      rows.emplace_back();
      for (size_t c = 0; c < r->column_count(); ++c) rows.back().push_back(r->GetString(c, i));
    }
    return rows;
  }
  std::string dir_, root_;
  int loads_ = 0;
  std::unique_ptr<project::Project> project_;
  CheckReport last_;
};

TEST_F(Checks, EveryTypePassesAndFailsWithTheExactFailingCount) {
  Load("cb.orgs", kOrgs);
  Load("cb.rounds", kRounds);
  Yaml(R"(checks:
  cb.orgs:
    - {not_null: uuid}
    - {not_null: [email, name]}
    - {unique: uuid}
    - {unique: [uuid, status]}
    - {unique: status, name: status_unique}
    - {accepted_values: {column: status, values: [operating, closed]}}
    - {accepted_values: {column: status, values: [operating, closed, zombie]}, name: status_all}
    - {range: {column: employees, min: 0}}
    - {range: {column: employees, min: -10, max: 2000000}, name: employees_wide}
    - {range: {column: employees, min: 0, max: 100}, name: employees_narrow}
    - {range: {column: updated_at, min: "2020-01-02"}, name: updated_since}
    - {regex: {column: email, pattern: "[^@]+@[^@]+"}}
    - {regex: {column: uuid, pattern: "[a-c]"}, name: uuid_letters}
    - {row_count: {min: 1}}
    - {row_count: {max: 3}, name: at_most_3}
    - {freshness: {column: updated_at, max_age: 1d}}
    - {freshness: {column: updated_at, max_age: 100000d}, name: fresh_enough}
    - {relationships: {column: uuid, to: cb.orgs}, name: self_ref}
    - {schema: {columns: {uuid: VARCHAR, employees: BIGINT, updated_at: timestamp}}}
    - {schema: {columns: {uuid: BIGINT, no_such: ~}}, name: wrong_schema}
    - {schema: {columns: [uuid, name, status, employees, email, updated_at], exact: true}, name: exact_schema}
    - {schema: {columns: [uuid], exact: true}, name: exact_schema_extra}
    - {sql: "select * from {{ this }} where employees > 100", name: big_orgs}
    - {sql: "select * from cb.orgs where false;", name: no_rows}
  cb.rounds:
    - {relationships: {column: org_uuid, to: cb.orgs, field: uuid}}
)");
  auto r = Run();
  ASSERT_EQ(r.size(), 25u);
  auto expect = [&](const std::string& name, const std::string& status, int64_t failing) {
    ASSERT_TRUE(r.contains(name)) << name;
    EXPECT_EQ(r[name].status, status) << name << ": " << r[name].message;
    EXPECT_EQ(r[name].failing_rows, failing) << name << ": " << r[name].message;
  };
  expect("orgs__not_null__uuid", "pass", 0);
  expect("orgs__not_null__email_name", "fail", 1);
  expect("orgs__unique__uuid", "fail", 2);
  expect("orgs__unique__uuid_status", "pass", 0);  // composite: (b, closed) != (b, zombie)
  expect("status_unique", "fail", 2);
  expect("orgs__accepted_values__status", "fail", 1);
  expect("status_all", "pass", 0);
  expect("orgs__range__employees", "fail", 1);
  expect("employees_wide", "pass", 0);
  expect("employees_narrow", "fail", 2);
  expect("updated_since", "fail", 1);
  expect("orgs__regex__email", "fail", 1);
  expect("uuid_letters", "pass", 0);
  expect("orgs__row_count", "pass", -1);
  expect("at_most_3", "fail", -1);
  expect("orgs__freshness__updated_at", "fail", -1);
  expect("fresh_enough", "pass", -1);
  expect("self_ref", "pass", 0);
  expect("orgs__schema", "pass", -1);
  expect("wrong_schema", "fail", -1);
  expect("exact_schema", "pass", -1);
  expect("exact_schema_extra", "fail", -1);
  expect("big_orgs", "fail", 1);
  expect("no_rows", "pass", 0);
  expect("rounds__relationships__org_uuid", "fail", 1);  // zz; the NULL is not checked
  EXPECT_EQ(r["orgs__row_count"].observed, 4);
  EXPECT_EQ(r["at_most_3"].message, "4 rows; expected at most 3");
  EXPECT_EQ(r["orgs__unique__uuid"].message, "2 rows share their (uuid) with another row");
  EXPECT_EQ(r["rounds__relationships__org_uuid"].message,
            "1 row with org_uuid not found in cb.orgs.uuid");
  EXPECT_NE(r["wrong_schema"].message.find("uuid is VARCHAR, expected BIGINT"), std::string::npos)
      << r["wrong_schema"].message;
  EXPECT_NE(r["wrong_schema"].message.find("missing column no_such"), std::string::npos);
  EXPECT_NE(r["exact_schema_extra"].message.find("unexpected column name"), std::string::npos);
  EXPECT_NE(
      r["orgs__freshness__updated_at"].message.find("newest updated_at is 2020-01-04T00:00:00Z"),
      std::string::npos)
      << r["orgs__freshness__updated_at"].message;
  EXPECT_TRUE(last_.blocking());
}

TEST_F(Checks, SeverityWarnDoesNotBlockErrorDoes) {
  Load("cb.orgs", kOrgs);
  Yaml(R"(checks:
  cb.orgs:
    - {accepted_values: {column: status, values: [operating, closed]}, severity: warn}
    - {not_null: uuid, severity: error}
)");
  auto r = Run();
  EXPECT_EQ(r["orgs__accepted_values__status"].status, "warn");
  EXPECT_EQ(r["orgs__accepted_values__status"].severity, Severity::kWarn);
  EXPECT_EQ(r["orgs__not_null__uuid"].status, "pass");
  EXPECT_FALSE(last_.blocking());
  std::ostringstream out;
  EXPECT_TRUE(cli::CheckCommand(*project_, {}, out).ok());
  EXPECT_NE(out.str().find("1 warned, 0 failed"), std::string::npos) << out.str();

  Yaml("    - {not_null: name}\n");  // appended to cb.orgs' list: fails with severity error
  std::ostringstream out2;
  Status s = cli::CheckCommand(*project_, {}, out2);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(MessageOf(s).find("blocking (severity error): orgs__not_null__name"), std::string::npos)
      << s;
  EXPECT_FALSE(IsTransient(s));
  // The table (cli/output.h): a header, a rule, one line per check, the summary.
  std::vector<std::string> lines;
  std::istringstream in(out2.str());
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 6u) << out2.str();
  EXPECT_TRUE(lines[0].starts_with(" table   │ check")) << lines[0];
  EXPECT_NE(lines[0].find("severity │ status │ failing rows │ message"), std::string::npos)
      << lines[0];
  EXPECT_NE(lines[4].find("orgs__not_null__name"), std::string::npos);
  EXPECT_NE(lines[4].find("error    │ fail   │            1 │ 1 row with NULL in name"),
            std::string::npos)
      << lines[4];
}

TEST_F(Checks, FailingRowsAreQuarantinedWithTheCheckName) {
  Load("cb.orgs", kOrgs);
  Yaml(R"(checks:
  cb.orgs:
    - {unique: uuid}
    - {range: {column: employees, min: 0, max: 100}, severity: warn}
    - {not_null: uuid}
)");
  auto r = Run();
  EXPECT_EQ(r["orgs__unique__uuid"].quarantined, 2);
  EXPECT_EQ(r["orgs__range__employees"].quarantined, 2);  // warn failures are sampled too
  auto rows = Lake(
      "SELECT check_name, table_name, run_id, json_extract_string(row_json, '$.uuid'), "
      "CAST(json_extract(row_json, '$.employees') AS BIGINT) FROM quality.quarantine "
      "ORDER BY 1, 4, 5");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"orgs__range__employees", "cb.orgs", last_.run_id,
                                               "b", "-5"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"orgs__range__employees", "cb.orgs", last_.run_id,
                                               "c", "1000000"}));
  EXPECT_EQ(rows[2][0], "orgs__unique__uuid");
  EXPECT_EQ(rows[2][3], "b");
  EXPECT_EQ(rows[3][3], "b");

  // --sample 1: one row per failing check; --sample 0: none.
  Run("", 1);
  EXPECT_EQ(Lake("SELECT count(*) FROM quality.quarantine")[0][0], "6");
  auto none = Run("", 0);
  EXPECT_EQ(none["orgs__unique__uuid"].quarantined, 0);
  EXPECT_EQ(Lake("SELECT count(*) FROM quality.quarantine")[0][0], "6");
}

TEST_F(Checks, CustomSqlErrorIsReportedWithDuckDbsMessage) {
  Load("cb.orgs", kOrgs);
  Yaml(R"(checks:
  cb.orgs:
    - {sql: "select nope from {{ this }}", name: broken, severity: warn}
    - {sql: "select nope from {{ this }}", name: broken_error}
    - {regex: {column: email, pattern: "(unclosed"}}
    - {not_null: no_such_column}
)");
  auto r = Run();
  EXPECT_EQ(r["broken"].status, "error");
  EXPECT_FALSE(r["broken"].blocking());  // a warn check that cannot run does not block
  EXPECT_NE(r["broken"].message.find("Binder Error"), std::string::npos) << r["broken"].message;
  EXPECT_NE(r["broken"].message.find("nope"), std::string::npos) << r["broken"].message;
  EXPECT_EQ(r["broken"].failing_rows, -1);
  EXPECT_EQ(r["broken_error"].status, "error");
  EXPECT_TRUE(r["broken_error"].blocking());
  EXPECT_EQ(r["orgs__regex__email"].status, "error");
  EXPECT_EQ(r["orgs__not_null__no_such_column"].status, "error");
  EXPECT_NE(r["orgs__not_null__no_such_column"].message.find("no_such_column"), std::string::npos);
  EXPECT_NE(last_.Summary().find("0 passed, 0 warned, 0 failed, 4 could not run"),
            std::string::npos)
      << last_.Summary();
}

TEST_F(Checks, VolumeAnomalyComparesWithTheTrailingRuns) {
  Load("cb.orgs", kOrgs);
  Yaml(R"(checks:
  cb.orgs:
    - {volume_anomaly: {runs: 2, tolerance: 0.5}}
)");
  const std::string name = "orgs__volume_anomaly";
  auto first = Run();
  EXPECT_EQ(first[name].status, "pass");
  EXPECT_EQ(first[name].observed, 4);
  EXPECT_EQ(first[name].message, "4 rows; no earlier runs recorded yet");
  EXPECT_EQ(Run()[name].status, "pass");        // 4 vs mean 4
  Load("cb.orgs", std::string(kOrgs) + kOrgs);  // 12 rows: +200% against 4
  auto spike = Run();
  EXPECT_EQ(spike[name].status, "fail") << spike[name].message;
  EXPECT_EQ(spike[name].observed, 12);
  EXPECT_EQ(spike[name].message, "12 rows vs mean 4.0 of the last 2 run(s) (+200%; tolerance 50%)");
  // The window is the last 2 runs (12 and 4: mean 8): 12 is +50%, within the tolerance.
  auto next = Run();
  EXPECT_EQ(next[name].status, "pass") << next[name].message;
  EXPECT_EQ(next[name].message, "12 rows vs mean 8.0 of the last 2 run(s) (+50%; tolerance 50%)");
  auto history = History(*project_, name, 10);
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 4u);
  EXPECT_EQ((*history)[0].observed, 12);
  EXPECT_EQ((*history)[1].status, "fail");
  EXPECT_EQ((*history)[3].observed, 4);
}

TEST_F(Checks, SelectionPicksATableOrANamespace) {
  Load("cb.orgs", kOrgs);
  Load("cb.rounds", kRounds);
  Yaml(R"(checks:
  cb.orgs: [{not_null: uuid}]
  cb.rounds: [{not_null: id}]
)");
  EXPECT_EQ(Run("cb.rounds").size(), 1u);
  EXPECT_TRUE(Run("cb.rounds").contains("rounds__not_null__id"));
  EXPECT_EQ(Run("cb").size(), 2u);
  EXPECT_EQ(Run("all").size(), 2u);
  auto missing = RunChecks(*project_, {.table = "cb.nothing"});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(MessageOf(missing.status()).find("tables with checks: cb.orgs, cb.rounds"),
            std::string::npos);
  std::ostringstream out;
  EXPECT_EQ(cli::CheckCommand(*project_, {.table = "cb.orgs", .all = true}, out).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cli::CheckCommand(*project_, {.format = "xml"}, out).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(cli::CheckCommand(*project_, {.all = true, .format = "json"}, out).ok());
  auto j = nlohmann::json::parse(out.str());
  EXPECT_EQ(j["results"].size(), 2u);
  EXPECT_EQ(j["results"][0]["status"], "pass");
  EXPECT_EQ(j["results"][0]["failing_rows"], 0);
  EXPECT_EQ(j["blocking"], false);
}

class MartGate : public Checks {
 protected:
  void Model(const std::string& mart, const std::string& name, const std::string& sql) {
    std::filesystem::create_directories(root_ + "/models/" + mart);
    WriteFile(root_ + "/models/" + mart, name + ".sql", sql);
  }
  std::map<std::string, transform::ModelResult> Build() {
    auto r = transform::Build(*project_, {});
    EXPECT_TRUE(r.ok()) << r.status();
    std::map<std::string, transform::ModelResult> out;
    if (r.ok()) {
      for (auto& m : *r) out[m.model] = m;
    }
    return out;
  }
  std::string Mart(const std::string& sql) {
    auto s = transform::OpenMarts(*project_, "");
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) return "<none>";
    auto r = s->conn->Query(sql);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() && r->row_count() ? r->GetString(0, 0) : "<none>";
  }
};

TEST_F(MartGate, AMartFailingAnErrorCheckIsNotPublishedNorIsWhatRefsIt) {
  Load("cb.orgs", R"({"uuid":"a","name":"A"}
{"uuid":"b","name":"B"}
{"uuid":"c","name":"C"}
)");
  Model("finance", "orgs",
        "{{ config(materialized='table') }} SELECT uuid, name FROM {{ source('cb', 'orgs') }}");
  Model("finance", "names", "SELECT name FROM {{ ref('orgs') }}");  // a view
  Model(
      "analytics", "n",
      "{{ config(materialized='table') }} SELECT count(*) AS n FROM {{ ref('finance', 'orgs') }}");
  Model("other", "one",
        "{{ config(materialized='table') }} SELECT count(*) AS n FROM {{ source('cb', 'orgs') }}");
  Yaml(R"(checks:
  finance.orgs:
    - {unique: uuid}
    - {not_null: name, severity: warn}
)");
  auto first = Build();
  for (const auto& [model, r] : first) EXPECT_EQ(r.status, "ok") << model << ": " << r.message;
  EXPECT_EQ(Mart("SELECT count(*) FROM finance.orgs"), "3");
  EXPECT_EQ(Mart("SELECT count(*) FROM finance.names"), "3");
  EXPECT_EQ(Mart("SELECT n FROM analytics.n"), "3");

  // A duplicate uuid (and a NULL name, only a warning): finance is not published, nor analytics
  // (built from it); other is.
  Load("cb.orgs", R"({"uuid":"a","name":"A again"}
{"uuid":"d","name":null}
)");
  auto second = Build();
  EXPECT_EQ(second["finance.orgs"].status, "error");
  EXPECT_NE(second["finance.orgs"].message.find(
                "built, but mart finance was not published: error check(s) "
                "failed: orgs__unique__uuid (fail: 2 rows share"),
            std::string::npos)
      << second["finance.orgs"].message;
  EXPECT_EQ(second["finance.orgs"].message.find("not_null"), std::string::npos);  // warn only
  EXPECT_EQ(second["finance.names"].status, "error");
  EXPECT_EQ(second["analytics.n"].status, "error");
  EXPECT_NE(second["analytics.n"].message.find(
                "analytics.n refs finance.orgs of mart finance, which was not "
                "published"),
            std::string::npos)
      << second["analytics.n"].message;
  EXPECT_EQ(second["other.one"].status, "ok");
  EXPECT_EQ(Mart("SELECT count(*) FROM finance.orgs"), "3");  // the previous build
  EXPECT_EQ(Mart("SELECT n FROM analytics.n"), "3");
  EXPECT_EQ(Mart("SELECT n FROM other.one"), "5");
  // The checks ran (context build) and quarantined the duplicates.
  auto history = History(*project_, "orgs__unique__uuid", 10);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].status, "fail");
  EXPECT_EQ((*history)[1].status, "pass");
  EXPECT_EQ(
      Lake("SELECT count(*) FROM quality.quarantine WHERE check_name = 'orgs__unique__uuid'")[0][0],
      "2");
  // No staging copy is left behind.
  for (const auto& e : std::filesystem::directory_iterator(root_ + "/marts/.staging")) {
    EXPECT_TRUE(e.path().extension() == ".lock") << e.path();
  }

  // The check passes again once it is a warning: both marts are published.
  std::string yml = testing_util::ReadFileBytes(root_ + "/watershed.yml");
  yml.replace(yml.find("{unique: uuid}"), 14, "{unique: uuid, severity: warn}");
  WriteFile(root_, "watershed.yml", yml);
  Reopen();
  auto third = Build();
  for (const auto& [model, r] : third) EXPECT_EQ(r.status, "ok") << model << ": " << r.message;
  EXPECT_EQ(Mart("SELECT count(*) FROM finance.orgs"), "5");
  EXPECT_EQ(Mart("SELECT n FROM analytics.n"), "5");
}

// The pipeline test below runs this test binary as its task processes: the executor starts
// `<wrapper> task run PIPELINE TASK --date D --project ROOT --quiet`, and the wrapper runs this
// binary with only this test selected, which then does what `watershed task run` does.
TEST(TaskProcess, Child) {
  if (std::getenv("WS_QUALITY_TASK_CHILD") == nullptr)
    GTEST_SKIP() << "only runs as a task process";
  std::ifstream in("/proc/self/cmdline");
  std::vector<std::string> args;
  for (std::string a; std::getline(in, a, '\0');) args.push_back(a);
  std::map<std::string, std::string> flags;
  std::vector<std::string> positional;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i].starts_with("--") && i + 1 < args.size() && !args[i + 1].starts_with("--")) {
      flags[args[i]] = args[i + 1];
      ++i;
    } else if (!args[i].starts_with("--")) {
      positional.push_back(args[i]);
    }
  }
  ASSERT_EQ(positional.size(), 4u);  // task run PIPELINE TASK
  Status s = [&]() -> Status {
    WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(flags["--project"]));
    WS_ASSIGN_OR_RETURN(auto pipelines,
                        orchestrate::ParsePipelines(project->config().raw["pipelines"]));
    const orchestrate::Pipeline& p = pipelines.at(positional[2]);
    return orchestrate::RunTask(*project, p, *p.Find(positional[3]), flags["--date"]);
  }();
  if (!s.ok()) std::cerr << "error: " << s << "\n";
  std::cout.flush();
  std::fflush(nullptr);
  std::_Exit(orchestrate::TaskExitCode(s));  // what `watershed task run` exits with
}

TEST_F(Checks, AFailedErrorCheckTaskBlocksItsDownstreamAndIsNotRetried) {
  Load("cb.orgs", kOrgs);
  Load("cb.rounds", kRounds);
  const std::string d = dir_;
  Yaml(StrCat(R"(checks:
  cb.orgs: [{unique: uuid}]
  cb.rounds: [{relationships: {column: org_uuid, to: cb.orgs, field: uuid}, severity: warn}]
pipelines:
  p:
    retries: 3
    retry_backoff: 1s
    tasks:
      gate: {type: check, table: cb.orgs}
      publish: {type: shell, command: "touch )",
              d, R"(/published", after: gate}
      soft_gate: {type: check, table: cb.rounds, sample: 1}
      report: {type: shell, command: "touch )",
              d, R"(/reported", after: soft_gate}
)"));
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const std::string wrapper =
      WriteFile(dir_, "watershed",
                StrCat("#!/bin/sh\nWS_QUALITY_TASK_CHILD=1 GTEST_FILTER=TaskProcess.Child exec ",
                       self, " \"$@\"\n"));
  std::filesystem::permissions(wrapper, std::filesystem::perms::owner_all);
  auto pipelines = orchestrate::ParsePipelines(project_->config().raw["pipelines"]);
  ASSERT_TRUE(pipelines.ok()) << pipelines.status();
  orchestrate::RunOptions o;
  o.logical_date = "2026-01-01";
  o.binary = wrapper;
  auto run = orchestrate::Execute(*project_, pipelines->at("p"), o);
  ASSERT_TRUE(run.ok()) << run.status();
  std::map<std::string, orchestrate::TaskOutcome> by_task;
  for (const auto& t : run->tasks) by_task[t.task] = t;
  EXPECT_EQ(run->status, "failed");
  EXPECT_EQ(by_task["gate"].status, "failed");
  EXPECT_EQ(by_task["gate"].attempts, 1);  // failed data is terminal: no retry
  EXPECT_EQ(by_task["publish"].status, "skipped");
  EXPECT_EQ(by_task["soft_gate"].status, "ok");
  EXPECT_EQ(by_task["report"].status, "ok");
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/published"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/reported"));
  const std::string log = testing_util::ReadFileBytes(by_task["gate"].log_path);
  EXPECT_NE(log.find("orgs__unique__uuid"), std::string::npos) << log;
  EXPECT_NE(log.find("blocking (severity error): orgs__unique__uuid"), std::string::npos) << log;
  auto soft = History(*project_, "rounds__relationships__org_uuid", 5);
  ASSERT_TRUE(soft.ok());
  ASSERT_EQ(soft->size(), 1u);
  EXPECT_EQ((*soft)[0].status, "warn");
  EXPECT_EQ((*soft)[0].quarantined, 1);  // sample: 1

  // The same task in this process: a terminal status, not a transient one.
  Reopen();
  const orchestrate::Pipeline& p = pipelines->at("p");
  Status s = orchestrate::RunTask(*project_, p, *p.Find("gate"), "2026-01-01");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_FALSE(IsTransient(s));
  EXPECT_TRUE(orchestrate::RunTask(*project_, p, *p.Find("soft_gate"), "2026-01-01").ok());
  auto bad = orchestrate::ParsePipelines(YAML::Load("p: {tasks: {a: {type: chek}}}"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(MessageOf(bad.status()).find("is not crunchbase, load, build, check, shell or noop"),
            std::string::npos);
}

TEST(ParseChecks, MessagesNameTheTableTheIndexAndTheProblem) {
  auto error = [](const std::string& yaml) {
    auto r = ParseChecks(YAML::Load(yaml)["checks"]);
    EXPECT_FALSE(r.ok()) << yaml;
    return r.ok() ? std::string() : std::string(MessageOf(r.status()));
  };
  auto has = [](const std::string& message, const std::string& part) {
    EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message;
  };
  std::string m =
      error("checks:\n  cb.orgs:\n    - {not_null: id}\n    - {acepted_values: {column: s}}\n");
  has(m, "watershed.yml:4: checks.cb.orgs[1]");
  has(m, "unknown key 'acepted_values'");
  has(error("checks: {cb.orgs: [{accepted_values: {column: s}}]}"),
      "checks.cb.orgs[0] (accepted_values): needs values: [a, b, ...]");
  has(error("checks: {cb.orgs: [{range: {column: x}}]}"), "(range): needs min:, max: or both");
  has(error("checks: {cb.orgs: [{range: {column: x, mn: 1}}]}"),
      "unknown option 'mn' (allowed: column, max, min)");
  has(error("checks: {cb.orgs: [{sql: 'select 1'}]}"), "(sql): a sql check needs a name:");
  has(error("checks: {cb.orgs: [{not_null: id, severity: fatal}]}"),
      "severity 'fatal' is not warn or error");
  has(error("checks: {orgs: [{not_null: id}]}"), "checks.orgs: 'orgs' is not a table name");
  has(error("checks: {cb.orgs: [{not_null: id}, {not_null: id}]}"),
      "checks.cb.orgs[1] (not_null): a check named 'orgs__not_null__id' already exists");
  has(error("checks: {cb.orgs: [{freshness: {column: t, max_age: 2x}}]}"),
      "max_age '2x' is not a duration");
  has(error("checks: {cb.orgs: [{row_count: {min: -1}}]}"), "min '-1' is not a whole number");
  has(error("checks: {cb.orgs: [{not_null: id, unique: id}]}"), "has two check types");
  has(error("checks: {cb.orgs: [{severity: warn}]}"), "checks.cb.orgs[0]: no check type");
  has(error("checks: {cb.orgs: {not_null: id}}"), "checks.cb.orgs: must be a list of checks");
  has(error("checks: {cb.orgs: [{relationships: {column: a, to: orgs}}]}"),
      "to 'orgs' is not a table name");
  has(error("checks: {cb.orgs: [{volume_anomaly: {runs: 0}}]}"), "runs must be at least 1");
  has(error("checks: {cb.orgs: [{schema: {columns: {}}}]}"), "(schema): needs columns:");
  has(error("checks: {cb.orgs: [{not_null: []}]}"), "(not_null): needs columns");
  has(error("checks: {cb.orgs: [{volume_anomaly: {tolerance: abc}}]}"), "checks.cb.orgs[0]");
  auto ok = ParseChecks(YAML::Load(
      "checks: {m.x: [{volume_anomaly: ~}, {unique: [a, b], name: k, severity: warn}]}")["checks"]);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)[0].name, "x__volume_anomaly");
  EXPECT_EQ((*ok)[0].runs, 5);
  EXPECT_EQ((*ok)[1].name, "k");
  EXPECT_EQ((*ok)[1].columns, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ((*ok)[1].severity, Severity::kWarn);
  EXPECT_TRUE(ParseChecks(YAML::Load("name: x")["checks"])->empty());
}

}  // namespace
}  // namespace watershed::quality
