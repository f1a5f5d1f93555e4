// iceberg/manifest.cc — see manifest.h. Field ids and names are the spec's (format/spec.md).
#include "watershed/iceberg/manifest.h"

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "watershed/base/columns.h"
#include "watershed/base/strings.h"
#include "watershed/iceberg/avro.h"

namespace watershed::iceberg {
namespace {

using nlohmann::json;

json Required(const char* name, json type, int id) {
  return {{"name", name}, {"type", std::move(type)}, {"field-id", id}};
}
json Optional(const std::string& name, json type, int id) {
  return {{"name", name},
          {"type", json::array({"null", std::move(type)})},
          {"default", nullptr},
          {"field-id", id}};
}

// The Avro type of an identity partition value of an Iceberg column type.
StatusOr<json> PartitionAvroType(const std::string& type) {
  if (type == "string" || type == "long" || type == "int" || type == "boolean" ||
      type == "double") {
    return json(type);
  }
  if (type == "date") return json{{"type", "int"}, {"logicalType", "date"}};
  return absl::UnimplementedError(
      StrCat("iceberg: partitioning by a column of type ", type, " is not supported"));
}

Status EncodePartitionValue(AvroEncoder& e, const std::string& type,
                            const std::optional<std::string>& value) {
  if (!value) {
    e.Union(0);
    return absl::OkStatus();
  }
  e.Union(1);
  const std::string& v = *value;
  auto integer = [&]() -> StatusOr<int64_t> {
    char* end = nullptr;
    const long long n = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0') {
      return absl::InvalidArgumentError(
          StrCat("iceberg: partition value '", v, "' is not a ", type));
    }
    return static_cast<int64_t>(n);
  };
  if (type == "string") {
    e.String(v);
  } else if (type == "long" || type == "int") {
    WS_ASSIGN_OR_RETURN(int64_t n, integer());
    e.Long(n);
  } else if (type == "boolean") {
    e.Bool(v == "true");
  } else if (type == "double") {
    e.Double(std::strtod(v.c_str(), nullptr));
  } else if (type == "date") {
    std::optional<int32_t> day = EpochDay(v);
    if (!day)
      return absl::InvalidArgumentError(StrCat("iceberg: partition value '", v, "' is not a date"));
    e.Int(*day);
  } else {
    return absl::UnimplementedError(StrCat("iceberg: partition type ", type));
  }
  return absl::OkStatus();
}

}  // namespace

const Field* Schema::Find(int id) const {
  for (const Field& f : fields) {
    if (f.id == id) return &f;
  }
  return nullptr;
}

std::optional<int32_t> EpochDay(const std::string& date) {
  int y = 0, m = 0, d = 0;
  if (date.size() != 10 || std::sscanf(date.c_str(), "%4d-%2d-%2d", &y, &m, &d) != 3 || m < 1 ||
      m > 12 || d < 1 || d > 31) {
    return std::nullopt;
  }
  return static_cast<int32_t>(DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d)));
}

std::string SchemaJson(const Schema& schema) {
  json fields = json::array();
  for (const Field& f : schema.fields) {
    fields.push_back({{"id", f.id}, {"name", f.name}, {"required", f.required}, {"type", f.type}});
  }
  return json{{"type", "struct"}, {"schema-id", schema.schema_id}, {"fields", fields}}.dump();
}

std::string PartitionFieldsJson(const PartitionSpec& spec) {
  json fields = json::array();
  for (const PartitionField& p : spec.fields) {
    fields.push_back({{"name", p.name},
                      {"transform", "identity"},
                      {"source-id", p.source_id},
                      {"field-id", p.field_id}});
  }
  return fields.dump();
}

StatusOr<std::string> EncodeManifest(const Schema& schema, const PartitionSpec& spec,
                                     Content content, const std::vector<ManifestEntry>& entries) {
  std::vector<std::string> types;  // the source column type of each partition field
  json partition_fields = json::array();
  for (const PartitionField& p : spec.fields) {
    const Field* source = schema.Find(p.source_id);
    if (source == nullptr) {
      return absl::InvalidArgumentError(StrCat("iceberg: partition field ", p.name,
                                               " names column id ", p.source_id,
                                               ", which the schema does not have"));
    }
    WS_ASSIGN_OR_RETURN(json type, PartitionAvroType(source->type));
    partition_fields.push_back(Optional(p.name, type, p.field_id));
    types.push_back(source->type);
  }
  const json data_file = {
      {"type", "record"},
      {"name", "r2"},
      {"fields",
       {Required("content", "int", 134), Required("file_path", "string", 100),
        Required("file_format", "string", 101),
        Required("partition", {{"type", "record"}, {"name", "r102"}, {"fields", partition_fields}},
                 102),
        Required("record_count", "long", 103), Required("file_size_in_bytes", "long", 104)}}};
  const json avro_schema = {
      {"type", "record"},
      {"name", "manifest_entry"},
      {"fields",
       {Required("status", "int", 0), Optional("snapshot_id", "long", 1),
        Optional("sequence_number", "long", 3), Optional("file_sequence_number", "long", 4),
        Required("data_file", data_file, 2)}}};
  std::vector<std::string> records;
  for (const ManifestEntry& m : entries) {
    if (m.file.partition.size() != spec.fields.size()) {
      return absl::InvalidArgumentError(
          StrCat("iceberg: ", m.file.path, " has ", m.file.partition.size(),
                 " partition values; the spec has ", spec.fields.size(), " fields"));
    }
    AvroEncoder e;
    e.Int(static_cast<int>(m.status));
    e.Union(1);
    e.Long(m.snapshot_id);
    e.Union(1);
    e.Long(m.sequence_number);
    e.Union(1);
    e.Long(m.file_sequence_number);
    e.Int(static_cast<int>(m.file.content));
    e.String(m.file.path);
    e.String("PARQUET");
    for (size_t i = 0; i < types.size(); ++i) {
      WS_RETURN_IF_ERROR(EncodePartitionValue(e, types[i], m.file.partition[i]));
    }
    e.Long(m.file.record_count);
    e.Long(m.file.size_bytes);
    records.push_back(e.Take());
  }
  return AvroContainer(avro_schema.dump(),
                       {{"schema", SchemaJson(schema)},
                        {"schema-id", std::to_string(schema.schema_id)},
                        {"partition-spec", PartitionFieldsJson(spec)},
                        {"partition-spec-id", std::to_string(spec.spec_id)},
                        {"format-version", "2"},
                        {"content", content == Content::kData ? "data" : "deletes"}},
                       records, NewSyncMarker());
}

