// normalize/normalizer_test.cc — flattening, child tables, typing, evolution and contracts.
#include "watershed/normalize/normalizer.h"

#include <simdjson.h>

#include <filesystem>
#include <map>

#include "gtest/gtest.h"
#include "watershed/base/test_util.h"

namespace watershed::normalize {
namespace {

const TableBatch* Find(const std::vector<TableBatch>& batches, const std::string& table) {
  for (const TableBatch& b : batches) {
    if (b.table == table) return &b;
  }
  return nullptr;
}

int Col(const TableBatch& b, const std::string& name) {
  for (size_t i = 0; i < b.columns.size(); ++i) {
    if (b.columns[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

ColumnType TypeOf(const TableBatch& b, const std::string& name) {
  int c = Col(b, name);
  EXPECT_GE(c, 0) << name;
  return c < 0 ? ColumnType::kVarchar : b.columns[c].type;
}

std::string Str(const TableBatch& b, const std::string& name, size_t row) {
  int c = Col(b, name);
  EXPECT_GE(c, 0) << name;
  if (c < 0 || !b.data[c].valid[row]) return "<null>";
  return std::string(b.data[c].strings[row]);
}

int64_t Int(const TableBatch& b, const std::string& name, size_t row) {
  int c = Col(b, name);
  EXPECT_GE(c, 0) << name;
  EXPECT_TRUE(c >= 0 && b.data[c].valid[row]) << name << " row " << row;
  return c < 0 ? 0 : static_cast<int64_t>(b.data[c].slots[row]);
}

bool IsNull(const TableBatch& b, const std::string& name, size_t row) {
  int c = Col(b, name);
  return c < 0 || !b.data[c].valid[row];
}

Normalizer Make(Contract contract = Contract::kEvolve, const std::vector<TableSchema>& known = {}) {
  return Normalizer(NormalizerOptions{"cb.orgs", 7, contract}, known);
}

TEST(Normalizer, FlattensObjectsAndSplitsArraysIntoLinkedChildTables) {
  Normalizer n = Make();
  ASSERT_TRUE(n.AddJson(R"({"uuid":"a","identifier":{"value":"Ekohe","permalink":"ekohe"},
    "categories":[{"value":"AI"},{"value":"SaaS","tags":["x","y"]}],"facets":["f1","f2","f3"]})",
                        false)
                  .ok());
  auto batches = n.Flush();
  const TableBatch* root = Find(batches, "cb.orgs");
  const TableBatch* cats = Find(batches, "cb.orgs__categories");
  const TableBatch* tags = Find(batches, "cb.orgs__categories__tags");
  const TableBatch* facets = Find(batches, "cb.orgs__facets");
  ASSERT_TRUE(root && cats && tags && facets);
  EXPECT_EQ(root->num_rows, 1u);
  EXPECT_EQ(Str(*root, "identifier__value", 0), "Ekohe");
  EXPECT_EQ(Str(*root, "identifier__permalink", 0), "ekohe");
  EXPECT_EQ(Int(*root, "_ws_load_id", 0), 7);
  const int64_t root_id = Int(*root, "_ws_id", 0);
  EXPECT_EQ(root_id >> 40, 7);  // the load number sits in the high bits

  ASSERT_EQ(cats->num_rows, 2u);
  EXPECT_EQ(Int(*cats, "_ws_parent_id", 0), root_id);
  EXPECT_EQ(Int(*cats, "_ws_parent_id", 1), root_id);
  EXPECT_EQ(Int(*cats, "_ws_idx", 0), 0);
  EXPECT_EQ(Int(*cats, "_ws_idx", 1), 1);
  EXPECT_EQ(Str(*cats, "value", 1), "SaaS");

  ASSERT_EQ(tags->num_rows, 2u);
  EXPECT_EQ(Int(*tags, "_ws_parent_id", 0), Int(*cats, "_ws_id", 1));
  EXPECT_EQ(Str(*tags, "value", 1), "y");

  ASSERT_EQ(facets->num_rows, 3u);
  EXPECT_EQ(Str(*facets, "value", 2), "f3");
  EXPECT_EQ(Int(*facets, "_ws_idx", 2), 2);
}

TEST(Normalizer, InfersTypesIncludingMoneyDatesAndTimestamps) {
  Normalizer n = Make();
  ASSERT_TRUE(n.AddJson(R"({"b":true,"i":42,"d":1.5,"day":"2011-05-01",
    "ts":"2023-11-21T16:33:08Z","tz":"2023-11-21T18:33:08+02:00","s":"hello",
    "funding":{"value":1200000.5,"currency":"USD","value_usd":1300000}})",
                        false)
                  .ok());
  auto batches = n.Flush();
  const TableBatch& b = batches[0];
  EXPECT_EQ(TypeOf(b, "b"), ColumnType::kBoolean);
  EXPECT_EQ(TypeOf(b, "i"), ColumnType::kBigint);
  EXPECT_EQ(TypeOf(b, "d"), ColumnType::kDouble);
  EXPECT_EQ(TypeOf(b, "day"), ColumnType::kDate);
  EXPECT_EQ(TypeOf(b, "ts"), ColumnType::kTimestamp);
  EXPECT_EQ(TypeOf(b, "s"), ColumnType::kVarchar);
  EXPECT_EQ(TypeOf(b, "funding__value"), ColumnType::kDecimal);
  EXPECT_EQ(TypeOf(b, "funding__value_usd"), ColumnType::kDecimal);
  EXPECT_EQ(Int(b, "funding__value", 0), 12000005000);  // scaled by 10^4, exact
  EXPECT_EQ(Int(b, "funding__value_usd", 0), 13000000000);
  EXPECT_EQ(Int(b, "day", 0), DaysFromCivil(2011, 5, 1));
  EXPECT_EQ(Int(b, "ts", 0), Int(b, "tz", 0));  // offsets are normalised to UTC
}

TEST(Normalizer, TypeConflictsWidenOrGoToVariantColumnsWithoutLoss) {
  Normalizer n = Make();
  ASSERT_TRUE(n.AddJson(R"({"x":1,"when":"2020-01-02","rank":5,"flag":true})", false).ok());
  ASSERT_TRUE(n.AddJson(R"({"x":2.25,"when":"2020-01-02T03:04:05Z","rank":"n/a","flag":7})",
                        false)
                  .ok());
  auto batches = n.Flush();
  const TableBatch& b = batches[0];
  EXPECT_EQ(TypeOf(b, "x"), ColumnType::kDouble);  // bigint widened to double
  int x = Col(b, "x");
  double first, second;
  std::memcpy(&first, &b.data[x].slots[0], 8);
  std::memcpy(&second, &b.data[x].slots[1], 8);
  EXPECT_EQ(first, 1.0);
  EXPECT_EQ(second, 2.25);
  EXPECT_EQ(TypeOf(b, "when"), ColumnType::kTimestamp);  // date widened to timestamp
  EXPECT_EQ(Int(b, "when", 0), DaysFromCivil(2020, 1, 2) * 86400000000LL);
  EXPECT_EQ(TypeOf(b, "rank"), ColumnType::kBigint);  // a string goes to a variant column
  EXPECT_EQ(Int(b, "rank", 0), 5);
  EXPECT_TRUE(IsNull(b, "rank", 1));
  EXPECT_EQ(Str(b, "rank__v_varchar", 1), "n/a");
  EXPECT_TRUE(IsNull(b, "rank__v_varchar", 0));
  EXPECT_EQ(Int(b, "flag__v_bigint", 1), 7);
}

TEST(Normalizer, VarcharColumnsKeepNumbersAsTheirText) {
  Normalizer n = Make();
  ASSERT_TRUE(n.AddJson(R"({"code":"A1"})", false).ok());
  ASSERT_TRUE(n.AddJson(R"({"code":12345678901234})", false).ok());
  ASSERT_TRUE(n.AddJson(R"({"code":0.1})", false).ok());
  ASSERT_TRUE(n.AddJson(R"({"code":18446744073709551615})", false).ok());
  auto b = n.Flush();
  EXPECT_EQ(Str(b[0], "code", 1), "12345678901234");
  EXPECT_EQ(Str(b[0], "code", 2), "0.1");
  EXPECT_EQ(Str(b[0], "code", 3), "18446744073709551615");
}

TEST(Normalizer, SchemaEvolvesAcrossThreeLoads) {
  std::vector<TableSchema> known;
  {
    Normalizer n(NormalizerOptions{"cb.orgs", 1, Contract::kEvolve}, known);
    ASSERT_TRUE(n.AddJson(R"({"a":1,"b":"x"})", false).ok());
    n.Flush();
    known = n.Schemas();
  }
  {
    Normalizer n(NormalizerOptions{"cb.orgs", 2, Contract::kEvolve}, known);
    ASSERT_TRUE(n.AddJson(R"({"a":2,"c":true,"list":[1,2]})", false).ok());
    auto b = n.Flush();
    // Load 2 sees load 1's columns in the same order, and adds its own after them.
    const TableBatch& root = *Find(b, "cb.orgs");
    ASSERT_EQ(root.columns.size(), 5u);
    EXPECT_EQ(root.columns[2].name, "a");
    EXPECT_EQ(root.columns[3].name, "b");
    EXPECT_EQ(root.columns[4].name, "c");
    EXPECT_TRUE(IsNull(root, "b", 0));
    known = n.Schemas();
  }
  {
    Normalizer n(NormalizerOptions{"cb.orgs", 3, Contract::kEvolve}, known);
    ASSERT_TRUE(n.AddJson(R"({"a":2.5,"list":["z"]})", false).ok());
    auto b = n.Flush();
    EXPECT_EQ(TypeOf(*Find(b, "cb.orgs"), "a"), ColumnType::kDouble);
    const TableBatch* list = Find(b, "cb.orgs__list");
    ASSERT_NE(list, nullptr);
    EXPECT_EQ(TypeOf(*list, "value"), ColumnType::kBigint);  // known from load 2
    EXPECT_EQ(Str(*list, "value__v_varchar", 0), "z");
    auto schemas = n.Schemas();
    ASSERT_EQ(schemas.size(), 2u);
    EXPECT_EQ(schemas[1].parent, "cb.orgs");
  }
}

TEST(Normalizer, FreezeRejectsNewColumnsAndKeepsNothingOfTheRecord) {
  std::vector<TableSchema> known;
  {
    Normalizer n = Make();
    ASSERT_TRUE(n.AddJson(R"({"a":1,"items":[{"k":1}]})", false).ok());
    n.Flush();
    known = n.Schemas();
  }
  Normalizer n = Make(Contract::kFreeze, known);
  ASSERT_TRUE(n.AddJson(R"({"a":2,"items":[{"k":2}]})", false).ok());
  Status s = n.AddJson(R"({"a":3,"items":[{"k":3},{"k":4,"new":1}]})", false);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(MessageOf(s).find("new column new"), std::string_view::npos) << s;
  EXPECT_NE(MessageOf(s).find("cb.orgs__items"), std::string_view::npos) << s;
  EXPECT_EQ(n.AddJson(R"({"a":"text"})", false).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(n.AddJson(R"({"other":[1]})", false).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(n.AddJson(R"({"a":5})", false).ok());
  auto b = n.Flush();
  const TableBatch& root = *Find(b, "cb.orgs");
  ASSERT_EQ(root.num_rows, 2u);  // the rejected records left no row behind
  EXPECT_EQ(Int(root, "a", 1), 5);
  EXPECT_EQ(Find(b, "cb.orgs__items")->num_rows, 1u);  // only record 1's item
  EXPECT_EQ(n.records(), 2u);
  EXPECT_EQ(n.Schemas()[0].columns.size(), 3u);  // _ws_id, _ws_load_id, a
}

TEST(Normalizer, MalformedJsonIsAnErrorAndLeavesNothing) {
  Normalizer n = Make();
  Status s = n.AddJson(R"({"a":1,)", false);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(MessageOf(s).find("malformed JSON"), std::string_view::npos);
  EXPECT_EQ(n.AddJson("{\"a\":\"\xff\xfe\"}", false).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(n.Flush().empty());
}

// The column of JSON path `source` in `b` ("" when none).
std::string NameOf(const TableBatch& b, const std::string& source) {
  for (const ColumnSpec& c : b.columns) {
    if (c.source == source) return c.name;
  }
  return "";
}

TEST(Normalizer, NamesFollowTheConventionAndEachColumnKeepsItsPath) {
  Normalizer n = Make();
  ASSERT_TRUE(n.AddJson(R"({"Name":"a","name":"b","ingest_date":"x","fundingTotal":{"valueUSD":1},
                           "a.b":[1],"x/y":2,"q\"t":3,"nul\u0000key":4})",
                        false)
                  .ok());
  auto b = n.Flush();
  const TableBatch& root = *Find(b, "cb.orgs");
  // Keys that normalize alike, or to a reserved name, get a hash of their path.
  EXPECT_EQ(NameOf(root, "$.Name"), "name");
  EXPECT_EQ(NameOf(root, "$.name"), StrCat("name_", HashSuffix("$.name")));
  EXPECT_EQ(Str(root, NameOf(root, "$.name"), 0), "b");
  EXPECT_EQ(NameOf(root, "$.ingest_date"), StrCat("ingest_date_", HashSuffix("$.ingest_date")));
  EXPECT_EQ(NameOf(root, "$.fundingTotal.valueUSD"), "funding_total__value_usd");
  EXPECT_EQ(NameOf(root, "$['x/y']"), "x_y");
  EXPECT_EQ(NameOf(root, "$['q\"t']"), "q_t");
  EXPECT_EQ(NameOf(root, "$['nul\\x00key']"), "nul_key");
  // An array under a key with a dot: a child table with a valid name, its array path recorded.
  const TableBatch* child = Find(b, "cb.orgs__a_b");
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(NameOf(*child, "$['a.b'][*]"), "_ws_idx");
  for (const TableBatch& t : b) {
    for (const ColumnSpec& c : t.columns) {
      EXPECT_EQ(c.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_"),
                std::string::npos)
          << c.name;
      EXPECT_LE(c.name.size(), kMaxNameLength);
    }
  }
}

TEST(Normalizer, TwoPathsNeverShareAColumn) {
  // Before the convention both became `a__b` and the last one won.
  Normalizer n = Make();
  ASSERT_TRUE(n.AddJson(R"({"a":{"b":2},"a__b":3})", false).ok());
  auto b = n.Flush();
  EXPECT_EQ(Int(b[0], NameOf(b[0], "$.a.b"), 0), 2);
  EXPECT_EQ(Int(b[0], NameOf(b[0], "$.a__b"), 0), 3);
  EXPECT_NE(NameOf(b[0], "$.a.b"), NameOf(b[0], "$.a__b"));
  // Scalar elements and an element object's `value` key are two paths too.
  ASSERT_TRUE(n.AddJson(R"({"t":[1,{"value":2}]})", false).ok());
  b = n.Flush();
  const TableBatch* t = Find(b, "cb.orgs__t");
  ASSERT_NE(t, nullptr);
  EXPECT_NE(NameOf(*t, "$.t[*]"), NameOf(*t, "$.t[*].value"));
}

TEST(Normalizer, OwnershipOfNamesSurvivesTheNextLoad) {
  Normalizer first = Make();
  ASSERT_TRUE(first.AddJson(R"({"Name":"a","name":"b"})", false).ok());
  const std::vector<TableSchema> known = first.Schemas();
  // The next load sees the keys in the other order, and must name them the same way.
  Normalizer next = Make(Contract::kEvolve, known);
  ASSERT_TRUE(next.AddJson(R"({"name":"d","Name":"c"})", false).ok());
  auto b = next.Flush();
  EXPECT_EQ(Str(b[0], "name", 0), "c");
  EXPECT_EQ(Str(b[0], StrCat("name_", HashSuffix("$.name")), 0), "d");
  EXPECT_EQ(next.Schemas()[0].columns.size(), known[0].columns.size());
}

TEST(Normalizer, ColumnsOfTablesWrittenBeforeSourcesAreTakenOverByTheirPath) {
  const std::vector<TableSchema> legacy = {
      {"cb.orgs", "",
       {{"_ws_id", ColumnType::kBigint}, {"_ws_load_id", ColumnType::kBigint},
        {"identifier__uuid", ColumnType::kVarchar}}},
      {"cb.orgs__tags", "cb.orgs",
       {{"_ws_id", ColumnType::kBigint}, {"_ws_load_id", ColumnType::kBigint},
        {"_ws_parent_id", ColumnType::kBigint}, {"_ws_idx", ColumnType::kBigint},
        {"value", ColumnType::kVarchar}}}};
  Normalizer n = Make(Contract::kFreeze, legacy);  // frozen: a new column would be an error
  ASSERT_TRUE(n.AddJson(R"({"identifier":{"uuid":"u"},"tags":["x"]})", false).ok());
  auto b = n.Flush();
  EXPECT_EQ(Str(*Find(b, "cb.orgs"), "identifier__uuid", 0), "u");
  EXPECT_EQ(Str(*Find(b, "cb.orgs__tags"), "value", 0), "x");
  EXPECT_EQ(n.Schemas()[0].columns[2].source, "$.identifier.uuid");
}

TEST(Normalizer, ClientKeysUnderTheReservedPrefixCannotForgeSystemColumns) {
  Normalizer n = Make();
  const SystemValue system[] = {
      {kPartitionColumn, ColumnType::kVarchar, 0, "p0"},
      {kPositionColumn, ColumnType::kBigint, 42, {}},
      {kArrivedAtColumn, ColumnType::kTimestamp, 1'700'000'000'000'000, {}}};
  ASSERT_TRUE(n.AddJson(R"({"_ws_position":1,"_ws_arrived_at":"1999-01-01T00:00:00Z",
                           "_ws_partition":"forged","_ws_id":"mine"})",
                        false, system)
                  .ok());
  auto b = n.Flush();
  EXPECT_EQ(Int(b[0], "_ws_position", 0), 42);
  EXPECT_EQ(Str(b[0], "_ws_partition", 0), "p0");
  EXPECT_EQ(Int(b[0], "_ws_arrived_at", 0), 1'700'000'000'000'000);
  EXPECT_EQ(Int(b[0], "ws_position", 0), 1);  // the client's, renamed
  EXPECT_EQ(Str(b[0], "ws_partition", 0), "forged");
  EXPECT_EQ(Str(b[0], "ws_id", 0), "mine");
  EXPECT_EQ(Int(b[0], "_ws_load_id", 0), 7);
}

TEST(Normalizer, RecordsPastTheColumnOrDepthLimitAreBadAndLeaveNoColumns) {
  Normalizer n(NormalizerOptions{"cb.orgs", 7, Contract::kEvolve, /*max_columns=*/5,
                                 /*max_depth=*/8},
               {});
  ASSERT_TRUE(n.AddJson(R"({"a":1,"b":2})", false).ok());
  Status wide = n.AddJson(R"({"c":1,"d":2,"e":3,"f":[1],"g":5})", false);
  EXPECT_EQ(wide.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(MessageOf(wide).find("limits.max_columns"), std::string_view::npos) << wide;
  std::string deep = "{\"x\":";
  for (int i = 0; i < 40; ++i) deep += "[";
  deep += "1";
  for (int i = 0; i < 40; ++i) deep += "]";
  deep += "}";
  Status nested = n.AddJson(deep, false);
  EXPECT_EQ(nested.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(MessageOf(nested).find("limits.max_depth"), std::string_view::npos) << nested;
  // Neither bad record left a column or table behind; the next good one lands.
  ASSERT_TRUE(n.AddJson(R"({"a":3,"c":4})", false).ok());
  const auto schemas = n.Schemas();
  ASSERT_EQ(schemas.size(), 1u);
  EXPECT_EQ(schemas[0].columns.size(), 5u);  // _ws_id, _ws_load_id, a, b, c
  auto b = n.Flush();
  EXPECT_EQ(b[0].num_rows, 2u);
  EXPECT_EQ(Int(b[0], "c", 1), 4);
}

TEST(Normalizer, LongKeysGetBoundedNamesThatStayApart) {
  Normalizer n = Make();
  const std::string k1(300, 'k');
  const std::string k2 = std::string(299, 'k') + "z";
  ASSERT_TRUE(n.AddJson(StrCat(R"({")", k1, R"(":[1],")", k2, R"(":[2],")", k1, R"(x":3})"),
                        false)
                  .ok());
  auto b = n.Flush();
  ASSERT_EQ(b.size(), 3u);
  EXPECT_NE(b[1].table, b[2].table);
  for (const TableBatch& t : b) {
    EXPECT_LE(t.table.size() - t.table.find('.') - 1, kMaxNameLength) << t.table;
  }
  EXPECT_LE(NameOf(b[0], StrCat("$.", k1, "x")).size(), kMaxNameLength);
}

TEST(Normalizer, CsvFieldsThatAreNotUtf8AreBadRecords) {
  Normalizer n = Make();
  std::vector<std::string> header = {"id", "Company Name"};
  Status s = n.AddCsvRow(header, {"1", "caf\xe9"}, {false, false});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(MessageOf(s).find("not valid UTF-8"), std::string_view::npos) << s;
  ASSERT_TRUE(n.AddCsvRow(header, {"2", "caf\xc3\xa9"}, {false, false}).ok());
  auto b = n.Flush();
  EXPECT_EQ(Str(b[0], "company_name", 0), "caf\xc3\xa9");
  EXPECT_EQ(NameOf(b[0], "$['Company Name']"), "company_name");
}

TEST(Normalizer, CsvRowsAreTypedFromTheirText) {
  Normalizer n = Make();
  std::vector<std::string> header = {"id", "zip", "amount", "on", "note", "ok"};
  std::vector<bool> q(6, false);
  ASSERT_TRUE(n.AddCsvRow(header, {"1", "01234", "2.50", "2020-02-29", "", "true"}, q).ok());
  std::vector<bool> quoted = {false, false, false, false, true, false};
  ASSERT_TRUE(n.AddCsvRow(header, {"2", "99999", "3", "2020-03-01", "", "false"}, quoted).ok());
  auto b = n.Flush();
  EXPECT_EQ(TypeOf(b[0], "id"), ColumnType::kBigint);
  EXPECT_EQ(TypeOf(b[0], "zip"), ColumnType::kVarchar);  // a leading zero stays text
  EXPECT_EQ(Str(b[0], "zip", 1), "99999");
  EXPECT_EQ(TypeOf(b[0], "amount"), ColumnType::kDouble);
  EXPECT_EQ(TypeOf(b[0], "on"), ColumnType::kDate);
  EXPECT_EQ(TypeOf(b[0], "ok"), ColumnType::kBoolean);
  EXPECT_EQ(Str(b[0], "note", 0), "<null>");  // unquoted empty is NULL
  EXPECT_EQ(Str(b[0], "note", 1), "");        // quoted empty is an empty string
}

TEST(Normalizer, FlushBoundsMemoryAndKeepsColumnsForTheNextBatch) {
  Normalizer n = Make();
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(n.AddJson(R"({"a":1,"s":"abcdefghijklmnopq"})", false).ok());
  EXPECT_GT(n.buffered_bytes(), 17000u);
  auto first = n.Flush();
  EXPECT_EQ(n.buffered_bytes(), 0u);
  ASSERT_TRUE(n.AddJson(R"({"a":2})", false).ok());
  auto second = n.Flush();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].columns.size(), first[0].columns.size());
  EXPECT_TRUE(IsNull(second[0], "s", 0));
  EXPECT_EQ(first[0].num_rows, 1000u);
}

// Every recorded Crunchbase response: each non-null leaf of the JSON lands in exactly one cell.
size_t CountLeaves(simdjson::dom::element e) {
  using simdjson::dom::element_type;
  switch (e.type()) {
    case element_type::OBJECT: {
      size_t n = 0;
      simdjson::dom::object obj = e.get_object().value_unsafe();
      for (auto f : obj) n += CountLeaves(f.value);
      return n;
    }
    case element_type::ARRAY: {
      size_t n = 0;
      simdjson::dom::array arr = e.get_array().value_unsafe();
      for (auto v : arr) n += CountLeaves(v);
      return n;
    }
    case element_type::NULL_VALUE:
      return 0;
    default:
      return 1;
  }
}

size_t CountCells(const std::vector<TableBatch>& batches) {
  size_t n = 0;
  for (const TableBatch& b : batches) {
    for (size_t c = 0; c < b.columns.size(); ++c) {
      if (b.columns[c].name.starts_with("_ws_")) continue;
      for (uint8_t v : b.data[c].valid) n += v;
    }
  }
  return n;
}

TEST(Normalizer, EveryRecordedCrunchbaseResponseLandsLeafForLeaf) {
  const std::string dir = std::string(WS_FIXTURES_DIR) + "/crunchbase/recorded";
  size_t files = 0, bodies = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    ++files;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    ASSERT_FALSE(parser.load(entry.path().string()).get(doc)) << entry.path();
    simdjson::dom::array interactions;
    ASSERT_FALSE(doc["interactions"].get(interactions)) << entry.path();
    std::vector<std::string> texts;
    for (simdjson::dom::element interaction : interactions) {
      simdjson::dom::element body;
      ASSERT_FALSE(interaction["response"]["body"].get(body)) << entry.path();
      texts.push_back(simdjson::minify(body));
    }
    for (const std::string& text : texts) {
      Normalizer n(NormalizerOptions{"crunchbase.response", 1, Contract::kEvolve}, {});
      ASSERT_TRUE(n.AddJson(text, false).ok()) << entry.path();
      auto batches = n.Flush();
      simdjson::dom::parser p2;
      simdjson::dom::element root;
      ASSERT_FALSE(p2.parse(text).get(root));
      size_t leaves = CountLeaves(root);
      EXPECT_EQ(CountCells(batches), leaves) << entry.path();
      EXPECT_GT(leaves, 0u) << entry.path();
      ++bodies;
    }
  }
  EXPECT_EQ(files, 19u);
  EXPECT_GE(bodies, 19u);
}

}  // namespace
}  // namespace watershed::normalize
