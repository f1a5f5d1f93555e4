// load/loader_test.cc — whole loads into a real project folder: evolution, time travel,
// quarantine of every bad-input kind, --max-bad, idempotent reruns.
#include "watershed/load/loader.h"

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "watershed/base/test_util.h"
#include "watershed/lake/reader.h"

namespace watershed::load {
namespace {

using testing_util::MakeTempDir;
using testing_util::WriteFile;

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    ASSERT_TRUE(project::Project::Init(dir_ + "/p", "test").ok());
    auto p = project::Project::Open(dir_ + "/p");
    ASSERT_TRUE(p.ok()) << p.status();
    project_ = std::move(*p);
  }

  StatusOr<LoadSummary> Load(const std::string& name, const std::string& content,
                             int64_t max_bad = 0, const std::string& table = "cb.orgs") {
    LoadOptions o;
    o.input = WriteFile(dir_, name, content);
    o.table = table;
    o.max_bad = max_bad;
    o.threads = 1;
    return LoadFile(*project_, o);
  }

  // The first cell of `sql` over the lake, at `snapshot` (0 = latest).
  std::string Query(const std::string& sql, int64_t snapshot = 0) {
    auto db = warehouse::Database::Open("");
    auto conn = (*db)->Connect();
    auto catalog = project_->catalog();
    EXPECT_TRUE(lake::AttachLakeViews(**conn, **catalog, project_->storage(), snapshot, "").ok());
    auto r = (*conn)->Query(sql);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() && r->row_count() > 0 ? r->GetString(0, 0) : "<none>";
  }

  std::string dir_;
  std::unique_ptr<project::Project> project_;
};

TEST_F(LoaderTest, ThreeLoadsEvolveTheSchemaAndTimeTravelSeesEachVersion) {
  auto l1 = Load("1.ndjson", R"({"id":1,"name":"a"})" "\n" R"({"id":2,"name":"b"})" "\n");
  ASSERT_TRUE(l1.ok()) << l1.status();
  auto l2 = Load("2.ndjson", R"({"id":3,"name":"c","tags":["x","y"]})" "\n");
  ASSERT_TRUE(l2.ok()) << l2.status();
  auto l3 = Load("3.ndjson", R"({"id":4.5,"name":"d","founded":"2020-01-01"})" "\n");
  ASSERT_TRUE(l3.ok()) << l3.status();
  EXPECT_EQ(l1->snapshot_id, 1);
  EXPECT_EQ(l3->snapshot_id, 3);
  EXPECT_EQ(Query("SELECT count(*) FROM cb.orgs"), "4");
  EXPECT_EQ(Query("SELECT count(*) FROM cb.orgs", 1), "2");
  EXPECT_EQ(Query("SELECT sum(id) FROM cb.orgs"), "10.5");  // bigint widened to double
  EXPECT_EQ(Query("SELECT typeof(id) FROM cb.orgs", 2), "BIGINT");
  EXPECT_EQ(Query("SELECT count(founded) FROM cb.orgs"), "1");
  EXPECT_EQ(Query("SELECT string_agg(t.value, ',' ORDER BY t._ws_idx) FROM cb.orgs o JOIN "
                  "cb.orgs__tags t ON t._ws_parent_id = o._ws_id WHERE o.name = 'c'"),
            "x,y");
  auto catalog = *project_->catalog();
  auto history = *catalog->SchemaHistory("cb.orgs");
  ASSERT_EQ(history.size(), 2u);  // load 2 added only a child table
  EXPECT_EQ(history[1].snapshot_id, 3);
  EXPECT_EQ(history[1].columns.back().name, "founded");
}

