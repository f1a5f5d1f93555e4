// lake/maintenance_test.cc — compaction (content, time travel, schema versions, keyed tables,
// lost races) and snapshot expiry (policy, exactly the files no kept snapshot sees, expired
// snapshots refused, gc afterwards) on a real catalog, Parquet files and DuckDB.
// Over 600 lines on purpose: one fixture (a real catalog, Parquet files and DuckDB) shared by
// compaction and expiry cases.
#include "watershed/lake/maintenance.h"

#include <sqlite3.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <set>

#include "gtest/gtest.h"
#include "watershed/base/test_util.h"
#include "watershed/lake/gc.h"
#include "watershed/lake/reader.h"
#include "watershed/lake/writer.h"

namespace watershed::lake {
namespace {

using testing_util::MakeTempDir;

struct BatchSpec {
  int rows = 3;
  int64_t first_id = 0;
  ColumnType score_type = ColumnType::kBigint;
  bool with_note = false;  // a varchar column added in a later schema version
};

// Rows: id bigint, country varchar (DE, US, NULL in turn), score (bigint i*10 or double
// i*10+0.25), and optionally note varchar ("n<id>").
TableBatch Batch(const std::string& table, const BatchSpec& spec) {
  TableBatch b;
  b.table = table;
  b.arena = std::make_shared<StringArena>();
  b.columns = {
      {"id", ColumnType::kBigint}, {"country", ColumnType::kVarchar}, {"score", spec.score_type}};
  if (spec.with_note) b.columns.push_back({"note", ColumnType::kVarchar});
  b.data.resize(b.columns.size());
  b.num_rows = spec.rows;
  const char* countries[] = {"DE", "US", nullptr};
  for (int i = 0; i < spec.rows; ++i) {
    const int64_t id = spec.first_id + i;
    b.data[0].slots.push_back(static_cast<uint64_t>(id));
    b.data[0].valid.push_back(1);
    const char* c = countries[id % 3];
    b.data[1].strings.push_back(c ? b.arena->Copy(c) : std::string_view());
    b.data[1].valid.push_back(c != nullptr);
    uint64_t slot = static_cast<uint64_t>(id * 10);
    if (spec.score_type == ColumnType::kDouble) {
      double d = static_cast<double>(id * 10) + 0.25;
      std::memcpy(&slot, &d, 8);
    }
    b.data[2].slots.push_back(slot);
    b.data[2].valid.push_back(1);
    if (spec.with_note) {
      b.data[3].strings.push_back(b.arena->Copy(StrCat("n", id)));
      b.data[3].valid.push_back(1);
    }
  }
  return b;
}

// Passes everything to a LocalStorage; calls `on_publish` (once) when a key containing
// `publish_trigger` is published — to let another actor commit in the middle of a compaction.
class HookedStorage : public Storage {
 public:
  explicit HookedStorage(Storage* inner) : inner_(inner) {}
  StatusOr<std::string> PathForWrite(const std::string& key) override {
    return inner_->PathForWrite(key);
  }
  Status Publish(const std::string& key) override {
    WS_RETURN_IF_ERROR(inner_->Publish(key));
    if (on_publish && key.find(publish_trigger) != std::string::npos) {
      auto hook = std::move(on_publish);
      on_publish = nullptr;
      hook(key);
    }
    return absl::OkStatus();
  }
  StatusOr<std::string> PathForRead(const std::string& key) override {
    return inner_->PathForRead(key);
  }
  StatusOr<std::vector<StoredFile>> List(const std::string& prefix) override {
    return inner_->List(prefix);
  }
  Status Delete(const std::string& key) override { return inner_->Delete(key); }
  Status PutNew(const std::string& key, std::string_view bytes) override {
    return inner_->PutNew(key, bytes);
  }
  std::string Uri(const std::string& key) const override { return inner_->Uri(key); }
  std::string Describe() const override { return inner_->Describe(); }
  std::string LocalReadRoot() const override { return inner_->LocalReadRoot(); }

