// tests/catalog_postgres_test.cc — the catalog on PostgreSQL (storage.catalog: postgres://...)
// against a throwaway cluster (tests/pg_cluster.h): the store's connection (binds of every type,
// ids, changes, rollback, migrations, errors that name the URL without its password), the lake
// catalog with commits racing from several connections (totally ordered snapshots, nothing
// lost), and `watershed` on a project whose catalog is PostgreSQL; then two project folders that
// share nothing local, one S3 bucket (moto_server) and one PostgreSQL catalog, loading into one
// table at the same time; two schedulers sharing the catalog; `watershed migrate` of a local
// project to PostgreSQL and S3.
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "emulators/crunchbase/server.h"
#include "gtest/gtest.h"
#include "tests/harness.h"
#include "tests/moto.h"
#include "tests/pg_cluster.h"
#include "watershed/base/columns.h"
#include "watershed/base/strings.h"
#include "watershed/lake/catalog.h"
#include "watershed/store/store.h"

namespace watershed {
namespace {

using testing_util::MakeTempDir;
using testing_util::MotoServer;
using testing_util::Outcome;
using testing_util::PgCluster;
using testing_util::Quote;
using testing_util::Watershed;
using testing_util::WriteFile;

class CatalogPostgresTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = PgCluster::Start().release(); }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    if (cluster_ == nullptr && !PgCluster::SkipAllowed()) FAIL() << PgCluster::NoSkipReason();
    if (cluster_ == nullptr) GTEST_SKIP() << "no PostgreSQL server binaries on this machine";
    const std::string lower =
        ToLower(StrCat("t_", ::testing::UnitTest::GetInstance()->current_test_info()->name()));
    Status created = cluster_->CreateDatabase(lower);
    ASSERT_TRUE(created.ok()) << created;
    url_ = cluster_->url(lower);
    dir_ = MakeTempDir();
  }

  std::unique_ptr<store::Connection> Connect() {
    auto c = store::Connection::Open(url_);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *std::move(c) : nullptr;
  }

  static lake::CommitRequest OneFile(const std::string& table, const std::string& key, int rows) {
    lake::CommitRequest req;
    req.operation = "load";
    req.summary = "{}";
    lake::TableUpdate t;
    t.name = table;
    t.columns = {{"id", ColumnType::kBigint}, {"name", ColumnType::kVarchar}};
    t.partition_by = "ingest_date";
    req.tables.push_back(t);
    lake::DataFile f;
    f.table = table;
    f.key = key;
    f.partition = "ingest_date=2026-12-03";
    f.row_count = rows;
    f.size_bytes = 100 + rows;
    f.columns = t.columns;
    f.stats = {{"id", "1", std::to_string(rows), 0}, {"name", std::nullopt, std::nullopt, rows}};
    req.added.push_back(f);
    return req;
  }

  static PgCluster* cluster_;
  std::string url_;
  std::string dir_;
};
PgCluster* CatalogPostgresTest::cluster_ = nullptr;

