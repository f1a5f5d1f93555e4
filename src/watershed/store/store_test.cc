// store/store_test.cc — Dialect::Render for both backends, and SchemaVersion/Migrate on SQLite
// (the PostgreSQL side runs against a real server in tests/catalog_postgres_test.cc).
#include "watershed/store/store.h"

#include "gtest/gtest.h"
#include "watershed/base/test_util.h"

namespace watershed::store {
namespace {

TEST(Dialect, SqliteKeepsItsOwnSpelling) {
  const Dialect d{Backend::kSqlite};
  EXPECT_EQ(d.Render("INSERT {IGNORE} INTO t(a) VALUES(?) ORDER BY {ROWID}"),
            "INSERT OR IGNORE INTO t(a) VALUES(?) ORDER BY rowid");
  EXPECT_EQ(d.Render("CREATE TABLE t(id {ID}, b {BLOB}, n INTEGER)"),
            "CREATE TABLE t(id INTEGER PRIMARY KEY AUTOINCREMENT, b BLOB, n INTEGER)");
}

TEST(Dialect, PostgresGetsNumberedPlaceholdersAndWideTypes) {
  const Dialect d{Backend::kPostgres};
  EXPECT_EQ(d.Render("SELECT a FROM t WHERE a = ? AND b = ? AND c = '?'"),
            "SELECT a FROM t WHERE a = $1 AND b = $2 AND c = '?'");
  EXPECT_EQ(d.Render("DELETE FROM t WHERE x <= ?1 OR y < ?1 OR z = ?"),
            "DELETE FROM t WHERE x <= $1 OR y < $1 OR z = $2");
  EXPECT_EQ(d.Render("CREATE TABLE t(id INTEGER PRIMARY KEY, n INTEGER, x REAL, b BLOB, "
                     "note TEXT DEFAULT 'INTEGER')"),
            "CREATE TABLE t(id BIGSERIAL PRIMARY KEY, n BIGINT, x DOUBLE PRECISION, b BYTEA, "
            "note TEXT DEFAULT 'INTEGER')");
  EXPECT_EQ(d.Render("INSERT {IGNORE} INTO meta(key, value) VALUES('v', ?);"),
            "INSERT INTO meta(key, value) VALUES('v', $1) ON CONFLICT DO NOTHING");
  EXPECT_EQ(d.Render("SELECT n_integer FROM t ORDER BY {ROWID}"),
            "SELECT n_integer FROM t ORDER BY ctid");
}

TEST(Migrate, SqliteVersionsAreRecordedOnce) {
  const std::string path = testing_util::MakeTempDir() + "/catalog.db";
  auto db = Connection::Open(path);
  ASSERT_TRUE(db.ok()) << db.status();
  auto none = SchemaVersion(**db, "demo");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(*none, 0);
  const Schema schema{
      "demo", {"CREATE TABLE demo(k TEXT PRIMARY KEY);", "ALTER TABLE demo ADD COLUMN v INTEGER;"}};
  ASSERT_TRUE(Migrate(**db, schema).ok());
  ASSERT_TRUE(Migrate(**db, schema).ok());
  auto version = SchemaVersion(**db, "demo");
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 2);
  EXPECT_EQ(Migrate(**db, Schema{"demo", {schema.migrations[0]}}).code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace watershed::store
