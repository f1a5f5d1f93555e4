// tests/pg_cluster.h — a throwaway PostgreSQL server for tests (header-only).
//
// Owns: one temporary cluster per PgCluster: a folder under /tmp (short, for the unix socket
// path limit), initdb --auth=trust -E UTF8 --no-sync, a server on a free 127.0.0.1 port with
// fsync off, and its removal (pg_ctl stop -m immediate, then the folder). As root it runs the
// server binaries as the `postgres` user through runuser (initdb refuses root); as anyone else,
// directly. Binaries come from $WS_PG_BINDIR, else /usr/lib/postgresql/{17,16,15}/bin.
// Does not belong here: anything a non-test target links, and the libpq wrapper itself
// (src/watershed/warehouse/postgres/).
// Thread safety: none (one test thread); separate PgClusters do not share anything.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/warehouse/postgres/postgres.h"

namespace watershed::testing_util {

class PgCluster {
 public:
  // Whether a test whose Start() returned nullptr may skip: only when this machine has no
  // server binaries at all, and never in CI (CI=true), where PostgreSQL is part of the suite and
  // scripts/setup installs it. A cluster that exists but fails to start (initdb, no `postgres`
  // user, ...) is a failure, not a skip.
  static bool SkipAllowed() {
    const char* ci = std::getenv("CI");
    const bool in_ci = ci != nullptr && std::string(ci) == "true";
    return FindBinDir().empty() && !in_ci;
  }
  // Why a test must fail instead of skipping (for the failure message).
  static std::string NoSkipReason() {
    return FindBinDir().empty()
               ? "CI=true: PostgreSQL must be installed (scripts/setup installs it)"
               : "PostgreSQL binaries exist in " + FindBinDir() +
                     " but the cluster did not start (see the PgCluster lines on stderr)";
  }

  // A running cluster, or nullptr after printing why to stderr (no binaries, no `postgres`
  // user while running as root, initdb or start failed).
  static std::unique_ptr<PgCluster> Start() {
    std::string bindir = FindBinDir();
    if (bindir.empty()) {
      std::fprintf(stderr,
                   "PgCluster: no PostgreSQL server binaries (initdb, pg_ctl) found; "
                   "set WS_PG_BINDIR\n");
      return nullptr;
    }
    std::unique_ptr<PgCluster> cluster(new PgCluster());
    cluster->bindir_ = bindir;
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("postgres");
      if (pw == nullptr) {
        std::fprintf(stderr, "PgCluster: running as root and there is no `postgres` user\n");
        return nullptr;
      }
      cluster->run_as_ = "postgres";
      cluster->uid_ = pw->pw_uid;
      cluster->gid_ = pw->pw_gid;
      cluster->superuser_ = "postgres";
    } else {
      const passwd* pw = ::getpwuid(::geteuid());
      cluster->superuser_ = pw != nullptr ? pw->pw_name : "postgres";
    }
    char pattern[] = "/tmp/ws_pg_XXXXXX";
    if (::mkdtemp(pattern) == nullptr) {
      std::perror("PgCluster: mkdtemp");
      return nullptr;
    }
    cluster->dir_ = pattern;
    if (!cluster->run_as_.empty() && ::chown(pattern, cluster->uid_, cluster->gid_) != 0) {
      std::perror("PgCluster: chown");
      return nullptr;
    }
    if (!cluster->Run({bindir + "/initdb", "-D", cluster->data_dir(), "--auth=trust", "-E", "UTF8",
                       "--no-sync", "--locale=C", "-U", cluster->superuser_})) {
      return nullptr;
    }
    // A port found free can be taken before the server binds it: try a few.
    for (int attempt = 0; attempt < 3; ++attempt) {
      cluster->port_ = FreePort();
      const std::string server_options =
          "-c listen_addresses=127.0.0.1 -p " + std::to_string(cluster->port_) + " -k " +
          cluster->dir_ + " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
      if (cluster->Run({bindir + "/pg_ctl", "-D", cluster->data_dir(), "-l",
                        cluster->dir_ + "/server.log", "-w", "-t", "20", "-o", server_options,
                        "start"})) {
        cluster->running_ = true;
        return cluster;
      }
    }
    return nullptr;
  }

  ~PgCluster() {
    if (running_) {
      Run({bindir_ + "/pg_ctl", "-D", data_dir(), "-m", "immediate", "-w", "stop"});
    }
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  const std::string& superuser() const { return superuser_; }

  // key=value conninfo over TCP to `db` as the superuser (trust auth: no password needed).
  std::string conninfo(const std::string& db = "postgres") const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=" + superuser_ + " dbname=" + db;
  }

  // The same as a postgres:// URL (what `storage.catalog` takes).
  std::string url(const std::string& db = "postgres") const {
    return "postgres://" + superuser_ + "@127.0.0.1:" + std::to_string(port_) + "/" + db;
  }

  Status CreateDatabase(const std::string& name) const {
    WS_ASSIGN_OR_RETURN(auto conn, warehouse::postgres::PgConnection::Connect(conninfo()));
    return conn->Execute("CREATE DATABASE " + warehouse::postgres::PgQuoteIdent(name));
  }

 private:
  PgCluster() = default;

  std::string data_dir() const { return dir_ + "/data"; }

  static std::string FindBinDir() {
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("WS_PG_BINDIR"); env != nullptr && *env != '\0') {
      candidates.push_back(env);
    }
    for (const char* v : {"17", "16", "15"}) {
      candidates.push_back(std::string("/usr/lib/postgresql/") + v + "/bin");
    }
    for (const std::string& dir : candidates) {
      if (::access((dir + "/initdb").c_str(), X_OK) == 0 &&
          ::access((dir + "/pg_ctl").c_str(), X_OK) == 0) {
        return dir;
      }
    }
    return "";
  }

  // Binds 127.0.0.1:0 and returns the port the kernel chose.
  static int FreePort() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    int port = 0;
    if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    if (fd >= 0) ::close(fd);
    return port;
  }

  // Runs `argv` (as `run_as_` when set) in the cluster folder, output to DIR/commands.log;
  // on failure prints the command's output and returns false.
  bool Run(std::vector<std::string> argv) const {
    if (!run_as_.empty()) {
      argv.insert(argv.begin(), {"runuser", "-u", run_as_, "--"});
    }
    const std::string log_path = dir_ + "/commands.log";
    int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
      // The server tools want a current directory they can read.
      if (::chdir(dir_.c_str()) != 0) ::_exit(126);
      if (log_fd >= 0) {
        ::dup2(log_fd, 1);
        ::dup2(log_fd, 2);
      }
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    int status = -1;
    if (pid > 0) ::waitpid(pid, &status, 0);
    if (log_fd >= 0) ::close(log_fd);
    if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
    std::ifstream in(log_path);
    std::stringstream out;
    out << in.rdbuf();
    std::string command;
    for (const std::string& a : argv) command += (command.empty() ? "" : " ") + a;
    std::fprintf(stderr, "PgCluster: `%s` failed:\n%s\n", command.c_str(), out.str().c_str());
    if (std::ifstream server(dir_ + "/server.log"); server.good()) {
      std::stringstream s;
      s << server.rdbuf();
      std::fprintf(stderr, "server.log:\n%s\n", s.str().c_str());
    }
    return false;
  }

  std::string bindir_;
  std::string dir_;
  std::string run_as_;  // "postgres" when running as root
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  std::string superuser_;
  int port_ = 0;
  bool running_ = false;
};

}  // namespace watershed::testing_util