TEST_F(CatalogPostgresTest, StatementsBindEveryTypeAndTransactionsRollBack) {
  auto db = Connect();
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(
      db->Exec(db->dialect().Render(
                   "CREATE TABLE t(id INTEGER PRIMARY KEY, n INTEGER, x REAL, s TEXT, b {BLOB})"))
          .ok());
  store::Stmt ins(*db, "INSERT INTO t(n, x, s, b) VALUES(?, ?, ?, ?)");
  const std::string bytes("a\0b\xff'", 5);
  ASSERT_TRUE(
      ins.Bind(1, int64_t{1} << 40).Bind(2, 2.5).Bind(3, "it's").BindBlob(4, bytes).Run().ok());
  EXPECT_EQ(db->LastInsertId(), 1);
  EXPECT_EQ(db->Changes(), 1);
  ins.Reset();
  ASSERT_TRUE(ins.BindNull(1).BindNull(2).BindNull(3).BindNull(4).Run().ok());
  EXPECT_EQ(db->LastInsertId(), 2);

  store::Stmt q(*db, "SELECT n, x, s, b FROM t WHERE id = ?1 OR id = ?1 + 100 ORDER BY id");
  q.Bind(1, int64_t{1});
  auto row = q.Step();
  ASSERT_TRUE(row.ok() && *row) << row.status();
  EXPECT_EQ(q.Int(0), int64_t{1} << 40);
  EXPECT_DOUBLE_EQ(q.Double(1), 2.5);
  EXPECT_EQ(q.Text(2), "it's");
  EXPECT_EQ(std::string(q.Blob(3)), bytes);
  row = q.Step();
  ASSERT_TRUE(row.ok());
  EXPECT_FALSE(*row);

  store::Stmt nulls(*db, "SELECT n, s FROM t WHERE id = 2");
  ASSERT_TRUE(*nulls.Step());
  EXPECT_TRUE(nulls.IsNull(0));
  EXPECT_EQ(nulls.OptText(1), std::nullopt);

  {
    store::Transaction txn(*db);
    ASSERT_TRUE(txn.Begin().ok());
    ASSERT_TRUE(db->Exec("DELETE FROM t").ok());
  }  // rolled back
  store::Stmt count(*db, "SELECT count(*) FROM t");
  ASSERT_TRUE(*count.Step());
  EXPECT_EQ(count.Int(0), 2);

  store::Stmt upd(*db, "UPDATE t SET s = ? WHERE n IS NULL");
  ASSERT_TRUE(upd.Bind(1, "x").Run().ok());
  EXPECT_EQ(db->Changes(), 1);
  store::Stmt ignore(*db, "INSERT {IGNORE} INTO t(id, n) VALUES(1, 5)");
  EXPECT_TRUE(ignore.Run().ok());
  EXPECT_EQ(db->Changes(), 0);
  // Text that is not UTF-8 (a cut-off error body) is stored with U+FFFD, not refused.
  store::Stmt bad(*db, "UPDATE t SET s = ? WHERE id = 2");
  ASSERT_TRUE(bad.Bind(1, std::string_view("caf\xc3", 4)).Run().ok());
  store::Stmt read(*db, "SELECT s FROM t WHERE id = 2");
  ASSERT_TRUE(*read.Step());
  EXPECT_EQ(read.Text(0), "caf\xef\xbf\xbd");
}

TEST_F(CatalogPostgresTest, MigrationsRunOnceFromManyConnections) {
  const store::Schema schema{"demo",
                             {"CREATE TABLE demo_a(k TEXT PRIMARY KEY, v INTEGER NOT NULL);",
                              "ALTER TABLE demo_a ADD COLUMN w REAL;"}};
  std::vector<std::thread> threads;
  std::vector<Status> results(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto db = store::Connection::Open(url_);
      results[i] = db.ok() ? store::Migrate(**db, schema) : db.status();
    });
  }
  for (auto& t : threads) t.join();
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s;
  auto db = Connect();
  ASSERT_NE(db, nullptr);
  auto version = store::SchemaVersion(*db, "demo");
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, 2);
  EXPECT_TRUE(store::Migrate(*db, schema).ok());
  const store::Schema older{"demo", {schema.migrations[0]}};
  Status newer = store::Migrate(*db, older);
  EXPECT_EQ(newer.code(), absl::StatusCode::kFailedPrecondition) << newer;
}

TEST_F(CatalogPostgresTest, ErrorsNameTheCatalogButNeverThePassword) {
  auto bad = store::Connection::Open(
      StrCat("postgres://watershed:s3cret-pw@127.0.0.1:", testing_util::FreePort(), "/nope"));
  ASSERT_FALSE(bad.ok());
  const std::string message(MessageOf(bad.status()));
  EXPECT_NE(message.find("127.0.0.1"), std::string::npos) << message;
  EXPECT_NE(message.find("storage.catalog"), std::string::npos) << message;
  EXPECT_EQ(message.find("s3cret-pw"), std::string::npos) << message;

  auto db = Connect();
  ASSERT_NE(db, nullptr);
  store::Stmt q(*db, "SELECT * FROM no_such_table");
  auto step = q.Step();
  ASSERT_FALSE(step.ok());
  EXPECT_NE(std::string(MessageOf(step.status())).find("no_such_table"), std::string::npos)
      << step.status();
  EXPECT_NE(std::string(MessageOf(step.status())).find("42P01"), std::string::npos)
      << step.status();
}

