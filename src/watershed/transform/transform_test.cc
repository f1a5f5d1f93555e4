// transform/transform_test.cc — model templates, the graph, and builds into DuckDB marts.
#include <filesystem>

#include "gtest/gtest.h"
#include "watershed/base/test_util.h"
#include "watershed/load/loader.h"
#include "watershed/transform/docs.h"
#include "watershed/transform/graph.h"
#include "watershed/transform/runner.h"

namespace watershed::transform {
namespace {

using testing_util::MakeTempDir;
using testing_util::WriteFile;

Model M(const std::string& mart, const std::string& name, const std::string& sql) {
  auto m = ParseModel(mart, name, mart + "/" + name + ".sql", sql);
  EXPECT_TRUE(m.ok()) << m.status();
  return *m;
}

TEST(Models, TemplatesParseAndCompile) {
  Model m = M("finance", "fact", "{{ config(materialized='incremental', unique_key='id') }}\n"
                                 "SELECT * FROM {{ ref('dim') }} JOIN {{ ref('analytics', 'x') }} "
                                 "USING (id) JOIN {{ source('crunchbase', 'organizations') }} o");
  EXPECT_EQ(m.materialized(), "incremental");
  EXPECT_EQ(m.config.at("unique_key"), "id");
  EXPECT_EQ(m.refs, (std::vector<std::string>{"finance.dim", "analytics.x"}));
  EXPECT_EQ(m.sources, (std::vector<std::string>{"crunchbase.organizations"}));
  EXPECT_EQ(Compile(m),
            "\nSELECT * FROM \"finance\".\"dim\" JOIN \"analytics\".\"x\" USING (id) JOIN "
            "\"memory\".\"crunchbase\".\"organizations\" o");
  EXPECT_FALSE(ParseModel("f", "x", "f/x.sql", "SELECT {{ nope() }}").ok());
  EXPECT_FALSE(ParseModel("f", "x", "f/x.sql", "SELECT {{ ref('a') ").ok());
  EXPECT_FALSE(ParseModel("f", "x", "f/x.sql", "{{ config(materialized='incremental') }}").ok());
}

TEST(Models, GraphFindsCyclesUnknownRefsAndSelects) {
  auto cyclic = BuildGraph({M("f", "a", "SELECT * FROM {{ ref('b') }}"),
                            M("f", "b", "SELECT * FROM {{ ref('c') }}"),
                            M("f", "c", "SELECT * FROM {{ ref('a') }}")});
  ASSERT_FALSE(cyclic.ok());
  EXPECT_NE(MessageOf(cyclic.status()).find("f.a -> f.b -> f.c -> f.a"), std::string_view::npos)
      << cyclic.status();
  auto unknown = BuildGraph({M("f", "a", "SELECT * FROM {{ ref('zz') }}")});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(MessageOf(unknown.status()).find("f/a.sql"), std::string_view::npos);
  auto g = BuildGraph({M("f", "src", "SELECT 1 AS id"), M("f", "mid", "SELECT * FROM {{ ref('src') }}"),
                       M("f", "top", "SELECT * FROM {{ ref('mid') }}"), M("g", "other", "SELECT 2")});
  ASSERT_TRUE(g.ok());
  auto names = [&](const std::vector<int>& v) {
    std::vector<std::string> out;
    for (int i : v) out.push_back(g->models[i].id());
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(names(*Select(*g, {"+top"})), (std::vector<std::string>{"f.mid", "f.src", "f.top"}));
  EXPECT_EQ(names(*Select(*g, {"mid+"})), (std::vector<std::string>{"f.mid", "f.top"}));
  EXPECT_EQ(names(*Select(*g, {"g"})), (std::vector<std::string>{"g.other"}));
  EXPECT_FALSE(Select(*g, {"nothing"}).ok());
  auto layers = Layers(*g, *Select(*g, {}));
  ASSERT_EQ(layers.size(), 3u);
  EXPECT_EQ(layers[0].size(), 2u);  // f.src and g.other are independent
}

class BuildTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    root_ = dir_ + "/p";
    ASSERT_TRUE(project::Project::Init(root_, "t").ok());
    project_ = std::move(*project::Project::Open(root_));
  }
  void Load(const std::string& name, const std::string& ndjson) {
    load::LoadOptions o;
    o.input = WriteFile(dir_, name, ndjson);
    o.table = "cb.orgs";
    o.threads = 1;
    auto r = load::LoadFile(*project_, o);
    ASSERT_TRUE(r.ok()) << r.status();
  }
  void Model(const std::string& mart, const std::string& name, const std::string& sql) {
    std::filesystem::create_directories(root_ + "/models/" + mart);
    WriteFile(root_ + "/models/" + mart, name + ".sql", sql);
  }
  std::string Query(const std::string& mart, const std::string& sql) {
    auto s = OpenMarts(*project_, mart);
    EXPECT_TRUE(s.ok()) << s.status();
    auto r = s->conn->Query(sql);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() && r->row_count() ? r->GetString(0, 0) : "<none>";
  }
  std::map<std::string, ModelResult> Build(BuildOptions o = {}) {
    auto r = transform::Build(*project_, o);
    EXPECT_TRUE(r.ok()) << r.status();
    std::map<std::string, ModelResult> out;
    if (r.ok()) {
      for (auto& m : *r) out[m.model] = m;
    }
    return out;
  }
  std::string dir_, root_;
  std::unique_ptr<project::Project> project_;
};

TEST_F(BuildTest, MartsBuildInOrderAndAFailureSkipsOnlyItsDownstream) {
  Load("a.ndjson", "{\"id\":1,\"name\":\"a\",\"amount\":10}\n{\"id\":2,\"name\":\"b\",\"amount\":5}\n");
  Model("finance", "stg_orgs", "SELECT id, name, amount FROM {{ source('cb', 'orgs') }}");
  Model("finance", "dim_org", "{{ config(materialized='table') }} SELECT * FROM {{ ref('stg_orgs') }}");
  Model("finance", "total", "{{ config(materialized='table') }} SELECT sum(amount) AS total FROM {{ ref('dim_org') }}");
  Model("finance", "broken", "{{ config(materialized='table') }} SELECT no_such_column FROM {{ ref('dim_org') }}");
  Model("finance", "after_broken", "SELECT * FROM {{ ref('broken') }}");
  Model("analytics", "names", "{{ config(materialized='table') }} SELECT name FROM {{ ref('finance', 'dim_org') }}");
  auto r = Build();
  EXPECT_EQ(r["finance.stg_orgs"].status, "ok");
  EXPECT_EQ(r["finance.dim_org"].rows, 2);
  EXPECT_EQ(r["finance.total"].status, "ok");
  EXPECT_EQ(r["finance.broken"].status, "error");
  EXPECT_NE(r["finance.broken"].message.find("broken.sql"), std::string::npos);
  EXPECT_NE(r["finance.broken"].message.find("no_such_column"), std::string::npos);
  EXPECT_EQ(r["finance.after_broken"].status, "skipped");
  EXPECT_EQ(r["analytics.names"].status, "ok");
  EXPECT_EQ(Query("finance", "SELECT total FROM total"), "15");
  EXPECT_EQ(Query("analytics", "SELECT count(*) FROM names"), "2");
  EXPECT_TRUE(std::filesystem::exists(root_ + "/marts/finance.duckdb"));
  // A view follows the lake: new data shows without a rebuild; a table needs one.
  Load("b.ndjson", "{\"id\":3,\"name\":\"c\",\"amount\":1}\n");
  EXPECT_EQ(Query("finance", "SELECT count(*) FROM stg_orgs"), "3");
  EXPECT_EQ(Query("finance", "SELECT count(*) FROM dim_org"), "2");
  auto again = Build({.select = {"+total"}});
  EXPECT_EQ(again.size(), 3u);
  EXPECT_EQ(Query("finance", "SELECT total FROM total"), "16");

  // `watershed docs`: every model, its columns, its links and its SQL, HTML-escaped.
  auto n = WriteDocs(*project_, dir_ + "/site/index.html");
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 6);
  std::string html = testing_util::ReadFileBytes(dir_ + "/site/index.html");
  for (const char* s : {"Mart <code>finance</code>", "finance.dim_org", "<td>amount</td>",
                        "href=\"#m-finance-dim-org\"", "Lake tables: <code>cb.orgs</code>",
                        "no_such_column", "{{ ref('dim_org') }}"}) {
    EXPECT_NE(html.find(s), std::string::npos) << s;
  }
}

