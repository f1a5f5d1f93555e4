// observe/lineage_test.cc — model lineage from DuckDB's parse for the SQL shapes models use,
// load lineage from normalized names, and the example Crunchbase project traced end to end.
#include "watershed/observe/lineage.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "watershed/base/test_util.h"
#include "watershed/load/session.h"
#include "watershed/observe/openlineage.h"
#include "watershed/transform/runner.h"

namespace watershed::observe {
namespace {

namespace fs = std::filesystem;

// ---- SQL shapes ------------------------------------------------------------------------------

class ModelSqlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = warehouse::Database::Open("");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    auto conn = db_->Connect();
    ASSERT_TRUE(conn.ok());
    conn_ = std::move(*conn);
    // Lake tables live in the in-memory catalog; marts are attached databases, as in a build.
    ASSERT_TRUE(conn_
                    ->Execute(R"sql(
      CREATE SCHEMA crunchbase;
      CREATE TABLE crunchbase.orgs (_ws_id BIGINT, uuid VARCHAR, name VARCHAR, rank_org BIGINT,
                                    flag BOOLEAN, updated_at TIMESTAMP);
      CREATE TABLE crunchbase.orgs__locations (_ws_parent_id BIGINT, _ws_idx BIGINT,
                                               value VARCHAR, location_type VARCHAR);
      CREATE TABLE crunchbase.rounds (uuid VARCHAR, org_uuid VARCHAR, amount DECIMAL(18,4),
                                      announced_on DATE, kind VARCHAR);
      ATTACH ':memory:' AS finance;
      CREATE TABLE finance.dim (uuid VARCHAR, sk VARCHAR, country VARCHAR);
    )sql")
                    .ok());
  }

  ModelLineage Analyze(const std::string& sql) {
    SchemaLookup lookup =
        [this](const std::vector<std::string>& parts) -> std::optional<std::vector<std::string>> {
      std::string name;
      for (const auto& p : parts) name += (name.empty() ? "" : ".") + warehouse::QuoteIdent(p);
      auto r = conn_->Query("DESCRIBE " + name);
      if (!r.ok()) return std::nullopt;
      std::vector<std::string> cols;
      for (size_t i = 0; i < r->row_count(); ++i) cols.push_back(r->GetString(0, i));
      return cols;
    };
    auto l = AnalyzeModelSql(*conn_, "finance.m", sql, lookup);
    EXPECT_TRUE(l.ok()) << l.status();
    return l.ok() ? *l : ModelLineage{};
  }

  // "dataset.field TYPE/SUBTYPE" for each input of output column `name`.
  static std::set<std::string> In(const ModelLineage& l, const std::string& name) {
    std::set<std::string> out;
    bool found = false;
    for (const OutputColumn& c : l.columns) {
      if (c.name != name) continue;
      found = true;
      for (const InputField& f : c.inputs) {
        out.insert(f.dataset + "." + f.field + " " + f.type + "/" + f.subtype);
      }
    }
    EXPECT_TRUE(found) << "no output column " << name;
    return out;
  }
  static std::set<std::string> DatasetIn(const ModelLineage& l) {
    std::set<std::string> out;
    for (const InputField& f : l.dataset_inputs) {
      out.insert(f.dataset + "." + f.field + " " + f.type + "/" + f.subtype);
    }
    return out;
  }
  static std::vector<std::string> Names(const ModelLineage& l) {
    std::vector<std::string> out;
    for (const OutputColumn& c : l.columns) out.push_back(c.name);
    return out;
  }

  std::unique_ptr<warehouse::Database> db_;
  std::unique_ptr<warehouse::Connection> conn_;
};

using Set = std::set<std::string>;

TEST_F(ModelSqlTest, AliasesAndQualifiedColumns) {
  auto l = Analyze(R"(SELECT o.uuid AS id, o.name FROM "memory"."crunchbase"."orgs" o)");
  ASSERT_TRUE(l.column_level) << l.note;
  EXPECT_EQ(Names(l), (std::vector<std::string>{"id", "name"}));
  EXPECT_EQ(In(l, "id"), Set{"crunchbase.orgs.uuid DIRECT/IDENTITY"});
  EXPECT_EQ(In(l, "name"), Set{"crunchbase.orgs.name DIRECT/IDENTITY"});
  EXPECT_EQ(l.input_datasets.at("crunchbase.orgs"), "lake");
  EXPECT_EQ(l.columns[0].data_type, "VARCHAR");
}