TEST_F(CatalogPostgresTest, CommitsFromManyConnectionsAreTotallyOrderedAndNothingIsLost) {
  constexpr int kWriters = 4, kCommits = 8;
  std::vector<std::thread> threads;
  std::vector<std::vector<int64_t>> ids(kWriters);
  std::vector<Status> errors(kWriters);
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      auto catalog = lake::Catalog::Open(url_);
      if (!catalog.ok()) {
        errors[w] = catalog.status();
        return;
      }
      for (int i = 0; i < kCommits; ++i) {
        lake::CommitRequest req = OneFile(
            "shop.orders", StrCat("structured/shop/orders/w", w, "-", i, ".parquet"), i + 1);
        req.cursors = {{"writer", StrCat("w", w), StrCat(i)}};
        auto id = (*catalog)->Commit(req);
        if (!id.ok()) {
          errors[w] = id.status();
          return;
        }
        ids[w].push_back(*id);
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const Status& s : errors) ASSERT_TRUE(s.ok()) << s;
  std::set<int64_t> all;
  for (const auto& v : ids) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kWriters * kCommits));

  auto catalog = lake::Catalog::Open(url_);
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  auto state = (*catalog)->GetTableState("shop.orders");
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->files.size(), static_cast<size_t>(kWriters * kCommits));
  EXPECT_EQ(state->row_count, kWriters * (kCommits * (kCommits + 1) / 2));
  auto latest = (*catalog)->LatestSnapshot();
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(*latest, *all.rbegin());
  auto cursors = (*catalog)->Cursors("writer");
  ASSERT_TRUE(cursors.ok()) << cursors.status();
  EXPECT_EQ(cursors->size(), static_cast<size_t>(kWriters));
  for (const auto& [key, value] : *cursors) EXPECT_EQ(value, StrCat(kCommits - 1)) << key;
  auto stats = (*catalog)->FileStats("structured/shop/orders/w0-0.parquet");
  ASSERT_TRUE(stats.ok()) << stats.status();
  ASSERT_EQ(stats->size(), 2u);

  // Time travel: the first snapshot shows one file.
  auto first = (*catalog)->GetTableState("shop.orders", *all.begin());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->files.size(), 1u);
  // Expiry keeps its marker in meta (the portable MAX).
  auto expired = (*catalog)->ExpireSnapshotsBefore(*all.begin() + 2);
  ASSERT_TRUE(expired.ok()) << expired.status();
  auto oldest = (*catalog)->OldestSnapshot();
  ASSERT_TRUE(oldest.ok()) << oldest.status();
  EXPECT_EQ(*oldest, *all.begin() + 2);
}

// --- the binary ---------------------------------------------------------------------------------

// `watershed query SQL --format csv EXTRA` through `run` (a callable taking the arguments): its
// output, with a failure when it does not exit 0.
template <typename Run>
std::string Csv(Run& run, const std::string& sql, const std::string& extra = "") {
  Outcome r = run("query " + Quote(sql) + " --format csv" + extra);
  EXPECT_EQ(r.code, 0) << r.out;
  return r.out;
}

std::string Rows(int from, int count) {
  std::string rows;
  for (int i = from; i < from + count; ++i) {
    rows += StrCat("{\"id\":", i, ",\"name\":\"n", i, "\",\"tags\":[\"a\",\"b\"]}\n");
  }
  return rows;
}

TEST_F(CatalogPostgresTest, EveryCommandRunsOnAProjectWhoseCatalogIsPostgres) {
  const std::string project = dir_ + "/proj";
  ASSERT_EQ(Watershed("init " + Quote(project)).code, 0);
  std::ofstream(project + "/watershed.yml")
      << "name: pg-project\nstorage:\n  catalog: ${CATALOG_URL}\n"
         "checks:\n  shop.items:\n    - {not_null: id}\n    - {unique: [id]}\n"
         "pipelines:\n  daily:\n    tasks:\n      items: {type: load, file: \""
      << dir_ << "/more.ndjson\", table: shop.items}\n";
  WriteFile(dir_, "more.ndjson", Rows(100, 10));
  const std::map<std::string, std::string> env = {{"CATALOG_URL", url_}};
  auto in = [&](const std::string& args) {
    return Watershed(args + " --project " + Quote(project), env);
  };
  const std::string first = WriteFile(dir_, "a.ndjson", Rows(0, 30));
  Outcome load = in("load " + Quote(first) + " --table shop.items");
  ASSERT_EQ(load.code, 0) << load.out;
  Outcome load2 =
      in("load " + Quote(WriteFile(dir_, "b.ndjson", Rows(30, 20))) + " --table shop.items");
  ASSERT_EQ(load2.code, 0) << load2.out;
  EXPECT_EQ(Csv(in, "SELECT count(*) AS n, sum(id) AS s FROM shop.items"), "n,s\n50,1225\n");
  EXPECT_EQ(Csv(in, "SELECT count(*) AS n FROM shop.items", " --snapshot 1"), "n\n30\n");
  Outcome tables = in("tables");
  ASSERT_EQ(tables.code, 0) << tables.out;
  EXPECT_NE(tables.out.find("shop.items"), std::string::npos) << tables.out;
  EXPECT_NE(tables.out.find("shop.items__tags"), std::string::npos) << tables.out;
  Outcome describe = in("describe shop.items");
  ASSERT_EQ(describe.code, 0) << describe.out;
  Outcome check = in("check");
  EXPECT_EQ(check.code, 0) << check.out;
  Outcome run = in("run daily");
  ASSERT_EQ(run.code, 0) << run.out;
  Outcome runs = in("runs");
  ASSERT_EQ(runs.code, 0) << runs.out;
  EXPECT_NE(runs.out.find("daily"), std::string::npos) << runs.out;
  EXPECT_EQ(Csv(in, "SELECT count(*) AS n FROM shop.items"), "n\n60\n");
  Outcome metrics = in("metrics");
  EXPECT_EQ(metrics.code, 0) << metrics.out;
  Outcome lineage = in("lineage shop.items.name");
  EXPECT_EQ(lineage.code, 0) << lineage.out;
  Outcome gc = in("gc");
  EXPECT_EQ(gc.code, 0) << gc.out;
  // Nothing of the catalog is on local disk.
  EXPECT_FALSE(std::filesystem::exists(project + "/.watershed/catalog.db"));
}

