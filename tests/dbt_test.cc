// tests/dbt_test.cc — a dbt-style project (tests/fixtures/dbt_project) built unchanged by the
// real binary: `watershed seed`, `watershed build` (twice: the incremental model's second run
// renders is_incremental() true), `watershed check` running the schema.yml tests, `watershed
// docs` showing the schema.yml descriptions; every mart model compared row for row with the same
// SQL written out by hand (tests/fixtures/dbt_project/expected/*.sql) run directly in the mart.
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "tests/harness.h"

namespace {

namespace fs = std::filesystem;
using watershed::testing_util::MakeTempDir;
using watershed::testing_util::Outcome;
using watershed::testing_util::Quote;
using watershed::testing_util::ReadFileBytes;
using watershed::testing_util::Watershed;
using watershed::testing_util::WatershedIn;

class Dbt : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    project_ = dir_ + "/proj";
    Outcome init = Watershed("init " + Quote(project_));
    ASSERT_EQ(init.code, 0) << init.out;
    fs::remove_all(project_ + "/models");  // the dbt project's own, only
    const fs::path fixture = fs::path(WS_SOURCE_DIR) / "tests/fixtures/dbt_project";
    for (const char* part : {"dbt_project.yml", "macros", "models", "seeds"}) {
      fs::copy(fixture / part, fs::path(project_) / part, fs::copy_options::recursive);
    }
    expected_ = (fixture / "expected").string();
  }
  Outcome In(const std::string& args) { return WatershedIn(project_, args); }
  // The rows of `sql` in mart shop, as CSV (stdout only: the log's warnings about ignored dbt
  // settings go to stderr).
  std::string Rows(const std::string& sql) {
    Outcome r = watershed::testing_util::Shell(
        "{ " + Quote(watershed::testing_util::WatershedBinary()) + " --project " + Quote(project_) +
        " -q query --mart shop --format csv " + Quote(sql) + " 2>/dev/null; }");
    EXPECT_EQ(r.code, 0) << sql << "\n" << r.out;
    return r.out;
  }
  std::string dir_, project_, expected_;
};

TEST_F(Dbt, ProjectBuildsUnchangedAndEqualsTheSameSqlRunDirectly) {
  // Before the seeds are loaded, models that ref them say what to do.
  Outcome early = In("build");
  EXPECT_NE(early.code, 0) << early.out;
  EXPECT_NE(early.out.find("refs seed 'raw_customers', which is not loaded into mart shop: run "
                           "`watershed seed` first"),
            std::string::npos)
      << early.out;

  Outcome seed = In("seed");
  ASSERT_EQ(seed.code, 0) << seed.out;
  EXPECT_NE(seed.out.find("shop.raw_orders"), std::string::npos) << seed.out;
  EXPECT_NE(seed.out.find("shop.country_codes"), std::string::npos) << seed.out;  // shared seed
  EXPECT_NE(seed.out.find("4 loaded, 0 failed, 0 skipped"), std::string::npos) << seed.out;

  Outcome build = In("build");
  ASSERT_EQ(build.code, 0) << build.out;
  EXPECT_NE(build.out.find("6 built, 0 failed, 0 skipped"), std::string::npos) << build.out;
  // Folder defaults from dbt_project.yml: staging/ views, the mart's other models tables; the
  // incremental model's own config() wins.
  auto kind = [&](const std::string& name) {
    return Rows(
        "SELECT table_type FROM information_schema.tables WHERE table_catalog = 'shop' "
        "AND table_name = '" +
        name + "'");
  };
  EXPECT_EQ(kind("stg_orders"), "table_type\nVIEW\n");
  EXPECT_EQ(kind("orders"), "table_type\nBASE TABLE\n");
  EXPECT_EQ(kind("daily_revenue"), "table_type\nBASE TABLE\n");

  for (const auto& [model, key] : std::vector<std::pair<std::string, std::string>>{
           {"orders", "order_id"}, {"customers", "customer_id"}}) {
    const std::string built = Rows("SELECT * FROM " + model + " ORDER BY " + key);
    const std::string by_hand =
        Rows("SELECT * FROM (" + ReadFileBytes(expected_ + "/" + model + ".sql") + ") ORDER BY " + key);
    EXPECT_EQ(built, by_hand) << model;
    EXPECT_GT(std::count(built.begin(), built.end(), '\n'), 5) << built;
  }
  // The loop over payment methods made one column per method.
  EXPECT_EQ(Rows("SELECT credit_card_amount, coupon_amount, bank_transfer_amount, gift_card_amount,"
                 " amount, is_completed FROM orders WHERE order_id = 12"),
            "credit_card_amount,coupon_amount,bank_transfer_amount,gift_card_amount,amount,"
            "is_completed\n3.0,0.0,0.0,12.5,15.5,true\n");

  const std::string daily_sql = "SELECT order_date, orders, revenue FROM daily_revenue ORDER BY 1";
  const std::string daily_by_hand =
      Rows("SELECT * FROM (" + ReadFileBytes(expected_ + "/daily_revenue.sql") + ") ORDER BY 1");
  EXPECT_EQ(Rows(daily_sql), daily_by_hand);
  EXPECT_EQ(Rows("SELECT DISTINCT loaded_by FROM daily_revenue"), "loaded_by\nfull\n");

  // Second build: is_incremental() is true, so only the newest day is rebuilt (and merged).
  Outcome again = In("build");
  ASSERT_EQ(again.code, 0) << again.out;
  EXPECT_EQ(Rows(daily_sql), daily_by_hand);
  EXPECT_EQ(Rows("SELECT order_date, loaded_by FROM daily_revenue WHERE loaded_by = 'incremental'"),
            "order_date,loaded_by\n2024-01-15,incremental\n");
  Outcome full = In("build --full-refresh --select daily_revenue");
  ASSERT_EQ(full.code, 0) << full.out;
  EXPECT_EQ(Rows("SELECT DISTINCT loaded_by FROM daily_revenue"), "loaded_by\nfull\n");

  // The schema.yml tests are checks: six pass; the warn one warns (a country code not in the
  // seed would be NULL) — here every code is known, so all pass.
  Outcome check = In("check");
  EXPECT_EQ(check.code, 0) << check.out;
  for (const char* name :
       {"stg_customers__unique__customer_id", "stg_customers__not_null__customer_id",
        "orders__unique__order_id", "orders__not_null__order_id", "orders__accepted_values__status",
        "orders__relationships__customer_id", "customers__not_null__country"}) {
    EXPECT_NE(check.out.find(name), std::string::npos) << name << "\n" << check.out;
  }
  EXPECT_NE(check.out.find("7 checks: 7 passed"), std::string::npos) << check.out;

  // Descriptions reach `watershed docs`.
  Outcome docs = In("docs --out " + Quote(dir_ + "/docs.html"));
  ASSERT_EQ(docs.code, 0) << docs.out;
  const std::string html = ReadFileBytes(dir_ + "/docs.html");
  EXPECT_NE(html.find("One row per order, with its payments pivoted by payment method."),
            std::string::npos);
  EXPECT_NE(html.find("The customer's country, from the country_codes seed."), std::string::npos);
  EXPECT_NE(html.find("The primary key of an order."), std::string::npos);
}

