// lake/iceberg_export_test.cc — the Iceberg export read back independently: tests/tools/
// iceberg_plan.py plans each snapshot's scan from metadata.json and the Avro manifests
// (python3-avro), DuckDB reads the planned Parquet files and applies the planned position
// deletes, and the rows must be those `watershed query` reads at that snapshot.
#include "watershed/lake/iceberg_export.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "watershed/base/strings.h"
#include "watershed/base/test_util.h"
#include "watershed/lake/gc.h"
#include "watershed/lake/maintenance.h"
#include "watershed/lake/reader.h"
#include "watershed/lake/writer.h"

namespace watershed::lake {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing_util::MakeTempDir;
using warehouse::QuoteLiteral;

// Rows of (id, name, _ws_id, _ws_load_id, _ws_deleted); `deleted` ids are tombstones.
TableBatch Rows(const std::string& table, int64_t load, const std::vector<int64_t>& ids,
                const std::string& name, const std::vector<int64_t>& deleted = {}) {
  TableBatch b;
  b.table = table;
  b.arena = std::make_shared<StringArena>();
  b.columns = {{"id", ColumnType::kBigint},
               {"name", ColumnType::kVarchar},
               {"_ws_id", ColumnType::kVarchar},
               {"_ws_load_id", ColumnType::kBigint},
               {"_ws_deleted", ColumnType::kBoolean}};
  b.data.resize(5);
  auto add = [&](int64_t id, bool tombstone) {
    b.data[0].slots.push_back(static_cast<uint64_t>(id));
    b.data[0].valid.push_back(1);
    b.data[1].strings.push_back(b.arena->Copy(StrCat(name, "-", id)));
    b.data[1].valid.push_back(1);
    b.data[2].strings.push_back(b.arena->Copy(StrCat("r", load, "-", id)));
    b.data[2].valid.push_back(1);
    b.data[3].slots.push_back(static_cast<uint64_t>(load));
    b.data[3].valid.push_back(1);
    b.data[4].slots.push_back(tombstone ? 1 : 0);
    b.data[4].valid.push_back(1);
    ++b.num_rows;
  };
  for (int64_t id : ids) add(id, false);
  for (int64_t id : deleted) add(id, true);
  return b;
}

class IcebergExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    storage_ = std::make_unique<LocalStorage>(dir_ + "/lake");
    catalog_ = std::move(*Catalog::Open(dir_ + "/catalog.db"));
    catalog_->SetObserver(std::make_unique<IcebergExporter>(storage_.get()));
    writer_ = std::move(*LakeWriter::Create(storage_.get(), catalog_.get(), 1));
    db_ = std::move(*warehouse::Database::Open(""));
    conn_ = std::move(*db_->Connect());
  }

  int64_t Commit(const TableBatch& b, const std::string& partition_by, int64_t load,
                 const std::string& key = "", const std::string& date = "2026-12-01") {
    auto files = writer_->Write(b, partition_by, date, StrCat("load-", load, "-00000"));
    EXPECT_TRUE(files.ok()) << files.status();
    CommitRequest req;
    req.operation = "load";
    req.load_id = load;
    req.summary = "{}";
    req.tables.push_back(
        {b.table, "", b.columns, partition_by, key, key.empty() ? "" : "latest_row"});
    req.added = *files;
    auto snap = catalog_->Commit(req);
    EXPECT_TRUE(snap.ok()) << snap.status();
    return snap.value_or(0);
  }

  std::string MetadataDir(const std::string& table) {
    auto names = *SplitTableName(table);
    return dir_ + "/lake/" + TableFolder(names.first, names.second) + "/metadata";
  }

  // The newest metadata.json, as version-hint.text names it.
  std::string CurrentMetadata(const std::string& table) {
    const std::string dir = MetadataDir(table);
    std::string hint = testing_util::ReadFileBytes(dir + "/version-hint.text");
    EXPECT_FALSE(hint.empty()) << "no version-hint.text in " << dir;
    return dir + "/" + hint + ".metadata.json";
  }

  json Plan(const std::string& metadata, int64_t snapshot) {
    const std::string out = dir_ + "/plan.json";
    const std::string cmd =
        StrCat("/usr/bin/python3 ", WS_SOURCE_DIR, "/tests/tools/iceberg_plan.py ", metadata, " ",
               snapshot, " > ", out);
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return json::parse(testing_util::ReadFileBytes(out), nullptr, false);
  }

  // What an Iceberg reader returns for the plan: the data files' rows minus the positions the
  // delete files list, in the schema's columns (sorted text rows).
  std::vector<std::string> IcebergRows(const json& plan) {
    std::string columns, data, deletes;
    for (const json& f : plan["schema"]["fields"]) {
      columns += StrCat(columns.empty() ? "" : " || '|' || ", "COALESCE(CAST(",
                        warehouse::QuoteIdent(f["name"].get<std::string>()), " AS VARCHAR), '∅')");
    }
    for (const json& f : plan["data_files"]) {
      data +=
          StrCat(data.empty() ? "" : ", ", QuoteLiteral(f["path"].get<std::string>().substr(7)));
    }
    for (const json& f : plan["delete_files"]) {
      deletes +=
          StrCat(deletes.empty() ? "" : ", ", QuoteLiteral(f["path"].get<std::string>().substr(7)));
    }
    if (data.empty()) return {};
    std::string sql = StrCat("SELECT ", columns, " AS r FROM read_parquet([", data,
                             "], filename = true, file_row_number = true, union_by_name = true, "
                             "hive_partitioning = false) d");
    if (!deletes.empty()) {
      sql +=
          StrCat(" WHERE NOT EXISTS (SELECT 1 FROM read_parquet([", deletes,
                 "]) x WHERE x.file_path = 'file://' || d.filename AND x.pos = d.file_row_number)");
    }
    return Strings(sql + " ORDER BY r");
  }

  std::vector<std::string> LakeRows(const std::string& table, const json& plan, int64_t snapshot) {
    EXPECT_TRUE(AttachLakeViews(*conn_, *catalog_, *storage_, snapshot, "").ok());
    std::string columns;
    for (const json& f : plan["schema"]["fields"]) {
      columns += StrCat(columns.empty() ? "" : " || '|' || ", "COALESCE(CAST(",
                        warehouse::QuoteIdent(f["name"].get<std::string>()), " AS VARCHAR), '∅')");
    }
    return Strings(StrCat("SELECT ", columns, " AS r FROM ", table, " ORDER BY r"));
  }

  std::vector<std::string> Strings(const std::string& sql) {
    auto r = conn_->Query(sql);
    EXPECT_TRUE(r.ok()) << r.status() << "\n" << sql;
    std::vector<std::string> out;
    if (!r.ok()) return out;
    for (size_t i = 0; i < r->row_count(); ++i) out.push_back(r->GetString(0, i));
    return out;
  }

  // Every snapshot of `table` in its Iceberg metadata reads as the lake does then.
  void ExpectSameAtEverySnapshot(const std::string& table) {
    const std::string metadata = CurrentMetadata(table);
    json m = json::parse(testing_util::ReadFileBytes(metadata));
    ASSERT_FALSE(m["snapshots"].empty());
    for (const json& s : m["snapshots"]) {
      const int64_t id = s["snapshot-id"].get<int64_t>();
      json plan = Plan(metadata, id);
      ASSERT_FALSE(plan.is_discarded()) << "snapshot " << id;
      EXPECT_EQ(IcebergRows(plan), LakeRows(table, plan, id)) << table << " at snapshot " << id;
    }
  }

  std::string dir_;
  std::unique_ptr<LocalStorage> storage_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<LakeWriter> writer_;
  std::unique_ptr<warehouse::Database> db_;
  std::unique_ptr<warehouse::Connection> conn_;
};