TEST_F(LoaderTest, BadRecordsFailTheLoadByDefaultAndCommitNothing) {
  auto r = Load("bad.ndjson", "{\"id\":1}\n{\"id\":2,,}\n{\"id\":3}\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(MessageOf(r.status()).find("line 2 (byte 9)"), std::string_view::npos) << r.status();
  EXPECT_NE(MessageOf(r.status()).find("nothing was committed"), std::string_view::npos);
  EXPECT_EQ(*(*project_->catalog())->LatestSnapshot(), 0);
  // The failed attempt left no files behind.
  EXPECT_FALSE(std::filesystem::exists(project_->config().lake_path + "/structured/cb"));
}

TEST_F(LoaderTest, EveryBadInputKindIsQuarantinedWithItsPosition) {
  std::string big(50 << 20, 'x');  // a 50 MB field is not bad: it lands
  std::string content = "{\"id\":1,\"blob\":\"" + big + "\"}\n" +  // line 1
                        "{\"id\":2,\"broken\":tru}\n" +             // line 2: malformed JSON
                        "{\"id\":3,\"name\":\"\xc3\x28\"}\n" +      // line 3: invalid UTF-8
                        "{\"id\":4}\n" +                            // line 4
                        "{\"id\":5,\"unterminated";                 // line 5: truncated
  auto r = Load("mixed.ndjson", content, 10);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->records, 2u);
  EXPECT_EQ(r->quarantined, 3u);
  EXPECT_EQ(Query("SELECT length(blob) FROM cb.orgs WHERE id = 1"), std::to_string(50 << 20));
  EXPECT_EQ(Query("SELECT string_agg(line::VARCHAR, ',' ORDER BY line) FROM watershed.quarantine"),
            "2,3,5");
  const std::string line2_offset = std::to_string(big.size() + 19);  // {"id":1,"blob":" + blob + "}\n
  EXPECT_EQ(Query("SELECT byte_offset FROM watershed.quarantine WHERE line = 2"), line2_offset);
  EXPECT_EQ(Query("SELECT record FROM watershed.quarantine WHERE line = 2"),
            "{\"id\":2,\"broken\":tru}");
  EXPECT_NE(Query("SELECT error FROM watershed.quarantine WHERE line = 3").find("UTF-8"),
            std::string::npos);
  EXPECT_EQ(Query("SELECT input FROM watershed.quarantine LIMIT 1"), dir_ + "/mixed.ndjson");
}

TEST_F(LoaderTest, RaggedCsvRowsAreQuarantined) {
  auto r = Load("x.csv", "id,name,amount\n1,a,2.5\n2,b\n3,\"c, d\",4\n4,e,5,6\n", 5);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->records, 2u);
  EXPECT_EQ(r->quarantined, 2u);
  EXPECT_EQ(Query("SELECT name FROM cb.orgs WHERE id = 3"), "c, d");
  EXPECT_EQ(Query("SELECT string_agg(line::VARCHAR, ',' ORDER BY line) FROM watershed.quarantine"),
            "3,5");
  EXPECT_NE(Query("SELECT error FROM watershed.quarantine WHERE line = 3").find("ragged"),
            std::string::npos);
}

TEST_F(LoaderTest, EmptyFileCommitsNothing) {
  auto r = Load("empty.ndjson", "");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->snapshot_id, 0);
  EXPECT_EQ(r->records, 0u);
  EXPECT_EQ(*(*project_->catalog())->LatestSnapshot(), 0);
}

TEST_F(LoaderTest, ASecondLoadOfTheSameFileIsSkippedUnlessForced) {
  ASSERT_TRUE(Load("a.json", R"([{"id":1},{"id":2}])").ok());
  LoadOptions o;
  o.input = dir_ + "/a.json";
  o.table = "cb.orgs";
  auto again = LoadFile(*project_, o);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->skipped);
  EXPECT_NE(again->skip_reason.find("--force"), std::string::npos);
  EXPECT_EQ(Query("SELECT count(*) FROM cb.orgs"), "2");
  o.force = true;
  ASSERT_TRUE(LoadFile(*project_, o).ok());
  EXPECT_EQ(Query("SELECT count(*) FROM cb.orgs"), "4");
}

