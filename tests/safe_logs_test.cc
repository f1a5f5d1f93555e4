// tests/safe_logs_test.cc — secrets stay out of logs and run logs, and logs and state files are
// owner-only, through the real `watershed` processes: a pipeline whose load task emits
// OpenLineage events to a URL with ?access_token=, and an alarm whose webhook has a token in
// its path. Both endpoints refuse connections, so each failure is logged with its URL.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/harness.h"
#include "watershed/project/project.h"

namespace watershed {
namespace {

namespace fs = std::filesystem;
using testing_util::FreePort;
using testing_util::Outcome;
using testing_util::Quote;
using testing_util::ReadFileBytes;
using testing_util::Shell;
using testing_util::WatershedBinary;

constexpr char kHookToken[] = "Zk3rQ9aLm2xYw7Vb1Nc8Pd4F";
constexpr char kHookChannel[] = "B0EF34GH";
constexpr char kLineageToken[] = "ol-secret-token-123";

unsigned ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// `watershed --project DIR ARGS` under umask 000, so every mode checked below is the code's
// own choice and not the umask's.
Outcome WatershedUnmasked(const std::string& dir, const std::string& args) {
  return Shell("umask 000; " + Quote(WatershedBinary()) + " --project " + Quote(dir) + " " + args);
}

void ExpectNoSecrets(const std::string& text, const std::string& where) {
  for (const char* secret : {kHookToken, kHookChannel, kLineageToken}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in " << where << ":\n" << text;
  }
}

class SafeLogs : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_util::MakeTempDir() + "/p";
    ASSERT_TRUE(project::Project::Init(dir_, "safe").ok());
    lineage_port_ = FreePort();
    hook_port_ = FreePort();
    testing_util::WriteFile(dir_, "e.ndjson", "{\"n\":1}\n{\"n\":2}\n");
    std::ofstream(dir_ + "/watershed.yml", std::ios::app) << StrCat(
        "lineage:\n"
        "  openlineage:\n"
        "    url: http://127.0.0.1:",
        lineage_port_, "/api/v1/lineage?access_token=", kLineageToken,
        "\n"
        "    timeout: 2\n"
        "alarms:\n"
        "  landed:\n"
        "    metric: watershed_records_written_total\n"
        "    labels: {table: files.events}\n"
        "    comparison: \">=\"\n"
        "    threshold: 1\n"
        "    window: 1h\n"
        "    webhook: http://127.0.0.1:",
        hook_port_, "/services/T0AB12CD/", kHookChannel, "/", kHookToken,
        "\n"
        "pipelines:\n"
        "  daily:\n"
        "    tasks:\n"
        "      land: {type: load, file: ",
        dir_, "/e.ndjson, table: files.events}\n");
  }

  std::string dir_;
  int lineage_port_ = 0;
  int hook_port_ = 0;
};

TEST_F(SafeLogs, WebhookAndOpenLineageUrlsAreRedactedInLogsAndRunLogs) {
  Outcome run = WatershedUnmasked(dir_, "run daily --date 2026-01-01");
  ASSERT_EQ(run.code, 0) << run.out;
  ExpectNoSecrets(run.out, "watershed run");

  // The load task's own process wrote its lineage failure into the run log.
  std::vector<std::string> run_logs;
  for (const auto& e : fs::recursive_directory_iterator(dir_ + "/.watershed/logs")) {
    if (e.is_regular_file()) run_logs.push_back(e.path().string());
  }
  ASSERT_EQ(run_logs.size(), 1u);
  const std::string run_log = ReadFileBytes(run_logs[0]);
  EXPECT_NE(run_log.find("openlineage"), std::string::npos) << run_log;
  EXPECT_NE(run_log.find(StrCat("127.0.0.1:", lineage_port_, "/api/v1/lineage?access_token=***")),
            std::string::npos)
      << run_log;
  ExpectNoSecrets(run_log, run_logs[0]);

  Outcome alarms = WatershedUnmasked(dir_, "alarms --evaluate");
  ASSERT_EQ(alarms.code, 0) << alarms.out;
  EXPECT_NE(alarms.out.find("alarm webhook did not accept the event"), std::string::npos)
      << alarms.out;
  EXPECT_NE(alarms.out.find(StrCat("http://127.0.0.1:", hook_port_, "/services/***")),
            std::string::npos)
      << alarms.out;
  ExpectNoSecrets(alarms.out, "watershed alarms --evaluate");
  ExpectNoSecrets(ReadFileBytes(dir_ + "/.watershed/audit.log"), "the audit log");
}

TEST_F(SafeLogs, RunLogsAndStateFilesAreOwnerOnly) {
  Outcome run = WatershedUnmasked(dir_, "run daily --date 2026-01-01");
  ASSERT_EQ(run.code, 0) << run.out;
  const std::string state = dir_ + "/.watershed";
  EXPECT_EQ(ModeOf(state), 0700u);
  EXPECT_EQ(ModeOf(state + "/logs"), 0700u);
  int logs = 0;
  for (const auto& e : fs::recursive_directory_iterator(state + "/logs")) {
    EXPECT_EQ(ModeOf(e.path().string()), e.is_directory() ? 0700u : 0600u) << e.path();
    logs += e.is_regular_file() ? 1 : 0;
  }
  EXPECT_EQ(logs, 1);  // land.1.log
  // The SQLite catalog is a state file too (under the `cloud` label the catalog is PostgreSQL).
  const bool local_catalog =
      !(*project::Project::Open(dir_))->config().catalog_path.starts_with("postgres");
  for (const char* file : {"/catalog.db", "/audit.log"}) {
    if (std::string(file) == "/catalog.db" && !local_catalog) continue;
    EXPECT_EQ(ModeOf(state + file), 0600u) << file;
  }
  if (fs::exists(state + "/catalog.db-wal")) {
    EXPECT_EQ(ModeOf(state + "/catalog.db-wal"), 0600u);
  }
}

// Not only state files: the lake, the marts and every folder a run creates are owner-only too
// (issue 16, point 6), under a umask that would leave them world-readable.
TEST_F(SafeLogs, EverythingARunCreatesIsOwnerOnly) {
  std::set<std::string> before;
  for (const auto& e : fs::recursive_directory_iterator(dir_)) before.insert(e.path().string());
  Outcome run = WatershedUnmasked(dir_, "run daily --date 2026-01-01");
  ASSERT_EQ(run.code, 0) << run.out;
  int created = 0, lake_files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir_)) {
    const std::string path = e.path().string();
    if (before.count(path) != 0 || e.is_symlink()) continue;
    ++created;
    lake_files += path.ends_with(".parquet") ? 1 : 0;
    EXPECT_EQ(ModeOf(path) & 077, 0u) << path << " is readable by others";
  }
  EXPECT_GT(created, 5);
  // Under the `cloud` label the lake is on S3; locally the run landed Parquet in the project.
  if ((*project::Project::Open(dir_))->config().lake_url.empty()) {
    EXPECT_GT(lake_files, 0);
  }
}

}  // namespace
}  // namespace watershed
