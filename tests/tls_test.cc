// tests/tls_test.cc — `watershed serve` over TLS (issue 16 point 4), checked with independent
// clients (curl, openssl s_client) and a certificate this test makes with the openssl tool:
// TLS 1.2 and 1.3 handshakes (1.1 refused), ingest and keep-alive over HTTPS, plain HTTP on the
// TLS port answered with where to go, a client that never finishes its handshake closed, plain
// HTTP refused beyond loopback unless --insecure-listen, the self-signed trial certificate and
// its fingerprint, and bad certificate files named.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "tests/harness.h"
#include "watershed/base/strings.h"

namespace {

using watershed::StrCat;
using watershed::testing_util::ChildProcess;
using watershed::testing_util::FreePort;
using watershed::testing_util::MakeTempDir;
using watershed::testing_util::Outcome;
using watershed::testing_util::Quote;
using watershed::testing_util::Shell;
using watershed::testing_util::WaitFor;
using watershed::testing_util::Watershed;
using watershed::testing_util::WatershedBinary;

constexpr char kToken[] = "tls-test-token-0123456789";

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir() + "/project";
    ASSERT_EQ(Watershed("init " + Quote(dir_)).code, 0);
    watershed::testing_util::WriteFile(dir_, "watershed.yml",
                                       "name: tls_test\n"
                                       "streams:\n  org_views: {batch: {max_wait: 200ms}}\n"
                                       "server: {header_timeout: 1s}\n");
    cert_ = dir_ + "/cert.pem";
    key_ = dir_ + "/key.pem";
    port_ = FreePort();
  }

  // A certificate for localhost and 127.0.0.1 made by the openssl tool (not by Watershed).
  void MakeCertificate(const std::string& cert, const std::string& key) {
    Outcome o = Shell(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
        "-days 2 -subj /CN=localhost -addext "
        "subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
        Quote(key) + " -out " + Quote(cert) + " 2>&1");
    ASSERT_EQ(o.code, 0) << o.out;
  }

  // `watershed serve --port P ARGS...` as a child; its output in serve-N.log.
  std::unique_ptr<ChildProcess> Serve(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {WatershedBinary(), "--project", dir_,
                                     "serve",           "--port",    std::to_string(port_)};
    argv.insert(argv.end(), args.begin(), args.end());
    log_ = StrCat(dir_, "/serve-", starts_++, ".log");
    return std::make_unique<ChildProcess>(
        argv, log_, std::map<std::string, std::string>{{"WATERSHED_TOKEN", kToken}});
  }

  // curl with ARGS (stdout and stderr together).
  Outcome Curl(const std::string& args) {
    return Shell("curl -sS --max-time 30 " + args + " 2>&1");
  }

  std::string Https(const std::string& path) {
    return Quote(StrCat("https://127.0.0.1:", port_, path));
  }

  // Waits until GET /healthz answers over HTTPS, trusting `ca`.
  bool UpWithTls(const std::string& ca) {
    return WaitFor(
        [&] { return Curl("--cacert " + Quote(ca) + " " + Https("/healthz")).out == "ok\n"; }, 60,
        std::chrono::milliseconds(100));
  }

  // `openssl s_client` against the server with FLAGS, trusting the test's certificate.
  Outcome Handshake(const std::string& flags) {
    return Shell(StrCat("openssl s_client -connect 127.0.0.1:", port_, " -CAfile ", Quote(cert_),
                        " -verify_return_error -brief ", flags, " </dev/null 2>&1"));
  }

  std::string dir_, cert_, key_, log_;
  int port_ = 0;
  int starts_ = 0;
};

