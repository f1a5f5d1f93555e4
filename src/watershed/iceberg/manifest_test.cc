// iceberg/manifest_test.cc — Avro encodings against the specification's examples, and
// manifests, manifest lists and metadata.json read back by independent readers: python3-avro
// (Debian's, /usr/bin/python3) for the Avro files, nlohmann for the JSON.
#include "watershed/iceberg/manifest.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "watershed/base/test_util.h"
#include "watershed/iceberg/avro.h"

namespace watershed::iceberg {
namespace {

using nlohmann::json;

std::string Hex(const std::string& s) {
  std::string out;
  char buf[4];
  for (unsigned char c : s) {
    std::snprintf(buf, sizeof buf, "%02x", c);
    out += buf;
  }
  return out;
}

TEST(Avro, LongsAreZigzagVarints) {
  // The specification's table: 0 -> 00, -1 -> 01, 1 -> 02, -64 -> 7f, 64 -> 80 01.
  for (auto [v, hex] : std::vector<std::pair<int64_t, std::string>>{
           {0, "00"}, {-1, "01"}, {1, "02"}, {-64, "7f"}, {64, "8001"}, {300, "d804"}}) {
    AvroEncoder e;
    e.Long(v);
    EXPECT_EQ(Hex(e.data()), hex) << v;
  }
  AvroEncoder s;
  s.String("foo");
  EXPECT_EQ(Hex(s.data()), "06666f6f");
}

TEST(Iceberg, EpochDays) {
  EXPECT_EQ(EpochDay("1970-01-01"), 0);
  EXPECT_EQ(EpochDay("2026-12-03"), 20790);
  EXPECT_EQ(EpochDay("1960-02-29"), -3594);
  EXPECT_EQ(EpochDay("2026-13-01"), std::nullopt);
  EXPECT_EQ(EpochDay("yesterday"), std::nullopt);
}

// python3-avro's view of an Avro file: {"schema": header schema, "meta": {...}, "records": [...]}.
json ReadAvro(const std::string& path) {
  const std::string out = path + ".json";
  const std::string script =
      "import avro.datafile, avro.io, json, sys\n"
      "r = avro.datafile.DataFileReader(open(sys.argv[1], 'rb'), avro.io.DatumReader())\n"
      "meta = {k: v.decode() for k, v in r.meta.items() if k != 'avro.schema'}\n"
      "doc = {'schema': json.loads(r.meta['avro.schema']), 'meta': meta, 'records': list(r)}\n"
      "json.dump(doc, open(sys.argv[2], 'w'), default=str)\n";  // dates as YYYY-MM-DD
  const std::string script_path = path + ".py";
  std::ofstream(script_path) << script;
  const int rc = std::system(("/usr/bin/python3 " + script_path + " " + path + " " + out).c_str());
  EXPECT_EQ(rc, 0) << "python3-avro could not read " << path;
  return json::parse(testing_util::ReadFileBytes(out), nullptr, false);
}

Schema Orders() {
  return {0,
          {{1, "id", "long", true},
           {2, "name", "string", false},
           {3, "ingest_date", "date", false},
           {4, "amount", "decimal(18,2)", false}}};
}

TEST(Iceberg, ManifestCarriesTheSpecFieldIdsAndKeyValueMetadata) {
  if (testing_util::PythonAvroMissing()) GTEST_SKIP() << "python3-avro is not installed";
  const std::string dir = testing_util::MakeTempDir();
  const PartitionSpec spec{0, {{3, 1000, "ingest_date"}}};
  std::vector<ManifestEntry> entries = {
      {EntryStatus::kAdded,
       7,
       3,
       3,
       {Content::kData, "s3://lake/t/ingest_date=2026-12-03/a.parquet", 10, 2048, {"2026-12-03"}}},
      {EntryStatus::kExisting,
       5,
       1,
       1,
       {Content::kData, "s3://lake/t/ingest_date=__null__/b.parquet", 4, 512, {std::nullopt}}}};
  auto bytes = EncodeManifest(Orders(), spec, Content::kData, entries);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  std::ofstream(dir + "/m.avro", std::ios::binary) << *bytes;
  json doc = ReadAvro(dir + "/m.avro");
  ASSERT_FALSE(doc.is_discarded());
  // Header schema: field ids as the spec numbers them, the partition struct from the spec.
  const json& fields = doc["schema"]["fields"];
  EXPECT_EQ(doc["schema"]["name"], "manifest_entry");
  EXPECT_EQ(fields[0]["field-id"], 0);
  EXPECT_EQ(fields[4]["name"], "data_file");
  EXPECT_EQ(fields[4]["field-id"], 2);
  const json& data_file = fields[4]["type"]["fields"];
  EXPECT_EQ(data_file[1]["name"], "file_path");
  EXPECT_EQ(data_file[1]["field-id"], 100);
  EXPECT_EQ(data_file[3]["type"]["fields"][0]["field-id"], 1000);
  EXPECT_EQ(data_file[3]["type"]["fields"][0]["type"][1]["logicalType"], "date");
  // Key-value metadata the spec requires of a manifest.
  EXPECT_EQ(doc["meta"]["format-version"], "2");
  EXPECT_EQ(doc["meta"]["content"], "data");
  EXPECT_EQ(doc["meta"]["partition-spec-id"], "0");
  EXPECT_EQ(json::parse(doc["meta"]["schema"].get<std::string>())["fields"][3]["type"],
            "decimal(18,2)");
  EXPECT_EQ(json::parse(doc["meta"]["partition-spec"].get<std::string>())[0]["source-id"], 3);
  // The entries, decoded.
  ASSERT_EQ(doc["records"].size(), 2u);
  const json& a = doc["records"][0];
  EXPECT_EQ(a["status"], 1);
  EXPECT_EQ(a["snapshot_id"], 7);
  EXPECT_EQ(a["sequence_number"], 3);
  EXPECT_EQ(a["data_file"]["file_path"], "s3://lake/t/ingest_date=2026-12-03/a.parquet");
  EXPECT_EQ(a["data_file"]["file_format"], "PARQUET");
  EXPECT_EQ(a["data_file"]["record_count"], 10);
  EXPECT_EQ(a["data_file"]["file_size_in_bytes"], 2048);
  // Read back through the date logical type: the day number is the right one.
  EXPECT_EQ(a["data_file"]["partition"]["ingest_date"], "2026-12-03");
  EXPECT_TRUE(doc["records"][1]["data_file"]["partition"]["ingest_date"].is_null());
  EXPECT_EQ(doc["records"][1]["status"], 0);
}

TEST(Iceberg, ManifestRefusesValuesThatAreNotTheirColumnsType) {
  const PartitionSpec spec{0, {{3, 1000, "ingest_date"}}};
  auto bad =
      EncodeManifest(Orders(), spec, Content::kData,
                     {{EntryStatus::kAdded, 1, 1, 1, {Content::kData, "f", 1, 1, {"soon"}}}});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("'soon' is not a date"), std::string::npos);
  auto unknown = EncodeManifest(Orders(), {0, {{9, 1000, "x"}}}, Content::kData, {});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  auto decimal = EncodeManifest(Orders(), {0, {{4, 1000, "amount"}}}, Content::kData, {});
  EXPECT_EQ(decimal.status().code(), absl::StatusCode::kUnimplemented);
}

TEST(Iceberg, ManifestListAndMetadataJson) {
  if (testing_util::PythonAvroMissing()) GTEST_SKIP() << "python3-avro is not installed";
  const std::string dir = testing_util::MakeTempDir();
  Snapshot snap{
      8, 7, 4, 1764720000000, "s3://lake/t/metadata/snap-8.avro", {{"operation", "append"}}, 0};
  ManifestFile m;
  m.path = "s3://lake/t/metadata/m-8.avro";
  m.length = 4096;
  m.sequence_number = 4;
  m.min_sequence_number = 1;
  m.added_snapshot_id = 8;
  m.added_files = 1;
  m.existing_files = 2;
  m.added_rows = 10;
  m.existing_rows = 14;
  std::ofstream(dir + "/l.avro", std::ios::binary) << EncodeManifestList(snap, {m});
  json doc = ReadAvro(dir + "/l.avro");
  ASSERT_FALSE(doc.is_discarded());
  EXPECT_EQ(doc["schema"]["fields"][0]["field-id"], 500);
  EXPECT_EQ(doc["schema"]["fields"][3]["name"], "content");
  EXPECT_EQ(doc["schema"]["fields"][3]["field-id"], 517);
  EXPECT_EQ(doc["meta"]["snapshot-id"], "8");
  EXPECT_EQ(doc["meta"]["parent-snapshot-id"], "7");
  EXPECT_EQ(doc["meta"]["sequence-number"], "4");
  ASSERT_EQ(doc["records"].size(), 1u);
  EXPECT_EQ(doc["records"][0]["manifest_path"], m.path);
  EXPECT_EQ(doc["records"][0]["existing_rows_count"], 14);
  EXPECT_EQ(doc["records"][0]["min_sequence_number"], 1);

  TableMetadata t;
  t.table_uuid = "5d1c7a3e-0000-4000-8000-000000000001";
  t.location = "s3://lake/t";
  t.last_sequence_number = 4;
  t.last_updated_ms = snap.timestamp_ms;
  t.schemas = {Orders()};
  t.spec = {0, {{3, 1000, "ingest_date"}}};
  t.snapshots = {
      {7, std::nullopt, 3, snap.timestamp_ms - 1000, "s3://lake/t/metadata/snap-7.avro", {}, 0},
      snap};
  t.current_snapshot_id = 8;
  t.metadata_log = {{snap.timestamp_ms - 1000, "s3://lake/t/metadata/00001-x.metadata.json"}};
  json meta = json::parse(EncodeMetadata(t));
  EXPECT_EQ(meta["format-version"], 2);
  EXPECT_EQ(meta["last-column-id"], 4);
  EXPECT_EQ(meta["last-partition-id"], 1000);
  EXPECT_EQ(meta["current-snapshot-id"], 8);
  EXPECT_EQ(meta["refs"]["main"]["snapshot-id"], 8);
  EXPECT_EQ(meta["refs"]["main"]["type"], "branch");
  EXPECT_EQ(meta["snapshots"][1]["parent-snapshot-id"], 7);
  EXPECT_FALSE(meta["snapshots"][0].contains("parent-snapshot-id"));
  EXPECT_EQ(meta["snapshots"][0]["summary"]["operation"], "append");
  EXPECT_EQ(meta["snapshot-log"].size(), 2u);
  EXPECT_EQ(meta["metadata-log"][0]["metadata-file"], "s3://lake/t/metadata/00001-x.metadata.json");
  EXPECT_EQ(meta["partition-specs"][0]["fields"][0]["transform"], "identity");
  EXPECT_EQ(meta["sort-orders"][0]["order-id"], 0);
}

}  // namespace
}  // namespace watershed::iceberg