// Two project folders that share nothing local: the same S3 bucket and the same PostgreSQL
// catalog, loading different files into one table at the same time.
TEST_F(CatalogPostgresTest, TwoMachinesShareOneLakeOnS3AndOneCatalog) {
  auto moto = MotoServer::Start({.verify_signatures = false});
  ASSERT_NE(moto, nullptr);
  const std::map<std::string, std::string> env = {{"CATALOG_URL", url_},
                                                  {"S3_ENDPOINT", moto->endpoint()},
                                                  {"AWS_ACCESS_KEY_ID", "test"},
                                                  {"AWS_SECRET_ACCESS_KEY", "test"}};
  std::vector<std::string> projects;
  for (const char* machine : {"machine-a", "machine-b"}) {
    const std::string project = StrCat(dir_, "/", machine);
    ASSERT_EQ(Watershed("init " + Quote(project)).code, 0);
    std::ofstream(project + "/watershed.yml")
        << "name: shared\nstorage:\n  lake: s3://shared-lake/watershed\n  s3:\n"
           "    region: us-east-1\n    endpoint_url: ${S3_ENDPOINT}\n    create_bucket: true\n"
           "  catalog: ${CATALOG_URL}\n";
    projects.push_back(project);
  }
  constexpr int kLoadsEach = 4, kRows = 25;
  std::vector<Outcome> outcomes(2 * kLoadsEach);
  std::vector<std::thread> machines;
  for (int m = 0; m < 2; ++m) {
    machines.emplace_back([&, m] {
      for (int i = 0; i < kLoadsEach; ++i) {
        const int from = (m * kLoadsEach + i) * kRows;
        const std::string file =
            WriteFile(dir_, StrCat("m", m, "-", i, ".ndjson"), Rows(from, kRows));
        outcomes[m * kLoadsEach + i] = Watershed(
            "load " + Quote(file) + " --table shop.items --project " + Quote(projects[m]), env);
      }
    });
  }
  for (auto& t : machines) t.join();
  for (const Outcome& o : outcomes) ASSERT_EQ(o.code, 0) << o.out;
  const int n = 2 * kLoadsEach * kRows;
  const std::string expected = StrCat("n,s\n", n, ",", n * (n - 1) / 2, "\n");
  for (const std::string& project : projects) {
    Outcome q = Watershed(
        "query \"SELECT count(*) AS n, sum(id) AS s FROM shop.items\" "
        "--format csv --project " +
            Quote(project),
        env);
    ASSERT_EQ(q.code, 0) << q.out;
    EXPECT_EQ(q.out, expected) << project;
  }
  // gc from either side finds nothing to remove: every object is referenced.
  Outcome gc = Watershed("gc --grace 0s --dry-run --project " + Quote(projects[1]), env);
  ASSERT_EQ(gc.code, 0) << gc.out;
  EXPECT_NE(gc.out.find("0 orphan"), std::string::npos) << gc.out;
}