TEST_F(TlsTest, ServesHttpsWithTheGivenCertificateAndTls12OrLater) {
  MakeCertificate(cert_, key_);
  auto serve = Serve({"--tls-cert", cert_, "--tls-key", key_});
  ASSERT_TRUE(UpWithTls(cert_)) << watershed::testing_util::ReadFileBytes(log_);

  // Both modern protocol versions, the certificate verified against the test's own.
  Outcome v12 = Handshake("-tls1_2");
  EXPECT_NE(v12.out.find("Protocol version: TLSv1.2"), std::string::npos) << v12.out;
  EXPECT_NE(v12.out.find("Verification: OK"), std::string::npos) << v12.out;
  EXPECT_NE(v12.out.find("ECDHE"), std::string::npos) << v12.out;  // forward secrecy
  Outcome v13 = Handshake("-tls1_3");
  EXPECT_NE(v13.out.find("Protocol version: TLSv1.3"), std::string::npos) << v13.out;
  // TLS 1.1 is refused by the server (the client is allowed it: security level 0): the server
  // answers with a protocol_version alert.
  Outcome v11 = Handshake("-tls1_1 -cipher DEFAULT@SECLEVEL=0");
  EXPECT_NE(v11.code, 0) << v11.out;
  EXPECT_EQ(v11.out.find("Protocol version: TLSv1.1"), std::string::npos) << v11.out;
  EXPECT_NE(v11.out.find("protocol version"), std::string::npos) << v11.out;

  // Ingest over HTTPS: a body of 20 000 events (over a megabyte: many TLS records).
  std::string body;
  for (int i = 0; i < 20000; ++i)
    body += StrCat("{\"page\":\"p", i, "\",\"pad\":\"", std::string(40, 'x'), "\"}\n");
  watershed::testing_util::WriteFile(dir_, "events.ndjson", body);
  Outcome post = Curl(StrCat("--cacert ", Quote(cert_), " -H 'Authorization: Bearer ", kToken,
                             "' -H 'Content-Type: application/x-ndjson' --data-binary @",
                             Quote(dir_ + "/events.ndjson"), " -w ' %{http_code}' ",
                             Https("/v1/streams/org_views/events")));
  EXPECT_NE(post.out.find("\"count\":20000"), std::string::npos) << post.out;
  EXPECT_NE(post.out.find(" 200"), std::string::npos) << post.out;
  // Without the token: 401 over TLS as over plain HTTP.
  Outcome denied =
      Curl(StrCat("--cacert ", Quote(cert_), " -o /dev/null -w '%{http_code}' -d '{}' ",
                  Https("/v1/streams/org_views/events")));
  EXPECT_EQ(denied.out, "401");

  // Keep-alive: curl reuses the TLS connection for a second request.
  Outcome two =
      Curl(StrCat("-v --cacert ", Quote(cert_), " ", Https("/healthz"), " ", Https("/healthz")));
  EXPECT_NE(two.out.find("Re-using existing connection"), std::string::npos) << two.out;

  // Plain HTTP on the TLS port: a plain-text 400 that says where to go.
  Outcome plain = Curl(StrCat("-w ' %{http_code}' http://127.0.0.1:", port_, "/healthz"));
  EXPECT_NE(plain.out.find("speaks HTTPS: use https://127.0.0.1:"), std::string::npos) << plain.out;
  EXPECT_NE(plain.out.find(" 400"), std::string::npos) << plain.out;

  // A client that connects and never starts its handshake is closed at server.header_timeout.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval wait{20, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  char byte;
  const ssize_t r = ::recv(fd, &byte, 1, 0);
  EXPECT_EQ(r, 0) << "the silent client was not closed (recv: " << r << ")";
  ::close(fd);
  // The server is still serving.
  EXPECT_EQ(Curl("--cacert " + Quote(cert_) + " " + Https("/healthz")).out, "ok\n");
  EXPECT_EQ(serve->Stop(SIGTERM), 0) << watershed::testing_util::ReadFileBytes(log_);
}

