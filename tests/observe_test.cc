// tests/observe_test.cc — observability end to end through the real `watershed` binary:
// /metrics of `watershed serve` checked by promtool and scraped by a real Prometheus server;
// `watershed metrics --push cloudwatch` against moto_server (signatures verified), read back;
// column lineage of the example marts traced to Crunchbase JSON paths, OpenLineage events
// validated; `watershed check` and a check task blocking its downstream task; the audit log
// (data changes, refused API calls, tampering found by `watershed audit verify`, concurrent
// appends); an alarm changing state with its webhook and audit entry.
// WS_BINARY in the environment overrides the compiled-in binary (to try a locally built one).
// Over 600 lines on purpose: the observability suite shares its projects and processes.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "emulators/crunchbase/server.h"
#include "tests/harness.h"
#include "tests/moto.h"
#include "watershed/base/columns.h"
#include "watershed/audit/audit_log.h"
#include "watershed/observe/openlineage.h"

namespace watershed {
namespace {

namespace fs = std::filesystem;
using testing_util::ChildProcess;
using testing_util::FreePort;
using testing_util::MakeTempDir;
using testing_util::Outcome;
using testing_util::Quote;
using testing_util::ReadFileBytes;
using testing_util::ReadLines;
using testing_util::ServeProcess;
using testing_util::Shell;
using testing_util::WaitFor;
using testing_util::Watershed;
using testing_util::WatershedIn;
using testing_util::WebhookReceiver;
using testing_util::WriteFile;

constexpr char kToken[] = "observe-test-token-0123456789";

void WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::trunc);
  for (const auto& l : lines) out << l << "\n";
}

std::vector<nlohmann::json> AuditEntries(const std::string& project) {
  std::vector<nlohmann::json> out;
  for (const std::string& l : ReadLines(project + "/.watershed/audit.log")) {
    out.push_back(nlohmann::json::parse(l, nullptr, false));
  }
  return out;
}

std::string ClicksProject(const std::string& extra = "") {
  std::string dir = MakeTempDir() + "/clicks";
  fs::create_directories(dir);
  WriteFile(dir, "watershed.yml",
            "name: observe\n"
            "streams:\n"
            "  clicks:\n"
            "    batch: {max_wait: 200ms}\n" +
                extra);
  return dir;
}

// ---- /metrics: promtool and a real Prometheus server ----