// The example project, unchanged, on two machines pointed at one S3 lake and one PostgreSQL
// catalog through $WATERSHED_LAKE and $WATERSHED_CATALOG: its extract task runs on one, its
// marts and quality tasks on the other, which builds both marts from the lake in S3.
TEST_F(CatalogPostgresTest, ExamplePipelineExtractsOnOneMachineAndBuildsOnTheOther) {
  auto moto = MotoServer::Start({.verify_signatures = false});
  ASSERT_NE(moto, nullptr);
  ASSERT_EQ(testing_util::Shell("curl -sf -X PUT " + moto->endpoint() + "/example-lake").code, 0);
  constexpr int kOrgs = 300;
  auto emulator = emulators::crunchbase::Emulator::Start({.num_orgs = kOrgs, .seed = 9});
  ASSERT_TRUE(emulator.ok()) << emulator.status();
  const std::map<std::string, std::string> env = {
      {"WATERSHED_LAKE", "s3://example-lake/watershed"},
      {"WATERSHED_CATALOG", url_},
      {"AWS_ENDPOINT_URL", moto->endpoint()},
      {"AWS_ACCESS_KEY_ID", "test"},
      {"AWS_SECRET_ACCESS_KEY", "test"},
      {"AWS_REGION", "us-east-1"},
      {"CRUNCHBASE_BASE_URL", (*emulator)->base_url()},
      {"CRUNCHBASE_API_KEY", "emulator-key"},
      {"WATERSHED_EXTERNAL_RUN_ID", "daily-2026-12-01"}};  // as an orchestrator passes it
  const std::string extractor = dir_ + "/machine-a", builder = dir_ + "/machine-b";
  for (const std::string& project : {extractor, builder}) {
    std::filesystem::copy(std::string(WS_SOURCE_DIR) + "/examples/crunchbase", project,
                          std::filesystem::copy_options::recursive);
  }
  auto on = [&](const std::string& project, const std::string& args) {
    return Watershed(args + " --project " + Quote(project), env);
  };
  Outcome extract = on(extractor, "task run crunchbase_daily extract --date 2026-12-01");
  ASSERT_EQ(extract.code, 0) << extract.out;
  Outcome marts = on(builder, "task run crunchbase_daily marts --date 2026-12-01");
  ASSERT_EQ(marts.code, 0) << marts.out;
  Outcome quality = on(builder, "task run crunchbase_daily quality --date 2026-12-01");
  ASSERT_EQ(quality.code, 0) << quality.out;

  auto scalar = [&](const std::string& project, const std::string& args) {
    Outcome q = on(project, "query " + args + " --format csv");
    EXPECT_EQ(q.code, 0) << q.out;
    const size_t nl = q.out.find('\n');
    return nl == std::string::npos ? q.out
                                   : q.out.substr(nl + 1, q.out.find('\n', nl + 1) - nl - 1);
  };
  // Every organization once in the lake, seen the same from both machines.
  for (const std::string& project : {extractor, builder}) {
    EXPECT_EQ(scalar(project, "\"SELECT count(DISTINCT uuid) FROM crunchbase.organizations\""),
              std::to_string(kOrgs));
  }
  // The marts were built on the builder, from the S3 lake: one organization row per lake row,
  // one fact per funding round, the money totals equal.
  EXPECT_EQ(scalar(builder,
                   "\"SELECT count(*) FROM dim_organization WHERE dim_organization_sk <> '-1'\" "
                   "--mart finance"),
            std::to_string(kOrgs));
  const std::string rounds =
      scalar(extractor, "\"SELECT count(*) FROM crunchbase.funding_rounds\"");
  EXPECT_NE(rounds, "0");
  EXPECT_EQ(scalar(builder, "\"SELECT count(*) FROM fact_funding_round\" --mart finance"), rounds);
  EXPECT_EQ(
      scalar(builder,
             "\"SELECT CAST(sum(amount_usd) AS BIGINT) FROM fact_funding_round\" --mart finance"),
      scalar(extractor,
             "\"SELECT CAST(sum(money_raised__value_usd) AS BIGINT) FROM "
             "crunchbase.funding_rounds\""));
  EXPECT_EQ(scalar(builder, "\"SELECT count(*) FROM hub_organization\" --mart analytics"),
            std::to_string(kOrgs));
  // The three tasks, run on two machines, are attempts of one run in the one catalog, which
  // succeeded once all of them had.
  auto db = Connect();
  ASSERT_NE(db, nullptr);
  store::Stmt runs(*db,
                   "SELECT count(*), min(status) FROM runs WHERE pipeline = 'crunchbase_daily'");
  ASSERT_TRUE(*runs.Step());
  EXPECT_EQ(runs.Int(0), 1);
  EXPECT_EQ(runs.Text(1), "success");
  store::Stmt tasks(*db, "SELECT task FROM task_runs WHERE status = 'ok' ORDER BY task");
  std::vector<std::string> succeeded;
  while (*tasks.Step()) succeeded.push_back(tasks.Text(0));
  EXPECT_EQ(succeeded, (std::vector<std::string>{"extract", "marts", "quality"}));
  // Tasks started from outside (an orchestrator) hold the run's lease too while they run.
  store::Stmt lease(*db, "SELECT heartbeat_at FROM runs WHERE pipeline = 'crunchbase_daily'");
  ASSERT_TRUE(*lease.Step());
  EXPECT_FALSE(lease.Text(0).empty());
  // Nothing in the bucket that gc would remove, seen from either machine.
  for (const std::string& project : {extractor, builder}) {
    Outcome gc = on(project, "gc --grace 0s --dry-run");
    ASSERT_EQ(gc.code, 0) << gc.out;
    EXPECT_NE(gc.out.find("0 orphan"), std::string::npos) << gc.out;
  }
  EXPECT_FALSE(std::filesystem::exists(extractor + "/.watershed/catalog.db"));
  EXPECT_FALSE(std::filesystem::exists(builder + "/lake"));
}

