// tests/crash_harness.h — SIGKILL at random points, for any command and any invariant.
//
// KillAtRandom runs a command again and again, each time SIGKILLing it — and every process
// whose command line names the project, so task processes in their own process groups die too,
// as on a machine crash — after a delay drawn from a seeded generator, and calls the scenario's
// check after each kill (e.g. "no row twice", "the previous mart is readable"). Calibrate()
// times one undisturbed run, so delays fall inside the work. Used by tests/crash_test.cc.
#pragma once

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/harness.h"
#include "watershed/warehouse/postgres/postgres.h"

namespace watershed::testing_util {

// SIGKILLs every process (but this one) whose command line contains `needle`; returns how many.
inline int KillAllMentioning(const std::string& needle) {
  int killed = 0;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return 0;
  while (dirent* e = ::readdir(proc)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0 || pid == ::getpid()) continue;
    std::ifstream in(std::string("/proc/") + e->d_name + "/cmdline", std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmdline.find(needle) != std::string::npos && ::kill(pid, SIGKILL) == 0) ++killed;
  }
  ::closedir(proc);
  return killed;
}

struct KillPlan {
  int kills = 5;
  uint64_t seed = 1;
  // Each kill comes after a delay drawn uniformly from [min_delay, max_delay].
  std::chrono::milliseconds min_delay{20};
  std::chrono::milliseconds max_delay{1000};
};

struct KillReport {
  int killed = 0;           // runs that were killed mid-way
  int finished_first = 0;   // runs that ended before their kill (the work was done)
};

// Runs `argv` (with `env`) until it exits, returning its exit code and how long it took.
inline std::pair<int, std::chrono::milliseconds> TimedRun(
    const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {}) {
  const auto start = std::chrono::steady_clock::now();
  ChildProcess child(argv, "/dev/null", env);
  const int code = child.Wait();
  return {code, std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - start)};
}

// A plan whose delays fall within an undisturbed run of `argv` (which it runs once; it must
// succeed), e.g. on a copy of the scenario's project.
// Under the `cloud` label (tests/cloud_mode.cc) every project of a test shares the test's
// database and lake prefix: the calibration project gets a database and a prefix of its own,
// so its rows never count as the target's (and its timing is that of S3 and PostgreSQL).
// The same each call (the database is created once); without the label, `env` unchanged.
inline std::map<std::string, std::string> CalibrationEnv(std::map<std::string, std::string> env) {
  const char* lake = std::getenv("WATERSHED_LAKE");
  const char* catalog = std::getenv("WATERSHED_CATALOG");
  const char* admin = std::getenv("WS_CLOUD_PG");
  if (lake == nullptr || catalog == nullptr || admin == nullptr) return env;
  const std::string db =
      std::string(catalog).substr(std::string(catalog).rfind('/') + 1) + "_calib";
  auto conn = warehouse::postgres::PgConnection::Connect(std::string(admin) + "postgres");
  EXPECT_TRUE(conn.ok()) << conn.status();
  if (conn.ok()) {
    auto exists = (*conn)->Query("SELECT 1 FROM pg_database WHERE datname = '" + db + "'");
    EXPECT_TRUE(exists.ok()) << exists.status();
    if (exists.ok() && exists->rows() == 0) {
      Status made = (*conn)->Execute("CREATE DATABASE " + db);
      EXPECT_TRUE(made.ok()) << made;
    }
  }
  env["WATERSHED_LAKE"] = std::string(lake) + "_calib";
  env["WATERSHED_CATALOG"] = std::string(admin) + db;
  return env;
}

inline KillPlan Calibrate(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env, int kills,
                          uint64_t seed) {
  auto [code, took] = TimedRun(argv, CalibrationEnv(env));
  EXPECT_EQ(code, 0) << "the calibration run failed";
  KillPlan plan;
  plan.kills = kills;
  plan.seed = seed;
  plan.min_delay = std::max(std::chrono::milliseconds(10), took / 20);
  plan.max_delay = std::max(plan.min_delay + std::chrono::milliseconds(10), took * 9 / 10);
  return plan;
}

// Runs `argv` plan.kills times, SIGKILLing it (and every process naming `project`) after a
// random delay, calling check(i) after the i-th kill.
inline KillReport KillAtRandom(const std::vector<std::string>& argv,
                               const std::map<std::string, std::string>& env,
                               const std::string& project, const KillPlan& plan,
                               const std::function<void(int)>& check = nullptr) {
  KillReport report;
  std::mt19937_64 rng(plan.seed);
  std::uniform_int_distribution<int64_t> delay(plan.min_delay.count(), plan.max_delay.count());
  for (int i = 0; i < plan.kills; ++i) {
    ChildProcess child(argv, "/dev/null", env);
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(delay(rng));
    bool ended = false;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!child.Running()) {
        ended = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (ended) {
      ++report.finished_first;
    } else {
      KillAllMentioning(project);
      child.Stop(SIGKILL);
      ++report.killed;
    }
    // Orphans of the killed run (task processes) must be gone before the check looks.
    for (int tries = 0; tries < 50 && KillAllMentioning(project) > 0; ++tries) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (check) check(i);
  }
  return report;
}

}  // namespace watershed::testing_util