TEST_F(BuildTest, IncrementalModelsMergeOnTheirKey) {
  Load("a.ndjson", "{\"id\":1,\"v\":\"old\"}\n{\"id\":2,\"v\":\"x\"}\n");
  Model("finance", "latest", "{{ config(materialized='incremental', unique_key='id') }} "
                             "SELECT id, max(v) AS v FROM {{ source('cb', 'orgs') }} "
                             "WHERE _ws_load_id = (SELECT max(_ws_load_id) FROM {{ source('cb', 'orgs') }}) GROUP BY id");
  ASSERT_EQ(Build()["finance.latest"].status, "ok");
  Load("b.ndjson", "{\"id\":1,\"v\":\"new\"}\n{\"id\":3,\"v\":\"y\"}\n");
  auto r = Build();
  ASSERT_EQ(r["finance.latest"].status, "ok") << r["finance.latest"].message;
  EXPECT_EQ(r["finance.latest"].rows, 3);
  EXPECT_EQ(Query("finance", "SELECT v FROM latest WHERE id = 1"), "new");
  EXPECT_EQ(Query("finance", "SELECT v FROM latest WHERE id = 2"), "x");
  auto full = Build({.full_refresh = true});
  EXPECT_EQ(full["finance.latest"].rows, 2);  // only the latest load's rows
}

