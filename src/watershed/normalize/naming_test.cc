// normalize/naming_test.cc — the naming convention in both directions.
#include "watershed/normalize/naming.h"

#include <gtest/gtest.h>

#include "watershed/base/strings.h"

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

TEST(NamingTest, KeysBecomeLowerSnakeCaseWithoutSeparatorsOrReservedNames) {
  EXPECT_EQ(NormalizeKey("uuid"), "uuid");
  EXPECT_EQ(NormalizeKey("fundingTotal"), "funding_total");
  EXPECT_EQ(NormalizeKey("HTTPServer"), "http_server");
  EXPECT_EQ(NormalizeKey("valueUSD"), "value_usd");
  EXPECT_EQ(NormalizeKey("Company Name"), "company_name");
  EXPECT_EQ(NormalizeKey("a.b/c'd\"e"), "a_b_c_d_e");
  EXPECT_EQ(NormalizeKey("a__b"), "a_b");
  EXPECT_EQ(NormalizeKey("trailing_"), "trailing");
  EXPECT_EQ(NormalizeKey(std::string_view("n\0ul", 4)), "n_ul");
  EXPECT_EQ(NormalizeKey("_id"), "_id");
  EXPECT_EQ(NormalizeKey("2024"), "_2024");
  EXPECT_EQ(NormalizeKey("_ws_position"), "ws_position");
  EXPECT_EQ(NormalizeKey("_WS_id"), "ws_id");
  EXPECT_EQ(NormalizeKey("\xe5\x90\x8d"), StrCat("k_", HashSuffix("\xe5\x90\x8d")));
  EXPECT_EQ(NormalizeKey(""), StrCat("k_", HashSuffix("")));
  EXPECT_EQ(NormalizeKey("!!!").substr(0, 2), "k_");
  EXPECT_NE(NormalizeKey("!!!"), NormalizeKey("???"));  // the hash tells them apart
}

TEST(NamingTest, LongNamesAreBoundedWithAStableHash) {
  const std::string long_name(100, 'a');
  const std::string bounded = BoundName(long_name, "$.x");
  EXPECT_EQ(bounded.size(), kMaxNameLength);
  EXPECT_EQ(bounded, BoundName(long_name, "$.x"));  // deterministic
  EXPECT_NE(bounded, BoundName(long_name, "$.y"));
  EXPECT_EQ(BoundName("short", "$.x"), "short");
  EXPECT_EQ(HashSuffix("$.x").size(), 8u);
  EXPECT_EQ(DisambiguatedName("name", "$.name"), StrCat("name_", HashSuffix("$.name")));
  EXPECT_LE(DisambiguatedName(long_name, "$.x").size(), kMaxNameLength);
  const std::string table = BoundTableName(StrCat("ns.", long_name), "$.x[*]");
  EXPECT_TRUE(table.starts_with("ns."));
  EXPECT_EQ(table.size(), 3 + kMaxNameLength);
}

TEST(JsonPathTest, RecordedSourcesWinAndBytesAreEscaped) {
  const std::vector<TableSchema> tables = {
      {"cb.orgs", "", {{"a_b", ColumnType::kBigint, "$['a__b']"}}}};
  EXPECT_EQ(JsonPathOf(tables, "cb.orgs", "a_b").value_or(""), "$['a__b']");
  EXPECT_EQ(JsonPathSegment(std::string_view("a\0b", 3)), "['a\\x00b']");
  EXPECT_EQ(JsonPathSegment("caf\xc3\xa9"), "['caf\xc3\xa9']");  // valid UTF-8 kept
  EXPECT_EQ(JsonPathSegment("caf\xe9"), "['caf\\xe9']");
}

}  // namespace
}  // namespace watershed::normalize