TEST_F(IcebergExportTest, AppendsAreSnapshotsWithFieldIdsAndThePartitionInsideTheFiles) {
  if (testing_util::PythonAvroMissing()) GTEST_SKIP() << "python3-avro is not installed";
  Commit(Rows("shop.orders", 1, {1, 2, 3}, "a"), "ingest_date", 1, "", "2026-12-01");
  Commit(Rows("shop.orders", 2, {4, 5}, "b"), "ingest_date", 2, "", "2026-12-02");
  Commit(Rows("shop.orders", 3, {6}, "c"), "ingest_date", 3, "", "2026-12-02");
  ExpectSameAtEverySnapshot("shop.orders");

  json plan = Plan(CurrentMetadata("shop.orders"), 3);
  EXPECT_EQ(plan["operation"], "append");
  ASSERT_EQ(plan["data_files"].size(), 3u);
  EXPECT_EQ(plan["spec"]["fields"][0]["name"], "ingest_date");
  EXPECT_EQ(plan["spec"]["fields"][0]["transform"], "identity");
  // Field ids: ingest_date first, then the columns in order; the Parquet files carry them, the
  // partition column and the iceberg.schema footer key.
  EXPECT_EQ(plan["schema"]["fields"][0]["name"], "ingest_date");
  EXPECT_EQ(plan["schema"]["fields"][0]["id"], 1);
  EXPECT_EQ(plan["schema"]["fields"][1]["name"], "id");
  EXPECT_EQ(plan["schema"]["fields"][1]["id"], 2);
  const std::string first = plan["data_files"][0]["path"].get<std::string>().substr(7);
  EXPECT_EQ(Strings(StrCat("SELECT name || ':' || field_id FROM parquet_schema(",
                           QuoteLiteral(first), ") WHERE field_id IS NOT NULL ORDER BY field_id")),
            (std::vector<std::string>{"ingest_date:1", "id:2", "name:3", "_ws_id:4",
                                      "_ws_load_id:5", "_ws_deleted:6"}));
  auto kv = Strings(StrCat("SELECT decode(value) FROM parquet_kv_metadata(", QuoteLiteral(first),
                           ") WHERE decode(key) = 'iceberg.schema'"));
  ASSERT_EQ(kv.size(), 1u);
  EXPECT_EQ(json::parse(kv[0])["fields"][0]["name"], "ingest_date");
  EXPECT_EQ(Strings(StrCat("SELECT DISTINCT CAST(ingest_date AS VARCHAR) FROM read_parquet(",
                           QuoteLiteral(first), ", hive_partitioning = false)")),
            std::vector<std::string>{"2026-12-01"});
  // Each commit wrote one metadata version; the log lists the earlier ones.
  json m = json::parse(testing_util::ReadFileBytes(CurrentMetadata("shop.orders")));
  EXPECT_EQ(m["snapshots"].size(), 3u);
  EXPECT_EQ(m["metadata-log"].size(), 2u);
  EXPECT_EQ(m["current-snapshot-id"], 3);
  EXPECT_EQ(m["snapshots"][2]["parent-snapshot-id"], 2);
  EXPECT_EQ(m["last-sequence-number"], 3);
}