TEST(Metrics, ServedMetricsPassPromtoolAndARealPrometheusScrapesThem) {
  const std::string project = ClicksProject();
  const int port = FreePort();
  ServeProcess serve(project, port, kToken);
  serve.Start();
  httplib::Client c("127.0.0.1", port);
  const httplib::Headers auth = {{"Authorization", StrCat("Bearer ", kToken)}};
  int sent = 0;
  for (int i = 0; i < 3; ++i) {
    std::string body;
    for (int j = 0; j <= i; ++j, ++sent)
      body += StrCat("{\"page\":\"p", j, "\",\"ms\":", j * 10, "}\n");
    auto r = c.Post("/v1/streams/clicks/events", auth, body, "application/x-ndjson");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  // The stream's counters reach /metrics (the server publishes them every 200 ms).
  const std::string committed = StrCat("watershed_stream_events_total{stream=\"clicks\"} ", sent);
  std::string text;
  ASSERT_TRUE(WaitFor([&] {
    auto r = c.Get("/metrics");
    if (!r || r->status != 200) return false;
    text = r->body;
    return text.find(committed) != std::string::npos;
  })) << text;
  EXPECT_NE(text.find("# TYPE watershed_stream_events_total counter"), std::string::npos);
  EXPECT_NE(text.find(StrCat("watershed_stream_events_accepted_total{stream=\"clicks\"} ", sent)),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("watershed_stream_lag_events{stream=\"clicks\"}"), std::string::npos);
  // The commit lag is recorded: a number of seconds >= 0 (documented in metrics.md).
  const std::string lag_key = "watershed_stream_lag_seconds{stream=\"clicks\"} ";
  const size_t lag_at = text.find(lag_key);
  ASSERT_NE(lag_at, std::string::npos) << text;
  const double lag = std::stod(text.substr(lag_at + lag_key.size()));
  EXPECT_GE(lag, 0);
  EXPECT_LT(lag, 600);
  auto metrics_answer = c.Get("/metrics");
  ASSERT_TRUE(metrics_answer);
  EXPECT_NE(metrics_answer->get_header_value("Content-Type").find("version=0.0.4"),
            std::string::npos);

  // promtool: the exposition parses and passes the lint rules.
  const std::string file = project + "/metrics.txt";
  std::ofstream(file) << text;
  Outcome promtool = Shell("promtool check metrics < " + Quote(file));
  EXPECT_EQ(promtool.code, 0) << promtool.out;
  // promtool is not a rubber stamp: a counter without _total fails.
  std::ofstream(project + "/bad.txt") << "# HELP foo x\n# TYPE foo counter\nfoo 1\n";
  EXPECT_NE(Shell("promtool check metrics < " + Quote(project + "/bad.txt")).code, 0);

  // A real Prometheus server scrapes /metrics every second.
  const int prom_port = FreePort();
  const std::string prom_dir = project + "/prometheus";
  fs::create_directories(prom_dir + "/data");
  WriteFile(prom_dir, "prometheus.yml",
            StrCat("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                   "scrape_configs:\n"
                   "  - job_name: watershed\n"
                   "    static_configs: [{targets: ['127.0.0.1:",
                   port, "']}]\n"));
  ChildProcess prometheus({"/usr/bin/prometheus", "--config.file=" + prom_dir + "/prometheus.yml",
                           "--storage.tsdb.path=" + prom_dir + "/data",
                           StrCat("--web.listen-address=127.0.0.1:", prom_port)},
                          prom_dir + "/prometheus.log");
  httplib::Client pc("127.0.0.1", prom_port);
  auto query = [&](const std::string& promql) -> std::string {  // the first sample's value
    auto r = pc.Get("/api/v1/query", httplib::Params{{"query", promql}}, httplib::Headers{});
    if (!r || r->status != 200) return "";
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (!j.is_object() || j.value("status", "") != "success") return "";
    const auto& result = j["data"]["result"];
    if (!result.is_array() || result.empty()) return "";
    return result[0]["value"][1].get<std::string>();
  };
  EXPECT_TRUE(WaitFor([&] { return query("up{job=\"watershed\"}") == "1"; }, 90))
      << "up{job=\"watershed\"} = '" << query("up{job=\"watershed\"}") << "'\n"
      << prometheus.Log();
  EXPECT_TRUE(WaitFor(
      [&] {
        return query("watershed_stream_events_total{job=\"watershed\",stream=\"clicks\"}") ==
               std::to_string(sent);
      },
      60))
      << query("watershed_stream_events_total");
  // Prometheus saw no scrape errors for the target.
  auto targets = pc.Get("/api/v1/targets");
  ASSERT_TRUE(targets);
  auto tj = nlohmann::json::parse(targets->body, nullptr, false);
  ASSERT_TRUE(tj.is_object()) << targets->body;
  ASSERT_FALSE(tj["data"]["activeTargets"].empty()) << targets->body;
  EXPECT_EQ(tj["data"]["activeTargets"][0].value("health", ""), "up") << targets->body;
  EXPECT_EQ(tj["data"]["activeTargets"][0].value("lastError", "x"), "") << targets->body;
  prometheus.Stop();
  EXPECT_EQ(serve.Stop(), 0) << serve.Log();
}

// ---- CloudWatch ----

TEST(Metrics, PushToCloudWatchSignedAndReadBack) {
  auto moto = testing_util::MotoServer::Start({.verify_signatures = true});
  ASSERT_NE(moto, nullptr) << "moto_server did not start";
  const net::AwsConfig& aws = moto->config();
  const std::string dir = MakeTempDir() + "/cw";
  fs::create_directories(dir);
  auto yml = [&](const std::string& secret) {
    WriteFile(dir, "watershed.yml",
              StrCat("name: cw\nmetrics:\n  cloudwatch:\n    namespace: Watershed/ObserveTest\n"
                     "    region: us-east-1\n    endpoint: ",
                     aws.endpoint, "\n    access_key_id: ", aws.access_key_id,
                     "\n    secret_access_key: ", secret, "\n"));
  };
  yml(aws.secret_access_key);
  WriteFile(dir, "rows.ndjson", "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
  Outcome load = WatershedIn(dir, "load " + Quote(dir + "/rows.ndjson") + " --table files.rows");
  ASSERT_EQ(load.code, 0) << load.out;

  Outcome push = WatershedIn(dir, "metrics --push cloudwatch");
  ASSERT_EQ(push.code, 0) << push.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(push.out, m, std::regex("pushed (\\d+) datums"))) << push.out;
  EXPECT_GT(std::stoi(m[1]), 0) << push.out;

  auto client = testing_util::MotoServer::QuickClient();
  const int64_t now = NowMicros();
  auto sum_of = [&](const std::string& name) -> double {
    auto xml = net::AwsQueryCall(*client, aws, net::kCloudWatchService,
                                     "GetMetricStatistics", "2010-08-01",
                                     {{"Namespace", "Watershed/ObserveTest"},
                                      {"MetricName", name},
                                      {"Dimensions.member.1.Name", "layer"},
                                      {"Dimensions.member.1.Value", "lake"},
                                      {"Dimensions.member.2.Name", "table"},
                                      {"Dimensions.member.2.Value", "files.rows"},
                                      {"StartTime", IsoUtc(now - 3600LL * 1000000, false)},
                                      {"EndTime", IsoUtc(now + 3600LL * 1000000, false)},
                                      {"Period", "60"},
                                      {"Statistics.member.1", "Sum"}});
    EXPECT_TRUE(xml.ok()) << xml.status();
    double sum = 0;
    if (xml.ok()) {
      for (const std::string& s : net::XmlElementTexts(*xml, "Sum")) sum += std::stod(s);
    }
    return sum;
  };
  auto listed = net::AwsQueryCall(*client, aws, net::kCloudWatchService, "ListMetrics",
                                      "2010-08-01", {{"Namespace", "Watershed/ObserveTest"}});
  ASSERT_TRUE(listed.ok()) << listed.status();
  std::set<std::string> names;
  for (const std::string& n : net::XmlElementTexts(*listed, "MetricName")) names.insert(n);
  EXPECT_TRUE(names.contains("watershed_records_written_total")) << *listed;
  EXPECT_TRUE(names.contains("watershed_load_sessions_total")) << *listed;
  EXPECT_EQ(sum_of("watershed_records_written_total"), 3);

  // A second push sends only what is new: the three rows are not counted twice.
  Outcome again = WatershedIn(dir, "metrics --push cloudwatch");
  ASSERT_EQ(again.code, 0) << again.out;
  EXPECT_EQ(sum_of("watershed_records_written_total"), 3);

  // A wrong secret is refused by the (signature-checking) server; the secret is never printed.
  Outcome load2 = WatershedIn(dir, "load " + Quote(dir + "/rows.ndjson") + " --table files.more");
  ASSERT_EQ(load2.code, 0) << load2.out;
  yml("wrong-secret-for-observe-test");
  Outcome refused = WatershedIn(dir, "metrics --push cloudwatch");
  EXPECT_EQ(refused.code, 1) << refused.out;
  EXPECT_EQ(refused.out.find("wrong-secret-for-observe-test"), std::string::npos) << refused.out;
  EXPECT_EQ(refused.out.find(aws.secret_access_key), std::string::npos);
}

// ---- the example project built from the Crunchbase emulator ----

namespace emu = emulators::crunchbase;

class Example : public ::testing::Test {
 protected:
  // Built once (unload + build through the binary), copied for each test.
  static void SetUpTestSuite() {
    template_ = new std::string(MakeTempDir() + "/example");
    fs::copy(std::string(WS_SOURCE_DIR) + "/examples/crunchbase", *template_,
             fs::copy_options::recursive);
    auto e = emu::Emulator::Start({.num_orgs = 1000, .seed = 4});
    ASSERT_TRUE(e.ok()) << e.status();
    std::unique_ptr<emu::Emulator> emulator = std::move(*e);
    Outcome unload =
        WatershedIn(*template_, "crunchbase --rate-limit 0 --base-url " + emulator->base_url(),
                    {{"CRUNCHBASE_API_KEY", "emulator-key"}});
    ASSERT_EQ(unload.code, 0) << unload.out;
    Outcome build = WatershedIn(*template_, "build");
    ASSERT_EQ(build.code, 0) << build.out;
  }
  static void TearDownTestSuite() {
    delete template_;
    template_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(template_, nullptr);
    ASSERT_TRUE(fs::exists(*template_ + "/marts/finance.duckdb")) << "the example did not build";
    root_ = MakeTempDir() + "/example";
    fs::copy(*template_, root_, fs::copy_options::recursive);
  }
  // Inserts `lines` right after the line `section` (a top-level key) of watershed.yml.
  void InsertAfter(const std::string& section, const std::string& lines) {
    const std::string path = root_ + "/watershed.yml";
    std::string yml = ReadFileBytes(path);
    size_t at = yml.find("\n" + section + "\n");
    ASSERT_NE(at, std::string::npos) << section;
    yml.insert(at + section.size() + 2, lines);
    std::ofstream(path, std::ios::trunc) << yml;
  }
  static std::string* template_;
  std::string root_;
};

std::string* Example::template_ = nullptr;

// The json: leaves of a lineage tree (`--format json`).
void Leaves(const nlohmann::json& node, std::set<std::string>* out) {
  const nlohmann::json children = node.value("children", nlohmann::json::array());
  if (children.empty()) {
    out->insert(node.value("node", ""));
    return;
  }
  for (const auto& child : children) Leaves(child, out);
}

// The JSON document in a command's output (log lines on stderr may come before it).
nlohmann::json JsonIn(const std::string& out) {
  size_t start = out.rfind("\n{");
  start = out.starts_with("{") ? 0 : start == std::string::npos ? 0 : start + 1;
  return nlohmann::json::parse(out.substr(start, out.rfind('}') + 1 - start), nullptr, false);
}

TEST_F(Example, ColumnLineageOfTheMartsReachesTheCrunchbaseJsonPaths) {
  Outcome up = WatershedIn(root_, "lineage finance.fact_funding_round.amount_usd --upstream");
  ASSERT_EQ(up.code, 0) << up.out;
  EXPECT_NE(up.out.find("finance.stg_funding_rounds.amount_usd"), std::string::npos) << up.out;
  EXPECT_NE(up.out.find("crunchbase.funding_rounds.money_raised__value_usd"), std::string::npos)
      << up.out;
  EXPECT_NE(up.out.find("json:crunchbase.funding_rounds:$.money_raised.value_usd"),
            std::string::npos)
      << up.out;

  Outcome down =
      WatershedIn(root_, "lineage crunchbase.funding_rounds.money_raised__value_usd --downstream");
  ASSERT_EQ(down.code, 0) << down.out;
  EXPECT_NE(down.out.find("finance.fact_funding_round.amount_usd"), std::string::npos) << down.out;
  EXPECT_NE(down.out.find("finance.funding_by_month.amount_usd"), std::string::npos) << down.out;
  Outcome from_json = WatershedIn(
      root_, "lineage 'json:crunchbase.funding_rounds:$.money_raised.value_usd' --downstream");
  ASSERT_EQ(from_json.code, 0) << from_json.out;
  EXPECT_NE(from_json.out.find("finance.funding_by_month.amount_usd"), std::string::npos);

  // Columns of both marts, each traced to the JSON path of the record it came from.
  const std::map<std::string, std::string> expected = {
      {"finance.fact_investment.amount_usd",
       "json:crunchbase.investments:$.money_invested.value_usd"},
      {"finance.dim_organization.name", "json:crunchbase.organizations:$.name"},
      {"finance.dim_organization.country",
       "json:crunchbase.organizations:$.location_identifiers[*].value"},
      {"finance.dim_investor.name", "json:crunchbase.investments:$.investor_identifier.value"},
      {"analytics.hub_organization.uuid", "json:crunchbase.organizations:$.uuid"},
      {"analytics.top_lead_investors.investor_uuid",
       "json:crunchbase.investments:$.investor_identifier.uuid"},
  };
  for (const auto& [column, path] : expected) {
    Outcome o = WatershedIn(root_, "lineage " + column + " --format json");
    ASSERT_EQ(o.code, 0) << column << ": " << o.out;
    auto tree = JsonIn(o.out);
    ASSERT_TRUE(tree.is_object()) << o.out;
    std::set<std::string> leaves;
    Leaves(tree, &leaves);
    EXPECT_TRUE(leaves.contains(path)) << column << " leaves: " << o.out;
  }

  // An unknown node is an error that suggests close names.
  Outcome unknown = WatershedIn(root_, "lineage finance.fact_funding_round.amount_usdd");
  EXPECT_EQ(unknown.code, 1) << unknown.out;
  EXPECT_NE(unknown.out.find("finance.fact_funding_round.amount_usd"), std::string::npos)
      << unknown.out;

  // OpenLineage: the example's file sink holds valid RunEvents of the loads and the builds.
  const std::vector<std::string> events = ReadLines(root_ + "/lineage/openlineage.ndjson");
  ASSERT_FALSE(events.empty());
  std::map<std::string, std::set<std::string>> types_by_job;
  bool load_lineage = false;
  for (const std::string& line : events) {
    auto e = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(e.is_object()) << line;
    Status valid = observe::ValidateRunEvent(e);
    EXPECT_TRUE(valid.ok()) << valid << "\n" << line;
    types_by_job[e["job"].value("name", "")].insert(e.value("eventType", ""));
    for (const auto& out : e.value("outputs", nlohmann::json::array())) {
      if (out.value("name", "") != "crunchbase.funding_rounds") continue;
      const std::string facet = out.value("facets", nlohmann::json::object())
                                    .value("columnLineage", nlohmann::json())
                                    .dump();
      load_lineage |= facet.find("money_raised__value_usd") != std::string::npos &&
                      facet.find("$.money_raised.value_usd") != std::string::npos;
    }
  }
  EXPECT_TRUE(load_lineage)
      << "no load event with the column lineage of crunchbase.funding_rounds: " << events.front();
  EXPECT_EQ(types_by_job["finance.fact_funding_round"],
            (std::set<std::string>{"START", "COMPLETE"}));
  // The validator is not a rubber stamp.
  auto broken = nlohmann::json::parse(events.back());
  broken["run"]["runId"] = "not-a-uuid";
  EXPECT_FALSE(observe::ValidateRunEvent(broken).ok());
}

TEST_F(Example, ErrorChecksFailTheCommandWarnChecksDoNot) {
  Outcome all = WatershedIn(root_, "check");
  ASSERT_EQ(all.code, 0) << all.out;  // the example's own checks pass (one warns)
  EXPECT_NE(all.out.find("funding_rounds__amount_disclosed"), std::string::npos) << all.out;
  EXPECT_NE(all.out.find("1 warned, 0 failed"), std::string::npos) << all.out;

  InsertAfter(
      "checks:",
      "  crunchbase.people:\n"
      "    - {accepted_values: {column: operating_status, values: [nope]}, name: never_ok}\n"
      "  crunchbase.organizations__categories:\n"
      "    - {row_count: {max: 1}, name: too_many_categories, severity: warn}\n");
  // crunchbase.people has no operating_status: the check cannot run (error, blocking).
  Outcome failing = WatershedIn(root_, "check");
  EXPECT_EQ(failing.code, 1) << failing.out;
  EXPECT_NE(failing.out.find("never_ok"), std::string::npos) << failing.out;
  EXPECT_NE(failing.out.find("blocking"), std::string::npos) << failing.out;

  // A real failure: only active organizations allowed (the emulator also has closed ones).
  const std::string yml = ReadFileBytes(root_ + "/watershed.yml");
  std::string fixed = std::regex_replace(
      yml, std::regex("  crunchbase.people:\n.*never_ok\\}\n"),
      "  crunchbase.organizations__location_identifiers:\n"
      "    - {accepted_values: {column: location_type, values: [city]}, name: only_cities}\n");
  ASSERT_NE(fixed, yml);
  std::ofstream(root_ + "/watershed.yml", std::ios::trunc) << fixed;
  Outcome fail = WatershedIn(root_, "check crunchbase --format json");
  EXPECT_EQ(fail.code, 1) << fail.out;
  auto report = JsonIn(fail.out);
  ASSERT_TRUE(report.is_object()) << fail.out;
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& r : report["results"]) by_name[r.value("check", "")] = r;
  ASSERT_TRUE(by_name.contains("only_cities")) << fail.out;
  EXPECT_EQ(by_name["only_cities"].value("status", ""), "fail");
  EXPECT_GT(by_name["only_cities"].value("failing_rows", int64_t{0}), 0);
  ASSERT_TRUE(by_name.contains("too_many_categories"));
  EXPECT_EQ(by_name["too_many_categories"].value("status", ""), "warn");

  // The same check as a warning: reported, exit 0.
  std::string warn = std::regex_replace(fixed, std::regex("name: only_cities\\}"),
                                        "name: only_cities, severity: warn}");
  std::ofstream(root_ + "/watershed.yml", std::ios::trunc) << warn;
  Outcome warned = WatershedIn(root_, "check crunchbase");
  EXPECT_EQ(warned.code, 0) << warned.out;
  EXPECT_NE(warned.out.find("only_cities"), std::string::npos) << warned.out;
  EXPECT_NE(warned.out.find("0 failed"), std::string::npos) << warned.out;
}

