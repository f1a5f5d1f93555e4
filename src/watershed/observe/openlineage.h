// observe/openlineage.h — OpenLineage run events: building, validating and sending them.
//
// Owns: RunEvent JSON for a model build and for a load commit (OpenLineage 2-0-2 core, facets
// `schema` SchemaDatasetFacet 1-1-1, `columnLineage` ColumnLineageDatasetFacet 1-2-0, job
// facet `sql`, run facet `errorMessage`), a validator written from the published JSON schemas
// (required fields, types, enum of eventType, formats uuid / date-time / uri, facet _producer
// and _schemaURL), and the sink configured in watershed.yml
// (`lineage: {openlineage: {file: events.ndjson}}` or `{url: http://host/api/v1/lineage}`).
// Spec of what Watershed emits: docs/formats/lineage.md. Does not own: computing lineage
// (lineage.h, transform/sql_lineage.h). Thread safety: functions are thread-safe; an OpenLineageSink may be shared
// (file appends are serialized by a mutex and O_APPEND).
#pragma once

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/observe/lineage.h"
#include "watershed/project/project.h"

namespace watershed::observe {

inline constexpr std::string_view kOpenLineageProducer = "urn:watershed:watershed:0.1";
inline constexpr std::string_view kRunEventSchemaUrl =
    "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";

// A random (version 4) UUID, lower case: "3f9a1c2e-....".
std::string NewUuid();
// RFC 3339 UTC with milliseconds: "2026-11-24T04:15:00.123Z".
std::string EventTime(int64_t micros_since_epoch);

// Where the datasets and jobs of a project live: namespace "watershed://<project name>" for lake
// tables and marts, "watershed://<project name>/json" for source records.
struct OpenLineageNames {
  std::string job_namespace;
  std::string dataset_namespace;
  std::string json_namespace;
};
OpenLineageNames NamesFor(const project::Project& project);

// A model build's event. `lineage` may be null (START and FAIL events carry no column lineage;
// inputs then come from `input_datasets`). `event_type`: START, COMPLETE or FAIL.
nlohmann::json ModelRunEvent(const OpenLineageNames& names, const std::string& event_type,
                             const std::string& run_id, int64_t micros, const ModelBuild& build,
                             const ModelLineage* lineage);
// A load commit's event: inputs are the source records of each root table (fields = JSON
// paths), outputs the lake tables with their schema and column lineage.
nlohmann::json LoadRunEvent(const OpenLineageNames& names, const std::string& event_type,
                            const std::string& run_id, int64_t micros, int64_t load_id,
                            const std::vector<normalize::TableSchema>& tables);

// The sink watershed.yml configures, or nullptr (logging a warning when the configuration is
// wrong: lineage never fails the load or build that emits it).
class OpenLineageSink;
std::unique_ptr<OpenLineageSink> SinkForOrWarn(const project::Project& project);
// Emits `events` in order to `sink` (nothing when null); the first failure is logged and
// returned.
Status EmitAll(OpenLineageSink* sink, const std::vector<nlohmann::json>& events);

// OK when `event` is a valid RunEvent; kInvalidArgument naming the JSON pointer of the first
// problem otherwise ("/run/runId: 'x' is not a uuid").
Status ValidateRunEvent(const nlohmann::json& event);
// The formats the validator uses, exposed for tests.
bool IsUuid(std::string_view s);
bool IsDateTime(std::string_view s);
bool IsUri(std::string_view s);

// Where events go. Events are validated before they are written or sent.
class OpenLineageSink {
 public:
  // From watershed.yml `lineage: openlineage:` — nullptr (no error) when not configured.
  // `file` is relative to the project root; `url` may carry `token` (sent as a Bearer token,
  // never logged) and `timeout` (seconds, default 10).
  static StatusOr<std::unique_ptr<OpenLineageSink>> FromProject(const project::Project& project);
  static std::unique_ptr<OpenLineageSink> ToFile(std::string path);
  static std::unique_ptr<OpenLineageSink> ToUrl(std::string url, std::string token,
                                                int timeout_seconds = 10);
  ~OpenLineageSink();

  // One event: a line of the file, or a POST (2xx = accepted; other statuses are errors naming
  // the status and the start of the body).
  Status Emit(const nlohmann::json& event);
  const std::string& target() const { return target_; }

 private:
  OpenLineageSink() = default;
  std::string target_;  // the file or the URL
  bool is_url_ = false;
  std::string token_;
  int timeout_seconds_ = 10;
  std::mutex mu_;
};

}  // namespace watershed::observe
