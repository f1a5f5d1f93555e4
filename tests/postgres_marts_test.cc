// tests/postgres_marts_test.cc — the example marts built on embedded DuckDB and on a real
// PostgreSQL server (a throwaway cluster): the same rows, totals and Data Vault hash keys.
#include <filesystem>
#include <fstream>

#include "emulators/crunchbase/server.h"
#include "gtest/gtest.h"
#include "tests/pg_cluster.h"
#include "watershed/base/test_util.h"
#include "watershed/load/crunchbase.h"
#include "watershed/transform/runner.h"
#include "watershed/warehouse/postgres/postgres.h"

namespace watershed {
namespace {

TEST(PostgresMarts, ExampleMartsOnDuckDbAndPostgresAgree) {
  auto pg = testing_util::PgCluster::Start();
  if (!pg && !testing_util::PgCluster::SkipAllowed()) {
    FAIL() << testing_util::PgCluster::NoSkipReason();
  }
  if (!pg) GTEST_SKIP() << "PostgreSQL binaries are not available";
  const std::string root = testing_util::MakeTempDir() + "/example";
  std::filesystem::copy(std::string(WS_SOURCE_DIR) + "/examples/crunchbase", root,
                        std::filesystem::copy_options::recursive);
  auto project = std::move(*project::Project::Open(root));
  auto e = emulators::crunchbase::Emulator::Start({.num_orgs = 800, .seed = 6});
  ASSERT_TRUE(e.ok());
  load::CrunchbaseRun run = *load::CrunchbaseSettings(*project);  // the example's settings
  run.api.base_url = (*e)->base_url();
  run.api.api_key = "emulator-key";
  run.api.requests_per_minute = 0;
  run.session.threads = 1;
  ASSERT_TRUE(load::RunCrunchbase(*project, run).ok());

  // 1. DuckDB (the default).
  auto duck = transform::Build(*project, {});
  ASSERT_TRUE(duck.ok()) << duck.status();
  std::map<std::string, int64_t> duck_rows;
  for (const auto& m : *duck) {
    EXPECT_EQ(m.status, "ok") << m.model << ": " << m.message;
    duck_rows[m.model] = m.rows;
  }
  auto marts = transform::OpenMarts(*project, "");
  ASSERT_TRUE(marts.ok());
  auto duck_value = [&](const std::string& sql) {
    auto r = marts->conn->Query(sql);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->GetString(0, 0) : "";
  };

  // 2. The same project with both marts in PostgreSQL.
  ASSERT_TRUE(pg->CreateDatabase("warehouse").ok());
  std::ofstream(root + "/watershed.yml", std::ios::app)
      << "marts:\n  finance: {target: \"" << pg->conninfo("warehouse") << "\"}\n"
      << "  analytics: {target: \"" << pg->conninfo("warehouse") << "\", type: postgres}\n";
  project = std::move(*project::Project::Open(root));
  auto pgb = transform::Build(*project, {});
  ASSERT_TRUE(pgb.ok()) << pgb.status();
  for (const auto& m : *pgb) {
    EXPECT_EQ(m.status, "ok") << m.model << ": " << m.message;
    EXPECT_EQ(m.rows, duck_rows[m.model]) << m.model;
  }
  auto conn = warehouse::postgres::PgConnection::Connect(pg->conninfo("warehouse"));
  ASSERT_TRUE(conn.ok()) << conn.status();
  auto pg_value = [&](const std::string& sql) {
    auto r = (*conn)->Query(sql);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() && r->rows() > 0 ? r->GetString(0, 0) : "";
  };
  // Hash keys are computed identically: the same business keys hash the same on both.
  for (const char* sql :
       {"SELECT md5(string_agg(hub_organization_hk, ',' ORDER BY hub_organization_hk)) FROM "
        "analytics.hub_organization",
        "SELECT md5(string_agg(link_investment_hk, ',' ORDER BY link_investment_hk)) FROM "
        "analytics.link_investment",
        "SELECT md5(string_agg(hashdiff, ',' ORDER BY hashdiff)) FROM analytics.sat_person"}) {
    const std::string d = duck_value(sql);
    EXPECT_EQ(d.size(), 32u) << sql;
    EXPECT_EQ(d, pg_value(sql)) << sql;
  }
  // Money raised per year agrees, and with the lake.
  const char* by_year =
      "SELECT string_agg(y || '=' || CAST(t AS VARCHAR), ',' ORDER BY y) FROM (SELECT "
      "CAST(extract(year FROM announced_on) AS INTEGER) AS y, CAST(sum(amount_usd) AS "
      "DECIMAL(18,4)) AS t FROM finance.fact_funding_round GROUP BY 1) x";
  EXPECT_EQ(duck_value(by_year), pg_value(by_year));
  EXPECT_EQ(pg_value("SELECT count(*) FROM finance.dim_organization WHERE dim_organization_sk = '-1'"),
            "1");
  // The lake tables were swapped in whole: no half-loaded tables are left.
  EXPECT_EQ(pg_value("SELECT count(*) FROM information_schema.tables WHERE table_name LIKE "
                     "'%__loading' OR table_name LIKE '%__new'"),
            "0");
}

}  // namespace
}  // namespace watershed