TEST_F(BuildTest, IncrementalLookbackTakesOnlyRecentRows) {
  Load("a.ndjson", "{\"id\":1,\"v\":\"a\",\"at\":\"2020-01-10\"}\n"
                   "{\"id\":2,\"v\":\"b\",\"at\":\"2020-01-20\"}\n");
  Model("finance", "events",
        "{{ config(materialized='incremental', unique_key='id', incremental_column='at', "
        "lookback='5 days') }} SELECT id, v, CAST(\"at\" AS DATE) AS \"at\" FROM "
        "{{ source('cb', 'orgs') }} QUALIFY row_number() OVER (PARTITION BY id ORDER BY _ws_id DESC) = 1");
  ASSERT_EQ(Build()["finance.events"].rows, 2);
  // id 1 changes but is older than the window (newest 2020-01-20 minus 5 days): not taken;
  // id 2 changes inside it; id 3 is new and inside it.
  Load("b.ndjson", "{\"id\":1,\"v\":\"a2\",\"at\":\"2020-01-10\"}\n"
                   "{\"id\":2,\"v\":\"b2\",\"at\":\"2020-01-18\"}\n"
                   "{\"id\":3,\"v\":\"c\",\"at\":\"2020-01-21\"}\n");
  auto r = Build();
  ASSERT_EQ(r["finance.events"].status, "ok") << r["finance.events"].message;
  EXPECT_EQ(Query("finance", "SELECT string_agg(id || v, ',' ORDER BY id) FROM events"), "1a,2b2,3c");
  Build({.full_refresh = true});
  EXPECT_EQ(Query("finance", "SELECT string_agg(id || v, ',' ORDER BY id) FROM events"),
            "1a2,2b2,3c");
}

