// tests/cli_test.cc — the `watershed` binary as a user runs it: init, load, tables, describe,
// query (formats, time travel), gc, errors; help pages, suggestions for mistyped subcommands,
// the snapshots `describe` lists, whole log paths in `runs show`; and a load killed with SIGKILL
// at random moments.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"
#include "tests/harness.h"
#include "tests/pg_cluster.h"

namespace {

using watershed::testing_util::ChildProcess;
using watershed::testing_util::GcGrace;
using watershed::testing_util::LakeKeys;
using watershed::testing_util::MakeTempDir;
using watershed::testing_util::Outcome;
using watershed::testing_util::PutLakeFile;
using watershed::testing_util::Quote;
using watershed::testing_util::ReadLakeFile;
using watershed::testing_util::Watershed;
using watershed::testing_util::WatershedBinary;
using watershed::testing_util::WriteFile;

// Organizations with nested objects and arrays, ids from `first`.
std::string Orgs(int first, int count) {
  std::string s;
  for (int i = first; i < first + count; ++i) {
    s += "{\"uuid\":\"org-" + std::to_string(i) + "\",\"identifier\":{\"value\":\"Org " +
         std::to_string(i) + "\"},\"funding_total\":{\"value_usd\":" + std::to_string(i * 10) +
         ",\"currency\":\"USD\"},\"categories\":[{\"value\":\"a\"},{\"value\":\"b\"}],"
         "\"description\":\"" +
         std::string(200, 'd') + "\"}\n";
  }
  return s;
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    project_ = dir_ + "/proj";
    Outcome init = Watershed("init " + Quote(project_));
    ASSERT_EQ(init.code, 0) << init.out;
  }
  Outcome In(const std::string& args) { return Watershed(args + " --project " + Quote(project_)); }
  std::string Count(const std::string& table, const std::string& extra = "") {
    Outcome r =
        In("query " + Quote("SELECT count(*) AS n FROM " + table) + " --format csv " + extra);
    EXPECT_EQ(r.code, 0) << r.out;
    auto nl = r.out.find('\n');
    return r.out.substr(nl + 1, r.out.find('\n', nl + 1) - nl - 1);
  }
  std::string dir_, project_;
};

