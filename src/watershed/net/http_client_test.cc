// Tests HttpClient against a real cpp-httplib server on 127.0.0.1 (hermetic: nothing else).
// Back-off sleeps go to a FakeClock, so only the timeout test waits in real time.
#include "watershed/net/http_client.h"

// Debian builds libcpp-httplib with these; the header must see the same to match the library.
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#ifndef CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#endif
#ifndef CPPHTTPLIB_BROTLI_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#endif
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "spdlog/sinks/ostream_sink.h"
#include "watershed/base/log.h"

namespace watershed::net {
namespace {

constexpr char kHeaderSecret[] = "hdr-secret-5f2c9a";
constexpr char kUrlSecret[] = "url-secret-77ab31";

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_header("X-Reply", "yes");
      res.set_content(StrCat("{\"test\":\"", req.get_header_value("X-Test"), "\",\"q\":\"",
                             req.get_param_value("q"), "\",\"accept_encoding\":\"",
                             req.get_header_value("Accept-Encoding"), "\"}"),
                      "application/json");
    });
    server_.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_header("X-Content-Type", req.get_header_value("Content-Type"));
      res.set_content(req.body, "application/json");
    });
    server_.Put("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_header("X-Content-Type", req.get_header_value("Content-Type"));
      res.set_content(StrCat("PUT ", req.body), "text/plain");
    });
    server_.Delete("/echo", [](const httplib::Request&, httplib::Response& res) {
      res.status = 204;
    });
    server_.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      std::string body = "[";
      for (int i = 0; i < 20000; ++i) body += StrCat(i == 0 ? "" : ",", "{\"i\":", i, "}");
      res.set_content(body + "]", "application/json");
    });
    server_.Get("/fail-once", [this](const httplib::Request&, httplib::Response& res) {
      if (fail_once_calls_++ == 0) {
        res.status = 500;
        res.set_content("oops", "text/plain");
      } else {
        res.set_content("{\"ok\":true}", "application/json");
      }
    });
    server_.Get("/throttle-once", [this](const httplib::Request&, httplib::Response& res) {
      if (throttle_calls_++ == 0) {
        res.status = 429;
        res.set_header("Retry-After", "1");
      } else {
        res.set_content("{\"ok\":true}", "application/json");
      }
    });
    server_.Get("/always-429",
                [](const httplib::Request&, httplib::Response& res) { res.status = 429; });
    server_.Get("/always-503", [](const httplib::Request&, httplib::Response& res) {
      res.status = 503;
      res.set_content(StrCat("echo of your key: ", kHeaderSecret), "text/plain");
    });
    server_.Get(R"(/hooks/.*)",
                [](const httplib::Request&, httplib::Response& res) { res.status = 503; });
    server_.Get("/missing", [this](const httplib::Request&, httplib::Response& res) {
      ++missing_calls_;
      res.status = 404;
      res.set_content("{\"error\":\"no such entity\"}", "application/json");
    });
    server_.Get("/truncated", [this](const httplib::Request&, httplib::Response& res) {
      ++truncated_calls_;
      // Promises 1000 bytes, sends 5, then gives up: the connection closes mid-body.
      res.set_content_provider(1000, "application/octet-stream",
                               [](size_t, size_t, httplib::DataSink& sink) {
                                 sink.write("{\"a\":", 5);
                                 return false;
                               });
    });
    server_.Get("/slow", [this](const httplib::Request&, httplib::Response& res) {
      ++slow_calls_;
      for (int i = 0; i < 200 && !stopping_; ++i) {  // up to 2 s; ends early at TearDown
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      res.set_content("late", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_TRUE(server_.is_running());
  }

  void TearDown() override {
    stopping_ = true;
    server_.stop();
    thread_.join();
  }

  std::string Url(std::string_view path) { return StrCat("http://127.0.0.1:", port_, path); }

  // Fast retries on a fake clock.
  HttpClientOptions Options() {
    HttpClientOptions options;
    options.retry = RetryPolicy{.max_attempts = 3,
                                .initial_backoff = absl::Milliseconds(100),
                                .multiplier = 2.0,
                                .max_backoff = absl::Seconds(2),
                                .jitter = 0.0};
    options.connect_timeout = absl::Seconds(2);
    options.request_timeout = absl::Seconds(5);
    options.clock = &clock_;
    return options;
  }

  static HttpRequest Get(std::string url) {
    HttpRequest request;
    request.url = std::move(url);
    return request;
  }

  FakeClock clock_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> fail_once_calls_{0};
  std::atomic<int> throttle_calls_{0};
  std::atomic<int> missing_calls_{0};
  std::atomic<int> truncated_calls_{0};
  std::atomic<int> slow_calls_{0};
};

// A port on 127.0.0.1 that refuses connections while the object lives (bound, not listening).
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~RefusingPort() {
    if (fd_ >= 0) ::close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST_F(HttpClientTest, GetReturnsBodyAndLowerCasedHeaders) {
  HttpClientOptions gzip = Options();
  gzip.accept_gzip = true;
  HttpClient client(gzip);
  HttpRequest request = Get(Url("/echo?q=organizations"));
  request.headers = {{"X-Test", "hello"}};
  StatusOr<HttpResponse> response = client.Send(request);
  ASSERT_TRUE(response.ok()) << MessageOf(response.status());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->attempts, 1);
  EXPECT_NE(response->body.find("\"test\":\"hello\""), std::string::npos) << response->body;
  EXPECT_NE(response->body.find("\"q\":\"organizations\""), std::string::npos);
  EXPECT_NE(response->body.find("gzip"), std::string::npos) << "Accept-Encoding offers gzip";
  EXPECT_EQ(response->headers["x-reply"], "yes");
  EXPECT_EQ(response->headers["content-type"], "application/json");
  EXPECT_EQ(client.stats().requests.load(), 1u);
  EXPECT_EQ(client.stats().retries.load(), 0u);
  EXPECT_EQ(client.stats().bytes.load(), response->body.size());
}

TEST_F(HttpClientTest, CompressedBodyIsDecoded) {
  HttpClientOptions gzip = Options();
  gzip.accept_gzip = true;
  HttpClient client(gzip);
  StatusOr<HttpResponse> response = client.Send(Get(Url("/big")));
  ASSERT_TRUE(response.ok()) << MessageOf(response.status());
  EXPECT_EQ(response->status, 200);
  EXPECT_FALSE(response->headers["content-encoding"].empty()) << "server compressed it";
  EXPECT_TRUE(response->body.starts_with("[{\"i\":0},"));
  EXPECT_TRUE(response->body.ends_with(",{\"i\":19999}]"));
}

TEST_F(HttpClientTest, PostSendsJsonBody) {
  HttpClient client(Options());
  HttpRequest request;
  request.method = "POST";
  request.url = Url("/echo");
  request.body = R"({"field_ids":["identifier"],"limit":10})";
  StatusOr<HttpResponse> response = client.Send(request);
  ASSERT_TRUE(response.ok()) << MessageOf(response.status());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, request.body);
  EXPECT_EQ(response->headers["x-content-type"], "application/json");
}

TEST_F(HttpClientTest, PutDeleteAndHeadAreSent) {
  HttpClient client(Options());
  HttpRequest put = Get(Url("/echo"));
  put.method = "PUT";
  put.body = std::string("bytes\0with a nul", 16);
  StatusOr<HttpResponse> r = client.Send(put);
  ASSERT_TRUE(r.ok()) << MessageOf(r.status());
  EXPECT_EQ(r->body, StrCat("PUT ", put.body));
  EXPECT_EQ(r->headers["x-content-type"], "application/octet-stream");
  HttpRequest del = Get(Url("/echo"));
  del.method = "DELETE";
  r = client.Send(del);
  ASSERT_TRUE(r.ok()) << MessageOf(r.status());
  EXPECT_EQ(r->status, 204);
  HttpRequest head = Get(Url("/echo"));
  head.method = "HEAD";
  r = client.Send(head);
  ASSERT_TRUE(r.ok()) << MessageOf(r.status());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->headers["x-reply"], "yes");
  EXPECT_TRUE(r->body.empty());
}

