// server/server_test.cc — `watershed serve` against hostile and careless clients: the server
// runs in this process on a free port of 127.0.0.1, clients are raw TCP sockets (slow headers,
// chunked, cut-off and oversized bodies) or cpp-httplib's client. Every socket has a receive
// and send timeout, so that no test can hang; memory is measured as this process's VmRSS
// (/proc/self/status) sampled while a big body is sent, never by timings.
#include "watershed/server/server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "watershed/base/test_util.h"
#include "watershed/server/auth.h"
#include "watershed/server/settings.h"

namespace watershed::server {
namespace {

using testing_util::MakeTempDir;
using testing_util::WriteFile;

constexpr char kToken[] = "server-test-token-0123456789";

// ---- the server, in this process ----

class ServerUnderTest {
 public:
  // `server_yml`: lines under `server:` in watershed.yml (indented by the caller).
  explicit ServerUnderTest(const std::string& server_yml = "", int threads = 8) {
    dir_ = MakeTempDir();
    WriteFile(dir_, "watershed.yml",
              "name: servertest\n"
              "streams:\n"
              "  clicks:\n"
              "    batch: {max_wait: 200ms}\n" +
                  (server_yml.empty() ? "" : "server:\n" + server_yml));
    ServeOptions options;
    options.project_dir = dir_;
    options.port = 0;
    options.token = kToken;
    options.http_threads = threads;
    options.stop = &stop_;
    std::promise<int> listening;
    std::future<int> port = listening.get_future();
    options.on_listening = [&listening](const Listening& l) { listening.set_value(l.port); };
    thread_ = std::thread([this, options] { status_ = Serve(options); });
    if (port.wait_for(std::chrono::seconds(60)) == std::future_status::ready) port_ = port.get();
  }
  ~ServerUnderTest() {
    stop_ = true;
    thread_.join();
    EXPECT_TRUE(status_.ok()) << status_;
  }
  int port() const { return port_; }
  const std::string& dir() const { return dir_; }

  // The stream's log end (GET /v1/streams): how many events were appended.
  int64_t NextOffset() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(20);
    auto r = c.Get("/v1/streams");
    if (!r || r->status != 200) return -1;
    for (const auto& s : nlohmann::json::parse(r->body)) {
      if (s["stream"] == "clicks") return s.value("next_offset", int64_t{-1});
    }
    return -1;
  }

 private:
  std::string dir_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  Status status_;
  int port_ = 0;
};

// ---- raw clients ----

class RawClient {
 public:
  explicit RawClient(int port, int timeout_seconds = 20) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{timeout_seconds, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawClient() { Close(); }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool connected() const { return connected_; }

  // False once the server closed or reset the connection (or the send timed out).
  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent_ += static_cast<uint64_t>(n);
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  void ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }
  uint64_t sent() const { return sent_; }

  struct Answer {
    int status = 0;  // 0: none (closed or timed out first)
    std::string head, body;
    bool Has(const std::string& header_line) const {
      return head.find(header_line) != std::string::npos;
    }
  };
  // Reads one answer: its head, then Content-Length bytes of body. An interim "100 Continue"
  // is skipped unless `interim`.
  Answer Read(bool interim = false) {
    Answer a;
    char buf[4096];
    size_t head_end = std::string::npos;
    while ((head_end = data_.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return a;
      data_.append(buf, static_cast<size_t>(n));
    }
    a.head = data_.substr(0, head_end + 2);
    data_.erase(0, head_end + 4);
    if (a.head.size() > 12 && a.head.starts_with("HTTP/1.1 ")) {
      a.status = std::stoi(a.head.substr(9, 3));
    }
    size_t length = 0;
    size_t at = a.head.find("Content-Length: ");
    if (at != std::string::npos) length = std::stoul(a.head.substr(at + 16));
    while (data_.size() < length) {
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) break;
      data_.append(buf, static_cast<size_t>(n));
    }
    a.body = data_.substr(0, length);
    data_.erase(0, std::min(length, data_.size()));
    if (a.status == 100 && !interim) return Read();
    return a;
  }
  // True when the server closes the connection (EOF or reset) before the receive timeout.
  bool ClosedByServer() {
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string data_;  // received, not yet returned
  uint64_t sent_ = 0;
};

std::string PostHead(const std::string& extra_headers, const std::string& token = kToken) {
  return "POST /v1/streams/clicks/events HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
         (token.empty() ? std::string() : "Authorization: Bearer " + token + "\r\n") +
         extra_headers + "\r\n";
}

std::string Ndjson(size_t bytes) {  // valid events, about `bytes` long
  std::string out;
  for (int i = 0; out.size() < bytes; ++i) out += "{\"page\":\"p" + std::to_string(i) + "\"}\n";
  return out;
}

std::string Chunk(std::string_view data) {
  char size[32];
  snprintf(size, sizeof(size), "%zx\r\n", data.size());
  return std::string(size) + std::string(data) + "\r\n";
}

int64_t RssBytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmRSS:")) return std::stoll(line.substr(6)) * 1024;
  }
  return -1;
}