TEST_F(Cli, InitLoadQueryDescribeAndTimeTravel) {
  EXPECT_TRUE(std::filesystem::exists(project_ + "/watershed.yml"));
  EXPECT_TRUE(std::filesystem::exists(project_ + "/models"));
  EXPECT_NE(watershed::testing_util::ReadFileBytes(project_ + "/.gitignore").find("lake/"),
            std::string::npos);
  Outcome again = Watershed("init " + Quote(project_));
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.out.find("already has a watershed.yml"), std::string::npos);

  std::string f1 = WriteFile(dir_, "a.ndjson", Orgs(0, 100));
  Outcome load = In("load " + Quote(f1) + " --table crunchbase.organizations");
  ASSERT_EQ(load.code, 0) << load.out;
  EXPECT_NE(load.out.find("snapshot 1"), std::string::npos) << load.out;
  EXPECT_NE(load.out.find("crunchbase.organizations__categories"), std::string::npos);
  EXPECT_NE(load.out.find("MB/s"), std::string::npos);

  // Compressed input through stdin.
  std::string f2 = WriteFile(dir_, "b.ndjson", Orgs(100, 50));
  ASSERT_EQ(std::system(("gzip -k " + Quote(f2)).c_str()), 0);
  Outcome piped = Watershed("load - --table crunchbase.organizations --project " + Quote(project_) +
                            " < " + Quote(f2 + ".gz"));
  ASSERT_EQ(piped.code, 0) << piped.out;

  EXPECT_EQ(Count("crunchbase.organizations"), "150");
  EXPECT_EQ(Count("crunchbase.organizations__categories"), "300");
  EXPECT_EQ(Count("crunchbase.organizations", "--snapshot 1"), "100");

  Outcome json = In("query " +
                    Quote("SELECT uuid, funding_total__value_usd AS usd FROM "
                          "crunchbase.organizations ORDER BY usd DESC LIMIT 2") +
                    " --format json");
  ASSERT_EQ(json.code, 0) << json.out;
  auto parsed = nlohmann::json::parse(json.out);
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0]["uuid"], "org-149");
  EXPECT_EQ(parsed[0]["usd"], 1490.0);

  Outcome table = In("query " + Quote("SELECT 'x' AS a, NULL AS b"));
  EXPECT_NE(table.out.find("NULL"), std::string::npos);
  EXPECT_NE(table.out.find("(1 row)"), std::string::npos);

  Outcome tables = In("tables --format csv");
  EXPECT_NE(tables.out.find("crunchbase.organizations,150,2,"), std::string::npos) << tables.out;

  Outcome describe = In("describe crunchbase.organizations");
  ASSERT_EQ(describe.code, 0) << describe.out;
  for (const char* s : {"funding_total__value_usd", "DECIMAL(18,4)", "Schema versions", "Snapshots",
                        "ingest_date=", "Column statistics", "org-100"}) {
    EXPECT_NE(describe.out.find(s), std::string::npos) << s << "\n" << describe.out;
  }
  Outcome old = In("describe crunchbase.organizations --snapshot 1");
  EXPECT_NE(old.out.find("100 rows in 1 files"), std::string::npos) << old.out;
  Outcome none = In("query 'SELECT 1' --as-of 2001-01-01T00:00:00");
  EXPECT_EQ(none.code, 1);
  EXPECT_NE(none.out.find("no snapshot was committed"), std::string::npos);
  // Table names have one form: upper case reaches the same table, a bad name shows the fix.
  Outcome upper = In("load " + Quote(f1) + " --table CRUNCHBASE.Organizations --force");
  ASSERT_EQ(upper.code, 0) << upper.out;
  EXPECT_EQ(Count("crunchbase.organizations"), "250");
  Outcome tables_after = In("tables --format csv");
  EXPECT_EQ(tables_after.out.find("CRUNCHBASE"), std::string::npos) << tables_after.out;
  Outcome bad_name = In("load " + Quote(f1) + " --table Shop.Bad-Name");
  EXPECT_EQ(bad_name.code, 1);
  EXPECT_NE(bad_name.out.find("use shop.bad_name"), std::string::npos) << bad_name.out;
  Outcome described = In("describe CRUNCHBASE.ORGANIZATIONS");
  EXPECT_EQ(described.code, 0) << described.out;
  // --as-of is a time, not text: garbage and impossible dates are errors, offsets count.
  for (const char* bad : {"garbage", "2026-13-45"}) {
    Outcome r = In(std::string("query 'SELECT 1' --as-of ") + bad);
    EXPECT_EQ(r.code, 1) << bad << "\n" << r.out;
    EXPECT_NE(r.out.find("epoch seconds"), std::string::npos) << r.out;
  }
  EXPECT_EQ(Count("crunchbase.organizations", "--as-of 2099-01-01T00:00:00+01:00"), "250");
  EXPECT_EQ(Count("crunchbase.organizations", "--as-of 4070908800"), "250");  // epoch 2099
  EXPECT_EQ(In("query 'SELECT 1' --as-of 946684800").code, 1);  // 2000: before any snapshot
}

TEST_F(Cli, ErrorsSayWhatToDoNext) {
  Outcome outside = Watershed("tables --project " + Quote(dir_ + "/nowhere"));
  EXPECT_EQ(outside.code, 1);
  EXPECT_NE(outside.out.find("watershed init"), std::string::npos) << outside.out;
  Outcome missing = In("load " + Quote(dir_ + "/nope.ndjson") + " --table a.b");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find("nope.ndjson"), std::string::npos) << missing.out;
  std::string f = WriteFile(dir_, "x.ndjson", "{}\n");
  Outcome badname = In("load " + Quote(f) + " --table organizations");
  EXPECT_EQ(badname.code, 1);
  EXPECT_NE(badname.out.find("NAMESPACE.NAME"), std::string::npos) << badname.out;
  Outcome sql = In("query 'SELECT * FROM crunchbase.nothing'");
  EXPECT_EQ(sql.code, 1);
  EXPECT_NE(sql.out.find("nothing"), std::string::npos);
  Outcome usage = Watershed("load");
  EXPECT_NE(usage.code, 0);
  std::string bad = WriteFile(dir_, "bad.ndjson", "{\"a\":1}\n{oops}\n");
  Outcome rejected = In("load " + Quote(bad) + " --table a.b");
  EXPECT_EQ(rejected.code, 1);
  EXPECT_NE(rejected.out.find("line 2"), std::string::npos) << rejected.out;
  EXPECT_NE(rejected.out.find("--max-bad"), std::string::npos);
  Outcome tolerated = In("load " + Quote(bad) + " --table a.b --max-bad 1");
  EXPECT_EQ(tolerated.code, 0) << tolerated.out;
  EXPECT_NE(tolerated.out.find("1 quarantined"), std::string::npos) << tolerated.out;
}