  std::string publish_trigger = "-compact";
  std::function<void(const std::string&)> on_publish;

 private:
  Storage* inner_;
};

class MaintenanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    storage_ = std::make_unique<LocalStorage>(dir_ + "/lake");
    auto c = Catalog::Open(CatalogPath());
    ASSERT_TRUE(c.ok()) << c.status();
    catalog_ = std::move(*c);
    auto w = LakeWriter::Create(storage_.get(), catalog_.get(), 1);
    ASSERT_TRUE(w.ok()) << w.status();
    writer_ = std::move(*w);
    db_ = std::move(*warehouse::Database::Open(""));
    conn_ = std::move(*db_->Connect());
  }

  std::string CatalogPath() const { return dir_ + "/catalog.db"; }

  // One load: the batch as files of `partition_by`, committed as one snapshot.
  int64_t Commit(const TableBatch& b, const std::string& partition_by = "ingest_date",
                 const std::string& ingest_date = "2026-11-24",
                 const std::string& key_column = "") {
    const std::string stem = StrCat("load-", ++stem_counter_, "-00000");
    auto files = writer_->Write(b, partition_by, ingest_date, stem);
    EXPECT_TRUE(files.ok()) << files.status();
    if (!files.ok()) return 0;
    CommitRequest req;
    req.operation = "load";
    req.summary = "{}";
    req.tables.push_back(
        {b.table, "", b.columns, partition_by, key_column, key_column.empty() ? "" : "latest_row"});
    req.added = *files;
    auto snap = catalog_->Commit(req);
    EXPECT_TRUE(snap.ok()) << snap.status();
    return snap.ok() ? *snap : 0;
  }

  // The first cell of `sql` over the lake views at `snapshot` (0 = latest).
  std::string Query(const std::string& sql, int64_t snapshot = 0) {
    Status a = AttachLakeViews(*conn_, *catalog_, *storage_, snapshot, "");
    EXPECT_TRUE(a.ok()) << a;
    auto r = conn_->Query(sql);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() && r->row_count() > 0 ? r->GetString(0, 0) : "<none>";
  }

  // Row count and a digest of every row of ns.t (all columns, ordered by id).
  std::string Checksum(int64_t snapshot = 0, const std::string& table = "ns.t") {
    return Query(StrCat("SELECT count(*) || ':' || md5(string_agg(CAST(x AS VARCHAR), '|' "
                        "ORDER BY x.id)) FROM ",
                        table, " AS x"),
                 snapshot);
  }

  std::set<std::string> StoredKeys() {
    auto files = storage_->List("structured");
    EXPECT_TRUE(files.ok()) << files.status();
    std::set<std::string> out;
    if (files.ok()) {
      for (const StoredFile& f : *files) out.insert(f.key);
    }
    return out;
  }

  std::set<std::string> LiveKeys(const std::string& table = "ns.t", int64_t snapshot = 0) {
    auto state = catalog_->GetTableState(table, snapshot);
    EXPECT_TRUE(state.ok()) << state.status();
    std::set<std::string> out;
    if (state.ok()) {
      for (const DataFile& f : state->files) out.insert(f.key);
    }
    return out;
  }

  // Moves the commit time of snapshots [first, last] into the past (the catalog's own column,
  // docs/formats/catalog.md), so the age policy can be tested without waiting.
  void Backdate(int64_t first, int64_t last) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(CatalogPath().c_str(), &db), SQLITE_OK);
    std::string sql = StrCat(
        "UPDATE snapshots SET committed_at = '2020-01-01T00:00:0' || "
        "snapshot_id || '.000000Z' WHERE snapshot_id BETWEEN ",
        first, " AND ", last);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }

  std::string dir_;
  std::unique_ptr<LocalStorage> storage_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<LakeWriter> writer_;
  std::unique_ptr<warehouse::Database> db_;
  std::unique_ptr<warehouse::Connection> conn_;
  int stem_counter_ = 0;
};

