// tests/hostile_input_test.cc — keys, bytes and events an attacker or a careless client sends,
// through the real binary: file loads and `watershed serve` streams must name them safely,
// quarantine what cannot land (readable, with the exact bytes), keep system columns the
// server's, and never stall. The reproductions of the hardening issue (issue 12).
#include <signal.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/harness.h"
#include "watershed/base/strings.h"

namespace {

using watershed::StrCat;
using watershed::testing_util::FreePort;
using watershed::testing_util::MakeTempDir;
using watershed::testing_util::Outcome;
using watershed::testing_util::Quote;
using watershed::testing_util::ServeProcess;
using watershed::testing_util::WaitFor;
using watershed::testing_util::Watershed;
using watershed::testing_util::WatershedIn;
using watershed::testing_util::WriteFile;

constexpr char kToken[] = "test-token-0123456789";

// The rows of `sql` as JSON (`--format json`); a failed query fails the test.
nlohmann::json Rows(const std::string& project, const std::string& sql) {
  Outcome o = WatershedIn(project, "query --format json " + Quote(sql));
  EXPECT_EQ(o.code, 0) << sql << "\n" << o.out;
  if (o.code != 0) return nlohmann::json::array();
  return nlohmann::json::parse(o.out, nullptr, false);
}

int64_t Number(const std::string& project, const std::string& sql) {
  nlohmann::json rows = Rows(project, sql);
  if (!rows.is_array() || rows.empty()) return -1;
  return rows[0].begin()->get<int64_t>();
}

// Keys that used to stop a load or a stream: a dot, a slash, a quote, a NUL, 300 characters,
// two paths that used to share a column, a client-forged system column.
std::string HostileRecords() {
  const std::string long_key(300, 'k');
  return "{\"page\":\"a\",\"a.b\":[1,2]}\n"
         "{\"page\":\"b\",\"x/y\":[1],\"q'uote\":1,\"nul\\u0000key\":2}\n"
         "{\"page\":\"c\",\"" + long_key + "\":[3]}\n"
         "{\"page\":\"d\",\"a\":{\"b\":2},\"a__b\":3}\n"
         "{\"page\":\"e\",\"_ws_id\":\"forged\",\"_ws_load_id\":99}\n";
}

std::string Project(const std::string& extra = "") {
  const std::string dir = MakeTempDir();
  WriteFile(dir, "watershed.yml", "name: hostile\n" + extra);
  return dir;
}

TEST(HostileInput, KeysThatUsedToFailALoadLandAsValidNamesAndBuildStillWorks) {
  const std::string project = Project();
  std::filesystem::create_directories(project + "/models/web");
  WriteFile(project + "/models/web", "pages.sql",
            "SELECT e.page, c.value FROM {{ source('raw', 'events') }} e LEFT JOIN "
            "{{ source('raw', 'events__a_b') }} c ON c._ws_parent_id = e._ws_id\n");
  const std::string input = WriteFile(project, "events.ndjson", HostileRecords());
  Outcome load = WatershedIn(project, "load " + Quote(input) + " --table raw.events");
  ASSERT_EQ(load.code, 0) << load.out;
  EXPECT_EQ(Number(project, "SELECT count(*) FROM raw.events"), 5);
  EXPECT_EQ(Number(project, "SELECT count(*) FROM raw.events__a_b"), 2);
  // Two paths, two columns: nothing was overwritten.
  EXPECT_EQ(Number(project, "SELECT a__b FROM raw.events WHERE page = 'd'"), 2);
  EXPECT_EQ(Number(project, "SELECT a_b FROM raw.events WHERE page = 'd'"), 3);
  // The client's `_ws_id` did not replace the row id.
  nlohmann::json e = Rows(project, "SELECT _ws_id, ws_id, ws_load_id FROM raw.events WHERE page = 'e'");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0]["ws_id"], "forged");
  EXPECT_EQ(e[0]["ws_load_id"], 99);
  EXPECT_TRUE(e[0]["_ws_id"].is_number());
  // Every table reads (a NUL in a name used to make them unreadable), and a build attaches all.
  Outcome tables = WatershedIn(project, "tables --format csv");
  ASSERT_EQ(tables.code, 0) << tables.out;
  EXPECT_NE(tables.out.find("raw.events__x_y"), std::string::npos) << tables.out;
  Outcome build = WatershedIn(project, "build");
  EXPECT_EQ(build.code, 0) << build.out;
  // Model builds record their duration (metrics.md).
  Outcome metrics = WatershedIn(project, "metrics --format prometheus");
  EXPECT_EQ(metrics.code, 0) << metrics.out;
  EXPECT_NE(metrics.out.find("watershed_model_build_duration_seconds"), std::string::npos)
      << metrics.out;
  EXPECT_NE(metrics.out.find("web.pages"), std::string::npos) << metrics.out;
  // The original keys are in the lineage.
  for (const auto& [column, path] :
       {std::pair{"nul_key", "$['nul\\\\x00key']"}, std::pair{"a_b", "$.a__b"},
        std::pair{"a__b", "$.a.b"}}) {
    Outcome lineage =
        WatershedIn(project, StrCat("lineage raw.events.", column, " --format json"));
    EXPECT_EQ(lineage.code, 0) << lineage.out;
    EXPECT_NE(lineage.out.find(path), std::string::npos) << column << "\n" << lineage.out;
  }
}

