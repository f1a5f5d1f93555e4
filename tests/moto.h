// tests/moto.h — a throwaway moto_server (AWS API emulator) for integration tests (header-only).
//
// Owns: one `moto_server -H 127.0.0.1 -p PORT` child per MotoServer on a free loopback port
// (its own process group, output in a temp folder), waiting for GET /moto-api/ to answer, and
// stopping it at destruction: a watchdog process (leader of the server's process group) sends
// SIGTERM to the group and reaps the server when the pipe from the test closes, which also
// happens when the test process dies. With verify_signatures, the
// server starts with INITIAL_NO_AUTH_ACTION_COUNT=3: the first three calls (unverified) create
// an IAM user "watershed-test" with an inline policy allowing kinesis:*, cloudwatch:*, s3:*, sts:*,
// iam:*, glue:*, secretsmanager:*, kms:* and monitoring:* (moto names CloudWatch actions after the
// signing name) and an access key; every later call must be signed with that key and is verified.
// config() returns that key. The binary is $WS_MOTO_SERVER, else `moto_server` on PATH. Does not
// belong here: anything a non-test target links. Thread safety: none (one test thread).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/net/aws.h"
#include "watershed/net/http_client.h"

namespace watershed::testing_util {

class MotoServer {
 public:
  struct Options {
    bool verify_signatures = true;
  };

  // A running server, or nullptr after printing why to stderr.
  static std::unique_ptr<MotoServer> Start(Options options) {
    std::unique_ptr<MotoServer> server(new MotoServer());
    char pattern[] = "/tmp/ws_moto_XXXXXX";
    if (::mkdtemp(pattern) == nullptr) {
      std::perror("MotoServer: mkdtemp");
      return nullptr;
    }
    server->dir_ = pattern;
    const char* env_binary = std::getenv("WS_MOTO_SERVER");
    const std::string binary =
        env_binary != nullptr && *env_binary != '\0' ? env_binary : "moto_server";
    for (int attempt = 0; attempt < 3; ++attempt) {
      server->port_ = FreePort();
      if (server->Spawn(binary, options) && server->WaitReady()) break;
      server->Stop();
    }
    if (server->pid_ <= 0) {
      std::fprintf(stderr, "MotoServer: %s did not start; see %s/moto.log\n", binary.c_str(),
                   server->dir_.c_str());
      return nullptr;
    }
    net::AwsConfig config;
    config.region = "us-east-1";
    config.endpoint = server->endpoint();
    config.access_key_id = "AKIAWATERSHEDSETUP00";
    config.secret_access_key = "setup-secret-not-checked";
    server->config_ = config;
    if (options.verify_signatures) {
      Status status = server->CreateUserAndKey();
      if (!status.ok()) {
        std::fprintf(stderr, "MotoServer: IAM setup failed: %s\n",
                     std::string(MessageOf(status)).c_str());
        return nullptr;
      }
    }
    return server;
  }

  ~MotoServer() {
    Stop();
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }
  MotoServer(const MotoServer&) = delete;
  MotoServer& operator=(const MotoServer&) = delete;

  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Region us-east-1, this server's endpoint and the verified key (or dummy credentials when
  // signatures are not verified).
  const net::AwsConfig& config() const { return config_; }

  // An HttpClient that gives up quickly (tests assert on errors).
  static std::unique_ptr<net::HttpClient> QuickClient() {
    net::HttpClientOptions options;
    options.retry.max_attempts = 3;
    options.retry.initial_backoff = absl::Milliseconds(50);
    options.request_timeout = absl::Seconds(30);
    return std::make_unique<net::HttpClient>(options);
  }

 private:
  MotoServer() = default;

  static int FreePort() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    ::close(fd);
    return port;
  }

