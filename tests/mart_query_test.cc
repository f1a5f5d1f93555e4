// Marts as a user meets them with the real binary: a model switching materialization between
// builds (view, table, incremental, snapshot and back), `watershed query --mart` read-only
// unless --write, lake tables addressed the same way in a mart query, and a missing table
// named with the snapshot read and the closest existing names (not DuckDB's catalog internals).
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "tests/harness.h"

namespace {

using watershed::testing_util::MakeTempDir;
using watershed::testing_util::Outcome;
using watershed::testing_util::Quote;
using watershed::testing_util::WatershedIn;
using watershed::testing_util::WriteFile;

// A project with lake table shop.orders (3 rows) in snapshot 1 and shop.refunds in snapshot 2.
std::string ShopProject() {
  std::string dir = MakeTempDir();
  WriteFile(dir, "watershed.yml", "name: shop\n");
  WriteFile(dir, "orders.ndjson",
            "{\"id\":1,\"amount\":10,\"status\":\"paid\"}\n"
            "{\"id\":2,\"amount\":20,\"status\":\"paid\"}\n"
            "{\"id\":3,\"amount\":5,\"status\":\"open\"}\n");
  WriteFile(dir, "refunds.ndjson", "{\"id\":1,\"order_id\":2}\n");
  Outcome a = WatershedIn(dir, "load " + Quote(dir + "/orders.ndjson") + " --table shop.orders");
  EXPECT_EQ(a.code, 0) << a.out;
  Outcome b = WatershedIn(dir, "load " + Quote(dir + "/refunds.ndjson") + " --table shop.refunds");
  EXPECT_EQ(b.code, 0) << b.out;
  return dir;
}

std::string Query(const std::string& project, const std::string& args) {
  Outcome o = WatershedIn(project, "query --format csv " + args);
  EXPECT_EQ(o.code, 0) << args << "\n" << o.out;
  return o.out;
}

// What models/finance/paid.sql is in the mart: VIEW or BASE TABLE, and its column count.
std::string KindOfPaid(const std::string& project) {
  return Query(project,
               "--mart finance \"SELECT t.table_type, (SELECT count(*) FROM "
               "information_schema.columns c WHERE c.table_catalog = 'finance' AND c.table_name = "
               "'paid') AS columns FROM information_schema.tables t WHERE t.table_catalog = "
               "'finance' AND t.table_name = 'paid'\"");
}

void WriteModel(const std::string& project, const std::string& config) {
  std::filesystem::create_directories(project + "/models/finance");
  WriteFile(project, "models/finance/paid.sql",
            config + "\nSELECT id, amount FROM {{ source('shop', 'orders') }} WHERE status = 'paid'\n");
}

void Build(const std::string& project, const std::string& step, const std::string& flags = "") {
  Outcome o = WatershedIn(project, "build " + flags);
  ASSERT_EQ(o.code, 0) << step << "\n" << o.out;
}

TEST(MartQuery, AModelSwitchesMaterializationBetweenBuilds) {
  const std::string project = ShopProject();
  WriteModel(project, "{{ config(materialized='view') }}");
  Build(project, "view");
  EXPECT_NE(KindOfPaid(project).find("VIEW,2"), std::string::npos) << KindOfPaid(project);

  WriteModel(project, "{{ config(materialized='table') }}");  // view -> table
  Build(project, "view -> table");
  EXPECT_NE(KindOfPaid(project).find("BASE TABLE,2"), std::string::npos) << KindOfPaid(project);
  EXPECT_EQ(Query(project, "--mart finance \"SELECT sum(amount) FROM paid\""), "sum(amount)\n30\n");

  WriteModel(project, "{{ config(materialized='view') }}");  // table -> view
  Build(project, "table -> view");
  EXPECT_NE(KindOfPaid(project).find("VIEW,2"), std::string::npos) << KindOfPaid(project);

  WriteModel(project, "{{ config(materialized='incremental', unique_key='id') }}");  // view -> inc.
  Build(project, "view -> incremental");
  EXPECT_NE(KindOfPaid(project).find("BASE TABLE,2"), std::string::npos) << KindOfPaid(project);
  Build(project, "incremental again");  // merges into its own table
  EXPECT_EQ(Query(project, "--mart finance \"SELECT count(*) FROM paid\""), "count_star()\n2\n");

  // incremental -> snapshot: a new history with the SCD2 columns (2 + 4).
  WriteModel(project,
             "{{ config(materialized='snapshot', unique_key='id', strategy='check', "
             "check_cols='amount') }}");
  Build(project, "incremental -> snapshot");
  EXPECT_NE(KindOfPaid(project).find("BASE TABLE,6"), std::string::npos) << KindOfPaid(project);
  Build(project, "snapshot again");  // keeps its history: nothing changed, still 2 versions
  EXPECT_EQ(Query(project, "--mart finance \"SELECT count(*) FROM paid WHERE is_current\""),
            "count_star()\n2\n");

  // snapshot -> incremental: its table has other columns, so it is rebuilt, not merged into.
  WriteModel(project, "{{ config(materialized='incremental', unique_key='id') }}");
  Build(project, "snapshot -> incremental");
  EXPECT_NE(KindOfPaid(project).find("BASE TABLE,2"), std::string::npos) << KindOfPaid(project);

  WriteModel(project, "{{ config(materialized='view') }}");  // and back, with --full-refresh
  Build(project, "incremental -> view", "--full-refresh");
  EXPECT_NE(KindOfPaid(project).find("VIEW,2"), std::string::npos) << KindOfPaid(project);
  WriteModel(project, "{{ config(materialized='table') }}");
  Build(project, "view -> table (full refresh)", "--full-refresh");
  EXPECT_NE(KindOfPaid(project).find("BASE TABLE,2"), std::string::npos) << KindOfPaid(project);
}

TEST(MartQuery, MartsAreReadOnlyUnlessWriteIsGiven) {
  const std::string project = ShopProject();
  WriteModel(project, "{{ config(materialized='table') }}");
  Build(project, "table");

  for (const std::string sql : {"CREATE TABLE finance.scratch AS SELECT 1 AS x",
                                "DELETE FROM paid", "DROP TABLE paid"}) {
    Outcome o = WatershedIn(project, "query --mart finance " + Quote(sql));
    EXPECT_NE(o.code, 0) << sql << "\n" << o.out;
    EXPECT_NE(o.out.find("--write"), std::string::npos) << o.out;
  }
  EXPECT_EQ(Query(project, "--mart finance \"SELECT count(*) FROM paid\""), "count_star()\n2\n");

  Outcome w = WatershedIn(project, "query --mart finance --write "
                                   "\"CREATE TABLE finance.scratch AS SELECT 1 AS x\"");
  EXPECT_EQ(w.code, 0) << w.out;
  EXPECT_EQ(Query(project, "--mart finance \"SELECT x FROM scratch\""), "x\n1\n");

  Outcome lake = WatershedIn(project, "query --write \"SELECT 1\"");
  EXPECT_NE(lake.code, 0);
  EXPECT_NE(lake.out.find("--mart"), std::string::npos) << lake.out;

  // A mart never built cannot be read: the message says what to run.
  std::filesystem::create_directories(project + "/models/sales");
  WriteFile(project, "models/sales/x.sql", "SELECT 1 AS one\n");
  Outcome unbuilt = WatershedIn(project, "query --mart sales \"SELECT * FROM x\"");
  EXPECT_NE(unbuilt.code, 0);
  EXPECT_NE(unbuilt.out.find("watershed build"), std::string::npos) << unbuilt.out;
}

TEST(MartQuery, LakeTablesHaveTheSameNameInAMartQuery) {
  const std::string project = ShopProject();
  WriteModel(project, "{{ config(materialized='table') }}");
  Build(project, "table");
  EXPECT_EQ(Query(project, "\"SELECT count(*) AS n FROM shop.orders\""), "n\n3\n");
  EXPECT_EQ(Query(project, "--mart finance \"SELECT count(*) AS n FROM shop.orders\""), "n\n3\n");
  EXPECT_EQ(Query(project, "--mart finance \"SELECT count(*) AS n FROM paid p JOIN shop.refunds r "
                           "ON r.order_id = p.id\""),
            "n\n1\n");
}

TEST(MartQuery, MissingTablesAreNamedWithTheSnapshotAndCloseNames) {
  const std::string project = ShopProject();
  WriteModel(project, "{{ config(materialized='table') }}");
  Build(project, "table");

  Outcome typo = WatershedIn(project, "query \"SELECT * FROM shop.order\"");
  EXPECT_NE(typo.code, 0);
  EXPECT_NE(typo.out.find("no lake table shop.order at snapshot 2 (the latest)"), std::string::npos)
      << typo.out;
  EXPECT_NE(typo.out.find("did you mean shop.orders?"), std::string::npos) << typo.out;
  EXPECT_EQ(typo.out.find("pg_catalog"), std::string::npos) << typo.out;
  EXPECT_EQ(typo.out.find("information_schema"), std::string::npos) << typo.out;

  Outcome quoted = WatershedIn(project, "query 'SELECT * FROM \"Shop\".\"Ordrs\"'");
  EXPECT_NE(quoted.out.find("no lake table shop.ordrs"), std::string::npos) << quoted.out;
  EXPECT_NE(quoted.out.find("did you mean shop.orders?"), std::string::npos) << quoted.out;

  // shop.refunds came with snapshot 2: reading snapshot 1 says so.
  Outcome early = WatershedIn(project, "query --snapshot 1 \"SELECT * FROM shop.refunds\"");
  EXPECT_NE(early.code, 0);
  EXPECT_NE(early.out.find("lake table shop.refunds did not exist at snapshot 1: it was created in "
                           "snapshot 2"),
            std::string::npos)
      << early.out;
  EXPECT_EQ(early.out.find("information_schema"), std::string::npos) << early.out;

  Outcome mart = WatershedIn(project, "query --mart finance \"SELECT * FROM finance.payd\"");
  EXPECT_NE(mart.code, 0);
  EXPECT_NE(mart.out.find("no table finance.payd in mart finance"), std::string::npos) << mart.out;
  EXPECT_NE(mart.out.find("did you mean finance.paid?"), std::string::npos) << mart.out;
  EXPECT_NE(mart.out.find("shop.orders"), std::string::npos) << mart.out;  // lake tables listed
  EXPECT_EQ(mart.out.find("pg_catalog"), std::string::npos) << mart.out;

  Outcome lake_in_mart = WatershedIn(project, "query --mart finance \"SELECT * FROM shop.refund\"");
  EXPECT_NE(lake_in_mart.out.find("did you mean shop.refunds?"), std::string::npos)
      << lake_in_mart.out;
}

}  // namespace