TEST_F(Dbt, SchemaYmlTestsWarnBySeverityAndBlockPublishing) {
  ASSERT_EQ(In("seed").code, 0);
  ASSERT_EQ(In("build").code, 0);
  // A customer whose country code is not in the seed: the warn-severity not_null test warns,
  // and the mart is still published.
  std::ofstream(project_ + "/seeds/shop/raw_customers.csv", std::ios::app) << "7,Zed,Q.,xx\n";
  ASSERT_EQ(In("seed --select raw_customers").code, 0);
  Outcome warned = In("build");
  EXPECT_EQ(warned.code, 0) << warned.out;
  Outcome check = In("check shop");
  EXPECT_EQ(check.code, 0) << check.out;
  EXPECT_NE(check.out.find("7 checks: 6 passed, 1 warned, 0 failed, 0 could not run"),
            std::string::npos)
      << check.out;
  EXPECT_EQ(Rows("SELECT count(*) AS n FROM customers"), "n\n7\n");

  // A duplicate customer id: the error-severity unique test blocks.
  std::ofstream(project_ + "/seeds/shop/raw_customers.csv", std::ios::app) << "6,Sarah,R.,de\n";
  ASSERT_EQ(In("seed --select shop.raw_customers").code, 0);
  check = In("check shop");
  EXPECT_EQ(check.code, 1) << check.out;
  EXPECT_NE(check.out.find("1 failed, 0 could not run; blocking (severity error): "
                           "stg_customers__unique__customer_id\n"),
            std::string::npos)
      << check.out;
  Outcome blocked = In("build");
  EXPECT_NE(blocked.code, 0) << blocked.out;
  EXPECT_NE(blocked.out.find("mart shop was not published"), std::string::npos) << blocked.out;
  EXPECT_EQ(Rows("SELECT count(*) AS n FROM customers"), "n\n7\n");  // the old mart stays
}

TEST_F(Dbt, TemplateErrorsNameTheFileLineAndConstruct) {
  std::ofstream(project_ + "/models/shop/marts/orders.sql", std::ios::app)
      << "\n{% frobnicate %}\n";
  Outcome build = In("build");
  EXPECT_NE(build.code, 0);
  EXPECT_NE(build.out.find("models/shop/marts/orders.sql:38: unknown tag 'frobnicate'"),
            std::string::npos)
      << build.out;
  std::ofstream(project_ + "/models/shop/marts/orders.sql") << "select {{ var('nope') }}\n";
  build = In("build");
  EXPECT_NE(build.out.find("orders.sql:1: var(): var 'nope' is not set"), std::string::npos)
      << build.out;
  // Two models with one name in a mart.
  std::ofstream(project_ + "/models/shop/marts/orders.sql") << "select 1 as order_id\n";
  std::ofstream(project_ + "/models/shop/staging/orders.sql") << "select 1\n";
  build = In("build");
  EXPECT_NE(build.out.find("two models named 'orders' in mart shop"), std::string::npos)
      << build.out;
}

}  // namespace