TEST_F(Example, AFailingCheckTaskBlocksItsDownstreamTask) {
  const std::string marker = root_ + "/published.txt";
  InsertAfter(
      "checks:",
      "  crunchbase.organizations__location_identifiers:\n"
      "    - {accepted_values: {column: location_type, values: [city]}, name: only_cities}\n");
  InsertAfter(
      "pipelines:",
      StrCat("  gate:\n"
             "    retries: 2\n"
             "    tasks:\n"
             "      quality: {type: check, table: crunchbase.organizations__location_identifiers}\n"
             "      publish: {type: shell, command: \"echo published > ",
             marker, "\", after: quality}\n"));
  Outcome run = WatershedIn(root_, "run gate --date 2026-01-01");
  EXPECT_EQ(run.code, 1) << run.out;
  EXPECT_FALSE(fs::exists(marker)) << run.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(run.out, m, std::regex("run (\\S+): failed"))) << run.out;
  Outcome show = WatershedIn(root_, "runs show " + m[1].str());
  ASSERT_EQ(show.code, 0) << show.out;
  // The check task failed once (terminal: not retried), publish was skipped.
  EXPECT_TRUE(std::regex_search(show.out, std::regex("quality\\s*│\\s*1\\s*│\\s*failed")))
      << show.out;
  EXPECT_FALSE(std::regex_search(show.out, std::regex("quality\\s*│\\s*2"))) << show.out;
  EXPECT_TRUE(std::regex_search(show.out, std::regex("publish\\s*│\\s*0\\s*│\\s*skipped")))
      << show.out;
  EXPECT_NE(show.out.find("only_cities"), std::string::npos) << show.out;  // the task's log

  // Fixed (the check only warns now): the same pipeline runs through.
  const std::string yml = ReadFileBytes(root_ + "/watershed.yml");
  std::ofstream(root_ + "/watershed.yml", std::ios::trunc) << std::regex_replace(
      yml, std::regex("name: only_cities\\}"), "name: only_cities, severity: warn}");
  Outcome ok = WatershedIn(root_, "run gate --date 2026-01-02");
  EXPECT_EQ(ok.code, 0) << ok.out;
  EXPECT_EQ(ReadFileBytes(marker), "published\n");
}