// `pool: {slots: 1}` on two project folders sharing the catalog: the slot is an advisory lock
// in PostgreSQL, so no two tasks of the two machines ever run at once. Without the pool they
// do (the check can fail).
TEST_F(CatalogPostgresTest, PoolSlotsAreSharedByEveryMachineOfTheCatalog) {
  const std::map<std::string, std::string> env = {{"CATALOG_URL", url_}};
  const std::string shared = dir_ + "/shared";
  std::filesystem::create_directories(shared);
  auto machines = [&](const std::string& pool, const std::string& tag) {
    std::vector<std::string> projects;
    for (const char* machine : {"pool-a", "pool-b"}) {
      const std::string project = StrCat(dir_, "/", tag, "-", machine);
      EXPECT_EQ(Watershed("init " + Quote(project)).code, 0);
      // Each task holds `busy` while it runs: a second holder means two tasks at once.
      const std::string task =
          StrCat("{type: shell, command: \"mkdir ", shared, "/busy || echo x >> ", shared, "/", tag,
                 "-overlaps; sleep 0.3; rmdir ", shared, "/busy; echo x >> ", shared, "/", tag,
                 "-done\"}");
      std::ofstream(project + "/watershed.yml")
          << "name: shared\nstorage:\n  catalog: ${CATALOG_URL}\n"
          << pool << "pipelines:\n  " << machine
          << ":\n    max_parallel: 3\n    tasks:\n      t1: " << task << "\n      t2: " << task
          << "\n      t3: " << task << "\n";
      projects.push_back(project);
    }
    std::vector<Outcome> outcomes(2);
    std::vector<std::thread> threads;
    for (int m = 0; m < 2; ++m) {
      threads.emplace_back([&, m] {
        outcomes[m] = Watershed(StrCat("run pool-", m == 0 ? "a" : "b",
                                       " --date 2026-12-01 --project ", Quote(projects[m])),
                                env);
      });
    }
    for (auto& t : threads) t.join();
    for (const Outcome& o : outcomes) EXPECT_EQ(o.code, 0) << o.out;
  };
  auto lines = [&](const std::string& name) {
    return testing_util::ReadLines(shared + "/" + name).size();
  };
  machines("pool:\n  slots: 1\n", "pooled");
  EXPECT_EQ(lines("pooled-done"), 6u);
  EXPECT_EQ(lines("pooled-overlaps"), 0u) << "two tasks held the one slot at once";
  std::filesystem::remove_all(shared + "/busy");
  machines("", "free");
  EXPECT_EQ(lines("free-done"), 6u);
  EXPECT_GT(lines("free-overlaps"), 0u) << "without a pool the tasks should overlap";
}