TEST_F(Cli, MistypedSubcommandsGetTheClosestOne) {
  Outcome typo = Watershed("tabels");
  EXPECT_EQ(typo.code, 2) << typo.out;
  EXPECT_NE(typo.out.find("did you mean `watershed tables`?"), std::string::npos) << typo.out;
  EXPECT_EQ(typo.out.find("A subcommand is required"), std::string::npos) << typo.out;

  Outcome nested = In("task rnu daily extract");
  EXPECT_EQ(nested.code, 2) << nested.out;
  EXPECT_NE(nested.out.find("did you mean `watershed task run`?"), std::string::npos) << nested.out;

  Outcome far = Watershed("frobnicate");
  EXPECT_EQ(far.code, 2) << far.out;
  EXPECT_EQ(far.out.find("did you mean"), std::string::npos) << far.out;
  EXPECT_NE(far.out.find("backfill"), std::string::npos) << "lists the subcommands\n" << far.out;

  Outcome format = In("tables --format xml");
  EXPECT_EQ(format.code, 2) << format.out;
  EXPECT_NE(format.out.find("table"), std::string::npos) << format.out;
}

TEST_F(Cli, HelpDescribesPositionalsAndChoicesAndOnlyTheTopHasTheQuickStart) {
  Outcome top = Watershed("--help");
  EXPECT_EQ(top.code, 0) << top.out;
  EXPECT_NE(top.out.find("Quick start"), std::string::npos) << top.out;
  for (const char* command : {"load", "tables", "task run", "runs show", "backfill", "lineage"}) {
    Outcome help = Watershed(std::string(command) + " --help");
    EXPECT_EQ(help.code, 0) << command << "\n" << help.out;
    EXPECT_EQ(help.out.find("Quick start"), std::string::npos) << command << "\n" << help.out;
  }
  Outcome task = Watershed("task run --help");
  EXPECT_NE(task.out.find("One of the pipeline's tasks"), std::string::npos) << task.out;
  EXPECT_NE(task.out.find("A pipeline of watershed.yml"), std::string::npos) << task.out;
  EXPECT_NE(Watershed("runs show --help").out.find("as `watershed runs` lists them"),
            std::string::npos);
  for (const char* command : {"tables", "query", "streams"}) {
    Outcome help = Watershed(std::string(command) + " --help");
    EXPECT_NE(help.out.find("{table,csv,json}"), std::string::npos) << command << "\n" << help.out;
  }
  EXPECT_NE(Watershed("metrics --help").out.find("{table,prometheus,json}"), std::string::npos);
}