// ---- the audit log ----

TEST(Audit, LoadsAreDataChangesAndTamperingIsNamed) {
  const std::string dir = MakeTempDir() + "/audit";
  ASSERT_EQ(Watershed("init " + Quote(dir)).code, 0);
  WriteFile(dir, "a.ndjson", "{\"id\":1,\"tags\":[\"x\",\"y\"]}\n{\"id\":2,\"tags\":[]}\n");
  Outcome load = WatershedIn(dir, "load " + Quote(dir + "/a.ndjson") + " --table files.a");
  ASSERT_EQ(load.code, 0) << load.out;
  ASSERT_EQ(WatershedIn(dir, "query 'SELECT 1'").code, 0);
  ASSERT_EQ(WatershedIn(dir, "query 'SELECT nope'").code, 1);

  auto entries = AuditEntries(dir);
  ASSERT_GE(entries.size(), 4u);
  const nlohmann::json* change = nullptr;
  for (const auto& e : entries) {
    if (e.value("action", "") == "data_change") change = &e;
  }
  ASSERT_NE(change, nullptr) << ReadFileBytes(dir + "/.watershed/audit.log");
  EXPECT_EQ(change->value("outcome", ""), "ok");
  EXPECT_EQ(change->value("principal", ""), audit::CurrentPrincipal());
  const std::string target = change->value("target", "");
  EXPECT_NE(target.find("files.a +2 rows"), std::string::npos) << target;
  EXPECT_NE(target.find("files.a__tags +2 rows"), std::string::npos) << target;
  EXPECT_NE(target.find("snapshot 1"), std::string::npos) << target;
  EXPECT_EQ(entries.back().value("outcome", "").rfind("error: ", 0), 0u) << entries.back().dump();

  Outcome intact = WatershedIn(dir, "audit verify");
  ASSERT_EQ(intact.code, 0) << intact.out;
  EXPECT_NE(intact.out.find("intact"), std::string::npos);

  const std::string log = dir + "/.watershed/audit.log";
  const std::vector<std::string> original = ReadLines(log);
  ASSERT_GE(original.size(), 4u);
  struct Tamper {
    std::string what;
    std::vector<std::string> lines;
    std::string named;  // in the message
  };
  std::vector<Tamper> tampers;
  {  // edit: entry 2's target
    auto lines = original;
    auto j = nlohmann::json::parse(lines[1]);
    j["target"] = j.value("target", "") + " (innocent)";
    lines[1] = j.dump();
    tampers.push_back({"edit", lines, "entry 2 was edited"});
  }
  {  // insert: a forged entry after entry 2, chained to entry 2 but not re-hashing the rest
    auto lines = original;
    auto j = nlohmann::json::parse(lines[1]);
    j["seq"] = 3;
    j["prev"] = j["hash"];
    j["target"] = "drop everything";
    j["hash"] = std::string(64, 'a');
    lines.insert(lines.begin() + 2, j.dump());
    tampers.push_back({"insert", lines, ":3: entry 3"});
  }
  {  // delete entry 2
    auto lines = original;
    lines.erase(lines.begin() + 1);
    tampers.push_back({"delete", lines, "entry 3 where 2 was expected"});
  }
  for (const Tamper& t : tampers) {
    WriteLines(log, t.lines);
    Outcome verify = WatershedIn(dir, "audit verify");
    EXPECT_EQ(verify.code, 1) << t.what << ": " << verify.out;
    EXPECT_NE(verify.out.find(t.named), std::string::npos) << t.what << ": " << verify.out;
  }
  WriteLines(log, original);
  EXPECT_EQ(WatershedIn(dir, "audit verify").code, 0);
}

