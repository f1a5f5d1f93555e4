// tests/cloud_mode.cc — the `cloud` label: every integration test again, with each test's projects
// on an S3 lake (moto_server) and a PostgreSQL catalog.
//
// Owns: when $WS_CLOUD_SUITE names the folder scripts/cloud-suite started (ctest's `cloud_suite`
// fixture), reading its `env` file into this process's environment once, and for each test
// suite a database of its own in the shared cluster (created before, dropped after) and a prefix
// of its own in the shared bucket, given to every watershed command the test runs through
// $WATERSHED_CATALOG and $WATERSHED_LAKE (project/project.h: they replace storage.catalog and
// storage.lake). Without $WS_CLOUD_SUITE it does nothing. With it but no servers, the process
// stops before any test runs, so a test never passes locally while labelled `cloud`.
// Does not belong here: which tests the label excludes and why (CMakeLists.txt, TEST_FILTER).
// Thread safety: gtest calls the listener from the main thread only.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "watershed/warehouse/postgres/postgres.h"

namespace {

namespace pg = watershed::warehouse::postgres;

// "Suite/3" of process 1234 -> "t_suite_3_1234", a valid unquoted PostgreSQL name and S3 key
// part, unique among the test processes ctest runs at once.
std::string Slug(const char* suite) {
  std::string slug = "t_";
  for (const char* c = suite; *c != '\0'; ++c) {
    slug +=
        std::isalnum(static_cast<unsigned char>(*c)) ? static_cast<char>(std::tolower(*c)) : '_';
  }
  if (slug.size() > 40) slug.resize(40);
  return slug + "_" + std::to_string(::getpid());
}

[[noreturn]] void Stop(const std::string& why) {
  std::fprintf(stderr, "cloud mode ($WS_CLOUD_SUITE): %s\n", why.c_str());
  std::exit(2);
}

class CloudMode : public ::testing::EmptyTestEventListener {
 public:
  explicit CloudMode(std::string pg_url, std::string bucket)
      : pg_url_(std::move(pg_url)), bucket_(std::move(bucket)) {}

  // Per test suite, because a suite's SetUpTestSuite may already build a project (ctest runs
  // one test per process, so each test still has its own database and prefix).
  void OnTestSuiteStart(const ::testing::TestSuite& suite) override {
    db_ = Slug(suite.name());
    Admin("DROP DATABASE IF EXISTS " + db_ + " WITH (FORCE)");
    Admin("CREATE DATABASE " + db_);
    ::setenv("WATERSHED_CATALOG", (pg_url_ + db_).c_str(), 1);
    ::setenv("WATERSHED_LAKE", ("s3://" + bucket_ + "/" + db_).c_str(), 1);
  }

  void OnTestSuiteEnd(const ::testing::TestSuite&) override {
    ::unsetenv("WATERSHED_CATALOG");
    ::unsetenv("WATERSHED_LAKE");
    Admin("DROP DATABASE IF EXISTS " + db_ + " WITH (FORCE)");
  }

 private:
  void Admin(const std::string& sql) {
    auto conn = pg::PgConnection::Connect(pg_url_ + "postgres");
    if (!conn.ok()) Stop("cannot reach the suite's PostgreSQL: " + conn.status().ToString());
    if (auto s = (*conn)->Execute(sql); !s.ok()) Stop(sql + ": " + s.ToString());
  }

  std::string pg_url_, bucket_, db_;
};

const bool kRegistered = [] {
  const char* dir = std::getenv("WS_CLOUD_SUITE");
  if (dir == nullptr || *dir == '\0') return false;
  std::ifstream env(std::string(dir) + "/env");
  if (!env) Stop(std::string("no ") + dir + "/env: the cloud_suite fixture did not start");
  for (std::string line; std::getline(env, line);) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos)
      ::setenv(line.substr(0, eq).c_str(), line.substr(eq + 1).c_str(), 1);
  }
  const char* pg_url = std::getenv("WS_CLOUD_PG");
  const char* bucket = std::getenv("WS_CLOUD_BUCKET");
  if (pg_url == nullptr || bucket == nullptr) Stop(std::string(dir) + "/env lacks WS_CLOUD_PG");
  ::testing::UnitTest::GetInstance()->listeners().Append(new CloudMode(pg_url, bucket));
  return true;
}();

}  // namespace
