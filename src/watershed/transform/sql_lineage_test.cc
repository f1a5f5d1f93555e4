// transform/sql_lineage_test.cc — model lineage from DuckDB's parse for the SQL shapes models
// use.
#include "watershed/transform/sql_lineage.h"

#include <gtest/gtest.h>

#include <set>

#include "watershed/base/test_util.h"

namespace watershed::transform {
namespace {

using observe::InputField;
using observe::ModelLineage;
using observe::OutputColumn;

// ---- SQL shapes ------------------------------------------------------------------------------

class ModelSqlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = warehouse::Database::Open("");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    auto conn = db_->Connect();
    ASSERT_TRUE(conn.ok());
    conn_ = std::move(*conn);
    // Lake tables live in the in-memory catalog; marts are attached databases, as in a build.
    ASSERT_TRUE(conn_
                    ->Execute(R"sql(
      CREATE SCHEMA crunchbase;
      CREATE TABLE crunchbase.orgs (_ws_id BIGINT, uuid VARCHAR, name VARCHAR, rank_org BIGINT,
                                    flag BOOLEAN, updated_at TIMESTAMP);
      CREATE TABLE crunchbase.orgs__locations (_ws_parent_id BIGINT, _ws_idx BIGINT,
                                               value VARCHAR, location_type VARCHAR);
      CREATE TABLE crunchbase.rounds (uuid VARCHAR, org_uuid VARCHAR, amount DECIMAL(18,4),
                                      announced_on DATE, kind VARCHAR);
      ATTACH ':memory:' AS finance;
      CREATE TABLE finance.dim (uuid VARCHAR, sk VARCHAR, country VARCHAR);
    )sql")
                    .ok());
  }

  ModelLineage Analyze(const std::string& sql) {
    SchemaLookup lookup =
        [this](const std::vector<std::string>& parts) -> std::optional<std::vector<std::string>> {
      std::string name;
      for (const auto& p : parts) name += (name.empty() ? "" : ".") + warehouse::QuoteIdent(p);
      auto r = conn_->Query("DESCRIBE " + name);
      if (!r.ok()) return std::nullopt;
      std::vector<std::string> cols;
      for (size_t i = 0; i < r->row_count(); ++i) cols.push_back(r->GetString(0, i));
      return cols;
    };
    auto l = AnalyzeModelSql(*conn_, "finance.m", sql, lookup);
    EXPECT_TRUE(l.ok()) << l.status();
    return l.ok() ? *l : ModelLineage{};
  }

  // "dataset.field TYPE/SUBTYPE" for each input of output column `name`.
  static std::set<std::string> In(const ModelLineage& l, const std::string& name) {
    std::set<std::string> out;
    bool found = false;
    for (const OutputColumn& c : l.columns) {
      if (c.name != name) continue;
      found = true;
      for (const InputField& f : c.inputs) {
        out.insert(f.dataset + "." + f.field + " " + f.type + "/" + f.subtype);
      }
    }
    EXPECT_TRUE(found) << "no output column " << name;
    return out;
  }
  static std::set<std::string> DatasetIn(const ModelLineage& l) {
    std::set<std::string> out;
    for (const InputField& f : l.dataset_inputs) {
      out.insert(f.dataset + "." + f.field + " " + f.type + "/" + f.subtype);
    }
    return out;
  }
  static std::vector<std::string> Names(const ModelLineage& l) {
    std::vector<std::string> out;
    for (const OutputColumn& c : l.columns) out.push_back(c.name);
    return out;
  }

  std::unique_ptr<warehouse::Database> db_;
  std::unique_ptr<warehouse::Connection> conn_;
};

using Set = std::set<std::string>;

TEST_F(ModelSqlTest, AliasesAndQualifiedColumns) {
  auto l = Analyze(R"(SELECT o.uuid AS id, o.name FROM "memory"."crunchbase"."orgs" o)");
  ASSERT_TRUE(l.column_level) << l.note;
  EXPECT_EQ(Names(l), (std::vector<std::string>{"id", "name"}));
  EXPECT_EQ(In(l, "id"), Set{"crunchbase.orgs.uuid DIRECT/IDENTITY"});
  EXPECT_EQ(In(l, "name"), Set{"crunchbase.orgs.name DIRECT/IDENTITY"});
  EXPECT_EQ(l.input_datasets.at("crunchbase.orgs"), "lake");
  EXPECT_EQ(l.columns[0].data_type, "VARCHAR");
}