TEST_F(HttpClientTest, ServerErrorIsRetried) {
  HttpClient client(Options());
  StatusOr<HttpResponse> response = client.Send(Get(Url("/fail-once")));
  ASSERT_TRUE(response.ok()) << MessageOf(response.status());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->attempts, 2);
  EXPECT_EQ(fail_once_calls_.load(), 2);
  EXPECT_EQ(clock_.total_slept(), absl::Milliseconds(100));  // the policy's first back-off
  EXPECT_EQ(client.stats().requests.load(), 2u);
  EXPECT_EQ(client.stats().retries.load(), 1u);
}

TEST_F(HttpClientTest, TooManyRequestsHonoursRetryAfter) {
  HttpClient client(Options());
  StatusOr<HttpResponse> response = client.Send(Get(Url("/throttle-once")));
  ASSERT_TRUE(response.ok()) << MessageOf(response.status());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->attempts, 2);
  EXPECT_EQ(clock_.total_slept(), absl::Seconds(1));  // Retry-After, not the 100 ms back-off
  EXPECT_EQ(client.stats().throttled.load(), 1u);
}

TEST_F(HttpClientTest, PersistentThrottlingIsResourceExhausted) {
  HttpClient client(Options());
  StatusOr<HttpResponse> response = client.Send(Get(Url("/always-429")));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(MessageOf(response.status()),
            StrCat("GET ", Url("/always-429"), ": HTTP 429 after 3 attempts"));
  EXPECT_EQ(client.stats().throttled.load(), 3u);
  EXPECT_EQ(clock_.total_slept(), absl::Milliseconds(100 + 200));
}

