// tests/crash_test.cc — SIGKILL at random points (tests/crash_harness.h) against four
// scenarios, each then rerun to completion: file loads, the Crunchbase unload against the
// emulator with faults, a backfill, and `watershed build` publishing a mart. After every kill
// and after the rerun: no row lost, none duplicated, the previous mart still readable. Each
// test prints its kills and rows checked (the closing note reports them).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "emulators/crunchbase/server.h"
#include "gtest/gtest.h"
#include "tests/crash_harness.h"
#include "tests/harness.h"

namespace watershed {
namespace {

namespace fs = std::filesystem;
namespace emu = emulators::crunchbase;
using testing_util::Calibrate;
using testing_util::CalibrationEnv;
using testing_util::KillAtRandom;
using testing_util::KillPlan;
using testing_util::KillReport;
using testing_util::MakeTempDir;
using testing_util::Outcome;
using testing_util::Quote;
using testing_util::Watershed;
using testing_util::WatershedBinary;
using testing_util::WatershedIn;

// The first value of the first row of a lake (or `--mart M`) query, "" on failure (a test
// failure unless the table may not exist yet).
std::string Scalar(const std::string& project, const std::string& sql,
                   const std::string& extra = "", bool may_be_missing = false) {
  Outcome r = WatershedIn(project, "query " + Quote(sql) + " --format csv " + extra);
  if (r.code != 0) {
    if (!may_be_missing || r.out.find("does not exist") == std::string::npos) {
      ADD_FAILURE() << sql << ": " << r.out;
    }
    return "";
  }
  auto nl = r.out.find('\n');
  return r.out.substr(nl + 1, r.out.find('\n', nl + 1) - nl - 1);
}

// A project with `files` NDJSON files of `rows` records each: {"id": global id, "v": id % 7}.
std::string FilesProject(const std::string& dir, int files, int rows) {
  EXPECT_EQ(Watershed("init " + Quote(dir)).code, 0);
  fs::create_directories(dir + "/drops");
  for (int f = 0; f < files; ++f) {
    std::ofstream out(dir + "/drops/" + std::to_string(f) + ".ndjson");
    for (int i = 0; i < rows; ++i) {
      const int64_t id = static_cast<int64_t>(f) * rows + i;
      out << "{\"id\":" << id << ",\"v\":" << id % 7 << ",\"pad\":\"" << std::string(40, 'x')
          << "\"}\n";
    }
  }
  return dir;
}

void Report(const std::string& scenario, const KillReport& r, int64_t rows_checked) {
  std::cout << "crash harness: " << scenario << ": " << r.killed << " kills mid-run, "
            << r.finished_first << " runs ended first, " << rows_checked << " rows checked\n";
}

TEST(CrashHarness, FileLoadsKilledAnywhereLandEachFileOnce) {
  constexpr int kFiles = 4, kRows = 60000;
  const std::string base = MakeTempDir();
  auto command = [&](const std::string& project) {
    std::string script;
    for (int f = 0; f < kFiles; ++f) {
      script += Quote(WatershedBinary()) + " --project " + Quote(project) + " -q load " +
                Quote(project + "/drops/" + std::to_string(f) + ".ndjson") +
                " --table files.events || exit 1; ";
    }
    return std::vector<std::string>{"/bin/sh", "-c", script};
  };
  const std::string calib = FilesProject(base + "/calib", kFiles, kRows);
  KillPlan plan = Calibrate(command(calib), {}, /*kills=*/8, /*seed=*/11);
  const std::string project = FilesProject(base + "/target", kFiles, kRows);
  int64_t checked = 0;
  KillReport report = KillAtRandom(command(project), {}, project, plan, [&](int) {
    // Each file is in the lake whole or not at all: a multiple of kRows, no id twice.
    const std::string n =
        Scalar(project, "SELECT count(*) FROM files.events", "", /*may_be_missing=*/true);
    if (n.empty()) return;  // nothing committed yet: the table does not exist
    const std::string distinct = Scalar(project, "SELECT count(DISTINCT id) FROM files.events");
    EXPECT_EQ(n, distinct) << "a row landed twice";
    EXPECT_EQ(std::stoll(n) % kRows, 0) << "a file landed partly: " << n;
    checked += std::stoll(n);
  });
  auto [code, took] = testing_util::TimedRun(command(project));
  ASSERT_EQ(code, 0);
  EXPECT_EQ(Scalar(project, "SELECT count(*) FROM files.events"), std::to_string(kFiles * kRows));
  EXPECT_EQ(Scalar(project, "SELECT count(DISTINCT id) FROM files.events"),
            std::to_string(kFiles * kRows));
  int64_t sum = 0;
  for (int64_t id = 0; id < kFiles * kRows; ++id) sum += id % 7;
  EXPECT_EQ(Scalar(project, "SELECT sum(v) FROM files.events"), std::to_string(sum));
  checked += kFiles * kRows;
  EXPECT_GT(report.killed, 0) << "no kill landed mid-run";
  Report("file loads", report, checked);
}

TEST(CrashHarness, CrunchbaseUnloadWithFaultsKilledAnywhereHasEveryOrganizationOnce) {
  emu::EmulatorOptions o;
  o.num_orgs = 6000;
  o.seed = 21;
  o.slow_ms = 5;
  o.fault_rate = 0.05;
  auto e = emu::Emulator::Start(o);
  ASSERT_TRUE(e.ok()) << e.status();
  const size_t n = (*e)->dataset().Count(emu::Collection::kOrganizations);
  const std::string base = MakeTempDir();
  const std::map<std::string, std::string> env = {{"CRUNCHBASE_API_KEY", "emulator-key"}};
  auto command = [&](const std::string& project) {
    return std::vector<std::string>{WatershedBinary(), "--project", project, "-q", "crunchbase",
                                    "--mode", "full", "--base-url", (*e)->base_url(),
                                    "--collections", "organizations", "--page-size", "100",
                                    "--commit-every", "2", "--rate-limit", "0", "--threads", "1"};
  };
  ASSERT_EQ(Watershed("init " + Quote(base + "/calib")).code, 0);
  KillPlan plan = Calibrate(command(base + "/calib"), env, /*kills=*/6, /*seed=*/5);
  const std::string project = base + "/target";
  ASSERT_EQ(Watershed("init " + Quote(project)).code, 0);
  int64_t checked = 0;
  KillReport report = KillAtRandom(command(project), env, project, plan, [&](int) {
    const std::string rows = Scalar(project, "SELECT count(*) FROM crunchbase.organizations", "",
                                    /*may_be_missing=*/true);
    if (rows.empty()) return;
    EXPECT_EQ(rows, Scalar(project, "SELECT count(DISTINCT uuid) FROM crunchbase.organizations"))
        << "an organization landed twice";
    checked += std::stoll(rows);
  });
  Outcome resumed = Watershed("--project " + Quote(project) +
                                  " -q crunchbase --mode full --collections organizations "
                                  "--page-size 100 --rate-limit 0 --base-url " +
                                  Quote((*e)->base_url()),
                              env);
  ASSERT_EQ(resumed.code, 0) << resumed.out;
  EXPECT_EQ(Scalar(project, "SELECT count(*) FROM crunchbase.organizations"), std::to_string(n));
  EXPECT_EQ(Scalar(project, "SELECT count(DISTINCT uuid) FROM crunchbase.organizations"),
            std::to_string(n));
  checked += static_cast<int64_t>(n);
  EXPECT_GT(report.killed, 0) << "no kill landed mid-run";
  Report("crunchbase unload (5% faults)", report, checked);
}

TEST(CrashHarness, BackfillKilledAnywhereRunsEachDayOnce) {
  constexpr int kDays = 8, kRows = 15000;
  const std::string base = MakeTempDir();
  auto make = [&](const std::string& dir) {
    EXPECT_EQ(Watershed("init " + Quote(dir)).code, 0);
    fs::create_directories(dir + "/drops");
    for (int d = 1; d <= kDays; ++d) {
      char date[16];
      std::snprintf(date, sizeof date, "2026-10-%02d", d);
      std::ofstream out(dir + "/drops/" + date + ".ndjson");
      for (int i = 0; i < kRows; ++i) {
        out << "{\"day\":\"" << date << "\",\"i\":" << i << "}\n";
      }
    }
    std::ofstream(dir + "/watershed.yml", std::ios::app)
        << "pipelines:\n"
           "  daily:\n"
           "    tasks:\n"
           "      files: {type: load, file: \"drops/{{ date }}.ndjson\", table: files.drops}\n";
    return dir;
  };
  auto command = [&](const std::string& project) {
    return std::vector<std::string>{WatershedBinary(), "--project", project, "-q", "backfill",
                                    "daily", "--from", "2026-10-01", "--to",
                                    "2026-10-0" + std::to_string(kDays)};
  };
  KillPlan plan = Calibrate(command(make(base + "/calib")), {}, /*kills=*/6, /*seed=*/3);
  const std::string project = make(base + "/target");
  int64_t checked = 0;
  auto per_day_exact = [&](bool complete) {
    Outcome r = WatershedIn(project,
                            "query " +
                                Quote("SELECT day, count(*), count(DISTINCT i) FROM files.drops "
                                      "GROUP BY day ORDER BY day") +
                                " --format csv");
    if (r.code != 0) {
      EXPECT_FALSE(complete) << r.out;
      return;
    }
    int days = 0;
    std::istringstream lines(r.out);
    std::string line;
    std::getline(lines, line);  // header
    while (std::getline(lines, line)) {
      if (line.empty()) continue;
      ++days;
      EXPECT_EQ(line.substr(line.find(',') + 1), StrCat(kRows, ",", kRows))
          << "a day landed partly or twice: " << line;
      checked += kRows;
    }
    if (complete) {
      EXPECT_EQ(days, kDays);
    }
  };
  KillReport report = KillAtRandom(command(project), {}, project, plan,
                                   [&](int) { per_day_exact(false); });
  auto [code, took] = testing_util::TimedRun(command(project));
  ASSERT_EQ(code, 0);
  per_day_exact(true);
  EXPECT_GT(report.killed, 0) << "no kill landed mid-run";
  Report("backfill", report, checked);
}

TEST(CrashHarness, BuildKilledAnywhereKeepsThePreviousMartReadable) {
  const std::string base = MakeTempDir();
  auto make = [&](const std::string& dir, const std::map<std::string, std::string>& env) {
    FilesProject(dir, 2, 20000);
    EXPECT_EQ(
        WatershedIn(dir, "load " + Quote(dir + "/drops/0.ndjson") + " --table files.events", env)
            .code,
        0);
    fs::create_directories(dir + "/models/m");
    // A heavy table first, so that a build takes long enough for kills to land mid-way.
    std::ofstream(dir + "/models/m/heavy.sql")
        << "{{ config(materialized='table') }}\n"
           "SELECT i, i * 2 AS v, md5(i::VARCHAR) AS h FROM range(1500000) t(i)\n";
    std::ofstream(dir + "/models/m/summary.sql")
        << "{{ config(materialized='table') }}\n"
           "SELECT count(*) AS n, sum(v) AS s, (SELECT count(*) FROM {{ ref('heavy') }}) AS h\n"
           "FROM {{ source('files', 'events') }}\n";
    Outcome built = WatershedIn(dir, "build", env);
    EXPECT_EQ(built.code, 0) << built.out;
    // New data: the next build changes the summary.
    EXPECT_EQ(
        WatershedIn(dir, "load " + Quote(dir + "/drops/1.ndjson") + " --table files.events", env)
            .code,
        0);
    return dir;
  };
  auto command = [&](const std::string& project) {
    return std::vector<std::string>{WatershedBinary(), "--project", project, "-q", "build"};
  };
  KillPlan plan =
      Calibrate(command(make(base + "/calib", CalibrationEnv({}))), {}, /*kills=*/6, /*seed=*/7);
  const std::string project = make(base + "/target", {});
  int64_t checked = 0;
  KillReport report = KillAtRandom(command(project), {}, project, plan, [&](int) {
    // The mart answers, with the old summary or the new one, never a broken file.
    const std::string n = Scalar(project, "SELECT n FROM summary", "--mart m");
    EXPECT_TRUE(n == "20000" || n == "40000") << "summary.n = '" << n << "'";
    if (!n.empty()) checked += std::stoll(n);
  });
  Outcome built = WatershedIn(project, "build");
  ASSERT_EQ(built.code, 0) << built.out;
  EXPECT_EQ(Scalar(project, "SELECT n FROM summary", "--mart m"), "40000");
  EXPECT_EQ(Scalar(project, "SELECT h FROM summary", "--mart m"), "1500000");
  checked += 40000;
  EXPECT_GT(report.killed, 0) << "no kill landed mid-run";
  Report("build publishing mart m", report, checked);
}

}  // namespace
}  // namespace watershed