CompactOptions Small(int min_files) {
  CompactOptions o;
  o.min_files = min_files;
  return o;
}

TEST_F(MaintenanceTest, CompactionMergesAPartitionsSmallFilesAndKeepsHistory) {
  for (int i = 0; i < 5; ++i) Commit(Batch("ns.t", {.rows = 4, .first_id = i * 10}));
  const int64_t before = *catalog_->LatestSnapshot();
  const std::string sum_before = Checksum();
  const std::set<std::string> small = LiveKeys();
  ASSERT_EQ(small.size(), 5u);

  auto r = CompactTable(*catalog_, *storage_, "ns.t", Small(5));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->partitions, 1);
  EXPECT_EQ(r->files_in, 5);
  EXPECT_EQ(r->files_out, 1);
  EXPECT_EQ(r->rows, 20);
  EXPECT_EQ(r->snapshot, before + 1);
  EXPECT_EQ(*catalog_->LatestSnapshot(), before + 1);

  auto state = catalog_->GetTableState("ns.t");
  ASSERT_TRUE(state.ok()) << state.status();
  ASSERT_EQ(state->files.size(), 1u);
  EXPECT_EQ(state->row_count, 20);
  EXPECT_EQ(state->files[0].partition, "ingest_date=2026-11-24");
  EXPECT_FALSE(small.contains(state->files[0].key));
  EXPECT_EQ(Checksum(), sum_before);
  EXPECT_EQ(sum_before.substr(0, 3), "20:");
  // The new file has statistics, like any written file.
  auto stats = catalog_->FileStats(state->files[0].key);
  ASSERT_TRUE(stats.ok());
  ASSERT_FALSE(stats->empty());
  EXPECT_EQ((*stats)[0].column, "id");
  EXPECT_EQ((*stats)[0].min, "0");
  EXPECT_EQ((*stats)[0].max, "43");

  // Time travel: the snapshot before compaction still reads the small files, same rows.
  EXPECT_EQ(LiveKeys("ns.t", before), small);
  EXPECT_EQ(Checksum(before), sum_before);
  EXPECT_EQ(Checksum(2).substr(0, 2), "8:");
  // The small files are still stored (only expiry deletes them).
  std::set<std::string> stored = StoredKeys();
  for (const std::string& k : small) EXPECT_TRUE(stored.contains(k)) << k;
  auto snap = catalog_->GetSnapshot(before + 1);
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->operation, "compact");

  // Nothing left to do: a second run does nothing.
  auto again = CompactTable(*catalog_, *storage_, "ns.t", Small(2));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->files_in, 0);
  EXPECT_EQ(*catalog_->LatestSnapshot(), before + 1);
}

TEST_F(MaintenanceTest, BelowMinFilesOrBigFilesNothingHappens) {
  for (int i = 0; i < 3; ++i) Commit(Batch("ns.t", {.rows = 2, .first_id = i * 10}));
  const int64_t latest = *catalog_->LatestSnapshot();
  auto r = CompactTable(*catalog_, *storage_, "ns.t", Small(4));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->partitions, 0);
  EXPECT_EQ(r->files_in, 0);
  EXPECT_EQ(*catalog_->LatestSnapshot(), latest);
  EXPECT_EQ(LiveKeys().size(), 3u);

  // Files at least small_file_bytes big do not count as small.
  CompactOptions tiny = Small(2);
  tiny.small_file_bytes = 1;
  r = CompactTable(*catalog_, *storage_, "ns.t", tiny);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->files_in, 0);
  EXPECT_EQ(*catalog_->LatestSnapshot(), latest);

  // Unknown table: an error naming it.
  auto missing = CompactTable(*catalog_, *storage_, "ns.nope", Small(2));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("ns.nope"), std::string_view::npos);
}