TEST_F(LoaderTest, DiscardRowContractQuarantinesRowsWithNewColumnsWithoutFailing) {
  ASSERT_TRUE(Load("1.ndjson", "{\"id\":1}\n").ok());
  LoadOptions o;
  o.input = WriteFile(dir_, "2.ndjson", "{\"id\":2}\n{\"id\":3,\"extra\":true}\n");
  o.table = "cb.orgs";
  o.contract = normalize::Contract::kDiscardRow;
  auto r = LoadFile(*project_, o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->discarded, 1u);
  EXPECT_EQ(Query("SELECT count(*) FROM cb.orgs"), "2");
  EXPECT_EQ(Query("SELECT line FROM watershed.quarantine"), "2");
  o.input = WriteFile(dir_, "3.ndjson", "{\"id\":4,\"extra\":true}\n");
  o.contract = normalize::Contract::kFreeze;
  auto frozen = LoadFile(*project_, o);
  ASSERT_FALSE(frozen.ok());
  EXPECT_NE(MessageOf(frozen.status()).find("new column extra"), std::string_view::npos);
}

TEST_F(LoaderTest, SmallBatchesMakeManyFilesAndTheSameRows) {
  std::string content;
  for (int i = 0; i < 5000; ++i) {
    content += "{\"id\":" + std::to_string(i) + ",\"items\":[{\"k\":" + std::to_string(i) + "}]}\n";
  }
  LoadOptions o;
  o.input = WriteFile(dir_, "many.ndjson", content);
  o.table = "cb.orgs";
  o.batch_bytes = 10000;  // flush every ~1024 records
  auto r = LoadFile(*project_, o);
  ASSERT_TRUE(r.ok()) << r.status();
  auto state = *(*project_->catalog())->GetTableState("cb.orgs");
  EXPECT_GE(state.files.size(), 4u);
  EXPECT_EQ(Query("SELECT count(DISTINCT _ws_id), sum(id) FROM cb.orgs"), "5000");
  EXPECT_EQ(Query("SELECT sum(o.id - i.k) FROM cb.orgs o JOIN cb.orgs__items i "
                  "ON i._ws_parent_id = o._ws_id"),
            "0");
}

TEST_F(LoaderTest, RecordsOverTheLimitsOfWatershedYmlAreQuarantinedAndFlagsOverrideThem) {
  {
    std::ofstream yml(dir_ + "/p/watershed.yml", std::ios::app);
    yml << "limits:\n  max_record_mb: 0.001\n";  // 1048 bytes
  }
  auto p = project::Project::Open(dir_ + "/p");
  ASSERT_TRUE(p.ok()) << p.status();
  project_ = std::move(*p);
  const std::string content = "{\"id\":1}\n{\"id\":2,\"s\":\"" + std::string(5000, 'z') +
                              "\"}\n{\"id\":3}\n";
  auto strict = Load("big.ndjson", content);
  ASSERT_FALSE(strict.ok());
  EXPECT_NE(MessageOf(strict.status()).find("line 2 (byte 9): record of 5015 bytes is over "
                                            "limits.max_record_mb (--max-record-mb)"),
            std::string_view::npos)
      << strict.status();
  auto r = Load("big.ndjson", content, 1);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->records, 2u);
  EXPECT_EQ(r->quarantined, 1u);
  EXPECT_EQ(Query("SELECT line || ':' || byte_offset FROM watershed.quarantine"), "2:9");

  LoadOptions o;  // the flag wins over watershed.yml
  o.input = WriteFile(dir_, "big2.ndjson", content);
  o.table = "cb.orgs";
  o.threads = 1;
  o.limits.max_record_mb = 1;
  auto flagged = LoadFile(*project_, o);
  ASSERT_TRUE(flagged.ok()) << flagged.status();
  EXPECT_EQ(flagged->records, 3u);

  o.input = WriteFile(dir_, "neg.ndjson", content);
  o.limits.max_record_mb = -1;
  EXPECT_EQ(LoadFile(*project_, o).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace watershed::load