TEST(Audit, ServerAuditsRefusedRequestsThrottledAndStreamCommits) {
  const std::string project = ClicksProject();
  const int port = FreePort();
  ServeProcess serve(project, port, kToken);
  serve.Start();
  httplib::Client c("127.0.0.1", port);
  // 20 refused requests in a burst: a handful of entries, their counts adding up to 20.
  for (int i = 0; i < 10; ++i) {
    auto none = c.Post("/v1/streams/clicks/events", "{\"a\":1}\n", "application/x-ndjson");
    ASSERT_TRUE(none);
    EXPECT_EQ(none->status, 401);
    auto wrong = c.Post("/v1/streams/clicks/events", {{"Authorization", "Bearer not-the-token"}},
                        "{\"a\":1}\n", "application/x-ndjson");
    ASSERT_TRUE(wrong);
    EXPECT_EQ(wrong->status, 401);
  }
  auto ok = c.Post("/v1/streams/clicks/events", {{"Authorization", StrCat("Bearer ", kToken)}},
                   "{\"page\":\"a\"}\n{\"page\":\"b\"}\n", "application/x-ndjson");
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 200) << ok->body;
  // The stream's commit is a data change.
  EXPECT_TRUE(WaitFor([&] {
    for (const auto& e : AuditEntries(project)) {
      if (e.value("action", "") == "data_change" &&
          e.value("target", "").find("stream.clicks +2 rows") != std::string::npos) {
        return true;
      }
    }
    return false;
  })) << ReadFileBytes(project + "/.watershed/audit.log");
  EXPECT_EQ(serve.Stop(), 0) << serve.Log();  // flushes the held-back counts

  std::map<std::string, int> refused;  // principal -> requests
  int api_entries = 0;
  for (const auto& e : AuditEntries(project)) {
    ASSERT_TRUE(e.is_object());
    if (e.value("action", "") != "api_call") continue;
    ++api_entries;
    // ... and the request's id (X-Request-Id).
    EXPECT_TRUE(std::regex_match(e.value("target", ""),
                                 std::regex("POST /v1/streams/clicks/events from 127\\.0\\.0\\.1 "
                                            "request [0-9a-f]+-[0-9a-f]+")))
        << e.value("target", "");
    std::smatch m;
    const std::string outcome = e.value("outcome", "");
    ASSERT_TRUE(std::regex_match(outcome, m, std::regex("refused 401(?: \\((\\d+) times\\))?")))
        << outcome;
    refused[e.value("principal", "")] += m[1].matched ? std::stoi(m[1]) : 1;
  }
  EXPECT_EQ(refused["anonymous"], 10);
  EXPECT_EQ(refused["invalid-token"], 10);
  EXPECT_LT(api_entries, 20);  // coalesced
  EXPECT_EQ(ReadFileBytes(project + "/.watershed/audit.log").find("not-the-token"),
            std::string::npos);
  Outcome verify = WatershedIn(project, "audit verify");
  EXPECT_EQ(verify.code, 0) << verify.out;
}