TEST_F(TlsTest, PlainHttpIsServedOnlyOnLoopbackUnlessInsecureListen) {
  auto refused = Serve({"--host", "0.0.0.0"});
  EXPECT_EQ(refused->Wait(), 1);
  const std::string why = watershed::testing_util::ReadFileBytes(log_);
  EXPECT_NE(why.find("refusing to serve plain HTTP on 0.0.0.0"), std::string::npos) << why;
  EXPECT_NE(why.find("--tls-cert"), std::string::npos) << why;
  EXPECT_NE(why.find("--insecure-listen"), std::string::npos) << why;

  auto served = Serve({"--host", "0.0.0.0", "--insecure-listen"});
  httplib::Client client("127.0.0.1", port_);
  EXPECT_TRUE(WaitFor([&] {
    auto r = client.Get("/healthz");
    return r && r->status == 200;
  })) << watershed::testing_util::ReadFileBytes(log_);
  EXPECT_EQ(served->Stop(SIGTERM), 0);
  const std::string warned = watershed::testing_util::ReadFileBytes(log_);
  EXPECT_NE(warned.find("serving plain HTTP on 0.0.0.0"), std::string::npos) << warned;

  // Loopback stays plain HTTP without a flag, as before.
  auto local = Serve({});
  EXPECT_TRUE(WaitFor([&] {
    auto r = client.Get("/healthz");
    return r && r->status == 200;
  })) << watershed::testing_util::ReadFileBytes(log_);
}

TEST_F(TlsTest, SelfSignedCertificateIsKeptAndItsFingerprintPrinted) {
  const std::string cert = dir_ + "/.watershed/tls/self-signed-cert.pem";
  std::string fingerprint;
  for (int start = 0; start < 2; ++start) {
    auto serve = Serve({"--tls", "self-signed"});
    ASSERT_TRUE(WaitFor([&] {
      return watershed::testing_util::ReadFileBytes(log_).find("SHA-256 fingerprint ") !=
             std::string::npos;
    })) << watershed::testing_util::ReadFileBytes(log_);
    ASSERT_TRUE(UpWithTls(cert)) << watershed::testing_util::ReadFileBytes(log_);
    // The fingerprint printed is the certificate's, as the openssl tool computes it.
    const std::string log = watershed::testing_util::ReadFileBytes(log_);
    const size_t at = log.find("SHA-256 fingerprint ") + 20;
    const std::string printed = log.substr(at, log.find('\n', at) - at);
    Outcome x509 = Shell("openssl x509 -noout -fingerprint -sha256 -in " + Quote(cert));
    EXPECT_NE(x509.out.find("=" + printed), std::string::npos) << x509.out << " vs " << printed;
    EXPECT_EQ(printed.size(), 32u * 3 - 1) << printed;
    if (start == 0) {
      fingerprint = printed;
    } else {
      EXPECT_EQ(printed, fingerprint) << "a restart made a new certificate";
    }
    // By name too: the certificate covers localhost.
    EXPECT_EQ(Curl(StrCat("--cacert ", Quote(cert), " https://localhost:", port_, "/healthz")).out,
              "ok\n");
    EXPECT_EQ(serve->Stop(SIGTERM), 0);
  }
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/.watershed/tls/self-signed-key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(TlsTest, BadCertificateFilesAreNamed) {
  MakeCertificate(cert_, key_);
  const std::string other_cert = dir_ + "/other-cert.pem", other_key = dir_ + "/other-key.pem";
  MakeCertificate(other_cert, other_key);
  watershed::testing_util::WriteFile(dir_, "not-a-cert.pem", "hello\n");
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const Case cases[] = {
      {{"--tls-cert", dir_ + "/missing.pem", "--tls-key", key_},
       "TLS certificate file " + dir_ + "/missing.pem not found"},
      {{"--tls-cert", cert_}, "--tls-cert needs --tls-key"},
      {{"--tls-cert", dir_ + "/not-a-cert.pem", "--tls-key", key_},
       dir_ + "/not-a-cert.pem holds no PEM certificate"},
      {{"--tls-cert", cert_, "--tls-key", other_key},
       "the private key in " + other_key + " does not belong to the certificate in " + cert_},
      {{"--tls", "self-signed", "--tls-cert", cert_, "--tls-key", key_}, "exclude each other"},
  };
  for (const Case& c : cases) {
    auto serve = Serve(c.args);
    EXPECT_NE(serve->Wait(), 0);
    const std::string log = watershed::testing_util::ReadFileBytes(log_);
    EXPECT_NE(log.find(c.expected), std::string::npos) << c.expected << "\n" << log;
  }
}

}  // namespace