TEST_F(ModelSqlTest, ExpressionsAreTransformations) {
  auto l = Analyze(R"(SELECT CAST(amount AS DOUBLE) * 2 AS doubled,
                             upper(kind) || uuid AS label, 42 AS answer
                      FROM "memory"."crunchbase"."rounds")");
  ASSERT_TRUE(l.column_level) << l.note;
  EXPECT_EQ(In(l, "doubled"), Set{"crunchbase.rounds.amount DIRECT/TRANSFORMATION"});
  EXPECT_EQ(In(l, "label"), (Set{"crunchbase.rounds.kind DIRECT/TRANSFORMATION",
                                 "crunchbase.rounds.uuid DIRECT/TRANSFORMATION"}));
  EXPECT_TRUE(In(l, "answer").empty());
}

TEST_F(ModelSqlTest, AggregatesGroupByAndWhere) {
  auto l = Analyze(R"(SELECT kind, sum(amount) AS total, count(*) AS n
                      FROM "memory"."crunchbase"."rounds" WHERE announced_on > DATE '2020-01-01'
                      GROUP BY kind HAVING count(*) > 1 ORDER BY total DESC)");
  ASSERT_TRUE(l.column_level) << l.note;
  EXPECT_EQ(In(l, "kind"), Set{"crunchbase.rounds.kind DIRECT/IDENTITY"});
  EXPECT_EQ(In(l, "total"), Set{"crunchbase.rounds.amount DIRECT/AGGREGATION"});
  EXPECT_TRUE(In(l, "n").empty());  // count(*) counts rows: it reads no column's value
  const Set ds = DatasetIn(l);
  EXPECT_TRUE(ds.contains("crunchbase.rounds.announced_on INDIRECT/FILTER"));
  EXPECT_TRUE(ds.contains("crunchbase.rounds.kind INDIRECT/GROUP_BY"));
  EXPECT_TRUE(ds.contains("crunchbase.rounds.amount INDIRECT/SORT"));  // ORDER BY an alias
}

TEST_F(ModelSqlTest, JoinsRecordJoinKeysAsIndirect) {
  auto l = Analyze(R"(SELECT r.uuid, d.country, coalesce(d.sk, '-1') AS sk
                      FROM "memory"."crunchbase"."rounds" r
                      LEFT JOIN "finance"."dim" d ON d.uuid = r.org_uuid)");
  ASSERT_TRUE(l.column_level) << l.note;
  EXPECT_EQ(In(l, "country"), Set{"finance.dim.country DIRECT/IDENTITY"});
  EXPECT_EQ(In(l, "sk"), Set{"finance.dim.sk DIRECT/TRANSFORMATION"});
  EXPECT_EQ(DatasetIn(l),
            (Set{"finance.dim.uuid INDIRECT/JOIN", "crunchbase.rounds.org_uuid INDIRECT/JOIN"}));
  EXPECT_EQ(l.input_datasets.at("finance.dim"), "model");
}

TEST_F(ModelSqlTest, CtesAndSubqueriesResolveThroughAliases) {
  auto l = Analyze(R"(WITH big AS (SELECT uuid AS id, amount * 100 AS cents
                                   FROM "memory"."crunchbase"."rounds" WHERE amount > 10)
                      SELECT s.x, b.cents
                      FROM (SELECT id FROM big) s(x) JOIN big b ON b.id = s.x)");
  ASSERT_TRUE(l.column_level) << l.note;
  EXPECT_EQ(In(l, "x"), Set{"crunchbase.rounds.uuid DIRECT/IDENTITY"});
  EXPECT_EQ(In(l, "cents"), Set{"crunchbase.rounds.amount DIRECT/TRANSFORMATION"});
  const Set ds = DatasetIn(l);
  EXPECT_TRUE(ds.contains("crunchbase.rounds.amount INDIRECT/FILTER"));
  EXPECT_TRUE(ds.contains("crunchbase.rounds.uuid INDIRECT/JOIN"));
}