TEST_F(MaintenanceTest, PartitionsAreCompactedSeparatelyAndMaxFilesLimitsARewrite) {
  // Partition 2026-11-24: 4 files; 2026-11-25: 2 files; 2026-11-26: 1 file.
  for (int i = 0; i < 4; ++i) Commit(Batch("ns.t", {.rows = 3, .first_id = i * 10}));
  for (int i = 4; i < 6; ++i) {
    Commit(Batch("ns.t", {.rows = 3, .first_id = i * 10}), "ingest_date", "2026-11-25");
  }
  Commit(Batch("ns.t", {.rows = 3, .first_id = 60}), "ingest_date", "2026-11-26");
  const std::string sum_before = Checksum();
  CompactOptions o = Small(2);
  o.max_files = 3;
  auto r = CompactTable(*catalog_, *storage_, "ns.t", o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->partitions, 2);
  EXPECT_EQ(r->files_in, 5);  // 3 of the first partition (max_files) + 2
  EXPECT_EQ(r->files_out, 2);
  EXPECT_EQ(r->rows, 15);
  auto state = catalog_->GetTableState("ns.t");
  ASSERT_TRUE(state.ok());
  std::map<std::string, int> per_partition;
  for (const DataFile& f : state->files) per_partition[f.partition]++;
  EXPECT_EQ(per_partition["ingest_date=2026-11-24"], 2);  // the merged one + the one left over
  EXPECT_EQ(per_partition["ingest_date=2026-11-25"], 1);
  EXPECT_EQ(per_partition["ingest_date=2026-11-26"], 1);
  EXPECT_EQ(Checksum(), sum_before);
  EXPECT_EQ(Query("SELECT count(*) FROM ns.t WHERE ingest_date = DATE '2026-11-25'"), "6");
}

TEST_F(MaintenanceTest, ColumnPartitionedTablesKeepThePartitionColumnInThePathAndTheFile) {
  for (int i = 0; i < 3; ++i) Commit(Batch("ns.p", {.rows = 6, .first_id = i * 10}), "country");
  const std::string sum_before = Checksum(0, "ns.p");
  auto r = CompactTable(*catalog_, *storage_, "ns.p", Small(3));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->partitions, 3);  // DE, US, NULL
  EXPECT_EQ(r->files_in, 9);
  EXPECT_EQ(Checksum(0, "ns.p"), sum_before);
  EXPECT_EQ(Query("SELECT count(*) FROM ns.p WHERE country = 'US'"), "6");
  EXPECT_EQ(Query("SELECT count(*) FROM ns.p WHERE country IS NULL"), "6");
  auto state = catalog_->GetTableState("ns.p");
  ASSERT_TRUE(state.ok());
  for (const DataFile& f : state->files) {
    EXPECT_TRUE(std::any_of(f.columns.begin(), f.columns.end(), [](const ColumnSpec& c) {
      return c.name == "country";
    })) << f.key;
    // Inside the file, the value the path names (Iceberg readers take it from the file).
    const std::string in_file = Query(
        StrCat("SELECT COALESCE(string_agg(DISTINCT country, ','), 'NULL') FROM read_parquet(",
               warehouse::QuoteLiteral(dir_ + "/lake/" + f.key), ", hive_partitioning = false)"));
    EXPECT_EQ(StrCat("country=", in_file), f.partition) << f.key;
  }
}