TEST_F(HttpClientTest, NotFoundIsAResponseAndNotRetried) {
  HttpClient client(Options());
  StatusOr<HttpResponse> response = client.Send(Get(Url("/missing")));
  ASSERT_TRUE(response.ok()) << MessageOf(response.status());
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(response->attempts, 1);
  EXPECT_NE(response->body.find("no such entity"), std::string::npos);
  EXPECT_EQ(missing_calls_.load(), 1);
  EXPECT_EQ(clock_.sleep_count(), 0);
}

TEST_F(HttpClientTest, TruncatedBodyIsRetriedThenUnavailable) {
  HttpClient client(Options());
  StatusOr<HttpResponse> response = client.Send(Get(Url("/truncated")));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable)
      << MessageOf(response.status());
  EXPECT_NE(MessageOf(response.status()).find("after 3 attempts"), std::string::npos)
      << MessageOf(response.status());
  EXPECT_EQ(truncated_calls_.load(), 3);
  EXPECT_EQ(client.stats().retries.load(), 2u);
}

TEST_F(HttpClientTest, SlowServerTimesOut) {
  HttpClientOptions options = Options();
  options.request_timeout = absl::Milliseconds(300);
  options.retry.max_attempts = 2;
  HttpClient client(options);
  const absl::Time start = absl::Now();
  StatusOr<HttpResponse> response = client.Send(Get(Url("/slow")));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded)
      << MessageOf(response.status());
  EXPECT_EQ(slow_calls_.load(), 2);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1500));
}

TEST_F(HttpClientTest, RefusedConnectionIsUnavailable) {
  RefusingPort refusing;
  ASSERT_GT(refusing.port(), 0);
  HttpClient client(Options());
  StatusOr<HttpResponse> response =
      client.Send(Get(StrCat("http://127.0.0.1:", refusing.port(), "/x")));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable)
      << MessageOf(response.status());
  EXPECT_EQ(client.stats().requests.load(), 3u);
}

TEST_F(HttpClientTest, BadUrlsFailAtOnce) {
  HttpClient client(Options());
  for (const char* url : {"ftp://127.0.0.1/x", "not a url", "http://[::1"}) {
    StatusOr<HttpResponse> response = client.Send(Get(url));
    ASSERT_FALSE(response.ok()) << url;
    EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument)
        << url << ": " << MessageOf(response.status());
  }
  EXPECT_EQ(clock_.sleep_count(), 0);
  HttpRequest patch = Get(Url("/echo"));
  patch.method = "PATCH";
  EXPECT_EQ(client.Send(patch).status().code(), absl::StatusCode::kInvalidArgument);
  HttpRequest smuggle = Get(Url("/echo"));
  smuggle.headers = {{"X-Test", "a\r\nX-Evil: 1"}};
  EXPECT_EQ(client.Send(smuggle).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client.stats().requests.load(), 3u);  // only the three URLs reached curl
}