TEST_F(Cli, DescribeListsOnlyTheSnapshotsThatChangedTheTable) {
  std::string orgs = WriteFile(dir_, "orgs.ndjson", Orgs(0, 10));
  std::string people = WriteFile(dir_, "people.ndjson", "{\"uuid\":\"p-1\",\"name\":\"Ada\"}\n");
  std::string more = WriteFile(dir_, "more.ndjson", Orgs(10, 5));
  ASSERT_EQ(In("load " + Quote(orgs) + " --table crunchbase.organizations").code, 0);  // 1
  ASSERT_EQ(In("load " + Quote(people) + " --table crunchbase.people").code, 0);       // 2
  ASSERT_EQ(In("load " + Quote(more) + " --table crunchbase.organizations").code, 0);  // 3
  // The snapshot ids in the "Snapshots that changed" section of `describe`.
  auto listed = [&](const std::string& args) {
    Outcome d = In("describe " + args);
    EXPECT_EQ(d.code, 0) << d.out;
    const size_t from = d.out.find("Snapshots that changed");
    const size_t to = d.out.find("\nFiles:");
    EXPECT_NE(from, std::string::npos) << d.out;
    std::vector<int> ids;
    if (from == std::string::npos || to == std::string::npos) return ids;
    std::istringstream section(d.out.substr(from, to - from));
    const std::regex row(R"(^\s*(\d+) │)");
    std::smatch m;
    for (std::string line; std::getline(section, line);) {
      if (std::regex_search(line, m, row)) ids.push_back(std::stoi(m[1].str()));
    }
    return ids;
  };
  EXPECT_EQ(listed("crunchbase.organizations"), (std::vector<int>{1, 3}));
  EXPECT_EQ(listed("crunchbase.people"), (std::vector<int>{2}));
  EXPECT_EQ(listed("crunchbase.organizations --snapshot 2"), (std::vector<int>{1}));
}

TEST_F(Cli, RunsShowPrintsWholeLogPaths) {
  std::ofstream(project_ + "/watershed.yml", std::ios::app)
      << "pipelines:\n"
         "  daily:\n"
         "    tasks:\n"
         "      extract_everything_from_the_source: {type: shell, command: \"echo extracted\"}\n";
  Outcome run = In("run daily --date 2026-01-01");
  ASSERT_EQ(run.code, 0) << run.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(run.out, m, std::regex("run (\\S+): success"))) << run.out;
  const std::string run_id = m[1].str();
  const std::string log = std::filesystem::path(project_ + "/.watershed/logs/" + run_id +
                                                "/extract_everything_from_the_source.1.log")
                              .lexically_normal()
                              .string();
  ASSERT_GT(log.size(), 48u) << "long enough that a clipping renderer would cut it";
  for (const Outcome& o : {run, In("runs show " + run_id)}) {
    EXPECT_EQ(o.out.find("…"), std::string::npos) << o.out;
    bool in_table = false;
    std::istringstream lines(o.out);
    for (std::string line; std::getline(lines, line);) {
      in_table |= line.find("│") != std::string::npos && line.find(log) != std::string::npos;
    }
    EXPECT_TRUE(in_table) << log << "\n" << o.out;
  }
  Outcome runs = In("runs");
  EXPECT_NE(runs.out.find(run_id), std::string::npos) << "run ids are whole\n" << runs.out;
}

