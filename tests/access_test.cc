// tests/access_test.cc — the access model through the real binary: tokens made, listed,
// rotated, revoked and expired by `watershed token`, and `watershed serve` deciding every door
// with them (ingest per stream, /v1/streams, /metrics, the Iceberg REST catalog per lake table),
// every decision in the audit log, `watershed access explain` saying why.
#include <httplib.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "gtest/gtest.h"
#include "tests/harness.h"
#include "watershed/base/test_util.h"

namespace watershed {
namespace {

using nlohmann::json;
using testing_util::Outcome;
using testing_util::Quote;
using testing_util::ServeProcess;
using testing_util::WatershedIn;

constexpr char kAccess[] = R"(name: access_test
streams:
  org_views: {batch: {max_wait: 200ms}}
  payments: {batch: {max_wait: 200ms}}
access:
  groups: {finance_analysts: [alice], analytics: [bob, carol], ops: [dana]}
  service_accounts: [clickstream_ingest, airflow]
  grants:
    - {to: finance_analysts, allow: read, on: "mart:finance.*"}
    - {to: analytics, allow: read, on: ["mart:analytics.*", "lake:crunchbase.*", "stream:org_views"]}
    - {to: clickstream_ingest, allow: ingest, on: "stream:org_views"}
    - {to: airflow, allow: run, on: "pipeline:*"}
    - {to: ops, allow: admin, on: admin}
)";

class AccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_util::MakeTempDir() + "/project";
    ASSERT_EQ(testing_util::Watershed("init " + Quote(dir_)).code, 0);
    std::ofstream(dir_ + "/watershed.yml") << kAccess;
  }

  // A new token for `who` (stdout holds only the token).
  std::string Token(const std::string& who, const std::string& flags = "") {
    Outcome o = testing_util::Shell("{ " + Quote(testing_util::WatershedBinary()) + " --project " +
                                    Quote(dir_) + " -q token create --for " + who + " " + flags +
                                    " 2>/dev/null; }");
    EXPECT_EQ(o.code, 0) << o.out;
    std::string t = o.out;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    return t;
  }

  void Load(const std::string& table) {
    Outcome o = testing_util::LoadRows(dir_, table, "{\"id\": 1}\n");
    ASSERT_EQ(o.code, 0) << o.out;
  }

  std::string dir_;
};

httplib::Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

// The status of GET `path` (-1 when there was no answer), so a slow answer on a loaded machine
// fails the assertion instead of the process.
int GetStatus(httplib::Client& c, const std::string& path, const httplib::Headers& h = {}) {
  auto r = c.Get(path, h);
  return r ? r->status : -1;
}

int Post(httplib::Client& c, const std::string& stream, const std::string& token) {
  auto r = c.Post("/v1/streams/" + stream + "/events", Bearer(token), "{\"page\":\"a\"}\n",
                  "application/x-ndjson");
  return r ? r->status : -1;
}