TEST_F(MaintenanceTest, FilesOfDifferentSchemaVersionsCompactToTheCurrentSchema) {
  Commit(Batch("ns.t", {.rows = 3, .first_id = 0}));  // v1
  Commit(Batch("ns.t", {.rows = 3, .first_id = 10}));
  Commit(Batch("ns.t", {.rows = 3, .first_id = 20, .score_type = ColumnType::kDouble}));  // v2
  Commit(Batch(
      "ns.t",
      {.rows = 3, .first_id = 30, .score_type = ColumnType::kDouble, .with_note = true}));  // v3
  auto history = catalog_->SchemaHistory("ns.t");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 3u);
  const std::string sum_before = Checksum();
  const std::string total_before = Query("SELECT sum(score) FROM ns.t");
  EXPECT_EQ(total_before,
            "1921.5");  // ids 0..2, 10..12: *10 = 360; 20..22, 30..32: *10+0.25 = 1561.5

  auto r = CompactTable(*catalog_, *storage_, "ns.t", Small(4));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->files_in, 4);
  auto state = catalog_->GetTableState("ns.t");
  ASSERT_TRUE(state.ok());
  ASSERT_EQ(state->files.size(), 1u);
  EXPECT_EQ(ColumnsToJson(state->files[0].columns),
            R"([["id","bigint"],["country","varchar"],["score","double"],["note","varchar"]])");
  EXPECT_EQ(Checksum(), sum_before);
  EXPECT_EQ(Query("SELECT sum(score) FROM ns.t"), total_before);
  EXPECT_EQ(Query("SELECT typeof(score) FROM ns.t LIMIT 1"), "DOUBLE");
  EXPECT_EQ(Query("SELECT count(note) || '/' || count(*) FROM ns.t"), "3/12");
  EXPECT_EQ(Query("SELECT string_agg(note, ',' ORDER BY id) FROM ns.t"), "n30,n31,n32");
  // The compaction did not add a schema version.
  EXPECT_EQ(catalog_->SchemaHistory("ns.t")->size(), 3u);
}

TEST_F(MaintenanceTest, KeyedTablesAreLeftAlone) {
  for (int i = 0; i < 4; ++i) {
    Commit(Batch("ns.k", {.rows = 3, .first_id = i}), "ingest_date", "2026-11-24", "id");
  }
  const int64_t latest = *catalog_->LatestSnapshot();
  const std::set<std::string> keys = LiveKeys("ns.k");
  const std::string sum_before = Checksum(0, "ns.k");
  auto r = CompactTable(*catalog_, *storage_, "ns.k", Small(2));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->files_in, 0);
  EXPECT_EQ(r->partitions, 0);
  EXPECT_EQ(*catalog_->LatestSnapshot(), latest);
  EXPECT_EQ(LiveKeys("ns.k"), keys);
  EXPECT_EQ(Checksum(0, "ns.k"), sum_before);
  EXPECT_TRUE(catalog_->GetTableState("ns.k")->info.key_column == "id");
}

TEST_F(MaintenanceTest, ACompactionWhoseInputsWereRemovedMeanwhileIsAbortedAndCleanedUp) {
  for (int i = 0; i < 4; ++i) Commit(Batch("ns.t", {.rows = 2, .first_id = i * 10}));
  const std::string sum_before = Checksum();
  const std::set<std::string> inputs = LiveKeys();

  // While the first compaction writes its file, a second one (another process: its own catalog
  // handle) compacts the same files from the same table state and commits first.
  HookedStorage hooked(storage_.get());
  std::string first_output;
  CompactResult second;
  hooked.on_publish = [&](const std::string& key) {
    first_output = key;
    auto other = Catalog::Open(CatalogPath());
    ASSERT_TRUE(other.ok()) << other.status();
    auto r = CompactTable(**other, *storage_, "ns.t", Small(4));
    ASSERT_TRUE(r.ok()) << r.status();
    second = *r;
  };
  auto r = CompactTable(*catalog_, hooked, "ns.t", Small(4));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_FALSE(first_output.empty());
  EXPECT_EQ(second.files_in, 4);
  EXPECT_EQ(r->files_in, 0);  // lost the race: nothing committed
  EXPECT_EQ(r->files_out, 0);
  EXPECT_EQ(*catalog_->LatestSnapshot(), second.snapshot);

  // The lake holds exactly the winner's result; the loser's output was deleted.
  auto state = catalog_->GetTableState("ns.t");
  ASSERT_TRUE(state.ok());
  ASSERT_EQ(state->files.size(), 1u);
  EXPECT_NE(state->files[0].key, first_output);
  const std::set<std::string> stored = StoredKeys();
  EXPECT_FALSE(stored.contains(first_output));
  EXPECT_TRUE(stored.contains(state->files[0].key));
  EXPECT_EQ(Checksum(), sum_before);
  // The losing compaction's load is recorded as failed, the winner's as committed.
  int failed = 0, committed_compactions = 0;
  auto loads = catalog_->Loads();
  ASSERT_TRUE(loads.ok());
  for (const LoadRecord& l : *loads) {
    if (l.name.starts_with("compact ")) {
      if (l.status == "failed") ++failed;
      if (l.status == "committed") ++committed_compactions;
    }
  }
  EXPECT_EQ(failed, 1);
  EXPECT_EQ(committed_compactions, 1);
  // Nothing left for gc.
  auto gc = CollectGarbage(*catalog_, *storage_, true);
  ASSERT_TRUE(gc.ok());
  EXPECT_TRUE(gc->removed.empty());
}

