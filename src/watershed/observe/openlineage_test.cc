// observe/openlineage_test.cc — the RunEvent validator (written from the OpenLineage 2-0-2 core
// schema and the SchemaDatasetFacet / ColumnLineageDatasetFacet specs), the events Watershed
// builds, and the file and HTTP sinks (a real cpp-httplib server on 127.0.0.1).
#include "watershed/observe/openlineage.h"

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
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "watershed/base/test_util.h"

namespace watershed::observe {
namespace {

using json = nlohmann::json;

json ValidEvent() {
  return json::parse(R"json({
    "eventType": "COMPLETE",
    "eventTime": "2026-11-24T04:15:00.123Z",
    "run": {"runId": "3f9a1c2e-5b6d-4e7f-8a9b-0c1d2e3f4a5b"},
    "job": {"namespace": "watershed://demo", "name": "finance.fact"},
    "inputs": [{"namespace": "watershed://demo", "name": "crunchbase.funding_rounds"}],
    "outputs": [{"namespace": "watershed://demo", "name": "finance.fact", "facets": {
      "schema": {"_producer": "urn:watershed:watershed:0.1",
                 "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json",
                 "fields": [{"name": "amount_usd", "type": "DECIMAL(18,4)"}]},
      "columnLineage": {"_producer": "urn:watershed:watershed:0.1",
        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
        "fields": {"amount_usd": {"inputFields": [{"namespace": "watershed://demo",
          "name": "crunchbase.funding_rounds", "field": "money_raised__value_usd",
          "transformations": [{"type": "DIRECT", "subtype": "TRANSFORMATION",
                               "description": "", "masking": false}]}]}},
        "dataset": []}}}],
    "producer": "urn:watershed:watershed:0.1",
    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
  })json");
}

// The validator's message for `event`, "" when valid.
std::string Problem(const json& event) {
  Status s = ValidateRunEvent(event);
  return s.ok() ? "" : std::string(s.message());
}

TEST(ValidateRunEventTest, AcceptsAValidEvent) { EXPECT_EQ(Problem(ValidEvent()), ""); }

TEST(ValidateRunEventTest, RejectsMissingRequiredFields) {
  for (const char* key : {"eventTime", "producer", "schemaURL", "run", "job"}) {
    json e = ValidEvent();
    e.erase(key);
    EXPECT_NE(Problem(e).find(StrCat("'", key, "' is missing")), std::string::npos) << key;
  }
  json e = ValidEvent();
  e["run"].erase("runId");
  EXPECT_NE(Problem(e).find("/run: required property 'runId'"), std::string::npos) << Problem(e);
  e = ValidEvent();
  e["job"].erase("namespace");
  EXPECT_NE(Problem(e).find("/job: required property 'namespace'"), std::string::npos);
  e = ValidEvent();
  e["outputs"][0].erase("name");
  EXPECT_NE(Problem(e).find("/outputs/0: required property 'name'"), std::string::npos);
  // eventType, inputs and outputs are optional.
  e = ValidEvent();
  e.erase("eventType");
  e.erase("inputs");
  e.erase("outputs");
  EXPECT_EQ(Problem(e), "");
}

TEST(ValidateRunEventTest, RejectsBadFormatsAndTypes) {
  json e = ValidEvent();
  e["run"]["runId"] = "not-a-uuid";
  EXPECT_NE(Problem(e).find("/run/runId: 'not-a-uuid' is not a uuid"), std::string::npos);
  e = ValidEvent();
  e["run"]["runId"] = 42;
  EXPECT_NE(Problem(e).find("/run/runId: must be a string"), std::string::npos);
  e = ValidEvent();
  e["eventType"] = "FINISHED";
  EXPECT_NE(Problem(e).find("/eventType: 'FINISHED' is not one of"), std::string::npos);
  e = ValidEvent();
  e["eventTime"] = "2026-02-30T00:00:00Z";  // no such day
  EXPECT_NE(Problem(e).find("/eventTime"), std::string::npos);
  e = ValidEvent();
  e["eventTime"] = "2026-11-24 04:15:00";  // no offset
  EXPECT_NE(Problem(e).find("is not a date-time"), std::string::npos);
  e = ValidEvent();
  e["producer"] = "not a uri";
  EXPECT_NE(Problem(e).find("/producer: 'not a uri' is not a uri"), std::string::npos);
  e = ValidEvent();
  e["inputs"] = json::object();
  EXPECT_NE(Problem(e).find("/inputs: must be an array"), std::string::npos);
}

TEST(ValidateRunEventTest, RejectsBadFacets) {
  json e = ValidEvent();
  e["outputs"][0]["facets"]["schema"].erase("_producer");
  EXPECT_NE(Problem(e).find("/outputs/0/facets/schema: required property '_producer'"),
            std::string::npos)
      << Problem(e);
  e = ValidEvent();
  e["outputs"][0]["facets"]["columnLineage"]["_schemaURL"] = "no scheme";
  EXPECT_NE(Problem(e).find("/_schemaURL: 'no scheme' is not a uri"), std::string::npos);
  e = ValidEvent();
  e["outputs"][0]["facets"]["schema"]["fields"][0].erase("name");
  EXPECT_NE(Problem(e).find("/fields/0: required property 'name'"), std::string::npos);
  e = ValidEvent();
  e["outputs"][0]["facets"]["columnLineage"].erase("fields");
  EXPECT_NE(Problem(e).find("columnLineage: required property 'fields'"), std::string::npos);
  e = ValidEvent();
  e["outputs"][0]["facets"]["columnLineage"]["fields"]["amount_usd"]["inputFields"][0].erase(
      "field");
  EXPECT_NE(Problem(e).find("/inputFields/0: required property 'field'"), std::string::npos);
  e = ValidEvent();
  e["outputs"][0]["facets"]["columnLineage"]["fields"]["amount_usd"]["inputFields"][0]
   ["transformations"][0]["type"] = "SIDEWAYS";
  EXPECT_NE(Problem(e).find("'SIDEWAYS' is not DIRECT or INDIRECT"), std::string::npos);
  e = ValidEvent();
  e["outputs"][0]["facets"]["columnLineage"]["fields"]["amount_usd"]["inputFields"][0]
   ["transformations"][0]["masking"] = "no";
  EXPECT_NE(Problem(e).find("masking: must be a boolean"), std::string::npos);
  e = ValidEvent();
  e["run"]["facets"] = {{"errorMessage", {{"_producer", "urn:x"}, {"_schemaURL", "urn:y"}}}};
  EXPECT_NE(Problem(e).find("errorMessage: required property 'message'"), std::string::npos);
  e = ValidEvent();
  e["outputs"][0]["facets"]["schema"] = "flat";
  EXPECT_NE(Problem(e).find("/outputs/0/facets/schema: must be an object"), std::string::npos);
}

TEST(FormatsTest, UuidDateTimeUri) {
  EXPECT_TRUE(IsUuid("3f9a1c2e-5b6d-4e7f-8a9b-0c1d2e3f4a5b"));
  EXPECT_TRUE(IsUuid("3F9A1C2E-5B6D-4E7F-8A9B-0C1D2E3F4A5B"));
  EXPECT_FALSE(IsUuid("3f9a1c2e5b6d4e7f8a9b0c1d2e3f4a5b"));
  EXPECT_FALSE(IsUuid("3f9a1c2e-5b6d-4e7f-8a9b-0c1d2e3f4a5g"));
  EXPECT_TRUE(IsDateTime("2024-02-29T23:59:60.5+01:00"));
  EXPECT_TRUE(IsDateTime("2026-11-24t04:15:00z"));
  EXPECT_FALSE(IsDateTime("2023-02-29T00:00:00Z"));
  EXPECT_FALSE(IsDateTime("2026-11-24T24:00:00Z"));
  EXPECT_FALSE(IsDateTime("2026-11-24T04:15:00.Z"));
  EXPECT_FALSE(IsDateTime("2026-11-24T04:15:00+0100"));
  EXPECT_TRUE(IsUri("https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"));
  EXPECT_TRUE(IsUri("urn:watershed:watershed:0.1"));
  EXPECT_TRUE(IsUri("watershed://demo/json?x=%20"));
  EXPECT_FALSE(IsUri("/relative/path"));
  EXPECT_FALSE(IsUri("1http://x"));
  EXPECT_FALSE(IsUri("http://x/a b"));
  EXPECT_FALSE(IsUri("http://x/%zz"));
  EXPECT_FALSE(IsUri("http://x/#a#b"));
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string u = NewUuid();
    EXPECT_TRUE(IsUuid(u)) << u;
    EXPECT_EQ(u[14], '4');
    EXPECT_NE(std::string("89ab").find(u[19]), std::string::npos) << u;
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_TRUE(IsDateTime(EventTime(NowMicros())));
  EXPECT_EQ(EventTime(1700000000123456), "2023-11-14T22:13:20.123Z");
}

ModelLineage SampleLineage() {
  ModelLineage l;
  l.model = "finance.fact";
  l.columns = {{"amount_usd",
                "DECIMAL(18,4)",
                {{"finance.stg", "amount_usd", "DIRECT", "IDENTITY"},
                 {"finance.stg", "amount_usd", "INDIRECT", "FILTER"}}},
               {"n", "BIGINT", {}}};
  l.dataset_inputs = {{"finance.dim", "uuid", "INDIRECT", "JOIN"}};
  l.input_datasets = {{"finance.stg", "model"}, {"finance.dim", "model"}};
  return l;
}

TEST(EventsTest, ModelEventsAreValidAndCarryColumnLineage) {
  const OpenLineageNames names{"watershed://demo", "watershed://demo", "watershed://demo/json"};
  ModelBuild build{"finance.fact", "models/finance/fact.sql", "SELECT 1", "table", true, "", 1.5};
  const ModelLineage l = SampleLineage();
  const std::string run = NewUuid();
  json start = ModelRunEvent(names, "START", run, NowMicros(), build, &l);
  json done = ModelRunEvent(names, "COMPLETE", run, NowMicros(), build, &l);
  EXPECT_EQ(Problem(start), "");
  EXPECT_EQ(Problem(done), "");
  EXPECT_EQ(done["run"]["runId"], run);
  EXPECT_EQ(done["job"]["facets"]["sql"]["query"], "SELECT 1");
  EXPECT_EQ(done["inputs"].size(), 2u);
  const json& cl = done["outputs"][0]["facets"]["columnLineage"];
  // Both edges of one input field are one inputField with two transformations.
  ASSERT_EQ(cl["fields"]["amount_usd"]["inputFields"].size(), 1u);
  EXPECT_EQ(cl["fields"]["amount_usd"]["inputFields"][0]["transformations"].size(), 2u);
  EXPECT_FALSE(cl["fields"].contains("n"));
  EXPECT_EQ(cl["dataset"][0]["field"], "uuid");
  EXPECT_EQ(done["outputs"][0]["facets"]["schema"]["fields"][1]["type"], "BIGINT");
  EXPECT_FALSE(start["outputs"][0].contains("facets"));

  build.ok = false;
  build.error = "models/finance/fact.sql: Binder Error";
  json fail = ModelRunEvent(names, "FAIL", run, NowMicros(), build, nullptr);
  EXPECT_EQ(Problem(fail), "");
  EXPECT_EQ(fail["run"]["facets"]["errorMessage"]["message"], build.error);
}

TEST(EventsTest, LoadEventsMapLakeColumnsToJsonPaths) {
  const OpenLineageNames names{"watershed://demo", "watershed://demo", "watershed://demo/json"};
  const std::vector<normalize::TableSchema> tables = {
      {"cb.orgs",
       "",
       {{"_ws_id", ColumnType::kBigint}, {"funding__value_usd", ColumnType::kDecimal}}},
      {"cb.orgs__tags",
       "cb.orgs",
       {{"_ws_parent_id", ColumnType::kBigint}, {"value", ColumnType::kVarchar}}}};
  json e = LoadRunEvent(names, "COMPLETE", NewUuid(), NowMicros(), 7, tables);
  EXPECT_EQ(Problem(e), "");
  ASSERT_EQ(e["inputs"].size(), 1u);
  EXPECT_EQ(e["inputs"][0]["namespace"], "watershed://demo/json");
  EXPECT_EQ(e["inputs"][0]["name"], "cb.orgs");
  ASSERT_EQ(e["outputs"].size(), 2u);
  EXPECT_EQ(e["outputs"][0]["facets"]["columnLineage"]["fields"]["funding__value_usd"]
             ["inputFields"][0]["field"],
            "$.funding.value_usd");
  EXPECT_EQ(
      e["outputs"][1]["facets"]["columnLineage"]["fields"]["value"]["inputFields"][0]["field"],
      "$.tags[*]");
  EXPECT_FALSE(e["outputs"][0]["facets"]["columnLineage"]["fields"].contains("_ws_id"));
}

TEST(SinkTest, FileSinkAppendsValidatedLines) {
  const std::string dir = testing_util::MakeTempDir();
  const std::string path = dir + "/sub/events.ndjson";
  auto sink = OpenLineageSink::ToFile(path);
  ASSERT_TRUE(sink->Emit(ValidEvent()).ok());
  ASSERT_TRUE(sink->Emit(ValidEvent()).ok());
  json bad = ValidEvent();
  bad["run"]["runId"] = "nope";
  Status s = sink->Emit(bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  std::ifstream in(path);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    EXPECT_EQ(json::parse(line), ValidEvent());
    ++lines;
  }
  EXPECT_EQ(lines, 2);  // the invalid event was not written
}

TEST(SinkTest, UrlSinkPostsEventsAndReportsRejections) {
  httplib::Server server;
  std::vector<std::string> bodies;
  std::string auth;
  std::mutex mu;
  server.Post("/api/v1/lineage", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    bodies.push_back(req.body);
    auth = req.get_header_value("Authorization");
    res.status = 201;
  });
  server.Post("/reject", [](const httplib::Request&, httplib::Response& res) {
    res.status = 422;
    res.set_content("{\"error\":\"bad event\"}", "application/json");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread t([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  auto sink =
      OpenLineageSink::ToUrl(StrCat("http://127.0.0.1:", port, "/api/v1/lineage"), "tok-123", 5);
  Status s = sink->Emit(ValidEvent());
  EXPECT_TRUE(s.ok()) << s;
  auto rejecting = OpenLineageSink::ToUrl(StrCat("http://127.0.0.1:", port, "/reject"), "", 5);
  Status r = rejecting->Emit(ValidEvent());
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.message().find("HTTP 422"), std::string::npos) << r;
  server.stop();
  t.join();
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_EQ(json::parse(bodies[0]), ValidEvent());
  EXPECT_EQ(auth, "Bearer tok-123");
}

TEST(SinkTest, ConfiguredInWatershedYml) {
  const std::string dir = testing_util::MakeTempDir();
  auto open = [&](const std::string& lineage) -> StatusOr<std::unique_ptr<OpenLineageSink>> {
    std::ofstream(dir + "/watershed.yml") << "name: demo\nversion: 1\n" << lineage;
    auto p = project::Project::Open(dir);
    if (!p.ok()) return p.status();
    return OpenLineageSink::FromProject(**p);
  };
  auto none = open("");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(*none, nullptr);
  auto file = open("lineage:\n  openlineage:\n    file: out/events.ndjson\n");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->target(), dir + "/out/events.ndjson");
  auto url = open("lineage:\n  openlineage:\n    url: http://marquez:5000/api/v1/lineage\n");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ((*url)->target(), "http://marquez:5000/api/v1/lineage");
  EXPECT_FALSE(open("lineage:\n  openlineage:\n    url: ftp://x\n").ok());
  EXPECT_FALSE(open("lineage:\n  openlineage: {}\n").ok());
  EXPECT_FALSE(open("lineage:\n  openlineage:\n    file: a\n    url: http://x\n").ok());
  auto p = project::Project::Open(dir);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(NamesFor(**p).job_namespace, "watershed://demo");
}

}  // namespace
}  // namespace watershed::observe
