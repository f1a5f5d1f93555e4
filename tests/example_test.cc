// tests/example_test.cc — examples/crunchbase end to end: the emulator's data unloaded into the
// lake, both marts built, and every total reconciled with the lake.
#include <filesystem>

#include "emulators/crunchbase/server.h"
#include "gtest/gtest.h"
#include "watershed/base/test_util.h"
#include "watershed/lake/reader.h"
#include "watershed/load/crunchbase.h"
#include "watershed/transform/runner.h"

namespace watershed {
namespace {

namespace emu = emulators::crunchbase;

class ExampleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing_util::MakeTempDir() + "/example";
    std::filesystem::copy(std::string(WS_SOURCE_DIR) + "/examples/crunchbase", root_,
                          std::filesystem::copy_options::recursive);
    project_ = std::move(*project::Project::Open(root_));
    auto e = emu::Emulator::Start({.num_orgs = 2000, .seed = 4});
    ASSERT_TRUE(e.ok()) << e.status();
    emulator_ = std::move(*e);
    // The example's own settings (collections, fields), pointed at the emulator.
    auto settings = load::CrunchbaseSettings(*project_);
    ASSERT_TRUE(settings.ok()) << settings.status();
    load::CrunchbaseRun run = *settings;
    run.api.base_url = emulator_->base_url();
    run.api.api_key = "emulator-key";
    run.api.requests_per_minute = 0;
    run.session.threads = 1;
    auto r = load::RunCrunchbase(*project_, run);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  std::string Mart(const std::string& mart, const std::string& sql) {
    auto s = transform::OpenMarts(*project_, mart);
    EXPECT_TRUE(s.ok()) << s.status();
    auto r = s->conn->Query(sql);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() && r->row_count() ? r->GetString(0, 0) : "<none>";
  }

  std::string root_;
  std::unique_ptr<project::Project> project_;
  std::unique_ptr<emu::Emulator> emulator_;
};

TEST_F(ExampleTest, BothMartsBuildAndReconcileWithTheLake) {
  auto built = transform::Build(*project_, {});
  ASSERT_TRUE(built.ok()) << built.status();
  for (const auto& m : *built) EXPECT_EQ(m.status, "ok") << m.model << ": " << m.message;
  EXPECT_EQ(built->size(), 19u);
  // Money raised per year: the finance mart equals the normalized funding-round table.
  auto by_year = [](const std::string& column, const std::string& table) {
    return StrCat("SELECT string_agg(y || '=' || CAST(total AS VARCHAR), ',' ORDER BY y) FROM "
                  "(SELECT CAST(extract(year FROM announced_on) AS INTEGER) AS y, sum(",
                  column, ") AS total FROM ", table, " GROUP BY 1)");
  };
  const std::string finance = Mart("finance", by_year("amount_usd", "fact_funding_round"));
  EXPECT_EQ(finance, Mart("finance", by_year("money_raised__value_usd",
                                             "memory.crunchbase.funding_rounds")));
  EXPECT_GT(finance.size(), 20u);
  EXPECT_EQ(Mart("finance", "SELECT sum(amount_usd) FROM funding_by_month"),
            Mart("finance", "SELECT sum(money_raised__value_usd) FROM "
                            "memory.crunchbase.funding_rounds WHERE announced_on IS NOT NULL"));
  // Entities: one hub row per entity, one current dimension row per organization (+ unknown).
  const emu::Dataset& d = emulator_->dataset();
  EXPECT_EQ(Mart("analytics", "SELECT count(*) FROM hub_organization"),
            std::to_string(d.Count(emu::Collection::kOrganizations)));
  EXPECT_EQ(Mart("analytics", "SELECT count(*) FROM hub_person"),
            std::to_string(d.Count(emu::Collection::kPeople)));
  EXPECT_EQ(Mart("analytics", "SELECT count(*) FROM hub_funding_round"),
            std::to_string(d.Count(emu::Collection::kFundingRounds)));
  EXPECT_EQ(Mart("finance", "SELECT count(*) FROM dim_organization WHERE is_current"),
            std::to_string(d.Count(emu::Collection::kOrganizations) + 1));
  EXPECT_EQ(Mart("finance", "SELECT count(*) FROM fact_investment"),
            std::to_string(d.Count(emu::Collection::kInvestments)));
  EXPECT_EQ(Mart("analytics", "SELECT sum(lead_investments) FROM top_lead_investors"),
            Mart("analytics", "SELECT count(*) FROM memory.crunchbase.investments WHERE "
                              "is_lead_investor"));
  // Every fact finds its organization (no unknown members in consistent data).
  EXPECT_EQ(Mart("finance", "SELECT count(*) FROM fact_funding_round WHERE "
                            "dim_organization_sk = '-1'"),
            "0");
}

}  // namespace
}  // namespace watershed