TEST_F(MaintenanceTest, ACommitThatRemovesAFileTwiceIsAbortedAndChangesNothing) {
  for (int i = 0; i < 2; ++i) Commit(Batch("ns.t", {.rows = 2, .first_id = i * 10}));
  const std::set<std::string> live = LiveKeys();
  const std::vector<std::string> keys(live.begin(), live.end());
  // A removal committed first (e.g. by another compaction)...
  CommitRequest first;
  first.operation = "compact";
  first.summary = "{}";
  first.removed_keys = {keys[0]};
  ASSERT_TRUE(catalog_->Commit(first).ok());
  const int64_t latest = *catalog_->LatestSnapshot();
  // ...makes a later commit removing the same file fail as a whole, naming the file.
  CommitRequest second;
  second.operation = "compact";
  second.summary = "{}";
  second.removed_keys = {keys[1], keys[0]};
  second.cursors = {{"x", "k", "v"}};
  auto s = catalog_->Commit(second);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kAborted);
  EXPECT_NE(s.status().message().find(keys[0]), std::string_view::npos) << s.status();
  EXPECT_EQ(*catalog_->LatestSnapshot(), latest);
  EXPECT_EQ(LiveKeys(), std::set<std::string>{keys[1]});  // keys[1] is still live
  EXPECT_FALSE(catalog_->GetCursor("x", "k")->has_value());
  // Removing a key that was never committed is refused too.
  CommitRequest unknown;
  unknown.operation = "compact";
  unknown.summary = "{}";
  unknown.removed_keys = {"structured/ns/t/ingest_date=2026-11-24/nope.parquet"};
  EXPECT_EQ(catalog_->Commit(unknown).status().code(), absl::StatusCode::kAborted);
}

// Snapshots 1, 2: loads (files A, B); 3: compaction (removes A, B, adds C); 4, 5: loads (D, E).
struct History {
  std::set<std::string> ab, c, de;
  std::string sum_latest, sum_at_4;
};

class ExpireTest : public MaintenanceTest {
 protected:
  History Build() {
    History h;
    Commit(Batch("ns.t", {.rows = 5, .first_id = 0}));
    Commit(Batch("ns.t", {.rows = 5, .first_id = 10}));
    h.ab = LiveKeys();
    auto r = CompactTable(*catalog_, *storage_, "ns.t", Small(2));
    EXPECT_TRUE(r.ok() && r->snapshot == 3);
    h.c = LiveKeys();
    Commit(Batch("ns.t", {.rows = 5, .first_id = 20}));
    Commit(Batch("ns.t", {.rows = 5, .first_id = 30}));
    for (const std::string& k : LiveKeys()) {
      if (!h.c.contains(k)) h.de.insert(k);
    }
    EXPECT_EQ(h.ab.size(), 2u);
    EXPECT_EQ(h.c.size(), 1u);
    EXPECT_EQ(h.de.size(), 2u);
    h.sum_latest = Checksum();
    h.sum_at_4 = Checksum(4);
    EXPECT_EQ(h.sum_latest.substr(0, 3), "20:");
    EXPECT_EQ(h.sum_at_4.substr(0, 3), "15:");
    return h;
  }
};