TEST_F(ModelSqlTest, CorrelatedScalarSubquery) {
  // The shape of examples/crunchbase/models/finance/stg_organizations.sql.
  auto l = Analyze(R"(SELECT o.uuid,
       (SELECT min(l.value) FROM "memory"."crunchbase"."orgs__locations" l
         WHERE l._ws_parent_id = o._ws_id AND l.location_type = 'country') AS country
       FROM "memory"."crunchbase"."orgs" o)");
  ASSERT_TRUE(l.column_level) << l.note;
  EXPECT_EQ(In(l, "country"), (Set{"crunchbase.orgs__locations.value DIRECT/AGGREGATION",
                                   "crunchbase.orgs__locations._ws_parent_id INDIRECT/FILTER",
                                   "crunchbase.orgs__locations.location_type INDIRECT/FILTER",
                                   "crunchbase.orgs._ws_id INDIRECT/FILTER"}));
}

TEST_F(ModelSqlTest, StarExpandsToTheInputsColumns) {
  auto l = Analyze(R"(SELECT * EXCLUDE (flag) FROM "memory"."crunchbase"."orgs")");
  ASSERT_TRUE(l.column_level) << l.note;
  EXPECT_EQ(Names(l),
            (std::vector<std::string>{"_ws_id", "uuid", "name", "rank_org", "updated_at"}));
  EXPECT_EQ(In(l, "rank_org"), Set{"crunchbase.orgs.rank_org DIRECT/IDENTITY"});

  auto q = Analyze(R"(SELECT d.*, r.amount FROM "finance"."dim" d
                      JOIN "memory"."crunchbase"."rounds" r ON r.org_uuid = d.uuid)");
  ASSERT_TRUE(q.column_level) << q.note;
  EXPECT_EQ(Names(q), (std::vector<std::string>{"uuid", "sk", "country", "amount"}));
  EXPECT_EQ(In(q, "sk"), Set{"finance.dim.sk DIRECT/IDENTITY"});
}

TEST_F(ModelSqlTest, CaseConditionsAreConditional) {
  auto l = Analyze(R"(SELECT CASE WHEN flag THEN name ELSE uuid END AS label
                      FROM "memory"."crunchbase"."orgs")");
  ASSERT_TRUE(l.column_level) << l.note;
  EXPECT_EQ(In(l, "label"), (Set{"crunchbase.orgs.name DIRECT/TRANSFORMATION",
                                 "crunchbase.orgs.uuid DIRECT/TRANSFORMATION",
                                 "crunchbase.orgs.flag INDIRECT/CONDITIONAL"}));
}

TEST_F(ModelSqlTest, WindowFunctions) {
  auto l = Analyze(R"(SELECT row_number() OVER (PARTITION BY org_uuid ORDER BY announced_on) AS rn,
                             sum(amount) OVER (PARTITION BY org_uuid) AS org_total
                      FROM "memory"."crunchbase"."rounds")");
  ASSERT_TRUE(l.column_level) << l.note;
  EXPECT_EQ(In(l, "rn"), (Set{"crunchbase.rounds.org_uuid INDIRECT/WINDOW",
                              "crunchbase.rounds.announced_on INDIRECT/WINDOW"}));
  EXPECT_EQ(In(l, "org_total"), (Set{"crunchbase.rounds.amount DIRECT/AGGREGATION",
                                     "crunchbase.rounds.org_uuid INDIRECT/WINDOW"}));
}

TEST_F(ModelSqlTest, UnionMergesBothSidesByPosition) {
  auto l = Analyze(R"(SELECT uuid AS id, name FROM "memory"."crunchbase"."orgs"
                      UNION ALL SELECT '-1', NULL
                      UNION ALL SELECT uuid, kind FROM "memory"."crunchbase"."rounds")");
  ASSERT_TRUE(l.column_level) << l.note;
  EXPECT_EQ(In(l, "id"), (Set{"crunchbase.orgs.uuid DIRECT/IDENTITY",
                              "crunchbase.rounds.uuid DIRECT/IDENTITY"}));
  EXPECT_EQ(In(l, "name"), (Set{"crunchbase.orgs.name DIRECT/IDENTITY",
                                "crunchbase.rounds.kind DIRECT/IDENTITY"}));
}

