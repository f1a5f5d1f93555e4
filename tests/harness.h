// tests/harness.h — what the integration tests share for running real processes (header-only).
//
// Owns: the path of the watershed binary under test (WatershedBinary: $WS_BINARY in the
// environment, else the compiled-in WS_BINARY), a free loopback port, shell quoting, running a
// shell command or the binary through popen (Outcome: exit code, stdout and stderr together),
// reading a file's lines, listing, writing and reading a project's lake files through its
// storage (LakeKeys, PutLakeFile, ReadLakeFile: local or S3 alike), waiting for a condition
// (WaitFor), a child process with its output in a file (ChildProcess), `watershed serve` as a
// restartable child answering GET /healthz (ServeProcess), and a loopback HTTP server recording
// webhook calls (WebhookReceiver). Scratch folders and whole-file reads are in
// watershed/base/test_util.h (included here). Does not belong here: anything a non-test target
// links; helpers only one test file uses. Thread safety: none (one test thread), except
// WebhookReceiver's Bodies(), which may be called while calls arrive.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "watershed/base/test_util.h"
#include "watershed/project/project.h"

extern char** environ;

namespace watershed::testing_util {

// The binary under test: $WS_BINARY when set (to try a locally built one), else the one the
// build compiled in.
inline std::string WatershedBinary() {
  const char* env = std::getenv("WS_BINARY");
  return env != nullptr && *env != '\0' ? env : WS_BINARY;
}

// A loopback TCP port nobody listens on right now.
inline int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// `s` as one word for /bin/sh (single-quoted).
inline std::string Quote(const std::string& s) {
  std::string quoted = "'";
  for (char c : s) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

struct Outcome {
  int code = -1;    // the exit code; -1 when killed by a signal
  std::string out;  // stdout and stderr together
};

// Runs a shell command line (through /bin/sh) and waits for it.
inline Outcome Shell(const std::string& command) {
  Outcome outcome;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) {
    outcome.out = "popen failed: " + command;
    return outcome;
  }
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) outcome.out.append(buf, n);
  int status = ::pclose(pipe);
  outcome.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return outcome;
}

// `watershed ARGS` (ARGS is shell text, quote paths with Quote); `env` is set for the command.
inline Outcome Watershed(const std::string& args,
                         const std::map<std::string, std::string>& env = {}) {
  std::string prefix;
  for (const auto& [name, value] : env) prefix += name + "=" + Quote(value) + " ";
  return Shell(prefix + Quote(WatershedBinary()) + " " + args);
}

// `watershed --project PROJECT -q ARGS`.
inline Outcome WatershedIn(const std::string& project, const std::string& args,
                           const std::map<std::string, std::string>& env = {}) {
  return Watershed("--project " + Quote(project) + " -q " + args, env);
}

// `watershed load` of `rows` (JSON lines, written to a new file in the project) into `table`.
inline Outcome LoadRows(const std::string& project, const std::string& table,
                        const std::string& rows) {
  static int files = 0;
  const std::string file = project + "/rows-" + std::to_string(++files) + ".jsonl";
  std::ofstream(file) << rows;
  return WatershedIn(project, "load " + Quote(file) + " --table " + table);
}

// The lines of a file (none when it does not exist).
// Flags for `watershed gc` in a test that expects files of dead loads removed at once: none on
// a local lake (gc sees which local loads still run), `--grace 0s` on an S3 lake (the `cloud`
// label), where gc cannot see other machines and waits an hour by default.
inline std::string GcGrace() {
  const char* lake = std::getenv("WATERSHED_LAKE");
  return lake != nullptr && std::string(lake).starts_with("s3://") ? " --grace 0s" : "";
}

// The keys of a project's lake files under `prefix` (relative to the lake root, e.g.
// "structured/crunchbase/organizations/"), listed through its storage: a local folder or S3
// alike, so a test reads the same under the `cloud` label.
inline std::vector<std::string> LakeKeys(const std::string& project_dir,
                                         const std::string& prefix = "") {
  auto project = project::Project::Open(project_dir);
  EXPECT_TRUE(project.ok()) << project.status();
  if (!project.ok()) return {};
  auto files = (*project)->storage().List(prefix);
  EXPECT_TRUE(files.ok()) << files.status();
  std::vector<std::string> keys;
  if (files.ok()) {
    for (const auto& f : *files) keys.push_back(f.key);
  }
  return keys;
}

// Writes `content` as the lake file `key` of a project through its storage (a test planting an
// orphan or a foreign file, local or on S3).
inline void PutLakeFile(const std::string& project_dir, const std::string& key,
                        const std::string& content) {
  auto project = project::Project::Open(project_dir);
  ASSERT_TRUE(project.ok()) << project.status();
  auto path = (*project)->storage().PathForWrite(key);
  ASSERT_TRUE(path.ok()) << path.status();
  std::ofstream(*path, std::ios::binary) << content;
  Status published = (*project)->storage().Publish(key);
  ASSERT_TRUE(published.ok()) << published;
}

