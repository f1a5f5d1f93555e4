// normalize/naming_test.cc — the naming convention in both directions.
#include "watershed/normalize/naming.h"

#include <gtest/gtest.h>

namespace watershed::normalize {
namespace {

TEST(JsonPathTest, InvertsTheNormalizersNames) {
  const std::vector<TableSchema> tables = {
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

TEST(NamingTest, SystemColumnsAreReservedAndStructuralOnesHaveNoPath) {
  EXPECT_TRUE(IsSystemName(kIdColumn));
  EXPECT_TRUE(IsSystemName(kArrivedAtColumn));
  EXPECT_FALSE(IsSystemName("ws_id"));
  EXPECT_TRUE(IsStructuralColumn(kParentIdColumn));
  EXPECT_FALSE(IsStructuralColumn(kPositionColumn));
  EXPECT_EQ(JoinPath("", "a"), "a");
  EXPECT_EQ(JoinPath("a", "b"), "a__b");
  EXPECT_EQ(ChildTableName("ns.t", "a__b"), "ns.t__a__b");
  EXPECT_EQ(VariantColumnName("rank", ColumnType::kVarchar), "rank__v_varchar");
}

}  // namespace
}  // namespace watershed::normalize