  // Forks a watchdog that leads a new process group and forks the server. The watchdog stops
  // the group when the pipe from this process closes (this process died: no leftover server),
  // and exits when the server exits (so WaitReady sees a failed start).
  bool Spawn(const std::string& binary, const Options& options) {
    const std::string log = dir_ + "/moto.log";
    const std::string port = std::to_string(port_);
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    pid_t pid = ::fork();
    if (pid < 0) {
      ::close(fds[0]);
      ::close(fds[1]);
      return false;
    }
    if (pid == 0) {
      ::setpgid(0, 0);
      ::close(fds[1]);
      pid_t server = ::fork();
      if (server == 0) {
        std::FILE* out = std::freopen(log.c_str(), "a", stdout);
        std::FILE* err = std::freopen(log.c_str(), "a", stderr);
        (void)out;
        (void)err;
        if (options.verify_signatures) {
          ::setenv("INITIAL_NO_AUTH_ACTION_COUNT", "3", 1);
        } else {
          ::unsetenv("INITIAL_NO_AUTH_ACTION_COUNT");
        }
        ::execlp(binary.c_str(), binary.c_str(), "-H", "127.0.0.1", "-p", port.c_str(),
                 static_cast<char*>(nullptr));
        std::_Exit(127);
      }
      while (server > 0) {
        pollfd p{.fd = fds[0], .events = POLLIN, .revents = 0};
        if (::poll(&p, 1, 200) > 0) break;  // EOF: the test process is gone or stopping us
        int wstatus = 0;
        if (::waitpid(server, &wstatus, WNOHANG) == server) std::_Exit(1);
      }
      ::signal(SIGTERM, SIG_IGN);
      ::kill(0, SIGTERM);  // the whole group: the server and anything it started
      for (int i = 0; i < 50; ++i) {
        int wstatus = 0;
        if (::waitpid(server, &wstatus, WNOHANG) == server) std::_Exit(0);
        ::usleep(100 * 1000);
      }
      ::kill(server, SIGKILL);
      int wstatus = 0;
      ::waitpid(server, &wstatus, 0);  // reaped here, never left a zombie
      std::_Exit(0);
    }
    ::close(fds[0]);
    ::setpgid(pid, pid);  // also from the parent: no race with kill() below
    pid_ = pid;
    watchdog_pipe_ = fds[1];
    return true;
  }

  bool WaitReady() {
    net::HttpClientOptions options;
    options.retry.max_attempts = 1;
    options.connect_timeout = absl::Seconds(2);
    options.request_timeout = absl::Seconds(5);
    net::HttpClient client(options);
    net::HttpRequest request;
    request.url = endpoint() + "/moto-api/";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      int wstatus = 0;
      if (::waitpid(pid_, &wstatus, WNOHANG) == pid_) {
        pid_ = 0;  // exited (port taken, binary missing)
        return false;
      }
      StatusOr<net::HttpResponse> response = client.Send(request);
      if (response.ok() && response->status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  void Stop() {
    if (watchdog_pipe_ >= 0) {
      ::close(watchdog_pipe_);  // the watchdog stops and reaps the server, then exits
      watchdog_pipe_ = -1;
    }
    if (pid_ <= 0) return;
    for (int i = 0; i < 70; ++i) {
      int wstatus = 0;
      if (::waitpid(pid_, &wstatus, WNOHANG) == pid_) {
        pid_ = 0;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ::kill(-pid_, SIGKILL);
    int wstatus = 0;
    ::waitpid(pid_, &wstatus, 0);
    pid_ = 0;
  }

  // The three unverified calls: user, inline policy, access key.
  Status CreateUserAndKey() {
    auto client = QuickClient();
    constexpr char kVersion[] = "2010-05-08";
    constexpr char kUser[] = "watershed-test";
    WS_RETURN_IF_ERROR(net::AwsQueryCall(*client, config_, net::kIamService, "CreateUser",
                                             kVersion, {{"UserName", kUser}})
                           .status());
    const std::string policy =
        R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",)"
        R"("Action":["kinesis:*","cloudwatch:*","monitoring:*","s3:*","sts:*","iam:*","glue:*","secretsmanager:*","kms:*"],"Resource":"*"}]})";
    WS_RETURN_IF_ERROR(
        net::AwsQueryCall(
            *client, config_, net::kIamService, "PutUserPolicy", kVersion,
            {{"UserName", kUser}, {"PolicyName", "watershed-test"}, {"PolicyDocument", policy}})
            .status());
    WS_ASSIGN_OR_RETURN(std::string body,
                        net::AwsQueryCall(*client, config_, net::kIamService,
                                              "CreateAccessKey", kVersion, {{"UserName", kUser}}));
    std::vector<std::string> ids = net::XmlElementTexts(body, "AccessKeyId");
    std::vector<std::string> secrets = net::XmlElementTexts(body, "SecretAccessKey");
    if (ids.size() != 1 || secrets.size() != 1) {
      return Status(absl::StatusCode::kInternal, "CreateAccessKey answer without a key");
    }
    config_.access_key_id = ids[0];
    config_.secret_access_key = secrets[0];
    return Status();
  }

  std::string dir_;
  int port_ = 0;
  pid_t pid_ = 0;
  int watchdog_pipe_ = -1;  // write end; closing it (or dying) stops the server
  net::AwsConfig config_;
};

}  // namespace watershed::testing_util