TEST_F(ModelSqlTest, RecursiveCteAndUnaliasedNamesFromDuckDb) {
  auto l = Analyze(R"(WITH RECURSIVE days(d) AS (SELECT min(announced_on) FROM
                        "memory"."crunchbase"."rounds" UNION ALL SELECT d + 1 FROM days
                        WHERE d < DATE '2030-01-01')
                      SELECT d, count(*) FROM days GROUP BY d)");
  ASSERT_TRUE(l.column_level) << l.note;
  EXPECT_EQ(Names(l), (std::vector<std::string>{"d", "count_star()"}));
  EXPECT_EQ(In(l, "d"), Set{"crunchbase.rounds.announced_on DIRECT/AGGREGATION"});
}

TEST_F(ModelSqlTest, UnparseableSqlGivesTableLevelWithTheParserMessage) {
  auto l = Analyze("SELECT FROM WHERE");
  EXPECT_FALSE(l.column_level);
  EXPECT_NE(l.note.find("syntax error"), std::string::npos) << l.note;
  EXPECT_TRUE(l.columns.empty());
}

TEST_F(ModelSqlTest, UnknownInputTableIsNamed) {
  auto l = Analyze(R"(SELECT * FROM "memory"."crunchbase"."nope")");
  EXPECT_FALSE(l.column_level);
  EXPECT_NE(l.note.find("crunchbase.nope"), std::string::npos) << l.note;
  EXPECT_EQ(l.input_datasets.count("crunchbase.nope"), 1u);
}

// ---- load lineage ----------------------------------------------------------------------------

TEST(JsonPathTest, InvertsTheNormalizersNames) {
  const std::vector<LakeTableSchema> tables = {
      {"cb.orgs",
       "",
       {{"_ws_id", ColumnType::kBigint},
        {"uuid", ColumnType::kVarchar},
        {"funding_total__value_usd", ColumnType::kDecimal},
        {"rank", ColumnType::kBigint},
        {"rank__v_varchar", ColumnType::kVarchar},
        {"_ws_id__2", ColumnType::kVarchar},
        {"Name", ColumnType::kVarchar},
        {"name__2", ColumnType::kVarchar},
        {"first-name", ColumnType::kVarchar}}},
      {"cb.orgs__categories",
       "cb.orgs",
       {{"_ws_id", ColumnType::kBigint},
        {"_ws_parent_id", ColumnType::kBigint},
        {"uuid", ColumnType::kVarchar},
        {"value", ColumnType::kVarchar}}},
      {"cb.orgs__tags",
       "cb.orgs",
       {{"_ws_idx", ColumnType::kBigint}, {"value", ColumnType::kVarchar}}},
      {"cb.orgs__categories__aliases", "cb.orgs__categories", {{"value", ColumnType::kVarchar}}},
  };
  auto path = [&](const std::string& t, const std::string& c) {
    return JsonPathOf(tables, t, c).value_or("<none>");
  };
  EXPECT_EQ(path("cb.orgs", "uuid"), "$.uuid");
  EXPECT_EQ(path("cb.orgs", "funding_total__value_usd"), "$.funding_total.value_usd");
  EXPECT_EQ(path("cb.orgs", "rank__v_varchar"), "$.rank");
  EXPECT_EQ(path("cb.orgs", "_ws_id__2"), "$._ws_id");
  EXPECT_EQ(path("cb.orgs", "name__2"), "$.name");
  EXPECT_EQ(path("cb.orgs", "first-name"), "$['first-name']");
  EXPECT_EQ(path("cb.orgs", "_ws_id"), "<none>");
  EXPECT_EQ(path("cb.orgs__categories", "uuid"), "$.categories[*].uuid");
  EXPECT_EQ(path("cb.orgs__categories", "value"), "$.categories[*].value");
  EXPECT_EQ(path("cb.orgs__tags", "value"), "$.tags[*]");
  EXPECT_EQ(path("cb.orgs__categories__aliases", "value"), "$.categories[*].aliases[*]");
  EXPECT_EQ(RootTableOf(tables, "cb.orgs__categories__aliases"), "cb.orgs");
}