TEST(Audit, ConcurrentAppendsFromManyProcessesKeepTheChain) {
  const std::string path = MakeTempDir() + "/audit.log";
  constexpr int kProcesses = 6, kEach = 40;
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcesses; ++p) {
    pid_t pid = fork();
    if (pid == 0) {
      audit::AuditLog log(path);
      for (int i = 0; i < kEach; ++i) {
        if (!log.Append({0, "", StrCat("p", p), "command", StrCat("n", i), "ok"}).ok()) _exit(1);
      }
      _exit(0);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  audit::AuditLog log(path);
  Status verified = log.Verify();
  EXPECT_TRUE(verified.ok()) << verified;
  auto entries = log.Read();
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), static_cast<size_t>(kProcesses * kEach));
  EXPECT_EQ(entries->back().seq, kProcesses * kEach);

  // A torn last line (a crash mid-write): later appends continue the chain on a line of their
  // own, and verify names the torn line.
  std::ofstream(path, std::ios::app) << "{\"seq\":241,\"ti";
  ASSERT_TRUE(log.Append({0, "", "p", "command", "after the crash", "ok"}).ok());
  auto after = log.Read();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->back().seq, kProcesses * kEach + 1);
  EXPECT_EQ(after->back().target, "after the crash");
  Status torn = log.Verify();
  EXPECT_EQ(torn.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(MessageOf(torn).find(StrCat(":", kProcesses * kEach + 1, ": not an audit entry")),
            std::string_view::npos)
      << torn;
}