TEST_F(HttpClientTest, SecretsNeverAppearInErrorsOrLogs) {
  std::ostringstream log;
  InitLogging(LogFormat::kHuman, spdlog::level::debug,
              std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  HttpClientOptions options = Options();
  options.secret_headers = {"x-CB-user-key"};  // matched case-insensitively
  options.request_timeout = absl::Milliseconds(300);
  options.retry.max_attempts = 2;
  HttpClient client(options);
  RefusingPort refusing;
  const std::string query = StrCat("?user_key=", kUrlSecret, "&field_ids=identifier");
  const std::vector<std::string> urls = {
      Url(StrCat("/always-503", query)),
      Url(StrCat("/truncated", query)),
      Url(StrCat("/slow", query)),
      StrCat("http://127.0.0.1:", refusing.port(), "/x", query),
      StrCat("ftp://127.0.0.1/", query),
      StrCat("http://user:", kUrlSecret, "@127.0.0.1:", refusing.port(), "/"),
      Url(StrCat("/always-503?key=", kUrlSecret)),
  };
  for (const std::string& url : urls) {
    HttpRequest request = Get(url);
    request.headers = {{"X-Cb-User-Key", kHeaderSecret}};
    StatusOr<HttpResponse> response = client.Send(request);
    ASSERT_FALSE(response.ok()) << url;
    const std::string message(MessageOf(response.status()));
    EXPECT_EQ(message.find(kHeaderSecret), std::string::npos) << message;
    EXPECT_EQ(message.find(kUrlSecret), std::string::npos) << message;
    EXPECT_NE(message.find("***"), std::string::npos) << message;
  }
  HttpRequest smuggle = Get(Url("/echo"));
  smuggle.headers = {{"X-Cb-User-Key", StrCat(kHeaderSecret, "\n")}};
  StatusOr<HttpResponse> rejected = client.Send(smuggle);
  EXPECT_EQ(MessageOf(rejected.status()).find(kHeaderSecret), std::string::npos);
  FlushLogs();
  InitLogging(LogFormat::kHuman, spdlog::level::info);
  EXPECT_NE(log.str().find("retrying"), std::string::npos) << log.str();
  EXPECT_EQ(log.str().find(kHeaderSecret), std::string::npos) << log.str();
  EXPECT_EQ(log.str().find(kUrlSecret), std::string::npos) << log.str();
}

// No secret_headers: credential headers, credential query parameters and webhook-style paths
// are recognised by the rules of base/redact.h alone.
TEST_F(HttpClientTest, CredentialsByNameAndSecretPathsNeverAppear) {
  std::ostringstream log;
  InitLogging(LogFormat::kHuman, spdlog::level::debug,
              std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  HttpClient client(Options());
  const std::string hook_secret = "Zk3rQ9aLm2xYw7Vb1Nc8Pd4F";
  HttpRequest request = Get(Url(
      StrCat("/hooks/B05EF34GH/", hook_secret, "?access_token=tok-1a2b3c&X-Amz-Signature=f00d")));
  request.headers = {{"Authorization", "Bearer bearer-9z8y7x"}, {"X-Api-Key", "xkey-4d5e6f"}};
  StatusOr<HttpResponse> response = client.Send(request);
  ASSERT_FALSE(response.ok());
  FlushLogs();
  InitLogging(LogFormat::kHuman, spdlog::level::info);
  const std::string message(MessageOf(response.status()));
  for (const std::string& text : {message, log.str()}) {
    for (const std::string& secret :
         {hook_secret, std::string("tok-1a2b3c"), std::string("f00d"), std::string("bearer-9z8y7x"),
          std::string("xkey-4d5e6f"), std::string("B05EF34GH")}) {
      EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in " << text;
    }
  }
  EXPECT_NE(message.find(StrCat("GET http://127.0.0.1:", port_, "/hooks/***?access_token=***")),
            std::string::npos)
      << message;
  EXPECT_NE(log.str().find("retrying"), std::string::npos) << log.str();
}

TEST_F(HttpClientTest, EveryAttemptWaitsOnTheRateLimiter) {
  RateLimiter limiter(3, absl::Seconds(60), &clock_);
  HttpClientOptions options = Options();
  options.rate_limiter = &limiter;
  HttpClient client(options);
  ASSERT_TRUE(client.Send(Get(Url("/echo"))).ok());
  ASSERT_TRUE(client.Send(Get(Url("/fail-once"))).ok());  // two attempts: 100 ms back-off
  EXPECT_EQ(limiter.InWindow(), 3);
  EXPECT_EQ(clock_.total_slept(), absl::Milliseconds(100));
  ASSERT_TRUE(client.Send(Get(Url("/echo"))).ok());  // budget spent: waits out the window
  EXPECT_EQ(clock_.total_slept(), absl::Seconds(60));
}

TEST_F(HttpClientTest, OneClientServesManyThreads) {
  HttpClient client(Options());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        HttpRequest request = Get(Url(StrCat("/echo?q=", t, "-", i)));
        StatusOr<HttpResponse> response = client.Send(request);
        if (response.ok() && response->status == 200 &&
            response->body.find(StrCat("\"q\":\"", t, "-", i, "\"")) != std::string::npos) {
          ++ok;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 40);
  EXPECT_EQ(client.stats().requests.load(), 40u);
}

TEST(ParseRetryAfterTest, SecondsAndHttpDates) {
  const absl::Time now = absl::FromUnixSeconds(1445412000);  // 2015-10-21 07:20:00 UTC
  EXPECT_EQ(ParseRetryAfter("1", now), absl::Seconds(1));
  EXPECT_EQ(ParseRetryAfter(" 120 ", now), absl::Seconds(120));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now), absl::Minutes(8));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:00:00 GMT", now), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-5", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("soon", now), std::nullopt);
}

}  // namespace
}  // namespace watershed::net
