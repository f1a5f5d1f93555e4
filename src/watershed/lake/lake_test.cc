// lake/lake_test.cc — catalog commits and time travel, Parquet files through the writer, views
// through the reader, and orphan collection.
#include <algorithm>
#include <filesystem>

#include "gtest/gtest.h"
#include "watershed/base/test_util.h"
#include "watershed/lake/catalog.h"
#include "watershed/lake/gc.h"
#include "watershed/lake/reader.h"
#include "watershed/lake/writer.h"

namespace watershed::lake {
namespace {

using testing_util::MakeTempDir;

// A batch of `n` rows: id bigint, country varchar (every third NULL), score of `score_type`.
TableBatch Batch(const std::string& table, int n, ColumnType score_type, int64_t first_id) {
  TableBatch b;
  b.table = table;
  b.arena = std::make_shared<StringArena>();
  b.columns = {{"id", ColumnType::kBigint}, {"country", ColumnType::kVarchar},
               {"score", score_type}};
  b.data.resize(3);
  b.num_rows = n;
  const char* countries[] = {"DE", "US/CA", nullptr};
  for (int i = 0; i < n; ++i) {
    b.data[0].slots.push_back(first_id + i);
    b.data[0].valid.push_back(1);
    const char* c = countries[i % 3];
    b.data[1].strings.push_back(c ? b.arena->Copy(c) : std::string_view());
    b.data[1].valid.push_back(c != nullptr);
    uint64_t slot = static_cast<uint64_t>(i);
    if (score_type == ColumnType::kDouble) {
      double d = i + 0.5;
      std::memcpy(&slot, &d, 8);
    }
    b.data[2].slots.push_back(slot);
    b.data[2].valid.push_back(1);
  }
  return b;
}

struct Lake {
  std::string dir = MakeTempDir();
  LocalStorage storage{dir + "/lake"};
  std::unique_ptr<Catalog> catalog;
  std::unique_ptr<LakeWriter> writer;
  std::unique_ptr<warehouse::Database> db;
  std::unique_ptr<warehouse::Connection> conn;

  Lake() {
    catalog = std::move(*Catalog::Open(dir + "/catalog.db"));
    writer = std::move(*LakeWriter::Create(&storage, catalog.get(), 1));
    db = std::move(*warehouse::Database::Open(""));
    conn = std::move(*db->Connect());
  }

  int64_t Commit(const TableBatch& b, const std::string& partition_by, const std::string& stem,
                 std::vector<Cursor> cursors = {}) {
    auto files = writer->Write(b, partition_by, "2026-11-24", stem);
    EXPECT_TRUE(files.ok()) << files.status();
    CommitRequest req;
    req.operation = "load";
    req.summary = "{}";
    req.tables.push_back({b.table, "", b.columns, partition_by, "", ""});
    req.added = *files;
    req.cursors = std::move(cursors);
    auto snap = catalog->Commit(req);
    EXPECT_TRUE(snap.ok()) << snap.status();
    return *snap;
  }