TEST_F(IcebergExportTest, KeyedTablesHideSupersededRowsAndTombstonesWithPositionDeletes) {
  if (testing_util::PythonAvroMissing()) GTEST_SKIP() << "python3-avro is not installed";
  Commit(Rows("crm.people", 1, {1, 2, 3, 4}, "v1"), "ingest_date", 1, "id", "2026-12-01");
  // 2 and 3 change, 4 is deleted, 5 arrives — on another day, so in another partition.
  Commit(Rows("crm.people", 2, {2, 3, 5}, "v2", {4}), "ingest_date", 2, "id", "2026-12-02");
  Commit(Rows("crm.people", 3, {3}, "v3"), "ingest_date", 3, "id", "2026-12-02");
  ExpectSameAtEverySnapshot("crm.people");

  json plan = Plan(CurrentMetadata("crm.people"), 3);
  EXPECT_EQ(plan["operation"], "overwrite");
  EXPECT_FALSE(plan["delete_files"].empty());
  // What an Iceberg reader sees: one row per live key, the newest.
  EXPECT_EQ(IcebergRows(plan).size(), 4u);  // 1, 2, 3, 5
  int64_t deletes = 0;
  for (const json& d : plan["delete_files"]) deletes += d["records"].get<int64_t>();
  EXPECT_EQ(deletes, 5);  // 2v1, 3v1, 4v1, 4's tombstone, 3v2
}

