// tests/sql_sandbox_test.cc — user SQL runs sandboxed in a real project through the real
// binary: `watershed query` (lake and --mart), a model in `watershed build` and a custom SQL
// check may not read /etc/passwd or write outside the lake and marts, their errors name the
// opt-out setting, normal queries over the lake tables and marts keep working, and with
// `sql: {sandbox: false}` the read works.
#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "tests/harness.h"

namespace {

namespace fs = std::filesystem;
using watershed::testing_util::MakeTempDir;
using watershed::testing_util::Outcome;
using watershed::testing_util::Quote;
using watershed::testing_util::Watershed;
using watershed::testing_util::WriteFile;

constexpr char kOptOut[] = "sql: {sandbox: false}";

class SqlSandbox : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    project_ = dir_ + "/proj";
    ASSERT_EQ(Watershed("init " + Quote(project_)).code, 0);
    std::string orgs;
    for (int i = 0; i < 5; ++i) {
      orgs +=
          "{\"uuid\":\"org-" + std::to_string(i) + "\",\"usd\":" + std::to_string(i * 10) + "}\n";
    }
    Outcome load = In("load " + Quote(WriteFile(dir_, "orgs.ndjson", orgs)) +
                      " --table crunchbase.organizations");
    ASSERT_EQ(load.code, 0) << load.out;
    fs::create_directories(project_ + "/models/finance");
    WriteFile(project_ + "/models/finance", "orgs.sql",
              "{{ config(materialized='table') }}\n"
              "SELECT uuid, usd FROM {{ source('crunchbase', 'organizations') }}\n");
    Outcome build = In("build");
    ASSERT_EQ(build.code, 0) << build.out;
  }
  Outcome In(const std::string& args) { return Watershed(args + " --project " + Quote(project_)); }
  // Where SQL reads the lake's files: the lake folder, or an S3 lake's local cache.
  std::string LakeRoot() const {
    return (*watershed::project::Project::Open(project_))->storage().LocalReadRoot();
  }
  void OptOut() { std::ofstream(project_ + "/watershed.yml", std::ios::app) << kOptOut << "\n"; }
  // The refusal a user sees: external access is disabled, and how to allow it.
  void ExpectRefusal(const Outcome& r) {
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("external file access is disabled"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(kOptOut), std::string::npos) << r.out;
  }
  std::string dir_, project_;
};

TEST_F(SqlSandbox, QueriesOverLakeTablesAndMartsStillWork) {
  Outcome lake = In("query " +
                    Quote("SELECT count(*) AS n, sum(usd) AS s FROM "
                          "crunchbase.organizations") +
                    " --format csv");
  ASSERT_EQ(lake.code, 0) << lake.out;
  EXPECT_NE(lake.out.find("5,100"), std::string::npos) << lake.out;
  Outcome travel = In("query " + Quote("SELECT count(*) FROM crunchbase.organizations") +
                      " --snapshot 1 --format csv");
  ASSERT_EQ(travel.code, 0) << travel.out;
  Outcome mart =
      In("query --mart finance " + Quote("SELECT max(usd) AS top FROM orgs") + " --format csv");
  ASSERT_EQ(mart.code, 0) << mart.out;
  EXPECT_NE(mart.out.find("40"), std::string::npos) << mart.out;
  // Files inside the lake are inside the sandbox too.
  Outcome direct = In("query " +
                      Quote("SELECT count(*) AS n FROM read_parquet('" + LakeRoot() +
                            "/structured/crunchbase/organizations/*/*.parquet')") +
                      " --format csv");
  ASSERT_EQ(direct.code, 0) << direct.out;
  EXPECT_NE(direct.out.find("\n5"), std::string::npos) << direct.out;
}

TEST_F(SqlSandbox, ReadingOtherFilesFailsAndNamesTheSetting) {
  ExpectRefusal(In("query " + Quote("SELECT * FROM read_csv('/etc/passwd')")));
  ExpectRefusal(In("query --mart finance " + Quote("SELECT * FROM read_csv('/etc/passwd')")));
  Outcome r = In("query " + Quote("SELECT * FROM read_text('/etc/passwd')"));
  ExpectRefusal(r);
  EXPECT_EQ(r.out.find("root:"), std::string::npos) << r.out;
  // SQL cannot lift the sandbox itself.
  ExpectRefusal(In("query " + Quote("SET enable_external_access = true")));
  ExpectRefusal(In("query " + Quote("SELECT * FROM glob('/etc/*')")));
}

TEST_F(SqlSandbox, CopyOutsideFailsAndCreatesNoFile) {
  const std::string outside = dir_ + "/exfiltrated.csv";
  ExpectRefusal(In("query " + Quote("COPY (SELECT 1) TO '" + outside + "'")));
  ExpectRefusal(
      In("query --mart finance " + Quote("COPY (SELECT * FROM orgs) TO '" + outside + "'")));
  ExpectRefusal(In("query " + Quote("ATTACH '" + dir_ + "/other.duckdb' AS other")));
  EXPECT_FALSE(fs::exists(outside));
  EXPECT_FALSE(fs::exists(dir_ + "/other.duckdb"));
}

TEST_F(SqlSandbox, AModelOrACheckReadingEtcPasswdFails) {
  WriteFile(project_ + "/models/finance", "leak.sql",
            "{{ config(materialized='table') }}\nSELECT * FROM read_csv('/etc/passwd')\n");
  Outcome build = In("build");
  ExpectRefusal(build);
  EXPECT_NE(build.out.find("models/finance/leak.sql"), std::string::npos) << build.out;
  EXPECT_NE(build.out.find("1 built, 1 failed"), std::string::npos) << build.out;

  fs::remove(project_ + "/models/finance/leak.sql");
  std::ofstream(project_ + "/watershed.yml", std::ios::app)
      << "checks:\n"
         "  crunchbase.organizations:\n"
         "    - {sql: \"select * from read_csv('/etc/passwd')\", name: peeks}\n";
  Outcome check = In("check --all");
  EXPECT_NE(check.code, 0) << check.out;
  EXPECT_NE(check.out.find("peeks"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("error"), std::string::npos) << check.out;
}

TEST_F(SqlSandbox, TheOptOutLetsSqlReadOtherFiles) {
  OptOut();
  Outcome read = In("query " + Quote("SELECT count(*) > 0 AS some FROM read_csv('/etc/passwd')") +
                    " --format csv");
  ASSERT_EQ(read.code, 0) << read.out;
  EXPECT_NE(read.out.find("true"), std::string::npos) << read.out;
  const std::string outside = dir_ + "/allowed.csv";
  ASSERT_EQ(In("query " + Quote("COPY (SELECT 1 AS one) TO '" + outside + "'")).code, 0);
  EXPECT_TRUE(fs::exists(outside));
  Outcome lake = In("query " + Quote("SELECT count(*) FROM crunchbase.organizations"));
  EXPECT_EQ(lake.code, 0) << lake.out;
}

TEST_F(SqlSandbox, ABadSettingIsAnErrorNamingTheLine) {
  std::ofstream(project_ + "/watershed.yml", std::ios::app) << "sql: {sandbox: maybe}\n";
  Outcome r = In("query 'SELECT 1'");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("sql.sandbox must be true or false"), std::string::npos) << r.out;
}

}  // namespace