TEST_F(AccessTest, EveryDoorDecidesByTheCallersTokenAndGrants) {
  Load("crunchbase.organizations");
  Load("raw.secrets");
  const std::string ingest = Token("clickstream_ingest");
  const std::string bob = Token("bob");
  const std::string dana = Token("dana");
  ASSERT_TRUE(ingest.starts_with("ws_")) << ingest;
  // The key the secrets are hashed with is the owner's only.
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/.watershed/token.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  const int port = testing_util::FreePort();
  ServeProcess server(dir_, port, "");  // no WATERSHED_TOKEN: only the principals' tokens
  ASSERT_TRUE(server.Start());
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(60, 0);  // a loaded CI machine with the catalog on PostgreSQL

  EXPECT_EQ(Post(c, "org_views", ingest), 200);
  {
    httplib::Headers h = Bearer(bob);
    h.emplace("X-Request-Id", "trace-42");
    auto r = c.Get("/metrics", h);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403);
    EXPECT_EQ(r->get_header_value("X-Request-Id"), "trace-42");
    auto health = c.Get("/healthz");
    ASSERT_TRUE(health);
    EXPECT_FALSE(health->get_header_value("X-Request-Id").empty());
  }
  EXPECT_EQ(Post(c, "payments", ingest), 403);  // a grant per stream
  EXPECT_EQ(Post(c, "org_views", bob), 403);    // reading is not ingesting
  EXPECT_EQ(Post(c, "org_views", dana), 200);   // the platform admin
  EXPECT_EQ(Post(c, "org_views", "not-a-token"), 401);
  EXPECT_EQ(Post(c, "org_views", "ws_abcdefabcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            401);

  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 401);
  EXPECT_EQ(GetStatus(c, "/metrics", Bearer(bob)), 403);
  EXPECT_EQ(GetStatus(c, "/metrics", Bearer(dana)), 200);

  auto listed = c.Get("/v1/streams", Bearer(bob));
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->status, 200);
  json streams = json::parse(listed->body);
  ASSERT_EQ(streams.size(), 1u) << listed->body;  // only the one bob may read
  EXPECT_EQ(streams[0]["stream"], "org_views");
  EXPECT_EQ(GetStatus(c, "/v1/streams"), 401);

  // The Iceberg catalog shows bob the lake tables he may read, and nothing else.
  auto ns = c.Get("/iceberg/v1/namespaces", Bearer(bob));
  ASSERT_TRUE(ns);
  ASSERT_EQ(ns->status, 200) << ns->body;
  EXPECT_EQ(json::parse(ns->body)["namespaces"], json::parse(R"([["crunchbase"]])")) << ns->body;
  EXPECT_EQ(GetStatus(c, "/iceberg/v1/namespaces/raw/tables/secrets", Bearer(bob)), 404);
  EXPECT_EQ(GetStatus(c, "/iceberg/v1/namespaces/crunchbase/tables/organizations", Bearer(bob)),
            200);
  auto all = c.Get("/iceberg/v1/namespaces", Bearer(dana));
  ASSERT_TRUE(all);
  EXPECT_EQ(json::parse(all->body)["namespaces"].size(), 2u) << all->body;
  server.Stop();

  // Every decision, allow and deny, with who, what and the grant.
  const std::string audit = testing_util::ReadFileBytes(dir_ + "/.watershed/audit.log");
  EXPECT_NE(audit.find("\"principal\":\"clickstream_ingest\""), std::string::npos);
  EXPECT_NE(audit.find("allow: {to: clickstream_ingest, allow: ingest, on: stream:org_views}"),
            std::string::npos);
  EXPECT_NE(audit.find("deny: no grant gives clickstream_ingest ingest on stream:payments"),
            std::string::npos);
  EXPECT_NE(audit.find("deny: no grant gives bob (groups: analytics) read on lake:raw.secrets"),
            std::string::npos);
  EXPECT_EQ(audit.find(ingest), std::string::npos);  // never a token
  // The request id the client sent (or the server made, in the answer) names the entry.
  EXPECT_NE(audit.find(" request trace-42"), std::string::npos);
  EXPECT_EQ(audit.find(ingest.substr(16)), std::string::npos);
}