// A run left 'running' by a machine that died blocks its interval only while its lease is
// fresh: another machine takes it for dead once the lease is older than a minute.
TEST_F(CatalogPostgresTest, ARunOfADeadMachineIsAbandonedWhenItsLeaseExpires) {
  const std::map<std::string, std::string> env = {{"CATALOG_URL", url_}};
  const std::string project = dir_ + "/survivor";
  ASSERT_EQ(Watershed("init " + Quote(project)).code, 0);
  std::ofstream(project + "/watershed.yml")
      << "name: shared\nstorage:\n  catalog: ${CATALOG_URL}\n"
         "pipelines:\n  daily:\n    tasks:\n      a: {type: shell, command: \"true\"}\n";
  auto run = [&](const std::string& date) {
    return Watershed("run daily --date " + date + " --project " + Quote(project), env);
  };
  ASSERT_EQ(run("2026-11-30").code, 0);  // the runs table exists
  auto db = Connect();
  ASSERT_NE(db, nullptr);
  auto other_machine = [&](const std::string& run_id, const std::string& date, int64_t age_s) {
    store::Stmt ins(*db,
                    "INSERT INTO runs(run_id, pipeline, logical_date, started_at, status, pid, "
                    "host, heartbeat_at) VALUES(?, 'daily', ?, ?, 'running', 1, "
                    "'machine-that-died', ?)");
    const std::string beat = IsoUtc(NowMicros() - age_s * 1000 * 1000);
    ASSERT_TRUE(ins.Bind(1, run_id).Bind(2, date).Bind(3, beat).Bind(4, beat).Run().ok());
  };
  auto status = [&](const std::string& run_id) {
    store::Stmt q(*db, "SELECT status FROM runs WHERE run_id = ?");
    q.Bind(1, run_id);
    return *q.Step() ? q.Text(0) : std::string("<none>");
  };
  other_machine("run_daily_dead", "2026-12-01", 5 * 60);
  Outcome taken = run("2026-12-01");
  EXPECT_EQ(taken.code, 0) << taken.out;
  EXPECT_EQ(status("run_daily_dead"), "abandoned");
  other_machine("run_daily_alive", "2026-12-02", 5);
  Outcome refused = run("2026-12-02");
  EXPECT_NE(refused.code, 0) << refused.out;
  EXPECT_NE(refused.out.find("already running"), std::string::npos) << refused.out;
  EXPECT_EQ(status("run_daily_alive"), "running");
}

// Two schedulers on two project folders sharing the catalog catch up the same 20 intervals at
// the same time: each interval runs exactly once.
TEST_F(CatalogPostgresTest, TwoSchedulersRunEachIntervalExactlyOnce) {
  const std::map<std::string, std::string> env = {{"CATALOG_URL", url_}};
  std::vector<std::string> projects;
  for (const char* machine : {"scheduler-a", "scheduler-b"}) {
    const std::string project = StrCat(dir_, "/", machine);
    ASSERT_EQ(Watershed("init " + Quote(project)).code, 0);
    std::ofstream(project + "/watershed.yml")
        << "name: shared\nstorage:\n  catalog: ${CATALOG_URL}\n"
           "pipelines:\n  daily:\n    schedule: \"0 6 * * *\"\n    start: 2026-11-01\n"
           "    tasks:\n      a: {type: noop}\n      b: {type: noop, after: a}\n";
    projects.push_back(project);
  }
  std::vector<Outcome> outcomes(2);
  std::vector<std::thread> schedulers;
  for (int m = 0; m < 2; ++m) {
    schedulers.emplace_back([&, m] {
      outcomes[m] = Watershed(
          "scheduler --once --until 2026-11-20T07:00:00Z --project " + Quote(projects[m]), env);
    });
  }
  for (auto& t : schedulers) t.join();
  for (const Outcome& o : outcomes) ASSERT_EQ(o.code, 0) << o.out;
  auto db = Connect();
  ASSERT_NE(db, nullptr);
  store::Stmt q(*db,
                "SELECT logical_date, count(*) FROM runs WHERE pipeline = 'daily' AND "
                "status = 'success' GROUP BY logical_date ORDER BY logical_date");
  std::map<std::string, int64_t> runs;
  while (true) {
    auto row = q.Step();
    ASSERT_TRUE(row.ok()) << row.status();
    if (!*row) break;
    runs[q.Text(0)] = q.Int(1);
  }
  EXPECT_EQ(runs.size(), 20u);
  for (const auto& [date, n] : runs) {
    EXPECT_EQ(n, 1) << date;
    if (n == 1) continue;
    store::Stmt d(*db,
                  "SELECT run_id, started_at, finished_at, pid FROM runs WHERE logical_date = ?");
    d.Bind(1, date);
    while (*d.Step()) {
      ADD_FAILURE() << "run " << d.Text(0) << " " << d.Text(1) << " - " << d.Text(2) << " pid "
                    << d.Int(3);
    }
  }
  EXPECT_EQ(runs.begin()->first, "2026-11-01T06:00:00Z");
  store::Stmt other(*db, "SELECT count(*) FROM runs WHERE status <> 'success'");
  ASSERT_TRUE(*other.Step());
  EXPECT_EQ(other.Int(0), 0);
}