// The content of a project's lake file `key`, read through its storage.
inline std::string ReadLakeFile(const std::string& project_dir, const std::string& key) {
  auto project = project::Project::Open(project_dir);
  EXPECT_TRUE(project.ok()) << project.status();
  if (!project.ok()) return "";
  auto path = (*project)->storage().PathForRead(key);
  EXPECT_TRUE(path.ok()) << path.status();
  return path.ok() ? ReadFileBytes(*path) : "";
}

inline std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Calls `done` every `poll` until it returns true or `seconds` have passed; then once more.
template <typename Predicate>
bool WaitFor(Predicate done, int seconds = 60,
             std::chrono::milliseconds poll = std::chrono::milliseconds(200)) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(poll);
  }
  return done();
}

// A child process running argv[0] (a path) with stdout and stderr in `log` (truncated; may be
// /dev/null) and `env` added to this process's environment. The destructor stops it (SIGTERM,
// then SIGKILL after 10 s) if it still runs.
class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> argv, std::string log,
               const std::map<std::string, std::string>& env = {})
      : log_(std::move(log)) {
    // Everything the child needs is built before fork: it only opens, dups and execs.
    std::vector<std::string> environment;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string entry = *e;
      if (!env.contains(entry.substr(0, entry.find('=')))) environment.push_back(entry);
    }
    for (const auto& [name, value] : env) environment.push_back(name + "=" + value);
    std::vector<char*> args, envp;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    for (auto& e : environment) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execve(args[0], args.data(), envp.data());
      ::_exit(127);
    }
    EXPECT_GT(pid_, 0) << "fork failed for " << argv[0];
  }
  ~ChildProcess() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100 && Running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    Stop(SIGKILL);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Sends `signal` (unless it has exited already) and waits; returns the exit code (-1 when
  // killed by a signal).
  int Stop(int signal = SIGTERM) {
    if (pid_ <= 0) return exit_code_;
    ::kill(pid_, signal);
    return Wait();
  }
  // Waits for the process to exit; returns the exit code (-1 when killed by a signal).
  int Wait() {
    if (pid_ <= 0) return exit_code_;
    int status = 0;
    ::waitpid(pid_, &status, 0);
    Reaped(status);
    return exit_code_;
  }
  // Whether it still runs (reaps it when it has exited).
  bool Running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return true;
    Reaped(status);
    return false;
  }
  std::string Log() const { return ReadFileBytes(log_); }

 private:
  void Reaped(int status) {
    pid_ = -1;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::string log_;
};

// `watershed --project PROJECT serve --port PORT` with WATERSHED_TOKEN set; each Start writes
// PROJECT/serve-N.log. Stopped with SIGKILL (if still running) at destruction.
class ServeProcess {
 public:
  ServeProcess(std::string project, int port, std::string token)
      : project_(std::move(project)), port_(port), token_(std::move(token)) {}
  ~ServeProcess() { Stop(SIGKILL); }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  // Starts it and waits (up to a minute) until GET /healthz answers 200; false (and a test
  // failure with the log) when it does not.
  bool Start() {
    child_.reset();  // a previous start that was not stopped
    log_ = project_ + "/serve-" + std::to_string(starts_++) + ".log";
    child_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{WatershedBinary(), "--project", project_, "serve", "--port",
                                 std::to_string(port_)},
        log_, std::map<std::string, std::string>{{"WATERSHED_TOKEN", token_}});
    httplib::Client client("127.0.0.1", port_);
    const bool up = WaitFor(
        [&] {
          auto r = client.Get("/healthz");
          return r && r->status == 200;
        },
        60, std::chrono::milliseconds(50));
    EXPECT_TRUE(up) << "watershed serve did not start; log:\n" << Log();
    return up;
  }
  // Sends `signal` and waits; returns the exit code (-1 when killed by a signal or not started).
  int Stop(int signal = SIGTERM) { return child_ ? child_->Stop(signal) : -1; }
  // The log of the latest start.
  std::string Log() const { return ReadFileBytes(log_); }
  int port() const { return port_; }

 private:
  std::string project_;
  int port_;
  std::string token_;
  int starts_ = 0;
  std::string log_;
  std::unique_ptr<ChildProcess> child_;
};

// An HTTP server on a loopback port recording the bodies POSTed to /hook (answered 200 "{}").
class WebhookReceiver {
 public:
  WebhookReceiver() {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      bodies_.push_back(req.body);
      res.set_content("{}", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    EXPECT_GT(port_, 0);
    listener_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~WebhookReceiver() { Stop(); }
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  // Stops listening (idempotent).
  void Stop() {
    if (!listener_.joinable()) return;
    server_.stop();
    listener_.join();
  }
  std::vector<std::string> Bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }

 private:
  httplib::Server server_;
  int port_ = -1;
  std::mutex mu_;
  std::vector<std::string> bodies_;
  std::thread listener_;
};

}  // namespace watershed::testing_util
