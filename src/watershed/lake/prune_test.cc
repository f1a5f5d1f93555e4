// lake/prune_test.cc — partition bounds read from DuckDB's own parse trees, and which partitions
// they keep; shapes the pruning does not understand keep every file.
#include "watershed/lake/prune.h"

#include "gtest/gtest.h"
#include "watershed/warehouse/duckdb/database.h"

namespace watershed::lake {
namespace {

class PruneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = warehouse::Database::Open("");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    auto conn = db_->Connect();
    ASSERT_TRUE(conn.ok()) << conn.status();
    conn_ = std::move(*conn);
  }
  std::vector<PartitionBound> Bounds(const std::string& sql, const std::string& column = "day") {
    auto r = conn_->Query("SELECT json_serialize_sql(" + warehouse::QuoteLiteral(sql) + ")");
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? PartitionBounds(r->GetString(0, 0), "shop.orders", column)
                  : std::vector<PartitionBound>{};
  }
  std::unique_ptr<warehouse::Database> db_;
  std::unique_ptr<warehouse::Connection> conn_;
};

std::string Text(const std::vector<PartitionBound>& bounds) {
  std::string out;
  for (const auto& b : bounds) out += b.op + b.value + " ";
  return out;
}

TEST_F(PruneTest, ComparisonsWithConstantsOnThePartitionColumnAreBounds) {
  EXPECT_EQ(Text(Bounds("SELECT * FROM shop.orders WHERE day = '2026-12-02'")), "=2026-12-02 ");
  EXPECT_EQ(Text(Bounds("SELECT count(*) FROM shop.orders o WHERE o.day >= DATE '2026-12-01' "
                        "AND amount > 5 AND '2026-12-03' > day")),
            ">=2026-12-01 <2026-12-03 ");
  EXPECT_EQ(
      Text(Bounds("SELECT * FROM Shop.Orders WHERE DAY BETWEEN '2026-12-01' AND '2026-12-02'")),
      ">=2026-12-01 <=2026-12-02 ");
  EXPECT_EQ(Text(Bounds("SELECT * FROM shop.orders WHERE n < 10", "n")), "<10 ");
  // Whether the constant was a number is kept (text columns are not pruned by numbers).
  EXPECT_TRUE(Bounds("SELECT * FROM shop.orders WHERE n < 10", "n").at(0).number);
  EXPECT_FALSE(Bounds("SELECT * FROM shop.orders WHERE n < '10'", "n").at(0).number);
}

TEST_F(PruneTest, ShapesItCannotProveKeepEveryFile) {
  EXPECT_TRUE(Bounds("SELECT * FROM shop.orders WHERE day = '2026-12-02' OR amount > 1").empty());
  EXPECT_TRUE(Bounds("SELECT * FROM shop.orders o JOIN shop.items i ON o.id = i.id "
                     "WHERE day = '2026-12-02'")
                  .empty());
  EXPECT_TRUE(Bounds("WITH x AS (SELECT * FROM shop.orders) SELECT * FROM x "
                     "WHERE day = '2026-12-02'")
                  .empty());
  EXPECT_TRUE(Bounds("SELECT * FROM shop.items WHERE day = '2026-12-02'").empty());
  EXPECT_TRUE(Bounds("SELECT * FROM shop.orders WHERE other.day = '2026-12-02'").empty());
  EXPECT_TRUE(Bounds("SELECT * FROM shop.orders WHERE day = day").empty());
  EXPECT_TRUE(Bounds("SELECT * FROM shop.orders WHERE NOT (day = '2026-12-02')").empty());
  EXPECT_TRUE(Bounds("SELECT * FROM shop.orders UNION ALL SELECT * FROM shop.orders").empty());
  EXPECT_TRUE(PartitionBounds("not json", "shop.orders", "day").empty());
  // The table read again in a subquery must see every file.
  EXPECT_TRUE(Bounds("SELECT *, (SELECT count(*) FROM shop.orders) FROM shop.orders "
                     "WHERE day = '2026-12-02'")
                  .empty());
  EXPECT_TRUE(Bounds("SELECT * FROM shop.orders WHERE day = '2026-12-02' AND id IN "
                     "(SELECT id FROM shop.orders)")
                  .empty());
}