// `watershed migrate` moves a local project (SQLite catalog, local lake) to PostgreSQL and S3:
// snapshots, time travel, runs and ids continue; a second migrate into the same catalog refuses.
TEST_F(CatalogPostgresTest, MigrateMovesALocalProjectToPostgresAndS3) {
  auto moto = MotoServer::Start({.verify_signatures = false});
  ASSERT_NE(moto, nullptr);
  const std::map<std::string, std::string> env = {{"S3_ENDPOINT", moto->endpoint()},
                                                  {"AWS_ACCESS_KEY_ID", "test"},
                                                  {"AWS_SECRET_ACCESS_KEY", "test"},
                                                  {"CATALOG_URL", url_}};
  const std::string project = dir_ + "/local";
  ASSERT_EQ(Watershed("init " + Quote(project)).code, 0);
  const std::string pipelines = "pipelines:\n  daily:\n    tasks:\n      a: {type: noop}\n";
  const std::string s3 =
      "  s3:\n    region: us-east-1\n    endpoint_url: ${S3_ENDPOINT}\n    create_bucket: true\n";
  std::ofstream(project + "/watershed.yml") << "name: moving\nstorage:\n" << s3 << pipelines;
  auto in = [&](const std::string& args) {
    return Watershed(args + " --project " + Quote(project), env);
  };
  ASSERT_EQ(
      in("load " + Quote(WriteFile(dir_, "a.ndjson", Rows(0, 30))) + " --table shop.items").code,
      0);
  ASSERT_EQ(
      in("load " + Quote(WriteFile(dir_, "b.ndjson", Rows(30, 20))) + " --table shop.items").code,
      0);
  ASSERT_EQ(in("run daily").code, 0);

  Outcome migrate = in("migrate --to-catalog " + Quote(url_) + " --to-lake s3://migrated/wh");
  ASSERT_EQ(migrate.code, 0) << migrate.out;
  EXPECT_NE(migrate.out.find("lake: s3://migrated/wh"), std::string::npos) << migrate.out;

  // The project now points at PostgreSQL and S3; nothing local is needed any more.
  std::ofstream(project + "/watershed.yml")
      << "name: moving\nstorage:\n  lake: s3://migrated/wh\n  catalog: ${CATALOG_URL}\n"
      << s3 << pipelines;
  std::filesystem::remove_all(project + "/lake");
  std::filesystem::remove_all(project + "/.watershed");
  EXPECT_EQ(Csv(in, "SELECT count(*) AS n, sum(id) AS s FROM shop.items"), "n,s\n50,1225\n");
  EXPECT_EQ(Csv(in, "SELECT count(*) AS n FROM shop.items", " --snapshot 1"), "n\n30\n");
  Outcome runs = in("runs");
  ASSERT_EQ(runs.code, 0) << runs.out;
  EXPECT_NE(runs.out.find("daily"), std::string::npos) << runs.out;
  // Ids continue after the copied ones: the next load is snapshot 3.
  ASSERT_EQ(
      in("load " + Quote(WriteFile(dir_, "c.ndjson", Rows(50, 5))) + " --table shop.items").code,
      0);
  EXPECT_EQ(Csv(in, "SELECT count(*) AS n FROM shop.items", " --snapshot 3"), "n\n55\n");

  // Into a catalog that is not empty: refused, naming it.
  const std::string again_dir = dir_ + "/again";
  ASSERT_EQ(Watershed("init " + Quote(again_dir)).code, 0);
  ASSERT_EQ(Watershed("load " + Quote(dir_ + "/a.ndjson") + " --table shop.items --project " +
                      Quote(again_dir))
                .code,
            0);
  Outcome refused =
      Watershed("migrate --to-catalog " + Quote(url_) + " --project " + Quote(again_dir));
  EXPECT_NE(refused.code, 0);
  EXPECT_NE(refused.out.find("not empty"), std::string::npos) << refused.out;
}

}  // namespace
}  // namespace watershed
