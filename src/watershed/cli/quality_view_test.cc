// cli/quality_view_test.cc — `watershed check` rendering: the table through cli/output.h (one row
// per check, the summary after it, DuckDB's caret diagram dropped), CSV rows, and the JSON object
// the docs promise.
#include "watershed/cli/quality_view.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "gtest/gtest.h"

namespace watershed::cli {
namespace {

quality::CheckReport Report() {
  quality::CheckReport report;
  report.run_id = "checks_1";
  report.run_at = "2026-01-01T00:00:00Z";
  quality::CheckResult pass{"orgs__not_null__uuid",
                            "cb.orgs",
                            "not_null",
                            quality::Severity::kError,
                            "pass",
                            0,
                            -1,
                            0,
                            "",
                            0.1};
  quality::CheckResult fail{"orgs__row_count",
                            "cb.orgs",
                            "row_count",
                            quality::Severity::kError,
                            "error",
                            -1,
                            -1,
                            0,
                            "Binder Error: no column x\n\nLINE 1: SELECT x\n         ^",
                            0.2};
  report.results = {pass, fail};
  return report;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(QualityView, TableHasOneRowPerCheckThenTheSummary) {
  std::ostringstream out;
  RenderCheckReport(Report(), OutputFormat::kTable, out);
  const auto lines = Lines(out.str());
  ASSERT_EQ(lines.size(), 5u) << out.str();  // header, rule, 2 checks, summary
  EXPECT_NE(lines[0].find("table   │ check"), std::string::npos) << lines[0];
  EXPECT_NE(lines[2].find("│            0 │"), std::string::npos) << lines[2];  // right-aligned
  EXPECT_NE(lines[3].find("│            - │ Binder Error: no column x"), std::string::npos)
      << lines[3];
  EXPECT_EQ(lines[3].find("LINE 1"), std::string::npos) << lines[3];
  EXPECT_EQ(lines[4],
            "2 checks: 1 passed, 0 warned, 0 failed, 1 could not run; blocking (severity error): "
            "orgs__row_count");
}

TEST(QualityView, CsvIsTheRowsOnly) {
  std::ostringstream out;
  RenderCheckReport(Report(), OutputFormat::kCsv, out);
  const auto lines = Lines(out.str());
  ASSERT_EQ(lines.size(), 3u) << out.str();
  EXPECT_EQ(lines[0], "table,check,severity,status,failing rows,message");
  EXPECT_EQ(lines[1], "cb.orgs,orgs__not_null__uuid,error,pass,0,");
}

TEST(QualityView, JsonIsOneObjectWithResultsAndBlocking) {
  std::ostringstream out;
  RenderCheckReport(Report(), OutputFormat::kJson, out);
  auto j = nlohmann::json::parse(out.str());
  EXPECT_EQ(j["run_id"], "checks_1");
  ASSERT_EQ(j["results"].size(), 2u);
  EXPECT_EQ(j["results"][0]["failing_rows"], 0);
  EXPECT_TRUE(j["results"][1]["failing_rows"].is_null());
  EXPECT_NE(j["results"][1]["message"].get<std::string>().find("LINE 1"), std::string::npos);
  EXPECT_EQ(j["blocking"], true);
}

}  // namespace
}  // namespace watershed::cli
