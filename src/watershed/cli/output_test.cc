// cli/output_test.cc — the renderings of output.h (table, CSV, JSON; wide cells, NULLs, columns
// kept whole) and ClosestMatch, the "did you mean" suggestion.
#include "watershed/cli/output.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "gtest/gtest.h"
#include "watershed/base/strings.h"

namespace watershed::cli {
namespace {

std::string Render(const TextTable& t, OutputFormat f) {
  std::ostringstream out;
  Print(t, f, out);
  return out.str();
}

TextTable Sample() {
  TextTable t;
  t.header = {"name", "n"};
  t.numeric = {false, true};
  t.rows = {{"alpha", "1"}, {"b", "1234"}, {"", ""}};
  t.nulls = {{false, false}, {false, false}, {true, true}};
  return t;
}

TEST(OutputFormat, ParsesTheThreeNamesAndNamesThemOnError) {
  EXPECT_EQ(*ParseOutputFormat("table"), OutputFormat::kTable);
  EXPECT_EQ(*ParseOutputFormat("csv"), OutputFormat::kCsv);
  EXPECT_EQ(*ParseOutputFormat("json"), OutputFormat::kJson);
  auto bad = ParseOutputFormat("xml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(MessageOf(bad.status()).find("'xml'"), std::string::npos);
  EXPECT_NE(MessageOf(bad.status()).find("table, csv, json"), std::string::npos);
}

TEST(Table, AlignsColumnsRightAlignsNumbersAndShowsNull) {
  // Numbers (and their header) to the right; no trailing spaces after the last column.
  const std::vector<std::string> lines = Split(Render(Sample(), OutputFormat::kTable), '\n');
  ASSERT_GE(lines.size(), 5u);
  EXPECT_EQ(lines[0], " name  │    n");
  EXPECT_EQ(lines[1], "───────┼─────");
  EXPECT_EQ(lines[2], " alpha │    1");
  EXPECT_EQ(lines[3], " b     │ 1234");
  EXPECT_EQ(lines[4], " NULL  │ NULL");
}

TEST(Table, ClipsWideCellsButNeverColumnsKeptWhole) {
  const std::string path =
      "/home/someone/project/.watershed/logs/run_daily_0123456789/extract.1.log";
  ASSERT_GT(path.size(), kMaxCell);
  TextTable t;
  t.header = {"note", "log"};
  t.rows = {{std::string(100, 'x'), path}};
  const std::string clipped = Render(t, OutputFormat::kTable);
  EXPECT_NE(clipped.find(std::string(kMaxCell - 1, 'x') + "…"), std::string::npos) << clipped;
  EXPECT_EQ(clipped.find(std::string(kMaxCell, 'x')), std::string::npos) << clipped;
  EXPECT_EQ(clipped.find(path), std::string::npos) << "an unmarked wide column is clipped";

  t.whole = {false, true};
  const std::string kept = Render(t, OutputFormat::kTable);
  EXPECT_NE(kept.find(path), std::string::npos) << kept;
  EXPECT_NE(kept.find("…"), std::string::npos) << "the other column is still clipped";
}

TEST(Table, KeepsEveryRowOnOneLine) {
  TextTable t;
  t.header = {"text"};
  t.rows = {{"two\nlines\tand a tab"}};
  EXPECT_EQ(Split(Render(t, OutputFormat::kTable), '\n', false, true).size(), 3u);
  EXPECT_NE(Render(t, OutputFormat::kTable).find("two lines and a tab"), std::string::npos);
}

TEST(Table, CountsUtf8CharactersNotBytesForWidth) {
  TextTable t;
  t.header = {"city", "x"};
  t.rows = {{"Zürich", "1"}, {"Bern", "2"}};
  const std::vector<std::string> lines = Split(Render(t, OutputFormat::kTable), '\n');
  EXPECT_EQ(lines[2], " Zürich │ 1");
  EXPECT_EQ(lines[3], " Bern   │ 2");
}

TEST(Csv, QuotesOnlyWhatNeedsItAndNeverClips) {
  TextTable t;
  t.header = {"a", "b"};
  t.rows = {{"plain", "with,comma"}, {"say \"hi\"", "two\nlines"}, {std::string(100, 'y'), ""}};
  EXPECT_EQ(Render(t, OutputFormat::kCsv),
            "a,b\nplain,\"with,comma\"\n\"say \"\"hi\"\"\",\"two\nlines\"\n" +
                std::string(100, 'y') + ",\n");
}

TEST(Json, NumbersUnquotedNullsAsNullAndTextEscaped) {
  TextTable t = Sample();
  t.rows.push_back({"quote \" and \\", "nan"});
  t.nulls.push_back({false, false});
  auto parsed = nlohmann::json::parse(Render(t, OutputFormat::kJson));
  ASSERT_EQ(parsed.size(), 4u);
  EXPECT_EQ(parsed[0]["name"], "alpha");
  EXPECT_EQ(parsed[1]["n"], 1234);
  EXPECT_TRUE(parsed[2]["name"].is_null());
  EXPECT_TRUE(parsed[2]["n"].is_null());
  EXPECT_EQ(parsed[3]["name"], "quote \" and \\");
  EXPECT_EQ(parsed[3]["n"], "nan") << "not a JSON number";
}

TEST(Json, EmptyIsAnEmptyArrayAndWideCellsStayWhole) {
  TextTable t;
  t.header = {"a"};
  EXPECT_EQ(Render(t, OutputFormat::kJson), "[]\n");
  t.rows = {{std::string(200, 'z')}};
  EXPECT_EQ(nlohmann::json::parse(Render(t, OutputFormat::kJson))[0]["a"], std::string(200, 'z'));
}

TEST(ClosestMatch, SuggestsTheNearestName) {
  const std::vector<std::string> commands = {"init", "load", "tables", "describe", "query",
                                             "gc",   "run",  "runs",   "backfill", "build"};
  EXPECT_EQ(ClosestMatch("tabels", commands), "tables");  // swapped neighbours: one edit
  EXPECT_EQ(ClosestMatch("descirbe", commands), "describe");
  EXPECT_EQ(ClosestMatch("qeury", commands), "query");
  EXPECT_EQ(ClosestMatch("buidl", commands), "build");
  EXPECT_EQ(ClosestMatch("TABLES", commands), "tables");
  EXPECT_EQ(ClosestMatch("runs", commands), "runs");
  EXPECT_EQ(ClosestMatch("backfil", commands), "backfill");
}

TEST(ClosestMatch, OffersAUniquePrefixAndNothingFarAway) {
  const std::vector<std::string> commands = {"describe", "docs", "tables", "task"};
  EXPECT_EQ(ClosestMatch("descr", commands), "describe");  // 3 edits, but a unique prefix
  EXPECT_EQ(ClosestMatch("d", commands), "");              // a prefix of two names
  EXPECT_EQ(ClosestMatch("zebra", commands), "");
  EXPECT_EQ(ClosestMatch("", commands), "");
  EXPECT_EQ(ClosestMatch("tables", {}), "");
}

}  // namespace
}  // namespace watershed::cli