// ---- the example project, end to end --------------------------------------------------------

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class ExampleProjectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ws_lineage_" + NewUuid());
    fs::create_directories(dir_);
    const fs::path example = fs::path(WS_SOURCE_DIR) / "examples" / "crunchbase";
    fs::copy(example / "models", dir_ / "models", fs::copy_options::recursive);
    // The example sends OpenLineage events to lineage/openlineage.ndjson.
    std::string yml = Slurp(example / "watershed.yml");
    ASSERT_NE(yml.find("file: lineage/openlineage.ndjson"), std::string::npos);
    std::ofstream(dir_ / "watershed.yml") << yml;
    auto p = project::Project::Open(dir_.string());
    ASSERT_TRUE(p.ok()) << p.status();
    project_ = std::move(*p);
  }
  void TearDown() override {
    project_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // A small Crunchbase-shaped dataset: entity `properties` objects as the API returns them.
  void Load() {
    auto s = load::LoadSession::Begin(*project_, "test crunchbase", {});
    ASSERT_TRUE(s.ok()) << s.status();
    auto add = [&](const std::string& table, const std::string& json) {
      Status st = (*s)->AddJson(table, json, false);
      ASSERT_TRUE(st.ok()) << st << " " << json;
    };
    for (int i = 0; i < 3; ++i) {
      const std::string org = "org-" + std::to_string(i);
      add("crunchbase.organizations",
          R"({"uuid":")" + org + R"(","identifier":{"uuid":")" + org + R"(","value":"Org )" +
              std::to_string(i) + R"(","entity_def_id":"organization"},"name":"Org )" +
              std::to_string(i) +
              R"(","short_description":"d","categories":[{"uuid":"c1","value":"Fintech"}],
                "location_identifiers":[{"uuid":"l1","value":"France","location_type":"country"}],
                "funding_total":{"value":1000,"currency":"USD","value_usd":1000},
                "founder_identifiers":[{"uuid":"p-)" +
              std::to_string(i) + R"(","value":"P"}],
                "rank_org":)" +
              std::to_string(i + 1) + R"(,"operating_status":"active","updated_at":"2024-01-0)" +
              std::to_string(i + 1) + R"(T00:00:00Z"})");
      add("crunchbase.funding_rounds",
          R"({"uuid":"fr-)" + std::to_string(i) +
              R"(","funded_organization_identifier":{"uuid":")" + org +
              R"(","value":"Org"},"announced_on":"2024-02-0)" + std::to_string(i + 1) +
              R"(","investment_type":"seed","money_raised":{"value":5000,"currency":"USD",
                "value_usd":5000.5},"updated_at":"2024-02-01T00:00:00Z"})");
      add("crunchbase.investments",
          R"({"uuid":"inv-)" + std::to_string(i) + R"(","funding_round_identifier":{"uuid":"fr-)" +
              std::to_string(i) + R"(","value":"Seed"},"investor_identifier":{"uuid":"vc-1",
                "value":"VC","entity_def_id":"organization"},"is_lead_investor":true,
                "announced_on":"2024-02-01","money_invested":{"value":100,"currency":"USD",
                "value_usd":100},"updated_at":"2024-02-01T00:00:00Z"})");
      add("crunchbase.people", R"({"uuid":"p-)" + std::to_string(i) +
                                   R"(","first_name":"A","last_name":"B","name":"A B",
                                   "updated_at":"2024-01-01T00:00:00Z"})");
    }
    auto snap = (*s)->Commit({}, nlohmann::json::object());
    ASSERT_TRUE(snap.ok()) << snap.status();
    (*s)->Finish();
  }

  void Build() {
    auto results = transform::Build(*project_, {});
    ASSERT_TRUE(results.ok()) << results.status();
    for (const auto& r : *results) EXPECT_EQ(r.status, "ok") << r.model << ": " << r.message;
  }

  // The chain of first children from the root: node names.
  static std::vector<std::string> Chain(const LineageTree& t) {
    std::vector<std::string> out{t.node};
    const LineageTree* n = &t;
    while (!n->children.empty()) {
      n = &n->children[0];
      out.push_back(n->node);
    }
    return out;
  }
  static bool Contains(const LineageTree& t, const std::string& node) {
    if (t.node == node) return true;
    for (const auto& c : t.children) {
      if (Contains(c, node)) return true;
    }
    return false;
  }

  fs::path dir_;
  std::unique_ptr<project::Project> project_;
};

