// fuzz/fuzz_http_request.cc — the HTTP request path of `watershed serve` over any bytes: one
// server runs in this process for the whole fuzz run (a project with one http stream); each
// input is sent raw over a fresh loopback connection — as the whole request when its first byte
// is even, or as the body of an authenticated POST to the ingest route when odd — and the
// answer read back with a deadline. The server must answer or close, never crash; /healthz
// must still answer afterwards (checked every 256 inputs). At exit (libFuzzer calls exit()), the
// server is stopped and joined by an atexit handler; the function-local constants its threads
// use are never destroyed (`static const T& k = *new T{...}`), since exit() destroys those made
// after the handler was registered before running it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "fuzz/fuzz_util.h"
#include "watershed/server/server.h"

namespace {

constexpr char kToken[] = "fuzz-token-0123456789abcdef";
std::atomic<int> g_port{0};
std::atomic<bool> g_stop{false};
std::thread* g_server = nullptr;

void StopServer() {
  g_stop = true;
  if (g_server != nullptr && g_server->joinable()) g_server->join();
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Sends `request` and reads until the server closes or 2 s pass; the answer (may be empty).
std::string Exchange(const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(g_port.load()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    size_t sent = 0;
    while (sent < request.size()) {
      ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    ::shutdown(fd, SHUT_WR);
    char buf[4096];
    for (int waited = 0; waited < 20;) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) {
        ++waited;
        continue;
      }
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      answer.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return answer;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  using namespace watershed;
  const std::string dir = fuzz::ScratchDir() + "/project";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/watershed.yml") << "name: fuzz\nstreams:\n  clicks:\n    source: http\n";
  const int port = FreePort();
  g_server = new std::thread([dir, port] {
    server::ServeOptions options;
    options.project_dir = dir;
    options.port = port;
    options.token = kToken;
    options.http_threads = 4;
    options.stop = &g_stop;
    options.on_listening = [](const server::Listening& l) { g_port = l.port; };
    Status s = server::Serve(options);
    if (!s.ok()) {
      fprintf(stderr, "fuzz_http_request: the server stopped: %s\n", s.ToString().c_str());
      std::abort();
    }
  });
  for (int i = 0; i < 300 && g_port.load() == 0; ++i) usleep(100000);
  if (g_port.load() == 0) {
    fprintf(stderr, "fuzz_http_request: the server did not start\n");
    std::abort();
  }
  // One event first, so the statics a load session uses exist before the handler is registered
  // (exit() destroys statics constructed after an atexit registration before running it).
  Exchange(std::string("POST /v1/streams/clicks/events HTTP/1.1\r\nHost: x\r\nAuthorization: ") +
           "Bearer " + kToken + "\r\nContent-Length: 9\r\nConnection: close\r\n\r\n{\"a\": 1}\n");
  std::atexit(StopServer);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static uint64_t runs = 0;
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string request;
  if (data[0] % 2 == 0) {
    request = rest;
  } else {
    request = "POST /v1/streams/clicks/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
              std::string(kToken) + "\r\nContent-Length: " + std::to_string(rest.size()) +
              "\r\nConnection: close\r\n\r\n" + rest;
  }
  Exchange(request);
  if (++runs % 256 == 0) {
    const std::string health = Exchange("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    if (health.find("200") == std::string::npos) {
      fprintf(stderr, "fuzz_http_request: /healthz stopped answering: %s\n", health.c_str());
      std::abort();
    }
  }
  return 0;
}
