// iceberg/manifest.h — Apache Iceberg v2 table metadata as files: schemas and partition specs
// as JSON, manifests and manifest lists as Avro (iceberg/avro.h), and metadata.json
// (apache/iceberg format/spec.md, "Manifests", "Manifest Lists", "Table Metadata").
//
// Owns: the types a writer fills (Schema, PartitionSpec, DataFile, ManifestEntry,
// ManifestFile, Snapshot, TableMetadata) and their encodings, with the field ids and the
// key-value metadata the spec requires. Does not own: which files a lake snapshot holds or
// where the metadata is stored (the lake's Iceberg export, built on this), Parquet field ids.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "watershed/base/status.h"

namespace watershed::iceberg {

// One column of a table schema. `type` is an Iceberg primitive: boolean, int, long, float,
// double, decimal(P,S), date, time, timestamp, timestamptz, string, uuid, binary.
struct Field {
  int id = 0;
  std::string name;
  std::string type;
  bool required = false;
};

struct Schema {
  int schema_id = 0;
  std::vector<Field> fields;
  const Field* Find(int id) const;
};

// Identity partitioning on source columns (Watershed partitions by one column's value).
struct PartitionField {
  int source_id = 0;
  int field_id = 1000;  // partition field ids start at 1000
  std::string name;
};

struct PartitionSpec {
  int spec_id = 0;
  std::vector<PartitionField> fields;
};

enum class Content { kData = 0, kPositionDeletes = 1 };
enum class EntryStatus { kExisting = 0, kAdded = 1, kDeleted = 2 };

// A data or delete file. `partition` holds one value per spec field in text form ("2026-12-03"
// for a date, "42" for a long, the string itself), nullopt for NULL.
struct DataFile {
  Content content = Content::kData;
  std::string path;  // absolute: file:///... or s3://bucket/key
  int64_t record_count = 0;
  int64_t size_bytes = 0;
  std::vector<std::optional<std::string>> partition;
};

struct ManifestEntry {
  EntryStatus status = EntryStatus::kAdded;
  int64_t snapshot_id = 0;
  int64_t sequence_number = 0;       // the data sequence number
  int64_t file_sequence_number = 0;  // the sequence number of the snapshot that added it
  DataFile file;
};

// One manifest's line in a manifest list.
struct ManifestFile {
  std::string path;
  int64_t length = 0;
  int spec_id = 0;
  Content content = Content::kData;
  int64_t sequence_number = 0;
  int64_t min_sequence_number = 0;
  int64_t added_snapshot_id = 0;
  int32_t added_files = 0, existing_files = 0, deleted_files = 0;
  int64_t added_rows = 0, existing_rows = 0, deleted_rows = 0;
};

struct Snapshot {
  int64_t snapshot_id = 0;  // below 2^53: JSON readers parse ids as doubles
  std::optional<int64_t> parent_id;
  int64_t sequence_number = 0;
  int64_t timestamp_ms = 0;
  std::string manifest_list;                   // absolute location
  std::map<std::string, std::string> summary;  // "operation": append | replace | overwrite | delete
  int schema_id = 0;
};

struct TableMetadata {
  std::string table_uuid;
  std::string location;  // the table's root, absolute
  int64_t last_sequence_number = 0;
  int64_t last_updated_ms = 0;
  std::vector<Schema> schemas;
  int current_schema_id = 0;
  PartitionSpec spec;  // the one spec (id 0)
  std::vector<Snapshot> snapshots;
  std::optional<int64_t> current_snapshot_id;
  std::vector<std::pair<int64_t, std::string>>
      metadata_log;  // (timestamp ms, file) earlier versions
  std::map<std::string, std::string> properties;
};

// {"type":"struct","schema-id":N,"fields":[{"id":..,"name":..,"required":..,"type":..}]}
std::string SchemaJson(const Schema& schema);
// [{"name":..,"transform":"identity","source-id":..,"field-id":..}]
std::string PartitionFieldsJson(const PartitionSpec& spec);

// A manifest (Avro bytes) of `entries`, all of `content`, written for `schema` and `spec`.
// Fails for a partition value that does not parse as its source column's type.
StatusOr<std::string> EncodeManifest(const Schema& schema, const PartitionSpec& spec,
                                     Content content, const std::vector<ManifestEntry>& entries);
// A manifest list (Avro bytes) for one snapshot.
std::string EncodeManifestList(const Snapshot& snapshot,
                               const std::vector<ManifestFile>& manifests);
// metadata.json (format-version 2; refs.main and snapshot-log follow current_snapshot_id).
std::string EncodeMetadata(const TableMetadata& metadata);

// Days since 1970-01-01 of "YYYY-MM-DD", or nullopt.
std::optional<int32_t> EpochDay(const std::string& date);

}  // namespace watershed::iceberg