  std::string Scalar(const std::string& sql, int64_t snapshot = 0) {
    EXPECT_TRUE(AttachLakeViews(*conn, *catalog, storage, snapshot, "").ok());
    auto r = conn->Query(sql);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->GetString(0, 0) : "";
  }
};

TEST(Lake, CommitsAreSnapshotsAndTimeTravelSeesOldOnes) {
  Lake lake;
  EXPECT_EQ(*lake.catalog->LatestSnapshot(), 0);
  int64_t s1 = lake.Commit(Batch("ns.t", 10, ColumnType::kBigint, 0), "ingest_date", "load-000001-00000",
                           {{"file", "a", "v1"}});
  int64_t s2 = lake.Commit(Batch("ns.t", 5, ColumnType::kBigint, 100), "ingest_date", "load-000002-00000",
                           {{"file", "a", "v2"}});
  EXPECT_EQ(s1, 1);
  EXPECT_EQ(s2, 2);
  EXPECT_EQ(lake.Scalar("SELECT count(*) FROM ns.t"), "15");
  EXPECT_EQ(lake.Scalar("SELECT count(*) FROM ns.t", s1), "10");
  EXPECT_EQ(lake.Scalar("SELECT min(ingest_date)::VARCHAR FROM ns.t"), "2026-11-24");
  EXPECT_EQ(**lake.catalog->GetCursor("file", "a"), "v2");
  auto state = lake.catalog->GetTableState("ns.t", s1);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->row_count, 10);
  EXPECT_EQ(state->files.size(), 1u);
  auto stats = lake.catalog->FileStats(state->files[0].key);
  ASSERT_TRUE(stats.ok());
  ASSERT_EQ(stats->size(), 3u);
  EXPECT_EQ((*stats)[0].column, "id");
  EXPECT_EQ((*stats)[0].min, "0");
  EXPECT_EQ((*stats)[0].max, "9");
  EXPECT_EQ((*stats)[1].null_count, 3);  // rows 2, 5, 8
  EXPECT_EQ(lake.catalog->GetTableState("ns.t", 0)->row_count, 15);
  EXPECT_EQ(lake.catalog->GetTableState("ns.missing").status().code(), absl::StatusCode::kNotFound);
  // As-of: after the first commit, before the second.
  auto snaps = *lake.catalog->Snapshots();
  EXPECT_EQ(*lake.catalog->SnapshotAsOf(snaps[1].committed_at), 2);
  EXPECT_EQ(lake.catalog->SnapshotAsOf("2000-01-01T00:00:00Z").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(Lake, AsOfParsesTimesWithOffsetsDatesAndEpochSecondsAndRejectsTheRest) {
  const int64_t t = 1764000000LL * 1000000;  // 2025-11-24T16:00:00Z
  EXPECT_EQ(*ParseAsOf("2025-11-24T16:00:00Z"), t);
  EXPECT_EQ(*ParseAsOf("2025-11-24 16:00:00"), t);
  EXPECT_EQ(*ParseAsOf("2025-11-24T17:00:00+01:00"), t);  // the offset counts
  EXPECT_EQ(*ParseAsOf("2025-11-24T11:00-05:00"), t);     // minutes, no seconds
  EXPECT_EQ(*ParseAsOf("2025-11-24T16:00:00.250Z"), t + 250000);
  EXPECT_EQ(*ParseAsOf("1764000000"), t);
  EXPECT_EQ(*ParseAsOf("1764000000.5"), t + 500000);
  EXPECT_EQ(*ParseAsOf("2025-11-24"), t - 16LL * 3600 * 1000000);
  for (const char* bad : {"garbage", "2026-13-45", "2026-02-30", "2026-11-24T25:00:00Z", "", "1.2.3",
                          "2026-11-24T04:15:00+99:00", "yesterday"}) {
    auto r = ParseAsOf(bad);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(MessageOf(r.status()).find("epoch seconds"), std::string_view::npos) << bad;
  }
  // Offsets are compared as times, not text: a commit at T is seen from T+01:00 written local.
  Lake lake;
  lake.Commit(Batch("ns.t", 1, ColumnType::kBigint, 0), "ingest_date", "load-000001-00000", {});
  const std::string committed = (*lake.catalog->Snapshots())[0].committed_at;
  const int64_t at = *ParseAsOf(committed);
  const std::string local = IsoUtc(at + 3600LL * 1000000, true);  // …Z, one hour later
  EXPECT_EQ(*lake.catalog->SnapshotAsOf(local.substr(0, local.size() - 1) + "+01:00"), 1);
  const std::string before = IsoUtc(at - 1, true);
  EXPECT_EQ(lake.catalog->SnapshotAsOf(before.substr(0, before.size() - 1) + "+00:00").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(lake.catalog->SnapshotAsOf("garbage").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Lake, WidenedColumnsReadOldFilesWithCasts) {
  Lake lake;
  lake.Commit(Batch("ns.t", 4, ColumnType::kBigint, 0), "ingest_date", "load-000001-00000");
  lake.Commit(Batch("ns.t", 4, ColumnType::kDouble, 10), "ingest_date", "load-000002-00000");
  auto history = *lake.catalog->SchemaHistory("ns.t");
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[1].columns[2].type, ColumnType::kDouble);
  // 0+1+2+3 from the bigint file, 0.5+1.5+2.5+3.5 from the double file.
  EXPECT_EQ(lake.Scalar("SELECT sum(score) FROM ns.t"), "14.0");
  EXPECT_EQ(lake.Scalar("SELECT typeof(score) FROM ns.t LIMIT 1"), "DOUBLE");
}

TEST(Lake, ConflictingConcurrentTypesAbortTheCommit) {
  auto merged = MergeColumns({{"a", ColumnType::kBigint}}, {{"a", ColumnType::kDouble}, {"b", ColumnType::kVarchar}});
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ((*merged)[0].type, ColumnType::kDouble);
  EXPECT_EQ((*merged)[1].name, "b");
  auto conflict = MergeColumns({{"a", ColumnType::kVarchar}}, {{"a", ColumnType::kBigint}});
  EXPECT_EQ(conflict.status().code(), absl::StatusCode::kAborted);
}

TEST(Lake, PartitionsByAColumnIncludingNullsAndSpecialCharacters) {
  Lake lake;
  lake.Commit(Batch("ns.p", 9, ColumnType::kBigint, 0), "country", "load-000001-00000");
  auto state = *lake.catalog->GetTableState("ns.p");
  ASSERT_EQ(state.files.size(), 3u);
  std::vector<std::string> parts;
  for (const auto& f : state.files) parts.push_back(f.partition);
  std::sort(parts.begin(), parts.end());
  EXPECT_EQ(parts, (std::vector<std::string>{"country=DE", "country=NULL", "country=US%2FCA"}));
  for (const auto& f : state.files) {
    EXPECT_EQ(f.columns.size(), 3u);  // the partition column is in the path and in the file
    EXPECT_EQ(f.row_count, 3);
  }
  EXPECT_EQ(lake.Scalar("SELECT count(*) FROM ns.p WHERE country = 'US/CA'"), "3");
  EXPECT_EQ(lake.Scalar("SELECT count(*) FROM ns.p WHERE country IS NULL"), "3");
  EXPECT_EQ(lake.Scalar("SELECT string_agg(id::VARCHAR, ',' ORDER BY id) FROM ns.p WHERE country = 'DE'"),
            "0,3,6");
  // Partition pruning: with the other partitions' files overwritten by garbage, a filter on DE
  // still answers (a scan that opened them would fail, as the unfiltered query shows).
  for (const auto& f : state.files) {
    if (f.partition != "country=DE") {
      testing_util::WriteFile(lake.dir + "/lake", f.key, "this is not parquet");
    }
  }
  EXPECT_EQ(lake.Scalar("SELECT count(*) FROM ns.p WHERE country = 'DE'"), "3");
  EXPECT_FALSE(lake.conn->Query("SELECT count(*) FROM ns.p").ok());
}

TEST(Lake, GcRemovesOnlyUnreferencedFilesOfFinishedLoads) {
  Lake lake;
  lake.Commit(Batch("ns.t", 3, ColumnType::kBigint, 0), "ingest_date", "committed-00000");
  // An attempt that wrote a file and never committed, by a load whose process is gone.
  int64_t dead = *lake.catalog->BeginLoad("crashed");
  auto orphan = *lake.writer->Write(Batch("ns.t", 3, ColumnType::kBigint, 50), "ingest_date",
                                    "2026-11-24", StrCat("load-", fmt::format("{:06d}", dead), "-00000"));
  // A load still running (this process): its files are kept.
  int64_t running = *lake.catalog->BeginLoad("running");
  auto pending = *lake.writer->Write(Batch("ns.t", 3, ColumnType::kBigint, 60), "ingest_date",
                                     "2026-11-24", StrCat("load-", fmt::format("{:06d}", running), "-00000"));
  // Mark the "crashed" load as belonging to a process that no longer exists.
  EXPECT_EQ(LoadIdOfKey(orphan[0].key), dead);
  auto dry = CollectGarbage(*lake.catalog, lake.storage, true);
  ASSERT_TRUE(dry.ok());
  // Both loads run in this very process, so both count as running: nothing is removed.
  EXPECT_TRUE(dry->removed.empty());
  EXPECT_EQ(dry->kept_running.size(), 2u);
  ASSERT_TRUE(lake.catalog->FinishLoad(dead, "failed", "test").ok());
  auto gc = CollectGarbage(*lake.catalog, lake.storage, false);
  ASSERT_TRUE(gc.ok());
  ASSERT_EQ(gc->removed.size(), 1u);
  EXPECT_EQ(gc->removed[0], orphan[0].key);
  EXPECT_FALSE(std::filesystem::exists(lake.dir + "/lake/" + orphan[0].key));
  EXPECT_TRUE(std::filesystem::exists(lake.dir + "/lake/" + pending[0].key));
  EXPECT_EQ(lake.Scalar("SELECT count(*) FROM ns.t"), "3");
}

TEST(Lake, GcRemovesOnlyTheLakesOwnFilesAndListsTheOthers) {
  Lake lake;
  lake.Commit(Batch("ns.t", 3, ColumnType::kBigint, 0), "ingest_date", "committed-00000");
  int64_t dead = *lake.catalog->BeginLoad("crashed");
  auto orphan = *lake.writer->Write(Batch("ns.t", 3, ColumnType::kBigint, 50), "ingest_date",
                                    "2026-11-24", fmt::format("load-{:06d}-00000", dead));
  ASSERT_TRUE(lake.catalog->FinishLoad(dead, "failed", "test").ok());
  // A user's files in the lake: a note and a Parquet file that is not named like the lake's.
  const std::string partition = "structured/ns/t/ingest_date=2026-11-24";
  const std::string notes = partition + "/notes.txt", foo = partition + "/foo.parquet";
  testing_util::WriteFile(lake.dir + "/lake/" + partition, "notes.txt", "my notes");
  testing_util::WriteFile(lake.dir + "/lake/" + partition, "foo.parquet", "PAR1 not really");
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };

  auto dry = CollectGarbage(*lake.catalog, lake.storage, true);
  ASSERT_TRUE(dry.ok()) << dry.status();
  EXPECT_EQ(dry->removed, std::vector<std::string>{orphan[0].key});
  EXPECT_EQ(sorted(dry->foreign), (std::vector<std::string>{foo, notes}));
  EXPECT_EQ(dry->foreign_bytes, 8u + 15u);
  EXPECT_TRUE(std::filesystem::exists(lake.dir + "/lake/" + orphan[0].key)) << "a dry run";

  auto gc = CollectGarbage(*lake.catalog, lake.storage, false);
  ASSERT_TRUE(gc.ok()) << gc.status();
  EXPECT_EQ(gc->removed, std::vector<std::string>{orphan[0].key});
  EXPECT_EQ(sorted(gc->foreign), (std::vector<std::string>{foo, notes}));
  EXPECT_FALSE(std::filesystem::exists(lake.dir + "/lake/" + orphan[0].key));
  EXPECT_EQ(testing_util::ReadFileBytes(lake.dir + "/lake/" + notes), "my notes");
  EXPECT_TRUE(std::filesystem::exists(lake.dir + "/lake/" + foo));
  EXPECT_EQ(lake.Scalar("SELECT count(*) FROM ns.t"), "3");
}

TEST(Lake, TheLakesFileNaming) {
  const std::string p = "structured/crunchbase/organizations/ingest_date=2026-11-24/";
  for (const char* name :
       {"load-000042-00001.parquet", "load-1234567-00012.parquet", "load-000042-00001-p3.parquet",
        "load-000042-compact.parquet", "quality-000007.parquet", "quality-000007-p0.parquet",
        "tmp_load-000042-00001.parquet"}) {
    EXPECT_TRUE(IsLakeFileKey(p + name)) << name;
  }
  EXPECT_TRUE(IsLakeFileKey("structured/ns/t/country=%4EULL/load-000001-00000-p1.parquet"));
  for (const std::string& key :
       {p + "notes.txt", p + "foo.parquet", p + "load-000042-00001.parquet.bak",
        p + "load--00001.parquet", p + "load-000042-.parquet", p + "load-000000-00001.parquet",
        p + "load-000042-compacted.parquet", p + "load-000042-00001-p.parquet",
        p + "Load-000042-00001.parquet", p + "x/load-000042-00001.parquet",
        std::string("structured/ns/t/load-000042-00001.parquet"),       // no partition folder
        std::string("structured/ns/t/part/load-000042-00001.parquet"),  // not key=value
        std::string("raw/crunchbase/ns/k=v/load-000042-00001.parquet")}) {
    EXPECT_FALSE(IsLakeFileKey(key)) << key;
  }
  EXPECT_EQ(LoadIdOfKey(p + "load-000042-00001.parquet"), 42);
  EXPECT_EQ(LoadIdOfKey(p + "quality-000007.parquet"), 7);
  EXPECT_EQ(LoadIdOfKey(p + "notes.txt"), 0);
}

TEST(Lake, TableNamesMustBeQualified) {
  EXPECT_FALSE(SplitTableName("organizations").ok());
  EXPECT_FALSE(SplitTableName("a.b.c").ok());
  EXPECT_FALSE(SplitTableName("a/b.c").ok());
  auto ok = SplitTableName("crunchbase.organizations__categories");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->second, "organizations__categories");
  EXPECT_EQ(EscapePartitionValue("a b/é"), "a%20b%2F%C3%A9");
  EXPECT_EQ(EscapePartitionValue("NULL"), "%4EULL");
}

TEST(Lake, TableNamesHaveOneCanonicalFormAndBadOnesShowIt) {
  EXPECT_EQ(*CanonicalTableName("SHOP.CUSTOMERS"), "shop.customers");
  EXPECT_EQ(*CanonicalTableName("shop.customers"), "shop.customers");
  EXPECT_EQ(*CanonicalTableName("raw.events_2024"), "raw.events_2024");
  for (const char* bad : {"Shop.Bad-Name", "organizations", "a.b.c", "a/b.c", "1x.y", "ns.", ".t",
                          "ns.has space"}) {
    auto r = CanonicalTableName(bad);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_NE(MessageOf(CanonicalTableName("Shop.Bad-Name").status()).find("use shop.bad_name"),
            std::string_view::npos);
}

}  // namespace
}  // namespace watershed::lake