TEST(PartitionMayMatch, DatesAndNumbersCompareByValue) {
  const std::vector<PartitionBound> december = {{">=", "2026-12-01"}, {"<", "2026-12-03"}};
  EXPECT_TRUE(PartitionMayMatch("day=2026-12-01", ColumnType::kDate, december));
  EXPECT_TRUE(PartitionMayMatch("day=2026-12-02", ColumnType::kDate, december));
  EXPECT_FALSE(PartitionMayMatch("day=2026-12-03", ColumnType::kDate, december));
  EXPECT_FALSE(PartitionMayMatch("day=2026-11-30", ColumnType::kDate, december));
  // 9 < 10 as numbers, though not as text.
  EXPECT_TRUE(PartitionMayMatch("n=9", ColumnType::kBigint, {{"<", "10"}}));
  EXPECT_FALSE(PartitionMayMatch("n=10", ColumnType::kBigint, {{"<", "10"}}));
  // What does not compare keeps the file.
  EXPECT_TRUE(PartitionMayMatch("day=__HIVE_DEFAULT_PARTITION__", ColumnType::kDate, december));
  EXPECT_TRUE(PartitionMayMatch("day=2026-12-09", ColumnType::kDate, {{"=", "20261209"}}));
  EXPECT_TRUE(PartitionMayMatch("t=2026-12-09 10:00:00", ColumnType::kTimestamp, {{"<", "2000"}}));
  EXPECT_TRUE(PartitionMayMatch("s=a%2Fb", ColumnType::kVarchar, {{"=", "x"}}));
  EXPECT_FALSE(PartitionMayMatch("s=b", ColumnType::kVarchar, {{"=", "a"}}));
}

TEST(StatsMayMatch, AFileMatchesOnlyWhereItsMinAndMaxReach) {
  const ColumnStats ids{"id", "100", "199", 0};
  EXPECT_TRUE(StatsMayMatch(ids, ColumnType::kBigint, {{"=", "150"}}));
  EXPECT_TRUE(StatsMayMatch(ids, ColumnType::kBigint, {{"=", "100"}}));
  EXPECT_TRUE(StatsMayMatch(ids, ColumnType::kBigint, {{"=", "199"}}));
  EXPECT_FALSE(StatsMayMatch(ids, ColumnType::kBigint, {{"=", "99"}}));
  EXPECT_FALSE(StatsMayMatch(ids, ColumnType::kBigint, {{"=", "200"}}));
  EXPECT_FALSE(StatsMayMatch(ids, ColumnType::kBigint, {{"<", "100"}}));
  EXPECT_TRUE(StatsMayMatch(ids, ColumnType::kBigint, {{"<=", "100"}}));
  EXPECT_FALSE(StatsMayMatch(ids, ColumnType::kBigint, {{">", "199"}}));
  EXPECT_TRUE(StatsMayMatch(ids, ColumnType::kBigint, {{">=", "199"}}));
  // BETWEEN is two bounds: a range beside the file's misses it.
  EXPECT_FALSE(StatsMayMatch(ids, ColumnType::kBigint, {{">=", "200"}, {"<=", "300"}}));
  EXPECT_TRUE(StatsMayMatch(ids, ColumnType::kBigint, {{">=", "150"}, {"<=", "300"}}));
  // Numbers compare as numbers: 99 < 100 although "99" > "100" as text.
  EXPECT_FALSE(StatsMayMatch(ids, ColumnType::kBigint, {{"<", "99"}}));
  // Dates and text.
  const ColumnStats days{"day", "2026-11-01", "2026-11-30", 0};
  EXPECT_FALSE(StatsMayMatch(days, ColumnType::kDate, {{">=", "2026-12-01"}}));
  EXPECT_TRUE(StatsMayMatch(days, ColumnType::kDate, {{">=", "2026-11-30"}}));
  const ColumnStats names{"name", "apple", "melon", 0};
  EXPECT_FALSE(StatsMayMatch(names, ColumnType::kVarchar, {{"=", "zebra"}}));
  // A number against text compares as numbers in DuckDB ('0150' = 150): never pruned.
  EXPECT_TRUE(
      StatsMayMatch({"code", "0150", "0199", 0}, ColumnType::kVarchar, {{"=", "150", true}}));
  EXPECT_TRUE(PartitionMayMatch("code=0150", ColumnType::kVarchar, {{"=", "150", true}}));
  EXPECT_TRUE(StatsMayMatch(names, ColumnType::kVarchar, {{"=", "kiwi"}}));
  // A max of 64 bytes may have been cut: it bounds nothing from above; the min still does.
  const ColumnStats cut{"name", "b", std::string(64, 'c'), 0};
  EXPECT_TRUE(StatsMayMatch(cut, ColumnType::kVarchar, {{"=", std::string(64, 'c') + "z"}}));
  EXPECT_FALSE(StatsMayMatch(cut, ColumnType::kVarchar, {{"=", "a"}}));
  // No stats, or types that do not compare: the file is kept.
  EXPECT_TRUE(
      StatsMayMatch({"id", std::nullopt, std::nullopt, 5}, ColumnType::kBigint, {{"=", "1"}}));
  EXPECT_TRUE(StatsMayMatch({"x", "1.5", "2.5", 0}, ColumnType::kDouble, {{"=", "9"}}));
  EXPECT_TRUE(StatsMayMatch(ids, ColumnType::kBigint, {{"=", "not a number"}}));
}

}  // namespace
}  // namespace watershed::lake