TEST_F(ExpireTest, KeepLastKeepsTheNewestAndDeletesExactlyTheUnseenFiles) {
  History h = Build();
  Backdate(1, 5);
  ExpireOptions o;
  o.max_age = absl::Hours(1);
  o.keep_last = 2;
  auto r = ExpireSnapshots(*catalog_, *storage_, o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->kept_from, 4);
  EXPECT_EQ(r->snapshots_expired, 3);
  EXPECT_EQ(r->files_deleted, 2);  // A and B: C is seen by snapshots 4 and 5
  EXPECT_GT(r->bytes_deleted, 0);
  EXPECT_EQ(*catalog_->OldestSnapshot(), 4);
  ASSERT_EQ(catalog_->Snapshots()->size(), 2u);
  EXPECT_EQ(catalog_->Snapshots()->front().snapshot_id, 4);

  const std::set<std::string> stored = StoredKeys();
  for (const std::string& k : h.ab) EXPECT_FALSE(stored.contains(k)) << k;
  for (const std::string& k : h.c) EXPECT_TRUE(stored.contains(k)) << k;
  for (const std::string& k : h.de) EXPECT_TRUE(stored.contains(k)) << k;
  EXPECT_EQ(stored.size(), 3u);
  for (const std::string& k : h.ab) EXPECT_TRUE(catalog_->FileStats(k)->empty()) << k;

  // Expired snapshots are refused with a message naming them; kept ones read as before.
  for (int64_t old : {1, 2, 3}) {
    auto state = catalog_->GetTableState("ns.t", old);
    ASSERT_FALSE(state.ok()) << old;
    EXPECT_EQ(state.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(state.status().message().find(StrCat("snapshot ", old, " has expired")),
              std::string_view::npos)
        << state.status();
    EXPECT_FALSE(AttachLakeViews(*conn_, *catalog_, *storage_, old, "").ok());
  }
  EXPECT_EQ(Checksum(), h.sum_latest);
  EXPECT_EQ(Checksum(4), h.sum_at_4);

  // Running it again changes nothing; gc finds no orphans and deletes no live file.
  auto again = ExpireSnapshots(*catalog_, *storage_, o);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->snapshots_expired, 0);
  EXPECT_EQ(again->kept_from, 4);
  auto gc = CollectGarbage(*catalog_, *storage_, false);
  ASSERT_TRUE(gc.ok()) << gc.status();
  EXPECT_TRUE(gc->removed.empty());
  EXPECT_EQ(StoredKeys(), stored);
  EXPECT_EQ(Checksum(), h.sum_latest);

  // New commits continue after the kept snapshots (ids are not reused).
  const int64_t next = Commit(Batch("ns.t", {.rows = 1, .first_id = 90}));
  EXPECT_EQ(next, 6);
  EXPECT_EQ(Checksum().substr(0, 3), "21:");
}

TEST_F(ExpireTest, YoungSnapshotsAreKeptWhateverKeepLastSays) {
  History h = Build();
  Backdate(1, 2);  // 3, 4, 5 were committed just now
  ExpireOptions o;
  o.max_age = absl::Hours(1);
  o.keep_last = 1;
  auto r = ExpireSnapshots(*catalog_, *storage_, o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->kept_from, 3);
  EXPECT_EQ(r->snapshots_expired, 2);
  // A and B are invisible from snapshot 3 on (the compaction removed them there).
  EXPECT_EQ(r->files_deleted, 2);
  const std::set<std::string> stored = StoredKeys();
  for (const std::string& k : h.ab) EXPECT_FALSE(stored.contains(k)) << k;
  EXPECT_EQ(stored.size(), 3u);
  EXPECT_EQ(Checksum(3).substr(0, 3), "10:");
  EXPECT_EQ(Checksum(), h.sum_latest);
  EXPECT_NE(catalog_->GetTableState("ns.t", 2).status().message().find("snapshot 2"),
            std::string_view::npos);

  // Nothing old enough: nothing happens at all.
  ExpireOptions young;
  young.max_age = absl::Hours(1);
  young.keep_last = 1;
  auto none = ExpireSnapshots(*catalog_, *storage_, young);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->snapshots_expired, 0);
  EXPECT_EQ(none->files_deleted, 0);
  EXPECT_EQ(none->kept_from, 3);
  EXPECT_EQ(StoredKeys(), stored);
}