TEST_F(IcebergExportTest, CompactionIsAReplaceAndExpiryDropsSnapshotsAndTheirFiles) {
  if (testing_util::PythonAvroMissing()) GTEST_SKIP() << "python3-avro is not installed";
  for (int64_t load = 1; load <= 4; ++load) {
    Commit(Rows("shop.items", load, {load * 10, load * 10 + 1}, "x"), "ingest_date", load);
  }
  auto compacted = CompactTable(*catalog_, *storage_, "shop.items", {.min_files = 2});
  ASSERT_TRUE(compacted.ok()) << compacted.status();
  ASSERT_EQ(compacted->files_in, 4);
  ExpectSameAtEverySnapshot("shop.items");
  json plan = Plan(CurrentMetadata("shop.items"), compacted->snapshot);
  EXPECT_EQ(plan["operation"], "replace");
  EXPECT_EQ(plan["data_files"].size(), 1u);

  auto expired =
      ExpireSnapshots(*catalog_, *storage_, {.max_age = absl::ZeroDuration(), .keep_last = 1});
  ASSERT_TRUE(expired.ok()) << expired.status();
  json m = json::parse(testing_util::ReadFileBytes(CurrentMetadata("shop.items")));
  ASSERT_EQ(m["snapshots"].size(), 1u);
  EXPECT_EQ(m["snapshots"][0]["snapshot-id"], compacted->snapshot);
  ExpectSameAtEverySnapshot("shop.items");
  // The expired snapshots' manifest lists are gone; every file the metadata names exists.
  int lists = 0;
  for (const auto& e : fs::directory_iterator(MetadataDir("shop.items"))) {
    if (e.path().filename().string().starts_with("snap-")) ++lists;
  }
  EXPECT_EQ(lists, 1);
  EXPECT_TRUE(fs::exists(m["snapshots"][0]["manifest-list"].get<std::string>().substr(7)));
  for (const json& l : m["metadata-log"]) {
    EXPECT_TRUE(fs::exists(l["metadata-file"].get<std::string>().substr(7))) << l;
  }
}

TEST_F(IcebergExportTest, GcKeepsLiveMetadataAndRemovesAnAbandonedCommitsFiles) {
  if (testing_util::PythonAvroMissing()) GTEST_SKIP() << "python3-avro is not installed";
  Commit(Rows("shop.orders", 1, {1}, "a"), "ingest_date", 1);
  // A commit that died after writing its metadata and before the catalog commit.
  const std::string orphan =
      MetadataDir("shop.orders") + "/00002-0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9.metadata.json";
  std::ofstream(orphan) << "{}";
  // Another engine's file in metadata/ is not the export's to remove.
  const std::string foreign = MetadataDir("shop.orders") + "/v3.metadata.json";
  std::ofstream(foreign) << "mine";
  auto soon = CollectGarbage(*catalog_, *storage_, false, absl::ZeroDuration(), absl::Now());
  ASSERT_TRUE(soon.ok()) << soon.status();
  EXPECT_TRUE(fs::exists(orphan)) << "a commit in flight may be writing it";
  auto later = CollectGarbage(*catalog_, *storage_, false, absl::ZeroDuration(),
                              absl::Now() + kExportFileGrace + absl::Minutes(1));
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_FALSE(fs::exists(orphan));
  EXPECT_TRUE(fs::exists(foreign)) << "not the export's naming: never removed";
  EXPECT_EQ(later->removed,
            std::vector<std::string>{"structured/shop/orders/metadata/"
                                     "00002-0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9.metadata.json"});
  ExpectSameAtEverySnapshot("shop.orders");
}