// Samples this process's RSS every few milliseconds while alive; max_growth() is the largest
// rise over the RSS at construction.
class RssSampler {
 public:
  RssSampler() : base_(RssBytes()) {
    thread_ = std::thread([this] {
      while (!stop_) {
        max_ = std::max<int64_t>(max_, RssBytes());
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
  }
  ~RssSampler() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    max_ = std::max<int64_t>(max_, RssBytes());
  }
  int64_t max_growth() const { return max_ - base_; }

 private:
  const int64_t base_;
  std::atomic<int64_t> max_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Sends `total` body bytes after `head` (as chunks when `chunked`) from another thread until
// the server closes the connection, while this thread reads the answer.
struct BigBodyResult {
  RawClient::Answer answer;
  uint64_t body_bytes_sent = 0;
  int64_t rss_growth = 0;
};
BigBodyResult SendBigBody(int port, const std::string& head, uint64_t total, bool chunked) {
  BigBodyResult result;
  RssSampler rss;
  RawClient client(port);
  EXPECT_TRUE(client.connected());
  EXPECT_TRUE(client.Send(head));
  const std::string piece = Ndjson(1 << 20).substr(0, 1 << 20);
  const std::string chunk = Chunk(piece);
  std::atomic<uint64_t> body_sent{0};
  std::thread sender([&] {
    uint64_t sent = 0;
    while (sent < total) {
      if (!client.Send(chunked ? chunk : piece)) return;
      sent += piece.size();
      body_sent = sent;
    }
    if (chunked) client.Send("0\r\n\r\n");
  });
  result.answer = client.Read();
  sender.join();
  rss.Stop();
  result.body_bytes_sent = body_sent;
  result.rss_growth = rss.max_growth();
  return result;
}

// ---- authentication before the body; body limits ----

TEST(ServerTest, UnauthenticatedChunkedBodyIsRefusedUnread) {
  ServerUnderTest server;
  ASSERT_GT(server.port(), 0);
  constexpr uint64_t kBody = uint64_t{400} << 20;
  BigBodyResult r = SendBigBody(server.port(), PostHead("Transfer-Encoding: chunked\r\n", ""),
                                kBody, /*chunked=*/true);
  EXPECT_EQ(r.answer.status, 401) << r.answer.head << r.answer.body;
  EXPECT_TRUE(r.answer.Has("WWW-Authenticate: Bearer")) << r.answer.head;
  EXPECT_TRUE(r.answer.Has("Connection: close")) << r.answer.head;
  // The server closed the connection long before the 400 MiB were through.
  EXPECT_LT(r.body_bytes_sent, uint64_t{64} << 20);
  EXPECT_LT(r.rss_growth, int64_t{48} << 20) << "the server buffered the refused body";
  EXPECT_EQ(server.NextOffset(), 0);
}

TEST(ServerTest, UnauthenticatedFixedLengthBodyIsRefusedUnread) {
  ServerUnderTest server;
  constexpr uint64_t kBody = uint64_t{60} << 20;  // under the 64 MiB limit
  BigBodyResult r =
      SendBigBody(server.port(), PostHead(StrCat("Content-Length: ", kBody, "\r\n"), "wrong"),
                  kBody, /*chunked=*/false);
  EXPECT_EQ(r.answer.status, 401) << r.answer.head << r.answer.body;
  EXPECT_LT(r.body_bytes_sent, uint64_t{40} << 20);
  EXPECT_LT(r.rss_growth, int64_t{24} << 20) << "the server buffered the refused body";
}

TEST(ServerTest, Expect100ContinueIsAnsweredWithTheRefusalInstead) {
  ServerUnderTest server;
  RawClient client(server.port());
  ASSERT_TRUE(client.Send(PostHead("Content-Length: 1000\r\nExpect: 100-continue\r\n", "")));
  // The first answer is the refusal, not "100 Continue": the client never sends the body.
  RawClient::Answer a = client.Read(/*interim=*/true);
  EXPECT_EQ(a.status, 401) << a.head;
  EXPECT_TRUE(client.ClosedByServer());
  // With the token, the server asks for the body and takes it.
  RawClient authorized(server.port());
  const std::string events = "{\"a\":1}\n";
  ASSERT_TRUE(authorized.Send(
      PostHead(StrCat("Content-Length: ", events.size(), "\r\nExpect: 100-continue\r\n"))));
  EXPECT_EQ(authorized.Read(/*interim=*/true).status, 100);
  ASSERT_TRUE(authorized.Send(events));
  EXPECT_EQ(authorized.Read().status, 200);
}

TEST(ServerTest, AuthenticatedChunkedBodyOverTheLimitIs413AndNotAppended) {
  ServerUnderTest server("  max_body_bytes: 1MiB\n");
  constexpr uint64_t kBody = uint64_t{8} << 20;
  BigBodyResult r = SendBigBody(server.port(), PostHead("Transfer-Encoding: chunked\r\n"), kBody,
                                /*chunked=*/true);
  EXPECT_EQ(r.answer.status, 413) << r.answer.head << r.answer.body;
  EXPECT_NE(r.answer.body.find("server.max_body_bytes"), std::string::npos) << r.answer.body;
  EXPECT_EQ(server.NextOffset(), 0);
}

TEST(ServerTest, FixedLengthBodyOverTheLimitIs413BeforeItIsRead) {
  ServerUnderTest server("  max_body_bytes: 1MiB\n");
  RawClient client(server.port());
  // Only the head is sent: the answer cannot depend on reading the body.
  ASSERT_TRUE(client.Send(PostHead("Content-Length: 2097152\r\n")));
  RawClient::Answer a = client.Read();
  EXPECT_EQ(a.status, 413) << a.head << a.body;
  EXPECT_TRUE(client.ClosedByServer());
  // Within the limit, a body is taken.
  httplib::Client c("127.0.0.1", server.port());
  auto ok = c.Post("/v1/streams/clicks/events", {{"Authorization", StrCat("Bearer ", kToken)}},
                   Ndjson(1000), "application/x-ndjson");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
}

TEST(ServerTest, AuthenticatedRefusalReachesAClientThatSendsItsWholeBodyFirst) {
  ServerUnderTest server;
  // cpp-httplib's client writes the whole 8 MiB (more than the socket buffers) before reading:
  // the refusal comes before the body, which the server then reads and drops, unbuffered.
  httplib::Client c("127.0.0.1", server.port());
  c.set_write_timeout(20);
  c.set_read_timeout(20);
  auto r = c.Post("/v1/streams/nope/events", {{"Authorization", StrCat("Bearer ", kToken)}},
                  Ndjson(8 << 20), "application/x-ndjson");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 404) << r->body;
  EXPECT_EQ(r->get_header_value("Connection"), "close");
}

TEST(ServerTest, BodyWithoutLengthOrOnAnotherRouteIsRefusedUnread) {
  ServerUnderTest server;
  {
    RawClient client(server.port());
    ASSERT_TRUE(client.Send(PostHead("")));  // neither Content-Length nor chunked
    EXPECT_EQ(client.Read().status, 411);
  }
  {
    RawClient client(server.port());
    ASSERT_TRUE(client.Send("GET /healthz HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"));
    EXPECT_EQ(client.Read().status, 413);
    EXPECT_TRUE(client.ClosedByServer());
  }
}

// ---- headers ----

TEST(ServerTest, TooManyHeadersAre431) {
  ServerUnderTest server;
  RawClient client(server.port());
  std::string head = "GET /healthz HTTP/1.1\r\n";
  for (int i = 0; i < 500000; ++i) head += "X-H: v\r\n";
  head += "\r\n";
  std::thread sender([&] { client.Send(head); });
  RawClient::Answer a = client.Read();
  sender.join();
  EXPECT_EQ(a.status, 431) << a.head << a.body;
  // (The 4 MB may well fit in the sockets' buffers; the server reads at most about 1 MiB of
  // it and closes.)
  EXPECT_TRUE(client.ClosedByServer());
}

TEST(ServerTest, HeaderCountAndSizeLimitsAreSettings) {
  ServerUnderTest server("  max_headers: 20\n  max_header_bytes: 4KiB\n");
  auto request = [&](int headers, size_t value_bytes) {
    RawClient client(server.port());
    std::string head = "GET /healthz HTTP/1.1\r\n";
    for (int i = 0; i < headers; ++i) {
      head += StrCat("X-H", i, ": ", std::string(value_bytes, 'v'), "\r\n");
    }
    client.Send(head + "\r\n");
    return client.Read().status;
  };
  EXPECT_EQ(request(20, 10), 200);
  EXPECT_EQ(request(21, 10), 431);
  EXPECT_EQ(request(1, 3000), 200);
  EXPECT_EQ(request(1, 5000), 431);
}

TEST(ServerTest, SlowHeaderClientsDoNotStarveHealthz) {
  ServerUnderTest server("", /*threads=*/2);
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int i = 0; i < 8; ++i) {
    slow.push_back(std::make_unique<RawClient>(server.port()));
    ASSERT_TRUE(slow.back()->Send("GET /healthz HTTP/1.1\r\n"));
  }
  std::atomic<bool> done{false};
  std::thread trickle([&] {  // a header line per client every 200 ms, never the blank line
    for (int round = 0; !done && round < 100; ++round) {
      for (auto& c : slow) c->Send(StrCat("X-Slow-", round, ": 1\r\n"));
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });
  httplib::Client c("127.0.0.1", server.port());
  c.set_connection_timeout(10);
  c.set_read_timeout(10);
  auto health = c.Get("/healthz");
  done = true;
  trickle.join();
  ASSERT_TRUE(health) << "GET /healthz got no answer while slow clients held connections";
  EXPECT_EQ(health->status, 200);
}

TEST(ServerTest, SlowHeadersGet408AndIdleConnectionsClose) {
  ServerUnderTest server("  header_timeout: 1s\n  idle_timeout: 1s\n");
  RawClient slow(server.port());
  ASSERT_TRUE(slow.Send("GET /healthz HTTP/1.1\r\nX-A: 1\r\n"));
  RawClient::Answer a = slow.Read();  // no more lines: the header deadline passes
  EXPECT_EQ(a.status, 408) << a.head << a.body;
  EXPECT_TRUE(slow.ClosedByServer());

  RawClient idle(server.port());
  ASSERT_TRUE(idle.Send("GET /healthz HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(idle.Read().status, 200);
  EXPECT_TRUE(idle.ClosedByServer());  // after the idle timeout, not by the client
}

TEST(ServerTest, ConnectionLimitRefusesWith503AndRetryAfter) {
  ServerUnderTest server("  max_connections: 4\n");
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<RawClient>(server.port()));
    ASSERT_TRUE(held.back()->connected());
  }
  RawClient refused(server.port());
  RawClient::Answer a = refused.Read();
  EXPECT_EQ(a.status, 503) << a.head << a.body;
  EXPECT_TRUE(a.Has("Retry-After: 1")) << a.head;
  EXPECT_NE(a.body.find("server.max_connections"), std::string::npos) << a.body;
  // Once a held connection goes, a new client is served again.
  held.clear();
  int status = 0;
  for (int attempt = 0; attempt < 100 && status != 200; ++attempt) {
    RawClient client(server.port());
    client.Send("GET /healthz HTTP/1.1\r\n\r\n");
    status = client.Read().status;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(status, 200);
}

// ---- bodies that end early or late ----

TEST(ServerTest, TruncatedBodyIsRejectedAndNeverAppended) {
  ServerUnderTest server;
  const std::string events = Ndjson(2000);
  {
    RawClient client(server.port());
    ASSERT_TRUE(client.Send(
        PostHead(StrCat("Content-Length: ", events.size(), "\r\nIdempotency-Key: k1\r\n"))));
    ASSERT_TRUE(client.Send(events.substr(0, events.size() / 2)));  // whole lines only
    client.ShutdownWrite();
    RawClient::Answer a = client.Read();
    EXPECT_EQ(a.status, 400) << a.head << a.body;
  }
  {
    RawClient client(server.port());
    ASSERT_TRUE(client.Send(PostHead("Transfer-Encoding: chunked\r\nIdempotency-Key: k1\r\n")));
    ASSERT_TRUE(client.Send(Chunk(events.substr(0, 1000))));  // and no last chunk
    client.ShutdownWrite();
    EXPECT_EQ(client.Read().status, 400);
  }
  EXPECT_EQ(server.NextOffset(), 0);
  // The client's retry of the whole body is appended once.
  httplib::Client c("127.0.0.1", server.port());
  httplib::Headers headers = {{"Authorization", StrCat("Bearer ", kToken)},
                              {"Idempotency-Key", "k1"}};
  auto ok = c.Post("/v1/streams/clicks/events", headers, events, "application/x-ndjson");
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 200) << ok->body;
  auto j = nlohmann::json::parse(ok->body);
  EXPECT_EQ(j["first_offset"], 0);
  EXPECT_FALSE(j["duplicate"].get<bool>());
  EXPECT_EQ(server.NextOffset(), j["count"].get<int64_t>());
}

TEST(ServerTest, StalledBodyGets408AndIsNotAppended) {
  ServerUnderTest server("  body_timeout: 1s\n");
  RawClient client(server.port());
  ASSERT_TRUE(client.Send(PostHead("Content-Length: 1000\r\n")));
  ASSERT_TRUE(client.Send("{\"page\":\"a\"}\n"));  // then nothing
  RawClient::Answer a = client.Read();
  EXPECT_EQ(a.status, 408) << a.head << a.body;
  EXPECT_EQ(server.NextOffset(), 0);
}

// ---- idempotency keys and tokens ----

TEST(ServerTest, IdempotencyKeyReusedWithADifferentBodyIs422) {
  ServerUnderTest server;
  httplib::Client c("127.0.0.1", server.port());
  httplib::Headers headers = {{"Authorization", StrCat("Bearer ", kToken)},
                              {"Idempotency-Key", "batch-1"}};
  auto first = c.Post("/v1/streams/clicks/events", headers, "{\"a\":1}\n{\"a\":2}\n",
                      "application/x-ndjson");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;
  auto retry = c.Post("/v1/streams/clicks/events", headers, "{\"a\":1}\n{\"a\":2}\n",
                      "application/x-ndjson");
  ASSERT_TRUE(retry);
  ASSERT_EQ(retry->status, 200) << retry->body;
  EXPECT_TRUE(nlohmann::json::parse(retry->body)["duplicate"].get<bool>());
  auto reused = c.Post("/v1/streams/clicks/events", headers, "{\"a\":3}\n", "application/x-ndjson");
  ASSERT_TRUE(reused);
  EXPECT_EQ(reused->status, 422) << reused->body;
  EXPECT_NE(reused->body.find("Idempotency-Key"), std::string::npos) << reused->body;
  EXPECT_EQ(server.NextOffset(), 2);
}

TEST(ServerTest, AuthorizationSchemeIsCaseInsensitiveAndTokensMustMatch) {
  ServerUnderTest server;
  httplib::Client c("127.0.0.1", server.port());
  auto post = [&](const std::string& authorization) {
    auto r = c.Post("/v1/streams/clicks/events", {{"Authorization", authorization}}, "{\"a\":1}\n",
                    "application/x-ndjson");
    return r ? r->status : 0;
  };
  EXPECT_EQ(post(StrCat("Bearer ", kToken)), 200);
  EXPECT_EQ(post(StrCat("bearer ", kToken)), 200);
  EXPECT_EQ(post(StrCat("BEARER  ", kToken)), 200);
  EXPECT_EQ(post(StrCat("Basic ", kToken)), 401);
  EXPECT_EQ(post(StrCat("Bearer ", kToken, "x")), 401);
  EXPECT_EQ(post(StrCat("Bearer ", std::string(kToken).substr(1))), 401);
  EXPECT_EQ(post("Bearer"), 401);
  EXPECT_EQ(server.NextOffset(), 3);
}

TEST(ServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  ServerUnderTest server;
  RawClient client(server.port());
  const std::string events = "{\"a\":1}\n";
  // Two requests in one write (pipelined), then a third.
  std::string two;
  for (int i = 0; i < 2; ++i) {
    two += PostHead(StrCat("Content-Length: ", events.size(), "\r\n")) + events;
  }
  ASSERT_TRUE(client.Send(two));
  EXPECT_EQ(client.Read().status, 200);
  EXPECT_EQ(client.Read().status, 200);
  ASSERT_TRUE(client.Send("GET /healthz HTTP/1.1\r\n\r\n"));
  RawClient::Answer a = client.Read();
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "ok\n");
  EXPECT_EQ(server.NextOffset(), 2);
}

// ---- pieces ----

TEST(BearerAuthTest, SchemeAnyCaseTokenExact) {
  BearerAuth auth("s3cret");
  EXPECT_EQ(auth.Check("Bearer s3cret"), BearerAuth::Result::kOk);
  EXPECT_EQ(auth.Check("bEaReR\ts3cret "), BearerAuth::Result::kOk);
  EXPECT_EQ(auth.Check(""), BearerAuth::Result::kMissing);
  EXPECT_EQ(auth.Check("Bearer"), BearerAuth::Result::kNotBearer);
  EXPECT_EQ(auth.Check("Bearer "), BearerAuth::Result::kNotBearer);
  EXPECT_EQ(auth.Check("Bearers3cret"), BearerAuth::Result::kNotBearer);
  EXPECT_EQ(auth.Check("Basic s3cret"), BearerAuth::Result::kNotBearer);
  EXPECT_EQ(auth.Check("Bearer s3cre"), BearerAuth::Result::kWrongToken);
  EXPECT_EQ(auth.Check("Bearer s3cret2"), BearerAuth::Result::kWrongToken);
  EXPECT_EQ(auth.Check("Bearer S3CRET"), BearerAuth::Result::kWrongToken);
}

TEST(ServerSettingsTest, ParsesSizesDurationsAndRefusesUnknownKeys) {
  auto parse = [](const std::string& yml, HttpLimits* limits) {
    return ParseServerSettings(YAML::Load(yml), limits);
  };
  HttpLimits limits;
  ASSERT_TRUE(parse("{}", &limits).ok());
  EXPECT_EQ(limits.max_body_bytes, size_t{64} << 20);
  ASSERT_TRUE(parse("{max_body_bytes: 8MiB, max_header_bytes: 16384, max_headers: 50, "
                    "header_timeout: 2s, body_timeout: 1m, idle_timeout: 500ms, "
                    "max_connections: 10}",
                    &limits)
                  .ok());
  EXPECT_EQ(limits.max_body_bytes, size_t{8} << 20);
  EXPECT_EQ(limits.max_header_bytes, 16384u);
  EXPECT_EQ(limits.max_headers, 50u);
  EXPECT_EQ(limits.header_timeout, absl::Seconds(2));
  EXPECT_EQ(limits.body_timeout, absl::Minutes(1));
  EXPECT_EQ(limits.idle_timeout, absl::Milliseconds(500));
  EXPECT_EQ(limits.max_connections, 10);
  Status typo = parse("{max_body_byte: 1}", &limits);
  EXPECT_EQ(typo.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(typo.message().find("server.max_body_byte"), std::string::npos) << typo;
  EXPECT_FALSE(parse("{max_body_bytes: lots}", &limits).ok());
  EXPECT_FALSE(parse("{max_connections: 0}", &limits).ok());
  EXPECT_FALSE(parse("{header_timeout: 0s}", &limits).ok());
  EXPECT_EQ(*ParseByteSize("512KiB"), 512u << 10);
  EXPECT_EQ(*ParseByteSize("1 GiB"), uint64_t{1} << 30);
  EXPECT_FALSE(ParseByteSize("1TB").ok());
}

}  // namespace
}  // namespace watershed::server