// `query --mart` on a DuckDB mart and on a PostgreSQL one (a throwaway cluster, when the
// PostgreSQL binaries are installed): the same rows, rendered by the same renderer.
TEST_F(Cli, QueryMartReadsDuckDbAndPostgresMarts) {
  ASSERT_EQ(In("load " + Quote(WriteFile(dir_, "orgs.ndjson", Orgs(0, 12))) +
               " --table crunchbase.organizations")
                .code,
            0);
  std::filesystem::create_directories(project_ + "/models/finance");
  WriteFile(project_ + "/models/finance", "orgs.sql",
            "{{ config(materialized='table') }}\n"
            "SELECT uuid, funding_total__value_usd AS usd "
            "FROM {{ source('crunchbase', 'organizations') }}\n");
  Outcome build = In("build");
  ASSERT_EQ(build.code, 0) << build.out;
  Outcome duck = In("query --mart finance " +
                    Quote("SELECT count(*) AS n, max(usd) AS top FROM orgs") + " --format json");
  ASSERT_EQ(duck.code, 0) << duck.out;
  auto parsed = nlohmann::json::parse(duck.out);
  EXPECT_EQ(parsed[0]["n"], 12);
  EXPECT_EQ(parsed[0]["top"], 110.0);

  Outcome unknown = In("query --mart finanse 'SELECT 1'");
  EXPECT_EQ(unknown.code, 1);
  EXPECT_NE(unknown.out.find("no mart named 'finanse' (marts: finance"), std::string::npos)
      << unknown.out;
  Outcome travel = In("query --mart finance 'SELECT 1' --snapshot 1");
  EXPECT_EQ(travel.code, 1);
  EXPECT_NE(travel.out.find("read the lake, not a mart"), std::string::npos) << travel.out;

  auto pg = watershed::testing_util::PgCluster::Start();
  if (!pg && !watershed::testing_util::PgCluster::SkipAllowed()) {
    FAIL() << watershed::testing_util::PgCluster::NoSkipReason();
  }
  if (!pg) GTEST_SKIP() << "PostgreSQL binaries are not available (the DuckDB part ran)";
  ASSERT_TRUE(pg->CreateDatabase("warehouse").ok());
  std::filesystem::create_directories(project_ + "/models/sales");
  WriteFile(project_ + "/models/sales", "orgs.sql",
            "{{ config(materialized='table') }}\n"
            "SELECT uuid, funding_total__value_usd AS usd "
            "FROM {{ source('crunchbase', 'organizations') }}\n");
  std::ofstream(project_ + "/watershed.yml", std::ios::app)
      << "marts:\n  sales: {target: \"" << pg->conninfo("warehouse") << "\"}\n";
  Outcome pg_build = In("build --select sales");
  ASSERT_EQ(pg_build.code, 0) << pg_build.out;
  Outcome table =
      In("query --mart sales " + Quote("SELECT uuid, usd FROM orgs ORDER BY usd DESC LIMIT 3"));
  ASSERT_EQ(table.code, 0) << table.out;
  EXPECT_NE(table.out.find("org-11"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("(3 rows)"), std::string::npos) << table.out;
  Outcome csv =
      In("query --mart sales " + Quote("SELECT count(*) AS n FROM orgs") + " --format csv");
  ASSERT_EQ(csv.code, 0) << csv.out;
  EXPECT_EQ(csv.out, "n\n12\n");
  Outcome shown =
      In("query --mart sales " + Quote("SELECT uuid FROM orgs ORDER BY uuid") + " --max-rows 2");
  EXPECT_NE(shown.out.find("(12 rows, first 2 shown"), std::string::npos) << shown.out;
}

// gc removes only what the lake wrote: a user's notes.txt and a foo.parquet in a table's folder
// are listed under their own heading (dry run and real run) and survive; an unreferenced file
// with the lake's naming, of a load that is not running, is removed.
TEST_F(Cli, GcRemovesOnlyTheLakesOwnFilesAndListsTheRest) {
  ASSERT_EQ(In("load " + Quote(WriteFile(dir_, "orgs.ndjson", Orgs(0, 3))) +
               " --table crunchbase.organizations")
                .code,
            0);
  // Planted through the project's storage, so this reads the same on a local or an S3 lake.
  std::string loaded;
  for (const std::string& k : LakeKeys(project_, "structured/crunchbase/organizations/")) {
    if (k.ends_with(".parquet")) loaded = k;
  }
  ASSERT_FALSE(loaded.empty());
  const std::string partition = loaded.substr(0, loaded.rfind('/'));
  const std::string orphan = partition + "/load-999999-00000.parquet";  // no such load runs
  PutLakeFile(project_, orphan, ReadLakeFile(project_, loaded));
  const std::string notes = partition + "/notes.txt", foo = partition + "/foo.parquet";
  PutLakeFile(project_, notes, "keep me");
  PutLakeFile(project_, foo, "not the lake's");
  const std::string heading = "not removed: not written by the lake";
  auto exists = [&](const std::string& k) {
    const std::vector<std::string> keys = LakeKeys(project_, partition + "/");
    return std::find(keys.begin(), keys.end(), k) != keys.end();
  };

  Outcome dry = In("gc --dry-run" + GcGrace());
  ASSERT_EQ(dry.code, 0) << dry.out;
  EXPECT_NE(dry.out.find("would remove " + orphan), std::string::npos) << dry.out;
  const size_t listed = dry.out.find(heading);
  ASSERT_NE(listed, std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("  " + notes, listed), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("  " + foo, listed), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("Would remove 1 orphan file(s)"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("Left 2 file(s) not written by the lake"), std::string::npos) << dry.out;
  EXPECT_TRUE(exists(orphan));

  Outcome gc = In("gc" + GcGrace());
  ASSERT_EQ(gc.code, 0) << gc.out;
  EXPECT_NE(gc.out.find("removed " + orphan), std::string::npos) << gc.out;
  EXPECT_NE(gc.out.find(heading), std::string::npos) << gc.out;
  EXPECT_NE(gc.out.find("Left 2 file(s) not written by the lake"), std::string::npos) << gc.out;
  EXPECT_FALSE(exists(orphan));
  EXPECT_TRUE(exists(notes));
  EXPECT_TRUE(exists(foo));
  EXPECT_EQ(Count("crunchbase.organizations"), "3");
}

// A load killed with SIGKILL at random moments leaves the previous snapshot intact; rerunning
// it commits its rows exactly once, and gc removes what the killed attempts left.
TEST_F(Cli, KilledLoadsLoseNothingAndDuplicateNothing) {
  std::string base = WriteFile(dir_, "base.ndjson", Orgs(0, 1000));
  ASSERT_EQ(In("load " + Quote(base) + " --table crunchbase.organizations").code, 0);
  // ~110 MB: a single-threaded load takes about a second, so most kills land mid-way.
  constexpr int kBig = 300000;
  const std::string total = std::to_string(1000 + kBig);
  std::string big = WriteFile(dir_, "big.ndjson", Orgs(1000, kBig));

  std::mt19937 rng(20261124);
  int killed_mid_way = 0;
  for (int round = 0; round < 6; ++round) {
    ChildProcess load({WatershedBinary(), "load", big, "--table", "crunchbase.organizations",
                       "--batch-mb", "2", "--threads", "1", "--project", project_},
                      "/dev/null");
    // Early rounds kill while files are being written; the last may reach the commit itself.
    const int delay_ms = round < 5 ? std::uniform_int_distribution<int>(20, 300)(rng)
                                   : std::uniform_int_distribution<int>(300, 1500)(rng);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    if (load.Running()) {
      load.Stop(SIGKILL);
      ++killed_mid_way;
    }
    // Either the load committed as a whole, or not at all.
    std::string n = Count("crunchbase.organizations");
    ASSERT_TRUE(n == "1000" || n == total) << "round " << round << ": " << n;
    if (n == total) break;
  }
  EXPECT_GT(killed_mid_way, 0);
  std::cout << "killed " << killed_mid_way << " load(s) mid-way\n";
  Outcome rerun = In("load " + Quote(big) + " --table crunchbase.organizations");
  ASSERT_EQ(rerun.code, 0) << rerun.out;
  Outcome rerun2 = In("load " + Quote(big) + " --table crunchbase.organizations");
  EXPECT_NE(rerun2.out.find("already loaded"), std::string::npos) << rerun2.out;
  EXPECT_EQ(Count("crunchbase.organizations"), total);
  Outcome distinct =
      In("query " + Quote("SELECT count(DISTINCT uuid) FROM crunchbase.organizations") +
         " --format csv");
  EXPECT_NE(distinct.out.find("\n" + total + "\n"), std::string::npos) << distinct.out;
  EXPECT_EQ(Count("crunchbase.organizations__categories"), std::to_string(2 * (1000 + kBig)));

  Outcome gc = In("gc" + GcGrace());
  ASSERT_EQ(gc.code, 0) << gc.out;
  // After gc, every Parquet file in the lake is one the catalog references.
  size_t on_disk = 0;
  for (const std::string& k : LakeKeys(project_)) on_disk += k.ends_with(".parquet");
  Outcome tables = In("tables --format json");
  auto parsed = nlohmann::json::parse(tables.out);
  size_t referenced = 0;
  for (auto& t : parsed) referenced += t["files"].get<size_t>();
  EXPECT_EQ(on_disk, referenced) << gc.out;
  EXPECT_EQ(Count("crunchbase.organizations"), total);
}

}  // namespace