std::string EncodeManifestList(const Snapshot& snapshot,
                               const std::vector<ManifestFile>& manifests) {
  const json avro_schema = {
      {"type", "record"},
      {"name", "manifest_file"},
      {"fields",
       {Required("manifest_path", "string", 500), Required("manifest_length", "long", 501),
        Required("partition_spec_id", "int", 502), Required("content", "int", 517),
        Required("sequence_number", "long", 515), Required("min_sequence_number", "long", 516),
        Required("added_snapshot_id", "long", 503), Required("added_files_count", "int", 504),
        Required("existing_files_count", "int", 505), Required("deleted_files_count", "int", 506),
        Required("added_rows_count", "long", 512), Required("existing_rows_count", "long", 513),
        Required("deleted_rows_count", "long", 514)}}};
  std::vector<std::string> records;
  for (const ManifestFile& m : manifests) {
    AvroEncoder e;
    e.String(m.path);
    e.Long(m.length);
    e.Int(m.spec_id);
    e.Int(static_cast<int>(m.content));
    e.Long(m.sequence_number);
    e.Long(m.min_sequence_number);
    e.Long(m.added_snapshot_id);
    e.Int(m.added_files);
    e.Int(m.existing_files);
    e.Int(m.deleted_files);
    e.Long(m.added_rows);
    e.Long(m.existing_rows);
    e.Long(m.deleted_rows);
    records.push_back(e.Take());
  }
  return AvroContainer(
      avro_schema.dump(),
      {{"snapshot-id", std::to_string(snapshot.snapshot_id)},
       {"parent-snapshot-id",
        snapshot.parent_id ? std::to_string(*snapshot.parent_id) : std::string("null")},
       {"sequence-number", std::to_string(snapshot.sequence_number)},
       {"format-version", "2"}},
      records, NewSyncMarker());
}

std::string EncodeMetadata(const TableMetadata& t) {
  int last_column_id = 0;
  json schemas = json::array();
  for (const Schema& s : t.schemas) {
    for (const Field& f : s.fields) last_column_id = std::max(last_column_id, f.id);
    schemas.push_back(json::parse(SchemaJson(s)));
  }
  int last_partition_id = 999;
  for (const PartitionField& p : t.spec.fields)
    last_partition_id = std::max(last_partition_id, p.field_id);
  json snapshots = json::array(), snapshot_log = json::array();
  for (const Snapshot& s : t.snapshots) {
    json summary = json::object();
    for (const auto& [k, v] : s.summary) summary[k] = v;
    if (!summary.contains("operation")) summary["operation"] = "append";
    json j = {{"snapshot-id", s.snapshot_id},
              {"sequence-number", s.sequence_number},
              {"timestamp-ms", s.timestamp_ms},
              {"manifest-list", s.manifest_list},
              {"summary", summary},
              {"schema-id", s.schema_id}};
    if (s.parent_id) j["parent-snapshot-id"] = *s.parent_id;
    snapshots.push_back(j);
    snapshot_log.push_back({{"timestamp-ms", s.timestamp_ms}, {"snapshot-id", s.snapshot_id}});
  }
  json metadata_log = json::array();
  for (const auto& [ms, file] : t.metadata_log) {
    metadata_log.push_back({{"timestamp-ms", ms}, {"metadata-file", file}});
  }
  json properties = json::object();
  for (const auto& [k, v] : t.properties) properties[k] = v;
  json m = {
      {"format-version", 2},
      {"table-uuid", t.table_uuid},
      {"location", t.location},
      {"last-sequence-number", t.last_sequence_number},
      {"last-updated-ms", t.last_updated_ms},
      {"last-column-id", last_column_id},
      {"current-schema-id", t.current_schema_id},
      {"schemas", schemas},
      {"default-spec-id", t.spec.spec_id},
      {"partition-specs", json::array({{{"spec-id", t.spec.spec_id},
                                        {"fields", json::parse(PartitionFieldsJson(t.spec))}}})},
      {"last-partition-id", last_partition_id},
      {"default-sort-order-id", 0},
      {"sort-orders", json::array({{{"order-id", 0}, {"fields", json::array()}}})},
      {"properties", properties},
      {"snapshots", snapshots},
      {"snapshot-log", snapshot_log},
      {"metadata-log", metadata_log},
      {"refs", json::object()}};
  if (t.current_snapshot_id) {
    m["current-snapshot-id"] = *t.current_snapshot_id;
    m["refs"]["main"] = {{"snapshot-id", *t.current_snapshot_id}, {"type", "branch"}};
  }
  return m.dump(2);
}

}  // namespace watershed::iceberg