TEST_F(ModelSqlTest, ExpressionsAreTransformations) {
  auto l = Analyze(R"(SELECT CAST(amount AS DOUBLE) * 2 AS doubled,
                             upper(kind) || uuid AS label, 42 AS answer
                      FROM "memory"."crunchbase"."rounds")");
  ASSERT_TRUE(l.column_level) << l.note;
  EXPECT_EQ(In(l, "doubled"), Set{"crunchbase.rounds.amount DIRECT/TRANSFORMATION"});
  EXPECT_EQ(In(l, "label"), (Set{"crunchbase.rounds.kind DIRECT/TRANSFORMATION",
                                 "crunchbase.rounds.uuid DIRECT/TRANSFORMATION"}));
  EXPECT_TRUE(In(l, "answer").empty());
}

TEST_F(ModelSqlTest, AggregatesGroupByAndWhere) {
  auto l = Analyze(R"(SELECT kind, sum(amount) AS total, count(*) AS n
                      FROM "memory"."crunchbase"."rounds" WHERE announced_on > DATE '2020-01-01'
                      GROUP BY kind HAVING count(*) > 1 ORDER BY total DESC)");
  ASSERT_TRUE(l.column_level) << l.note;
  EXPECT_EQ(In(l, "kind"), Set{"crunchbase.rounds.kind DIRECT/IDENTITY"});
  EXPECT_EQ(In(l, "total"), Set{"crunchbase.rounds.amount DIRECT/AGGREGATION"});
  EXPECT_TRUE(In(l, "n").empty());  // count(*) counts rows: it reads no column's value
  const Set ds = DatasetIn(l);
  EXPECT_TRUE(ds.contains("crunchbase.rounds.announced_on INDIRECT/FILTER"));
  EXPECT_TRUE(ds.contains("crunchbase.rounds.kind INDIRECT/GROUP_BY"));
  EXPECT_TRUE(ds.contains("crunchbase.rounds.amount INDIRECT/SORT"));  // ORDER BY an alias
}

TEST_F(ModelSqlTest, JoinsRecordJoinKeysAsIndirect) {
  auto l = Analyze(R"(SELECT r.uuid, d.country, coalesce(d.sk, '-1') AS sk
                      FROM "memory"."crunchbase"."rounds" r
                      LEFT JOIN "finance"."dim" d ON d.uuid = r.org_uuid)");
  ASSERT_TRUE(l.column_level) << l.note;
  EXPECT_EQ(In(l, "country"), Set{"finance.dim.country DIRECT/IDENTITY"});
  EXPECT_EQ(In(l, "sk"), Set{"finance.dim.sk DIRECT/TRANSFORMATION"});
  EXPECT_EQ(DatasetIn(l),
            (Set{"finance.dim.uuid INDIRECT/JOIN", "crunchbase.rounds.org_uuid INDIRECT/JOIN"}));
  EXPECT_EQ(l.input_datasets.at("finance.dim"), "model");
}

TEST_F(ModelSqlTest, CtesAndSubqueriesResolveThroughAliases) {
  auto l = Analyze(R"(WITH big AS (SELECT uuid AS id, amount * 100 AS cents
                                   FROM "memory"."crunchbase"."rounds" WHERE amount > 10)
                      SELECT s.x, b.cents
                      FROM (SELECT id FROM big) s(x) JOIN big b ON b.id = s.x)");
  ASSERT_TRUE(l.column_level) << l.note;
  EXPECT_EQ(In(l, "x"), Set{"crunchbase.rounds.uuid DIRECT/IDENTITY"});
  EXPECT_EQ(In(l, "cents"), Set{"crunchbase.rounds.amount DIRECT/TRANSFORMATION"});
  const Set ds = DatasetIn(l);
  EXPECT_TRUE(ds.contains("crunchbase.rounds.amount INDIRECT/FILTER"));
  EXPECT_TRUE(ds.contains("crunchbase.rounds.uuid INDIRECT/JOIN"));
}

TEST_F(ModelSqlTest, CorrelatedScalarSubquery) {
  // The shape of examples/crunchbase/models/finance/stg_organizations.sql.
  auto l = Analyze(R"(SELECT o.uuid,
       (SELECT min(l.value) FROM "memory"."crunchbase"."orgs__locations" l
         WHERE l._ws_parent_id = o._ws_id AND l.location_type = 'country') AS country
       FROM "memory"."crunchbase"."orgs" o)");
  ASSERT_TRUE(l.column_level) << l.note;
  EXPECT_EQ(In(l, "country"), (Set{"crunchbase.orgs__locations.value DIRECT/AGGREGATION",
                                   "crunchbase.orgs__locations._ws_parent_id INDIRECT/FILTER",
                                   "crunchbase.orgs__locations.location_type INDIRECT/FILTER",
                                   "crunchbase.orgs._ws_id INDIRECT/FILTER"}));
}