TEST_F(ExampleProjectTest, MartMoneyColumnTracesBackToCrunchbaseJson) {
  ASSERT_NO_FATAL_FAILURE(Load());
  ASSERT_NO_FATAL_FAILURE(Build());

  auto up = TraceLineage(*project_, "finance.fact_funding_round.amount_usd", {});
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(Chain(*up),
            (std::vector<std::string>{"finance.fact_funding_round.amount_usd",
                                      "finance.stg_funding_rounds.amount_usd",
                                      "crunchbase.funding_rounds.money_raised__value_usd",
                                      "json:crunchbase.funding_rounds:$.money_raised.value_usd"}))
      << FormatLineageTree(*up);
  EXPECT_EQ(up->children[0].subtype, "IDENTITY");
  EXPECT_EQ(up->children[0].children[0].subtype, "TRANSFORMATION");  // the CAST
  EXPECT_EQ(up->children[0].children[0].children[0].edge_kind, "load");

  // The monthly report aggregates it; its category comes from the organizations' JSON array.
  auto month = TraceLineage(*project_, "finance.funding_by_month.amount_usd", {});
  ASSERT_TRUE(month.ok()) << month.status();
  ASSERT_EQ(month->children.size(), 1u);
  EXPECT_EQ(month->children[0].subtype, "AGGREGATION");
  EXPECT_TRUE(Contains(*month, "json:crunchbase.funding_rounds:$.money_raised.value_usd"));
  auto category = TraceLineage(*project_, "finance.funding_by_month.category", {});
  ASSERT_TRUE(category.ok()) << category.status();
  EXPECT_TRUE(Contains(*category, "json:crunchbase.organizations:$.categories[*].value"))
      << FormatLineageTree(*category);

  // With indirect edges, the join keys and filters show up too.
  auto indirect = TraceLineage(*project_, "finance.fact_investment.amount_usd",
                               {Direction::kUpstream, 0, true});
  ASSERT_TRUE(indirect.ok());
  EXPECT_TRUE(Contains(*indirect, "finance.dim_investor.investor_uuid"))
      << FormatLineageTree(*indirect);

  // Depth limits the walk and says so.
  auto shallow = TraceLineage(*project_, "finance.fact_funding_round.amount_usd",
                              {Direction::kUpstream, 1, false});
  ASSERT_TRUE(shallow.ok());
  ASSERT_EQ(shallow->children.size(), 1u);
  EXPECT_TRUE(shallow->children[0].children.empty());
  EXPECT_TRUE(shallow->children[0].truncated);

  std::string text;
  ASSERT_TRUE(
      LineageCommand(*project_, "finance.fact_funding_round.amount_usd", {}, "json", &text).ok());
  auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["children"][0]["node"], "finance.stg_funding_rounds.amount_usd");
  EXPECT_EQ(j["children"][0]["edge"]["transformation"], "DIRECT");
  ASSERT_TRUE(
      LineageCommand(*project_, "finance.fact_funding_round.amount_usd", {}, "tree", &text).ok());
  EXPECT_NE(text.find("└─ finance.stg_funding_rounds.amount_usd"), std::string::npos) << text;
  EXPECT_FALSE(
      LineageCommand(*project_, "finance.fact_funding_round.amount_usd", {}, "xml", &text).ok());
}