TEST_F(BuildTest, SnapshotsKeepExactScd2HistoryOverThreeLoads) {
  const char* latest = "SELECT id, name, CAST(updated AS TIMESTAMP) AS updated FROM {{ source('cb', 'orgs') }} "
                       "WHERE _ws_load_id = (SELECT max(_ws_load_id) FROM {{ source('cb', 'orgs') }})";
  Model("finance", "orgs_history",
        StrCat("{{ config(materialized='snapshot', unique_key='id', strategy='timestamp', "
               "updated_at='updated') }} ", latest));
  Model("finance", "orgs_checked",
        StrCat("{{ config(materialized='snapshot', unique_key='id', strategy='check', "
               "check_cols='name') }} ", latest));
  Load("1.ndjson", "{\"id\":1,\"name\":\"a\",\"updated\":\"2020-01-01\"}\n"
                   "{\"id\":2,\"name\":\"b\",\"updated\":\"2020-01-01\"}\n");
  ASSERT_EQ(Build()["finance.orgs_history"].rows, 2);
  Load("2.ndjson", "{\"id\":1,\"name\":\"a2\",\"updated\":\"2020-02-01\"}\n"
                   "{\"id\":2,\"name\":\"b\",\"updated\":\"2020-01-01\"}\n"
                   "{\"id\":3,\"name\":\"c\",\"updated\":\"2020-02-01\"}\n");
  ASSERT_EQ(Build()["finance.orgs_history"].rows, 4);
  Load("3.ndjson", "{\"id\":1,\"name\":\"a2\",\"updated\":\"2020-02-01\"}\n"
                   "{\"id\":3,\"name\":\"c3\",\"updated\":\"2020-03-01\"}\n");
  auto r = Build();
  ASSERT_EQ(r["finance.orgs_history"].status, "ok") << r["finance.orgs_history"].message;
  EXPECT_EQ(r["finance.orgs_history"].rows, 5);
  EXPECT_EQ(Query("finance",
                  "SELECT string_agg(concat_ws(' ', id, name, CAST(valid_from AS DATE), "
                  "coalesce(CAST(CAST(valid_to AS DATE) AS VARCHAR), '-'), is_current), '; ' "
                  "ORDER BY id, valid_from) FROM orgs_history WHERE id <> 2"),
            "1 a 2020-01-01 2020-02-01 false; 1 a2 2020-02-01 - true; "
            "3 c 2020-02-01 2020-03-01 false; 3 c3 2020-03-01 - true");
  // id 2 vanished from the source: its version was closed, none is current.
  EXPECT_EQ(Query("finance", "SELECT concat_ws(' ', count(*), bool_or(is_current), "
                             "count(valid_to)) FROM orgs_history WHERE id = 2"),
            "1 false 1");
  // The check strategy saw the same changes (names), stamped with build times.
  EXPECT_EQ(Query("finance", "SELECT concat_ws(' ', count(*), count(*) FILTER (is_current)) "
                             "FROM orgs_checked"),
            "5 2");
  EXPECT_EQ(Query("finance", "SELECT name FROM orgs_checked WHERE id = 3 AND is_current"), "c3");
}

