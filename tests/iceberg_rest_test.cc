// tests/iceberg_rest_test.cc — `watershed serve`'s Iceberg REST catalog, walked by an independent
// client: iceberg-js (tests/tools/iceberg_rest/walk.mjs) lists the namespaces and tables and
// loads each one, and finds what `watershed iceberg show` reports; the bearer token guards it,
// unknown names get the spec's errors, writes are refused, and a commit is seen at once.
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

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

constexpr char kToken[] = "rest-catalog-token";

class IcebergRestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::system("node --version >/dev/null 2>&1") == 0 &&
                std::filesystem::exists(std::string(WS_SOURCE_DIR) +
                                        "/tests/tools/iceberg_rest/node_modules/iceberg-js"))
        << "node and tests/tools/iceberg_rest/node_modules are needed (scripts/setup installs "
           "them)";
    dir_ = testing_util::MakeTempDir() + "/project";
    ASSERT_EQ(testing_util::Watershed("init " + Quote(dir_)).code, 0);
  }

  void Load(const std::string& table, const std::string& rows) {
    Outcome o = testing_util::LoadRows(dir_, table, rows);
    ASSERT_EQ(o.code, 0) << o.out;
  }

  json Show(const std::string& table) {
    Outcome o = WatershedIn(dir_, "iceberg show " + table + " --format json");
    EXPECT_EQ(o.code, 0) << o.out;
    return json::parse(o.out, nullptr, false);
  }

  Outcome Walk(int port, const std::string& token) {
    return testing_util::Shell(std::string("node ") + WS_SOURCE_DIR +
                               "/tests/tools/iceberg_rest/walk.mjs http://127.0.0.1:" +
                               std::to_string(port) + "/iceberg " + Quote(token));
  }

  std::string dir_;
};

TEST_F(IcebergRestTest, IcebergJsListsAndLoadsEveryTableAsIcebergShowReportsIt) {
  Load("shop.orders", "{\"id\": 1, \"amount\": 2.5}\n{\"id\": 2, \"amount\": 4}\n");
  Load("shop.customers", "{\"id\": 7, \"name\": \"Ada\"}\n");
  Load("crm.contacts", "{\"email\": \"a@example.com\"}\n");
  Load("shop.orders", "{\"id\": 3, \"amount\": 1}\n");
  const int port = testing_util::FreePort();
  ServeProcess server(dir_, port, kToken);
  ASSERT_TRUE(server.Start());

  Outcome walk = Walk(port, kToken);
  ASSERT_EQ(walk.code, 0) << walk.out;
  const json found = json::parse(walk.out);
  EXPECT_EQ(found["namespaces"], json::parse(R"([["crm"], ["shop"]])"));
  ASSERT_EQ(found["tables"].size(), 3u) << walk.out;
  std::set<std::string> seen;
  for (const json& t : found["tables"]) {
    const std::string name =
        t["namespace"][0].get<std::string>() + "." + t["name"].get<std::string>();
    seen.insert(name);
    const json show = Show(name);
    EXPECT_EQ(t["metadata_location"], show["metadata_location"]) << name;
    EXPECT_EQ(t["format_version"], 2) << name;
    EXPECT_EQ(t["current_snapshot_id"], show["snapshot_id"]) << name;
    EXPECT_EQ(t["snapshots"], show["snapshots"]) << name;
    EXPECT_EQ(t["exists"], true) << name;
    const auto& fields = t["schema_fields"];
    EXPECT_NE(std::find(fields.begin(), fields.end(), "ingest_date"), fields.end()) << name;
  }
  EXPECT_EQ(seen, (std::set<std::string>{"crm.contacts", "shop.customers", "shop.orders"}));
  EXPECT_EQ(found["tables"][2]["snapshots"], 2);  // shop.orders: two loads

  // The next commit is what the next loadTable answers.
  Load("shop.orders", "{\"id\": 4, \"amount\": 8}\n");
  httplib::Client c("127.0.0.1", port);
  const httplib::Headers auth = {{"Authorization", std::string("Bearer ") + kToken}};
  auto r = c.Get("/iceberg/v1/namespaces/shop/tables/orders", auth);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json loaded = json::parse(r->body);
  EXPECT_EQ(loaded["metadata-location"], Show("shop.orders")["metadata_location"]);
  EXPECT_EQ(loaded["metadata"]["snapshots"].size(), 3u);
  EXPECT_EQ(loaded["metadata"]["format-version"], 2);
}

TEST_F(IcebergRestTest, TheTokenGuardsItUnknownNamesAreSpecErrorsAndWritesAreRefused) {
  Load("shop.orders", "{\"id\": 1}\n");
  const int port = testing_util::FreePort();
  ServeProcess server(dir_, port, kToken);
  ASSERT_TRUE(server.Start());

  Outcome wrong = Walk(port, "not-the-token");
  EXPECT_EQ(wrong.code, 1) << wrong.out;
  EXPECT_NE(wrong.out.find("401"), std::string::npos) << wrong.out;
  EXPECT_NE(wrong.out.find("NotAuthorizedException"), std::string::npos) << wrong.out;

  httplib::Client c("127.0.0.1", port);
  auto none = c.Get("/iceberg/v1/config");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer");

  const httplib::Headers auth = {{"Authorization", std::string("Bearer ") + kToken}};
  auto error_type = [&](const std::string& path) {
    auto r = c.Get(path, auth);
    if (!r) return std::string("no answer");
    json j = json::parse(r->body, nullptr, false);
    return std::to_string(r->status) + " " + j["error"]["type"].get<std::string>();
  };
  EXPECT_EQ(error_type("/iceberg/v1/namespaces/nope"), "404 NoSuchNamespaceException");
  EXPECT_EQ(error_type("/iceberg/v1/namespaces/nope/tables"), "404 NoSuchNamespaceException");
  EXPECT_EQ(error_type("/iceberg/v1/namespaces/shop/tables/nope"), "404 NoSuchTableException");
  EXPECT_EQ(error_type("/iceberg/v2/config"), "404 NotFoundException");
  auto head = c.Head("/iceberg/v1/namespaces/shop/tables/orders", auth);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 204);
  auto missing = c.Head("/iceberg/v1/namespaces/shop/tables/nope", auth);
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  auto drop = c.Delete("/iceberg/v1/namespaces/shop/tables/orders", auth);
  ASSERT_TRUE(drop);
  EXPECT_EQ(drop->status, 405) << drop->body;
  EXPECT_EQ(Show("shop.orders")["snapshots"], 1);  // untouched
}

}  // namespace
}  // namespace watershed
