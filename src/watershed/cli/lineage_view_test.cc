// cli/lineage_view_test.cc — the `watershed lineage` renderings, byte for byte.
#include "watershed/cli/lineage_view.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace watershed::cli {
namespace {

using observe::LineageTree;

LineageTree Sample() {
  LineageTree root{
      .node = "finance.fact.amount_usd", .kind = "model", .data_type = "DECIMAL(18,4)"};
  LineageTree stg{.node = "finance.stg.amount_usd",
                  .kind = "model",
                  .data_type = "DECIMAL(18,4)",
                  .edge_kind = "model",
                  .transformation = "DIRECT",
                  .subtype = "IDENTITY",
                  .via = "finance.fact",
                  .also = {"INDIRECT FILTER"}};
  stg.children.push_back({.node = "crunchbase.rounds.money__value_usd",
                          .kind = "lake",
                          .edge_kind = "model",
                          .transformation = "DIRECT",
                          .subtype = "TRANSFORMATION",
                          .via = "finance.stg",
                          .truncated = true});
  root.children.push_back(stg);
  root.children.push_back({.node = "finance.dim",
                           .kind = "dataset",
                           .edge_kind = "model",
                           .transformation = "TABLE",
                           .via = "finance.fact",
                           .cycle = true});
  return root;
}

TEST(LineageViewTest, TreeIsIndentedWithEdgesCyclesAndTruncation) {
  EXPECT_EQ(FormatLineageTree(Sample()),
            "finance.fact.amount_usd (DECIMAL(18,4))\n"
            "├─ finance.stg.amount_usd (DECIMAL(18,4))  [DIRECT IDENTITY + INDIRECT FILTER, model "
            "finance.fact]\n"
            "│  └─ crunchbase.rounds.money__value_usd  [DIRECT TRANSFORMATION, model "
            "finance.stg]  ...\n"
            "└─ finance.dim  [table-level, model finance.fact]  (cycle)\n");
}

TEST(LineageViewTest, JsonCarriesEdgesAndChildren) {
  EXPECT_EQ(FormatLineageJson({.node = "a", .kind = "lake"}),
            "{\n  \"children\": [],\n  \"kind\": \"lake\",\n  \"node\": \"a\"\n}\n");
  auto j = nlohmann::json::parse(RenderLineage(Sample(), LineageFormat::kJson));
  EXPECT_EQ(j["type"], "DECIMAL(18,4)");
  EXPECT_FALSE(j.contains("edge"));
  EXPECT_EQ(j["children"][0]["node"], "finance.stg.amount_usd");
  EXPECT_EQ(j["children"][0]["edge"]["transformation"], "DIRECT");
  EXPECT_EQ(j["children"][0]["edge"]["also"][0], "INDIRECT FILTER");
  EXPECT_EQ(j["children"][0]["children"][0]["truncated"], true);
  EXPECT_EQ(j["children"][1]["cycle"], true);
}

TEST(LineageViewTest, FormatIsTreeOrJson) {
  EXPECT_EQ(*ParseLineageFormat("tree"), LineageFormat::kTree);
  EXPECT_EQ(*ParseLineageFormat("json"), LineageFormat::kJson);
  auto bad = ParseLineageFormat("xml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("tree or json"), std::string::npos);
  EXPECT_EQ(RenderLineage(Sample(), LineageFormat::kTree), FormatLineageTree(Sample()));
}

}  // namespace
}  // namespace watershed::cli