TEST(Audit, TheThrottleWritesOneEntryPerKeyAndIntervalWithCounts) {
  const std::string path = MakeTempDir() + "/audit.log";
  audit::AuditThrottle throttle(path, /*interval_micros=*/1'000'000, /*max_keys=*/2);
  auto entry = [](const std::string& who) {
    return audit::AuditEntry{0, "", who, "api_call", "POST /x", "refused 401"};
  };
  const int64_t t0 = 1'000'000'000;
  ASSERT_TRUE(throttle.Record("a", entry("anonymous"), t0).ok());           // written
  ASSERT_TRUE(throttle.Record("a", entry("anonymous"), t0 + 10).ok());      // held
  ASSERT_TRUE(throttle.Record("a", entry("anonymous"), t0 + 20).ok());      // held
  ASSERT_TRUE(throttle.Record("b", entry("invalid-token"), t0 + 30).ok());  // another key: written
  ASSERT_TRUE(throttle.Flush(t0 + 500'000).ok());                           // too early
  auto entries = throttle.log().Read();
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 2u);
  ASSERT_TRUE(throttle.Flush(t0 + 1'000'000).ok());  // a's two held entries
  entries = throttle.log().Read();
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[2].outcome, "refused 401 (2 times)");
  EXPECT_EQ((*entries)[2].principal, "anonymous");
  // Past max_keys, new keys share one slot.
  ASSERT_TRUE(throttle.Record("c", entry("c"), t0 + 1'100'000).ok());  // "*" slot: written
  ASSERT_TRUE(throttle.Record("d", entry("d"), t0 + 1'100'010).ok());  // "*" slot: held
  ASSERT_TRUE(throttle.Flush(t0 + 1'100'020, /*all=*/true).ok());
  entries = throttle.log().Read();
  ASSERT_EQ(entries->size(), 5u);
  EXPECT_EQ((*entries)[4].principal, "d");
  EXPECT_TRUE(throttle.log().Verify().ok());
}