TEST_F(ModelSqlTest, StarExpandsToTheInputsColumns) {
  auto l = Analyze(R"(SELECT * EXCLUDE (flag) FROM "memory"."crunchbase"."orgs")");
  ASSERT_TRUE(l.column_level) << l.note;
  EXPECT_EQ(Names(l),
            (std::vector<std::string>{"_ws_id", "uuid", "name", "rank_org", "updated_at"}));
  EXPECT_EQ(In(l, "rank_org"), Set{"crunchbase.orgs.rank_org DIRECT/IDENTITY"});

  auto q = Analyze(R"(SELECT d.*, r.amount FROM "finance"."dim" d
                      JOIN "memory"."crunchbase"."rounds" r ON r.org_uuid = d.uuid)");
  ASSERT_TRUE(q.column_level) << q.note;
  EXPECT_EQ(Names(q), (std::vector<std::string>{"uuid", "sk", "country", "amount"}));
  EXPECT_EQ(In(q, "sk"), Set{"finance.dim.sk DIRECT/IDENTITY"});
}

TEST_F(ModelSqlTest, CaseConditionsAreConditional) {
  auto l = Analyze(R"(SELECT CASE WHEN flag THEN name ELSE uuid END AS label
                      FROM "memory"."crunchbase"."orgs")");
  ASSERT_TRUE(l.column_level) << l.note;
  EXPECT_EQ(In(l, "label"), (Set{"crunchbase.orgs.name DIRECT/TRANSFORMATION",
                                 "crunchbase.orgs.uuid DIRECT/TRANSFORMATION",
                                 "crunchbase.orgs.flag INDIRECT/CONDITIONAL"}));
}

TEST_F(ModelSqlTest, WindowFunctions) {
  auto l = Analyze(R"(SELECT row_number() OVER (PARTITION BY org_uuid ORDER BY announced_on) AS rn,
                             sum(amount) OVER (PARTITION BY org_uuid) AS org_total
                      FROM "memory"."crunchbase"."rounds")");
  ASSERT_TRUE(l.column_level) << l.note;
  EXPECT_EQ(In(l, "rn"), (Set{"crunchbase.rounds.org_uuid INDIRECT/WINDOW",
                              "crunchbase.rounds.announced_on INDIRECT/WINDOW"}));
  EXPECT_EQ(In(l, "org_total"), (Set{"crunchbase.rounds.amount DIRECT/AGGREGATION",
                                     "crunchbase.rounds.org_uuid INDIRECT/WINDOW"}));
}

TEST_F(ModelSqlTest, UnionMergesBothSidesByPosition) {
  auto l = Analyze(R"(SELECT uuid AS id, name FROM "memory"."crunchbase"."orgs"
                      UNION ALL SELECT '-1', NULL
                      UNION ALL SELECT uuid, kind FROM "memory"."crunchbase"."rounds")");
  ASSERT_TRUE(l.column_level) << l.note;
  EXPECT_EQ(In(l, "id"), (Set{"crunchbase.orgs.uuid DIRECT/IDENTITY",
                              "crunchbase.rounds.uuid DIRECT/IDENTITY"}));
  EXPECT_EQ(In(l, "name"), (Set{"crunchbase.orgs.name DIRECT/IDENTITY",
                                "crunchbase.rounds.kind DIRECT/IDENTITY"}));
}

TEST_F(ModelSqlTest, RecursiveCteAndUnaliasedNamesFromDuckDb) {
  auto l = Analyze(R"(WITH RECURSIVE days(d) AS (SELECT min(announced_on) FROM
                        "memory"."crunchbase"."rounds" UNION ALL SELECT d + 1 FROM days
                        WHERE d < DATE '2030-01-01')
                      SELECT d, count(*) FROM days GROUP BY d)");
  ASSERT_TRUE(l.column_level) << l.note;
  EXPECT_EQ(Names(l), (std::vector<std::string>{"d", "count_star()"}));
  EXPECT_EQ(In(l, "d"), Set{"crunchbase.rounds.announced_on DIRECT/AGGREGATION"});
}

TEST_F(ModelSqlTest, UnparseableSqlGivesTableLevelWithTheParserMessage) {
  auto l = Analyze("SELECT FROM WHERE");
  EXPECT_FALSE(l.column_level);
  EXPECT_NE(l.note.find("syntax error"), std::string::npos) << l.note;
  EXPECT_TRUE(l.columns.empty());
}

TEST_F(ModelSqlTest, UnknownInputTableIsNamed) {
  auto l = Analyze(R"(SELECT * FROM "memory"."crunchbase"."nope")");
  EXPECT_FALSE(l.column_level);
  EXPECT_NE(l.note.find("crunchbase.nope"), std::string::npos) << l.note;
  EXPECT_EQ(l.input_datasets.count("crunchbase.nope"), 1u);
}

}  // namespace
}  // namespace watershed::transform