TEST_F(BuildTest, KimballAndDataVaultBuildersFromYamlSpecs) {
  Load("orgs.ndjson",
       "{\"uuid\":\"o1\",\"name\":\"Acme\",\"updated_at\":\"2020-01-01T00:00:00Z\"}\n"
       "{\"uuid\":\"o2\",\"name\":\"Beta\",\"updated_at\":\"2020-01-01T00:00:00Z\"}\n");
  load::LoadOptions o;
  o.input = WriteFile(dir_, "rounds.ndjson",
                      "{\"uuid\":\"r1\",\"org\":\"o1\",\"on\":\"2019-06-01\",\"usd\":100}\n"
                      "{\"uuid\":\"r2\",\"org\":\"o2\",\"on\":\"2021-01-01\",\"usd\":50}\n"
                      "{\"uuid\":\"r3\",\"org\":\"o9\",\"on\":\"2021-01-01\",\"usd\":7}\n");
  o.table = "cb.rounds";
  o.threads = 1;
  ASSERT_TRUE(load::LoadFile(*project_, o).ok());
  Model("finance", "stg_orgs", "SELECT uuid, name, updated_at FROM {{ source('cb', 'orgs') }} "
                               "QUALIFY row_number() OVER (PARTITION BY uuid ORDER BY _ws_id DESC) = 1");
  auto spec = [&](const std::string& mart, const std::string& name, const std::string& yaml) {
    std::filesystem::create_directories(root_ + "/models/" + mart);
    WriteFile(root_ + "/models/" + mart, name + ".yml", yaml);
  };
  spec("finance", "dim_organization",
       "builder: dimension\nsource: stg_orgs\nbusiness_key: uuid\ncolumns: [name]\n"
       "updated_at: updated_at\n");
  spec("finance", "fact_funding_round",
       "builder: fact\nsource: cb.rounds\ncolumns: [uuid, \"on\", usd]\ndimensions:\n"
       "  - {dimension: dim_organization, key: org, business_key: uuid, at: \"on\"}\n");
  spec("finance", "dim_date", "builder: date_dimension\nstart: 2020-01-01\nend: 2020-12-31\n");
  spec("analytics", "hub_organization",
       "builder: hub\nsource: cb.orgs\nbusiness_key: uuid\nload_date: updated_at\n"
       "record_source: crunchbase.organizations\n");
  spec("analytics", "link_round_org",
       "builder: link\nsource: cb.rounds\nbusiness_keys: [uuid, org]\n"
       "hubs: [hub_funding_round, hub_organization]\n");
  spec("analytics", "sat_organization",
       "builder: satellite\nsource: cb.orgs\nparent_key: uuid\nparent: hub_organization\n"
       "columns: [name]\nload_date: updated_at\n");
  auto r = Build();
  for (const auto& [model, result] : r) EXPECT_EQ(result.status, "ok") << model << ": " << result.message;
  EXPECT_EQ(Query("finance", "SELECT count(*) FROM dim_organization WHERE dim_organization_sk = '-1'"), "1");
  // r1 predates o1's first observation (the first version reaches back to 1900); r3's org is
  // unknown (late-arriving): '-1'.
  EXPECT_EQ(Query("finance", "SELECT string_agg(f.uuid || ':' || coalesce(d.name, 'unknown'), ',' "
                             "ORDER BY f.uuid) FROM fact_funding_round f JOIN dim_organization d "
                             "USING (dim_organization_sk)"),
            "r1:Acme,r2:Beta,r3:unknown");
  EXPECT_EQ(Query("finance", "SELECT count(*) FROM dim_date"), "366");
  EXPECT_EQ(Query("finance", "SELECT date_key FROM dim_date WHERE date = DATE '2020-02-29'"), "20200229");
  EXPECT_EQ(Query("analytics", "SELECT hub_organization_hk FROM hub_organization WHERE uuid = 'o1'"),
            Query("analytics", "SELECT md5('O1')"));
  EXPECT_EQ(Query("analytics", "SELECT hub_organization_hk FROM link_round_org WHERE uuid = 'r1'"),
            Query("analytics", "SELECT md5('O1')"));
  EXPECT_EQ(Query("analytics", "SELECT link_round_org_hk FROM link_round_org WHERE uuid = 'r1'"),
            Query("analytics", "SELECT md5('R1||O1')"));
  EXPECT_EQ(Query("analytics", "SELECT count(*) FROM sat_organization"), "2");
  // A change to o1 adds one satellite row and one dimension version; the rest stays.
  Load("orgs2.ndjson",
       "{\"uuid\":\"o1\",\"name\":\"Acme Corp\",\"updated_at\":\"2021-06-01T00:00:00Z\"}\n");
  r = Build();
  for (const auto& [model, result] : r) EXPECT_EQ(result.status, "ok") << model << ": " << result.message;
  EXPECT_EQ(Query("analytics", "SELECT count(*) FROM sat_organization"), "3");
  EXPECT_EQ(Query("analytics", "SELECT count(*) FROM hub_organization"), "2");
  EXPECT_EQ(Query("finance", "SELECT count(*) FROM dim_organization WHERE uuid = 'o1'"), "2");
  // r1 (2019) still points at the version current then; a 2021-06 fact would see the new name.
  EXPECT_EQ(Query("finance", "SELECT d.name FROM fact_funding_round f JOIN dim_organization d "
                             "USING (dim_organization_sk) WHERE f.uuid = 'r1'"),
            "Acme");
}

}  // namespace
}  // namespace watershed::transform