TEST_F(ExpireTest, OnlyLiveFilesSurviveWhenEverythingButTheLatestExpires) {
  History h = Build();
  Backdate(1, 5);
  ExpireOptions o;
  o.max_age = absl::ZeroDuration();
  o.keep_last = 0;  // at least the newest snapshot always stays
  auto r = ExpireSnapshots(*catalog_, *storage_, o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->kept_from, 5);
  EXPECT_EQ(r->snapshots_expired, 4);
  std::set<std::string> live = LiveKeys();
  EXPECT_EQ(StoredKeys(), live);
  EXPECT_EQ(Checksum(), h.sum_latest);
  auto gc = CollectGarbage(*catalog_, *storage_, false);
  ASSERT_TRUE(gc.ok());
  EXPECT_TRUE(gc->removed.empty());
  EXPECT_EQ(StoredKeys(), live);
}

TEST_F(ExpireTest, AFileAlreadyGoneIsCountedWithoutCorruptingTheByteCount) {
  History h = Build();
  Backdate(1, 5);
  // One of the files to expire was deleted by hand (or a previous, interrupted expiry).
  ASSERT_TRUE(storage_->Delete(*h.ab.begin()).ok());
  const std::string other = *h.ab.rbegin();
  const int64_t other_size =
      static_cast<int64_t>(std::filesystem::file_size(*storage_->PathForRead(other)));
  ExpireOptions o;
  o.max_age = absl::Hours(1);
  o.keep_last = 2;
  auto r = ExpireSnapshots(*catalog_, *storage_, o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->files_deleted, 2);
  EXPECT_EQ(r->bytes_deleted, other_size);
}

TEST_F(ExpireTest, TheCatalogNeverExpiresItsLatestSnapshot) {
  Commit(Batch("ns.t", {.rows = 2, .first_id = 0}));
  Commit(Batch("ns.t", {.rows = 2, .first_id = 10}));
  // Expiring "before 3" would forget every snapshot; the next commit would then reuse id 1,
  // which the expiry marker already declares expired.
  auto r = catalog_->ExpireSnapshotsBefore(3);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("3"), std::string_view::npos) << r.status();
  EXPECT_EQ(*catalog_->OldestSnapshot(), 1);
  EXPECT_EQ(catalog_->Snapshots()->size(), 2u);
  EXPECT_EQ(Commit(Batch("ns.t", {.rows = 1, .first_id = 20})), 3);
  EXPECT_EQ(Checksum().substr(0, 2), "5:");
  // Up to the latest is fine.
  auto ok = catalog_->ExpireSnapshotsBefore(3);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(*catalog_->OldestSnapshot(), 3);
  EXPECT_EQ(Commit(Batch("ns.t", {.rows = 1, .first_id = 30})), 4);
  EXPECT_EQ(Checksum().substr(0, 2), "6:");
}

TEST_F(ExpireTest, AnEmptyCatalogHasNothingToExpire) {
  auto r = ExpireSnapshots(*catalog_, *storage_, ExpireOptions{});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->snapshots_expired, 0);
  EXPECT_EQ(r->kept_from, 1);
}

}  // namespace
}  // namespace watershed::lake
