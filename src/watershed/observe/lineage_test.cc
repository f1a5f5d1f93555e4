// observe/lineage_test.cc — load lineage recorded at commits and model lineage recorded by
// builds, traced through the example Crunchbase project end to end.
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

  // Every node of a tree, indented, for failure messages.
  static std::string Dump(const LineageTree& t, int level = 0) {
    std::string out =
        std::string(2 * level, ' ') + t.node + " [" + t.transformation + " " + t.subtype + "]\n";
    for (const auto& c : t.children) out += Dump(c, level + 1);
    return out;
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
      << Dump(*up);
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
      << Dump(*category);

  // With indirect edges, the join keys and filters show up too.
  auto indirect = TraceLineage(*project_, "finance.fact_investment.amount_usd",
                               {Direction::kUpstream, 0, true});
  ASSERT_TRUE(indirect.ok());
  EXPECT_TRUE(Contains(*indirect, "finance.dim_investor.investor_uuid")) << Dump(*indirect);

  // Depth limits the walk and says so.
  auto shallow = TraceLineage(*project_, "finance.fact_funding_round.amount_usd",
                              {Direction::kUpstream, 1, false});
  ASSERT_TRUE(shallow.ok());
  ASSERT_EQ(shallow->children.size(), 1u);
  EXPECT_TRUE(shallow->children[0].children.empty());
  EXPECT_TRUE(shallow->children[0].truncated);

  // (The tree and JSON renderings of such a tree: cli/lineage_view_test.cc.)
  EXPECT_EQ(up->children[0].node, "finance.stg_funding_rounds.amount_usd");
  EXPECT_EQ(up->children[0].transformation, "DIRECT");
  EXPECT_EQ(up->children[0].edge_kind, "model");
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
      << Dump(*down);
  // A JSON path reaches the marts too.
  auto from_json = TraceLineage(*project_, "json:crunchbase.organizations:$.categories[*].value",
                                {Direction::kDownstream, 0, false});
  ASSERT_TRUE(from_json.ok()) << from_json.status();
  EXPECT_TRUE(Contains(*from_json, "finance.dim_organization.category")) << Dump(*from_json);
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
  EXPECT_EQ(*first, *second) << Dump(*first) << "\n---\n" << Dump(*second);

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