TEST(HostileInput, QuarantineKeepsInvalidUtf8BytesExactlyAndStaysReadable) {
  const std::string project = Project();
  // Row 2's field is Latin-1, not UTF-8; row 3 is fine.
  const std::string input =
      WriteFile(project, "people.csv", "id,name\n1,ok\n2,caf\xe9 cr\xe8me\n3,fine\n");
  Outcome strict = WatershedIn(project, "load " + Quote(input) + " --table raw.people");
  EXPECT_EQ(strict.code, 1) << strict.out;
  EXPECT_NE(strict.out.find("invalid UTF-8"), std::string::npos) << strict.out;
  Outcome load = WatershedIn(project, "load " + Quote(input) + " --table raw.people --max-bad 1");
  ASSERT_EQ(load.code, 0) << load.out;
  EXPECT_EQ(Number(project, "SELECT count(*) FROM raw.people"), 2);
  nlohmann::json q = Rows(project,
                          "SELECT line, record, record_base64, "
                          "octet_length(from_base64(record_base64)) AS bytes, "
                          "from_base64(record_base64) = '2,caf\\xe9 cr\\xe8me'::BLOB AS exact "
                          "FROM watershed.quarantine");
  ASSERT_EQ(q.size(), 1u) << q.dump();
  EXPECT_EQ(q[0]["line"], 3);
  EXPECT_EQ(q[0]["bytes"], 12);
  EXPECT_EQ(q[0]["exact"], true);
  EXPECT_EQ(q[0]["record"], "2,caf\xef\xbf\xbd cr\xef\xbf\xbdme");  // U+FFFD for each bad byte
  // A valid record keeps record_base64 NULL.
  const std::string json = WriteFile(project, "bad.ndjson", "{\"a\":1}\n{\"a\":\n");
  ASSERT_EQ(WatershedIn(project, "load " + Quote(json) + " --table raw.j --max-bad 1").code, 0);
  EXPECT_EQ(Number(project, "SELECT count(*) FROM watershed.quarantine WHERE "
                            "target_table = 'raw.j' AND record_base64 IS NULL"),
            1);
}

