// tests/glue_test.cc — `catalogs: {glue: ...}` against moto's Glue: every lake table registered
// the way Athena reads Iceberg tables, kept current by every commit, repaired by `watershed
// iceberg register`.
//
// moto stores Glue tables but enforces neither UpdateTable's VersionId compare-and-swap nor
// GetTables' page limit, and never throttles. GlueProxy, between the binary and moto, holds Glue
// to those rules as AWS documents them (refusing a stale VersionId with
// ConcurrentModificationException, a MaxResults above 100 with InvalidInputException, paging
// GetTables by MaxResults, answering ThrottlingException when told to) and records every call,
// so the tests assert what Watershed sent.
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "gtest/gtest.h"
#include "tests/harness.h"
#include "tests/moto.h"
#include "watershed/base/test_util.h"
#include "watershed/lake/glue_catalog.h"
#include "watershed/net/aws.h"

namespace watershed {
namespace {

using nlohmann::json;
using testing_util::MotoServer;
using testing_util::Outcome;
using testing_util::Quote;
using testing_util::WatershedIn;

constexpr char kDatabase[] = "watershed_lake";

class GlueProxy {
 public:
  struct Call {
    std::string action;
    json body;
    std::string answer;  // the error code it was answered with, "" when forwarded
  };

  explicit GlueProxy(MotoServer* moto) : moto_(moto), client_(net::HttpClientOptions{}) {
    server_.Post("/",
                 [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~GlueProxy() {
    server_.stop();
    thread_.join();
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<Call> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  std::vector<Call> calls(const std::string& action) {
    std::vector<Call> out;
    for (Call& c : calls())
      if (c.action == action) out.push_back(c);
    return out;
  }
  void ClearCalls() {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.clear();
  }
  void ThrottleNext(int n) { throttle_ = n; }
  // Runs once, just before the next UpdateTable is judged (a concurrent writer).
  void BeforeNextUpdate(std::function<void()> f) {
    std::lock_guard<std::mutex> lock(mu_);
    before_update_ = std::move(f);
  }

  // A call straight to moto (the test's own view of Glue).
  json Moto(const std::string& action, const json& body) {
    auto answer = net::AwsJsonCall(client_, moto_->config(), lake::kGlueService, "AWSGlue", action,
                                   body.dump());
    if (!answer.ok()) return json::object({{"error", std::string(answer.status().message())}});
    return json::parse(*answer);
  }

 private:
  static void Refuse(httplib::Response& res, const std::string& code, const std::string& message) {
    res.status = 400;
    res.set_content(json{{"__type", code}, {"message", message}}.dump(),
                    "application/x-amz-json-1.1");
  }

  void Handle(const httplib::Request& req, httplib::Response& res) {
    const std::string target = req.get_header_value("X-Amz-Target");
    Call call{target.substr(target.find('.') + 1), json::parse(req.body, nullptr, false), ""};
    std::function<void()> hook;
    if (call.action == "UpdateTable") {
      std::lock_guard<std::mutex> lock(mu_);
      hook = std::exchange(before_update_, nullptr);
    }
    if (hook) hook();
    if (throttle_ > 0) {
      --throttle_;
      call.answer = "ThrottlingException";
    } else if (call.action == "GetTables" && call.body.value("MaxResults", 100) > 100) {
      call.answer = "InvalidInputException";
    } else if (call.action == "UpdateTable") {
      const json now = Moto("GetTable", {{"DatabaseName", call.body["DatabaseName"]},
                                         {"Name", call.body["TableInput"]["Name"]}});
      if (!call.body.contains("VersionId") || call.body["VersionId"] != now["Table"]["VersionId"]) {
        call.answer = "ConcurrentModificationException";
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back(call);
    }
    if (!call.answer.empty()) return Refuse(res, call.answer, "refused by the test's GlueProxy");
    net::HttpRequest forward;
    forward.method = "POST";
    forward.url = moto_->endpoint() + "/";
    // As sent (Host too): moto verifies the signature Watershed computed.
    for (const char* h : {"Host", "X-Amz-Target", "Content-Type", "Authorization", "X-Amz-Date",
                          "x-amz-content-sha256", "X-Amz-Security-Token"}) {
      if (req.has_header(h)) forward.headers.push_back({h, req.get_header_value(h)});
    }
    forward.body = req.body;
    auto answer = client_.Send(forward);
    if (!answer.ok()) return Refuse(res, "InternalServiceException", "moto unreachable");
    res.status = answer->status;
    std::string body = answer->body;
    if (call.action == "GetTables" && answer->status == 200) body = Page(call.body, body);
    res.set_content(body, "application/x-amz-json-1.1");
  }

  // moto answers every table at once: one page of MaxResults, from the offset NextToken holds.
  static std::string Page(const json& request, const std::string& answer) {
    json doc = json::parse(answer);
    const size_t size = request.value("MaxResults", 100);
    const size_t from =
        request.contains("NextToken") ? std::stoul(request["NextToken"].get<std::string>()) : 0;
    json page = json::array();
    for (size_t i = from; i < doc["TableList"].size() && i < from + size; ++i)
      page.push_back(doc["TableList"][i]);
    if (from + size < doc["TableList"].size()) {
      doc["NextToken"] = std::to_string(from + size);
    } else {
      doc.erase("NextToken");
    }
    doc["TableList"] = page;
    return doc.dump();
  }

  MotoServer* moto_;
  net::HttpClient client_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<Call> calls_;
  std::atomic<int> throttle_{0};
  std::function<void()> before_update_;
};

class GlueTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    moto_ = MotoServer::Start({.verify_signatures = true}).release();
    ASSERT_NE(moto_, nullptr) << "moto_server did not start (scripts/setup installs it)";
  }
  static void TearDownTestSuite() {
    delete moto_;
    moto_ = nullptr;
  }

  void SetUp() override {
    proxy_ = std::make_unique<GlueProxy>(moto_);
    proxy_->Moto("DeleteDatabase", {{"Name", kDatabase}});  // each test from an empty catalog
    dir_ = testing_util::MakeTempDir() + "/project";
    ASSERT_EQ(testing_util::Watershed("init " + Quote(dir_)).code, 0);
    WriteConfig(proxy_->endpoint());
  }

  void WriteConfig(const std::string& endpoint) {
    std::ofstream(dir_ + "/watershed.yml")
        << "name: glue_test\n"
        << "catalogs:\n"
        << "  glue:\n"
        << "    region: us-east-1\n"
        << "    endpoint: " << endpoint << "\n"
        << "    database: " << kDatabase << "\n"
        << "    access_key_id: " << moto_->config().access_key_id << "\n"
        << "    secret_access_key: " << moto_->config().secret_access_key << "\n";
  }

  Outcome Load(const std::string& table, const std::string& rows) {
    return testing_util::LoadRows(dir_, table, rows);
  }

  json Show(const std::string& table) {
    Outcome o = WatershedIn(dir_, "iceberg show " + table + " --format json");
    EXPECT_EQ(o.code, 0) << o.out;
    return json::parse(o.out, nullptr, false);
  }

  json GlueTable(const std::string& name) {
    return proxy_->Moto("GetTable", {{"DatabaseName", kDatabase}, {"Name", name}});
  }

  static MotoServer* moto_;
  std::unique_ptr<GlueProxy> proxy_;
  std::string dir_;
};

MotoServer* GlueTest::moto_ = nullptr;

TEST_F(GlueTest, EveryCommitRegistersTheTableTheWayAthenaReadsIceberg) {
  ASSERT_EQ(Load("Shop.Orders", "{\"id\": 1, \"amount\": 2.5, \"placed\": \"2026-11-01\"}\n").code,
            0);
  const json first = Show("shop.orders");

  json t = GlueTable("shop_orders");  // lowercase, the namespace joined with _
  ASSERT_TRUE(t.contains("Table")) << t.dump();
  EXPECT_EQ(t["Table"]["TableType"], "EXTERNAL_TABLE");
  EXPECT_EQ(t["Table"]["Parameters"]["table_type"], "ICEBERG");
  EXPECT_EQ(t["Table"]["Parameters"]["metadata_location"], first["metadata_location"]);
  EXPECT_EQ(t["Table"]["Parameters"]["watershed_table"], "shop.orders");
  EXPECT_EQ(t["Table"]["StorageDescriptor"]["Location"], first["location"]);
  std::map<std::string, std::string> types;
  for (const json& c : t["Table"]["StorageDescriptor"]["Columns"]) {
    types[c["Name"]] = c["Type"];
    EXPECT_FALSE(c["Parameters"]["iceberg.field.id"].get<std::string>().empty());
  }
  EXPECT_EQ(types["id"], "bigint");
  EXPECT_EQ(types["amount"], "double");
  EXPECT_EQ(types["ingest_date"], "date");
  ASSERT_EQ(proxy_->calls("CreateDatabase").size(), 1u);

  // The next commit moves the pointer with a compare-and-swap on the version it read, without
  // archiving a table version.
  proxy_->ClearCalls();
  ASSERT_EQ(Load("shop.orders", "{\"id\": 2, \"amount\": 4, \"placed\": \"2026-11-02\"}\n").code,
            0);
  const json second = Show("shop.orders");
  ASSERT_NE(second["metadata_location"], first["metadata_location"]);
  t = GlueTable("shop_orders");
  EXPECT_EQ(t["Table"]["Parameters"]["metadata_location"], second["metadata_location"]);
  EXPECT_EQ(t["Table"]["Parameters"]["previous_metadata_location"], first["metadata_location"]);
  const auto updates = proxy_->calls("UpdateTable");
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].answer, "");  // its VersionId was Glue's current one
  EXPECT_EQ(updates[0].body["VersionId"], "1");
  EXPECT_EQ(updates[0].body["SkipArchive"], true);
  EXPECT_TRUE(proxy_->calls("CreateTable").empty());

  // A second table is a second Glue table; the first is left alone.
  ASSERT_EQ(Load("shop.customers", "{\"id\": 7, \"name\": \"Ada\"}\n").code, 0);
  EXPECT_EQ(GlueTable("shop_customers")["Table"]["Parameters"]["metadata_location"],
            Show("shop.customers")["metadata_location"]);
  EXPECT_EQ(GlueTable("shop_orders")["Table"]["Parameters"]["metadata_location"],
            second["metadata_location"]);
}

TEST_F(GlueTest, ThrottlingIsWaitedOutAndAConcurrentChangeIsReadAgain) {
  ASSERT_EQ(Load("shop.orders", "{\"id\": 1}\n").code, 0);
  proxy_->ClearCalls();
  proxy_->ThrottleNext(2);
  // Between Watershed's read and its update, someone else updates the table.
  proxy_->BeforeNextUpdate([this] {
    json t = GlueTable("shop_orders")["Table"];
    json input = {{"Name", t["Name"]},
                  {"TableType", t["TableType"]},
                  {"Parameters", t["Parameters"]},
                  {"StorageDescriptor", t["StorageDescriptor"]}};
    input["Parameters"]["comment"] = "touched by another writer";
    proxy_->Moto("UpdateTable", {{"DatabaseName", kDatabase}, {"TableInput", input}});
  });
  Outcome load = Load("shop.orders", "{\"id\": 2}\n");
  ASSERT_EQ(load.code, 0) << load.out;

  std::vector<std::string> answers;
  for (const auto& c : proxy_->calls()) answers.push_back(c.action + ":" + c.answer);
  ASSERT_GE(answers.size(), 5u);
  EXPECT_EQ(answers[0], "GetDatabase:ThrottlingException");
  EXPECT_EQ(answers[1], "GetDatabase:ThrottlingException");
  EXPECT_EQ(answers[2], "GetDatabase:");  // the third try, after the back-off
  const auto updates = proxy_->calls("UpdateTable");
  ASSERT_EQ(updates.size(), 2u) << testing::PrintToString(answers);
  EXPECT_EQ(updates[0].answer, "ConcurrentModificationException");
  EXPECT_EQ(updates[1].answer, "");
  EXPECT_EQ(updates[1].body["VersionId"], "2");  // read again after the refusal
  EXPECT_EQ(GlueTable("shop_orders")["Table"]["Parameters"]["metadata_location"],
            Show("shop.orders")["metadata_location"]);
}

TEST_F(GlueTest, RegisterRepairsWhatAFailedUpdateLeftAndPagesThroughGetTables) {
  // 150 tables of someone else's in the database: GetTables takes two pages of 100.
  proxy_->Moto("CreateDatabase", {{"DatabaseInput", {{"Name", kDatabase}}}});
  for (int i = 0; i < 150; ++i) {
    proxy_->Moto("CreateTable", {{"DatabaseName", kDatabase},
                                 {"TableInput", {{"Name", "other_" + std::to_string(i)}}}});
  }
  // Glue unreachable: the loads still commit, and say how to repair.
  WriteConfig("http://127.0.0.1:" + std::to_string(testing_util::FreePort()));
  for (const std::string t : {"a.one", "a.two", "b.three", "b.four"}) {
    Outcome o = Load(t, "{\"id\": 1}\n");
    ASSERT_EQ(o.code, 0) << o.out;
    EXPECT_NE(o.out.find("watershed iceberg register"), std::string::npos) << o.out;
  }
  EXPECT_TRUE(GlueTable("a_one").contains("error"));

  WriteConfig(proxy_->endpoint());
  proxy_->ClearCalls();
  Outcome reg = WatershedIn(dir_, "iceberg register --format json");
  ASSERT_EQ(reg.code, 0) << reg.out;
  json done = json::parse(reg.out);
  ASSERT_EQ(done.size(), 4u) << reg.out;
  for (const json& r : done) EXPECT_EQ(r["action"], "created") << r.dump();
  const auto pages = proxy_->calls("GetTables");
  ASSERT_EQ(pages.size(), 2u);
  for (const auto& p : pages) EXPECT_EQ(p.body["MaxResults"], 100);
  EXPECT_EQ(pages[1].body["NextToken"], "100");
  EXPECT_EQ(GlueTable("b_four")["Table"]["Parameters"]["metadata_location"],
            Show("b.four")["metadata_location"]);

  // Run again: nothing to do.
  reg = WatershedIn(dir_, "iceberg register a.one");
  ASSERT_EQ(reg.code, 0) << reg.out;
  EXPECT_NE(reg.out.find("1 already current"), std::string::npos) << reg.out;
}

TEST_F(GlueTest, AGlueTableThatIsNotTheLakesIsLeftAloneWithAnError) {
  proxy_->Moto("CreateDatabase", {{"DatabaseInput", {{"Name", kDatabase}}}});
  proxy_->Moto("CreateTable",
               {{"DatabaseName", kDatabase},
                {"TableInput", {{"Name", "shop_orders"}, {"Parameters", {{"owner", "bi"}}}}}});
  ASSERT_EQ(Load("shop.orders", "{\"id\": 1}\n").code, 0);  // the commit stands
  Outcome reg = WatershedIn(dir_, "iceberg register shop.orders");
  EXPECT_NE(reg.code, 0);
  EXPECT_NE(reg.out.find("is not the Iceberg table of lake table shop.orders"), std::string::npos)
      << reg.out;
  EXPECT_EQ(GlueTable("shop_orders")["Table"]["Parameters"]["owner"], "bi");
  EXPECT_TRUE(proxy_->calls("UpdateTable").empty());
}

TEST_F(GlueTest, ASettingThatCannotWorkIsRefusedWithItsLine) {
  std::ofstream(dir_ + "/watershed.yml") << "name: glue_test\n"
                                         << "catalogs:\n"
                                         << "  glue:\n"
                                         << "    region: us-east-1\n"
                                         << "    database: Watershed-Lake\n";
  Outcome o = WatershedIn(dir_, "tables");
  EXPECT_NE(o.code, 0);
  EXPECT_NE(o.out.find("watershed.yml:4"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("watershed_lake"), std::string::npos) << o.out;  // the suggestion

  std::ofstream(dir_ + "/watershed.yml") << "name: glue_test\n"
                                         << "storage: {iceberg: false}\n"
                                         << "catalogs: {glue: {region: us-east-1, database: x,"
                                         << " access_key_id: A, secret_access_key: B}}\n";
  o = WatershedIn(dir_, "tables");
  EXPECT_NE(o.code, 0);
  EXPECT_NE(o.out.find("storage.iceberg is false"), std::string::npos) << o.out;

  // Without the setting, register says what to add.
  std::ofstream(dir_ + "/watershed.yml") << "name: glue_test\n";
  o = WatershedIn(dir_, "iceberg register");
  EXPECT_NE(o.code, 0);
  EXPECT_NE(o.out.find("catalogs: {glue:"), std::string::npos) << o.out;
}

}  // namespace
}  // namespace watershed