TEST_F(ExampleProjectTest, LakeColumnTracesDownstreamToMarts) {
  ASSERT_NO_FATAL_FAILURE(Load());
  ASSERT_NO_FATAL_FAILURE(Build());
  auto down = TraceLineage(*project_, "crunchbase.funding_rounds.money_raised__value_usd",
                           {Direction::kDownstream, 0, false});
  ASSERT_TRUE(down.ok()) << down.status();
  EXPECT_TRUE(Contains(*down, "finance.stg_funding_rounds.amount_usd"));
  EXPECT_TRUE(Contains(*down, "finance.fact_funding_round.amount_usd"));
  EXPECT_TRUE(Contains(*down, "finance.funding_by_month.amount_usd"));
  EXPECT_TRUE(Contains(*down, "analytics.sat_funding_round.money_raised__value_usd"))
      << FormatLineageTree(*down);
  // A JSON path reaches the marts too.
  auto from_json = TraceLineage(*project_, "json:crunchbase.organizations:$.categories[*].value",
                                {Direction::kDownstream, 0, false});
  ASSERT_TRUE(from_json.ok()) << from_json.status();
  EXPECT_TRUE(Contains(*from_json, "finance.dim_organization.category"))
      << FormatLineageTree(*from_json);
}

TEST_F(ExampleProjectTest, UnknownColumnSuggestsCloseNames) {
  ASSERT_NO_FATAL_FAILURE(Load());
  ASSERT_NO_FATAL_FAILURE(Build());
  auto t = TraceLineage(*project_, "finance.fact_funding_round.amount_us", {});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(t.status().message().find("'finance.fact_funding_round.amount_us'"), std::string::npos);
  EXPECT_NE(t.status().message().find("finance.fact_funding_round.amount_usd"), std::string::npos)
      << t.status();
  EXPECT_FALSE(TraceLineage(*project_, "finance.fact_funding_round.amount_usd",
                            {Direction::kUpstream, -1, false})
                   .ok());
}

TEST_F(ExampleProjectTest, RebuildReplacesAModelsEdgesAndEventsAreValid) {
  ASSERT_NO_FATAL_FAILURE(Load());
  ASSERT_NO_FATAL_FAILURE(Build());
  auto first = TraceLineage(*project_, "finance.funding_by_month.amount_usd",
                            {Direction::kUpstream, 0, true});
  ASSERT_TRUE(first.ok());
  ASSERT_NO_FATAL_FAILURE(Build());
  auto second = TraceLineage(*project_, "finance.funding_by_month.amount_usd",
                             {Direction::kUpstream, 0, true});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(FormatLineageTree(*first), FormatLineageTree(*second));

  // Every emitted event is a valid RunEvent; the fact's COMPLETE event carries its lineage.
  std::ifstream in(dir_ / "lineage" / "openlineage.ndjson");
  ASSERT_TRUE(in.good());
  std::string line;
  int events = 0, loads = 0;
  bool fact_lineage = false;
  while (std::getline(in, line)) {
    ++events;
    auto e = nlohmann::json::parse(line);
    Status valid = ValidateRunEvent(e);
    EXPECT_TRUE(valid.ok()) << valid << "\n" << line;
    if (e["job"]["name"].get<std::string>().starts_with("load.")) ++loads;
    if (e["eventType"] == "COMPLETE" && e["job"]["name"] == "finance.fact_funding_round") {
      const auto& f = e["outputs"][0]["facets"]["columnLineage"]["fields"]["amount_usd"];
      ASSERT_TRUE(f.is_object()) << line;
      EXPECT_EQ(f["inputFields"][0]["name"], "finance.stg_funding_rounds");
      EXPECT_EQ(f["inputFields"][0]["field"], "amount_usd");
      EXPECT_EQ(f["inputFields"][0]["transformations"][0]["type"], "DIRECT");
      fact_lineage = true;
    }
    if (e["eventType"] == "COMPLETE" && e["job"]["name"] == "load.crunchbase.funding_rounds") {
      bool found = false;
      for (const auto& o : e["outputs"]) {
        if (o["name"] != "crunchbase.funding_rounds") continue;
        const auto& f = o["facets"]["columnLineage"]["fields"]["money_raised__value_usd"];
        EXPECT_EQ(f["inputFields"][0]["field"], "$.money_raised.value_usd");
        found = true;
      }
      EXPECT_TRUE(found) << line;
    }
  }
  EXPECT_TRUE(fact_lineage);
  EXPECT_EQ(loads, 8);  // START + COMPLETE for each of the four root tables
  EXPECT_GT(events, 40);
}

}  // namespace
}  // namespace watershed::observe