TEST(HostileInput, RecordsPastTheLimitsAreQuarantinedWithTheirPositionAndTheSetting) {
  const std::string project = Project("limits:\n  max_columns: 50\n");
  std::string wide = "{";
  for (int i = 0; i < 60; ++i) wide += (i ? "," : "") + ("\"c" + std::to_string(i) + "\":1");
  wide += "}";
  std::string deep = "{\"x\":" + std::string(40, '[') + "1" + std::string(40, ']') + "}";
  const std::string input =
      WriteFile(project, "in.ndjson", "{\"c0\":1}\n" + wide + "\n" + deep + "\n{\"c1\":2}\n");
  Outcome strict = WatershedIn(project, "load " + Quote(input) + " --table raw.w");
  EXPECT_EQ(strict.code, 1) << strict.out;
  EXPECT_NE(strict.out.find("limits.max_columns"), std::string::npos) << strict.out;
  Outcome load = WatershedIn(project, "load " + Quote(input) + " --table raw.w --max-bad 2");
  ASSERT_EQ(load.code, 0) << load.out;
  nlohmann::json q =
      Rows(project, "SELECT line, error FROM watershed.quarantine ORDER BY line");
  ASSERT_EQ(q.size(), 2u) << q.dump();
  EXPECT_EQ(q[0]["line"], 2);
  EXPECT_NE(q[0]["error"].get<std::string>().find("limits.max_columns"), std::string::npos);
  EXPECT_EQ(q[1]["line"], 3);
  EXPECT_NE(q[1]["error"].get<std::string>().find("limits.max_depth"), std::string::npos);
  // The bad records left no columns behind: c0, c1 and the system columns.
  nlohmann::json cols = Rows(project, "SELECT * FROM raw.w ORDER BY c0 NULLS LAST");
  ASSERT_EQ(cols.size(), 2u);
  EXPECT_EQ(cols[0].size(), 5u) << cols.dump();  // _ws_id, _ws_load_id, c0, c1, ingest_date
  // The flag overrides the setting.
  Outcome wider = WatershedIn(project, "load " + Quote(input) +
                                           " --table raw.w2 --max-columns 100 --max-depth 50");
  EXPECT_EQ(wider.code, 0) << wider.out;
  EXPECT_EQ(Number(project, "SELECT count(*) FROM raw.w2"), 4);
}

TEST(HostileInput, OneHostileEventNeverStopsAStreamAndSystemColumnsAreTheServers) {
  const std::string project = Project("streams:\n  clicks:\n    batch: {max_wait: 200ms}\n");
  const int port = FreePort();
  ServeProcess server(project, port, kToken);
  server.Start();
  httplib::Client c("127.0.0.1", port);
  const httplib::Headers auth = {{"Authorization", "Bearer " + std::string(kToken)}};
  std::string body = HostileRecords();
  body += "{\"page\":\"f\",\"_ws_position\":999,\"_ws_partition\":\"forged\","
          "\"_ws_arrived_at\":\"1999-01-01T00:00:00Z\"}\n";
  body += "{\"x\":" + std::string(40, '[') + "1" + std::string(40, ']') + "}\n";  // too deep
  body += "{\"page\":\"\xff\xfe\"}\n";  // not UTF-8
  auto r = c.Post("/v1/streams/clicks/events", auth, body, "application/x-ndjson");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  int64_t rows = -1;
  WaitFor([&] {
    Outcome o = WatershedIn(project, "query --format csv 'SELECT count(*) FROM stream.clicks'");
    rows = o.code == 0 ? std::stoll(o.out.substr(o.out.find('\n') + 1)) : -1;
    return rows >= 6;
  });
  EXPECT_EQ(rows, 6);
  EXPECT_EQ(Number(project, "SELECT count(*) FROM watershed.quarantine"), 2);
  nlohmann::json f = Rows(project,
                          "SELECT _ws_position, _ws_partition, ws_position, ws_partition, "
                          "year(_ws_arrived_at) AS y FROM stream.clicks WHERE page = 'f'");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0]["_ws_position"], 5);
  EXPECT_EQ(f[0]["_ws_partition"], "0");
  EXPECT_EQ(f[0]["ws_position"], 999);
  EXPECT_EQ(f[0]["ws_partition"], "forged");
  EXPECT_GE(f[0]["y"].get<int64_t>(), 2026);
  // The invalid bytes are kept exactly.
  EXPECT_EQ(Number(project, "SELECT count(*) FROM watershed.quarantine WHERE "
                            "from_base64(record_base64) = '{\"page\":\"\\xff\\xfe\"}'::BLOB"),
            1);
  // Later requests still commit: the writer did not stall on any of them.
  auto later = c.Post("/v1/streams/clicks/events", auth, "{\"page\":\"later\"}\n",
                      "application/x-ndjson");
  ASSERT_TRUE(later);
  EXPECT_EQ(later->status, 200);
  EXPECT_TRUE(WaitFor([&] {
    Outcome o = WatershedIn(project,
                            "query --format csv \"SELECT count(*) FROM stream.clicks WHERE page = 'later'\"");
    return o.code == 0 && o.out.find("\n1") != std::string::npos;
  }));
  server.Stop(SIGTERM);
}

}  // namespace