TEST_F(AccessTest, TokensRotateWithAnOverlapAndAreRevokedOrExpire) {
  const std::string old_token = Token("bob");
  const std::string short_lived = Token("carol", "--expires 2s");
  Outcome list = WatershedIn(dir_, "token list --format json");
  ASSERT_EQ(list.code, 0) << list.out;
  json tokens = json::parse(list.out);
  ASSERT_EQ(tokens.size(), 2u);
  const std::string old_id = tokens[0]["id"];
  EXPECT_EQ(tokens[0]["principal"], "bob");
  EXPECT_EQ(tokens[0]["state"], "active");
  EXPECT_EQ(list.out.find(old_token.substr(16)), std::string::npos);  // no secret listed

  Outcome rotated = testing_util::Shell("{ " + Quote(testing_util::WatershedBinary()) +
                                        " --project " + Quote(dir_) + " -q token rotate " + old_id +
                                        " --overlap 1h 2>/dev/null; }");
  ASSERT_EQ(rotated.code, 0) << rotated.out;
  const std::string new_token = rotated.out.substr(0, rotated.out.find('\n'));
  ASSERT_TRUE(new_token.starts_with("ws_"));

  const int port = testing_util::FreePort();
  ServeProcess server(dir_, port, "");
  ASSERT_TRUE(server.Start());
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(60, 0);
  auto status = [&](const std::string& token) {
    auto r = c.Get("/iceberg/v1/config", Bearer(token));
    return r ? r->status : -1;
  };
  EXPECT_EQ(status(old_token), 200);  // within the overlap
  EXPECT_EQ(status(new_token), 200);
  ASSERT_EQ(WatershedIn(dir_, "token revoke " + old_id).code, 0);
  EXPECT_EQ(status(old_token), 401);
  auto why = c.Get("/iceberg/v1/config", Bearer(old_token));
  ASSERT_TRUE(why);
  EXPECT_NE(why->body.find("token revoked"), std::string::npos) << why->body;
  EXPECT_EQ(status(new_token), 200);

  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  auto expired = c.Get("/iceberg/v1/config", Bearer(short_lived));
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->status, 401);
  EXPECT_NE(expired->body.find("token expired"), std::string::npos) << expired->body;

  list = WatershedIn(dir_, "token list --format json");
  tokens = json::parse(list.out);
  EXPECT_EQ(tokens[0]["state"], "revoked");
  EXPECT_EQ(tokens[1]["state"], "expired");
  EXPECT_EQ(tokens[2]["state"], "active");
}

TEST_F(AccessTest, ExplainSaysWhichGrantDecidesAndBadInputIsNamed) {
  Outcome allow = WatershedIn(dir_, "access explain bob lake:crunchbase.organizations");
  ASSERT_EQ(allow.code, 0) << allow.out;
  EXPECT_NE(allow.out.find("allow  bob read lake:crunchbase.organizations"), std::string::npos)
      << allow.out;
  EXPECT_NE(allow.out.find("(line 10)"), std::string::npos) << allow.out;
  Outcome deny = WatershedIn(dir_, "access explain alice mart:analytics.fact_views --format json");
  ASSERT_EQ(deny.code, 0) << deny.out;
  json d = json::parse(deny.out);
  EXPECT_EQ(d["decision"], "deny");
  EXPECT_EQ(d["groups"], json::parse(R"(["finance_analysts"])"));

  Outcome unknown = WatershedIn(dir_, "token create --for mallroy");
  EXPECT_NE(unknown.code, 0);
  EXPECT_NE(unknown.out.find("is not a user"), std::string::npos) << unknown.out;
  Outcome bad_resource = WatershedIn(dir_, "access explain bob table:x");
  EXPECT_NE(bad_resource.code, 0);
  EXPECT_NE(bad_resource.out.find("is not a resource"), std::string::npos) << bad_resource.out;
  Outcome no_key = WatershedIn(dir_, "token list");
  EXPECT_NE(no_key.code, 0);  // no token made yet: no key
  EXPECT_NE(no_key.out.find("watershed token create"), std::string::npos) << no_key.out;

  std::ofstream(dir_ + "/watershed.yml", std::ios::app)
      << "    - {to: analytic, allow: read, on: \"mart:x.*\"}\n";
  Outcome typo = WatershedIn(dir_, "tables");
  EXPECT_NE(typo.code, 0);
  EXPECT_NE(typo.out.find("watershed.yml:14"), std::string::npos) << typo.out;
  EXPECT_NE(typo.out.find("did you mean analytics?"), std::string::npos) << typo.out;
}

}  // namespace
}  // namespace watershed