TEST_F(IcebergExportTest, ManyCommitsKeepAHundredMetadataVersionsAndOneManifestAfterARewrite) {
  for (int64_t load = 1; load <= kMaxMetadataVersions + 5; ++load) {
    Commit(Rows("shop.orders", load, {load}, "a"), "ingest_date", load);
  }
  json m = json::parse(testing_util::ReadFileBytes(CurrentMetadata("shop.orders")));
  EXPECT_EQ(m["metadata-log"].size(), static_cast<size_t>(kMaxMetadataVersions - 1));
  EXPECT_EQ(m["snapshots"].size(), static_cast<size_t>(kMaxMetadataVersions + 5));
  // Commit 101 rewrote the 100 one-file manifests into one; four more were added since.
  auto d = DescribeIcebergTable(*catalog_, *storage_, "shop.orders", 0);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->data_manifests, 5);
  // The retired versions are gc's once they are older than the export's grace.
  auto gc = CollectGarbage(*catalog_, *storage_, false, absl::ZeroDuration(),
                           absl::Now() + kExportFileGrace + absl::Minutes(1));
  ASSERT_TRUE(gc.ok()) << gc.status();
  int metadata_removed = 0;
  for (const std::string& k : gc->removed) metadata_removed += k.ends_with(".metadata.json");
  EXPECT_EQ(metadata_removed, 5);
  for (const json& l : m["metadata-log"]) {
    EXPECT_TRUE(fs::exists(l["metadata-file"].get<std::string>().substr(7))) << l;
  }
}

TEST_F(IcebergExportTest, AColumnPartitionIsAnIdentityPartitionOnThatColumn) {
  if (testing_util::PythonAvroMissing()) GTEST_SKIP() << "python3-avro is not installed";
  Commit(Rows("shop.orders", 1, {1, 2}, "a"), "name", 1);
  Commit(Rows("shop.orders", 2, {3}, "b"), "name", 2);
  ExpectSameAtEverySnapshot("shop.orders");
  json plan = Plan(CurrentMetadata("shop.orders"), 2);
  EXPECT_EQ(plan["spec"]["fields"][0]["name"], "name");
  EXPECT_EQ(plan["data_files"].size(), 3u);
  std::set<std::string> values;
  for (const json& f : plan["data_files"]) values.insert(f["partition"]["name"].get<std::string>());
  EXPECT_EQ(values, (std::set<std::string>{"a-1", "a-2", "b-3"}));
}

TEST_F(IcebergExportTest, IcebergShowDescribesTheSnapshotAReaderSees) {
  Commit(Rows("shop.orders", 1, {1}, "a"), "ingest_date", 1);
  Commit(Rows("shop.other", 2, {1}, "a"), "ingest_date", 2);
  Commit(Rows("shop.orders", 3, {2}, "b"), "ingest_date", 3);
  auto at2 = DescribeIcebergTable(*catalog_, *storage_, "shop.orders", 2);
  ASSERT_TRUE(at2.ok()) << at2.status();
  EXPECT_EQ(at2->snapshot_id, 1) << "catalog snapshot 2 did not change shop.orders";
  auto latest = DescribeIcebergTable(*catalog_, *storage_, "shop.orders", 0);
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->snapshot_id, 3);
  EXPECT_EQ(latest->metadata_version, 2);
  EXPECT_EQ(latest->summary.at("total-records"), "2");
  EXPECT_TRUE(latest->metadata_location.starts_with("file://" + dir_));
  EXPECT_EQ(DescribeIcebergTable(*catalog_, *storage_, "shop.none", 0).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace watershed::lake