// ---- alarms ----

TEST(Alarms, AStateChangeCallsTheWebhookAndIsAudited) {
  WebhookReceiver hook;
  ASSERT_GT(hook.port(), 0);

  const std::string dir = MakeTempDir() + "/alarms";
  fs::create_directories(dir);
  WriteFile(dir, "watershed.yml",
            StrCat("name: alarms\n"
                   "alarms:\n"
                   "  rows_landed:\n"
                   "    metric: watershed_records_written_total\n"
                   "    labels: {table: files.events}\n"
                   "    comparison: \">=\"\n"
                   "    threshold: 3\n"
                   "    window: 1h\n"
                   "    webhook: ",
                   hook.url(),
                   "\n"
                   "    description: three rows landed\n"));
  Outcome first = WatershedIn(dir, "alarms --evaluate");
  ASSERT_EQ(first.code, 0) << first.out;
  EXPECT_TRUE(std::regex_search(first.out, std::regex("rows_landed\\s*│\\s*OK"))) << first.out;

  WriteFile(dir, "e.ndjson", "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");
  ASSERT_EQ(WatershedIn(dir, "load " + Quote(dir + "/e.ndjson") + " --table files.events").code, 0);
  Outcome second = WatershedIn(dir, "alarms --evaluate");
  ASSERT_EQ(second.code, 0) << second.out;
  EXPECT_TRUE(std::regex_search(second.out, std::regex("rows_landed\\s*│\\s*ALARM\\s*│\\s*3"))) << second.out;
  // Evaluated again without a change: not told again.
  ASSERT_EQ(WatershedIn(dir, "alarms --evaluate").code, 0);
  Outcome shown = WatershedIn(dir, "alarms --format json");
  ASSERT_EQ(shown.code, 0) << shown.out;
  EXPECT_NE(shown.out.find("ALARM"), std::string::npos) << shown.out;

  hook.Stop();
  {
    const std::vector<std::string> bodies = hook.Bodies();
    ASSERT_EQ(bodies.size(), 1u);
    auto j = nlohmann::json::parse(bodies[0], nullptr, false);
    ASSERT_TRUE(j.is_object()) << bodies[0];
    EXPECT_EQ(j.value("alarm", ""), "rows_landed");
    EXPECT_EQ(j.value("state", ""), "ALARM");
    EXPECT_EQ(j.value("previous", ""), "OK");
    EXPECT_EQ(j.value("value", 0.0), 3.0);
    EXPECT_EQ(j.value("description", ""), "three rows landed");
  }
  int alarm_entries = 0;
  for (const auto& e : AuditEntries(dir)) {
    if (e.value("action", "") != "alarm") continue;
    ++alarm_entries;
    EXPECT_EQ(e.value("target", ""), "rows_landed");
    EXPECT_EQ(e.value("outcome", "").rfind("ALARM (was OK)", 0), 0u) << e.dump();
  }
  EXPECT_EQ(alarm_entries, 1);
  EXPECT_EQ(WatershedIn(dir, "audit verify").code, 0);
}

}  // namespace
}  // namespace watershed
