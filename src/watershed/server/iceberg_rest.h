// server/iceberg_rest.h — the Apache Iceberg REST Catalog API, read-only, over the lake's
// Iceberg tables, so Spark, Trino, PyIceberg, Flink or Snowflake attach the lake directly
// (`watershed serve` mounts it under /iceberg; docs/formats/iceberg.md).
//
// Owns: answering the read-only routes of the REST catalog OpenAPI (apache/iceberg
// open-api/rest-catalog-open-api.yaml), below the prefix:
//   GET  /v1/config                              {"defaults": {}, "overrides": {}}
//   GET  /v1/namespaces[?parent=]                {"namespaces": [["crunchbase"], ...]}
//   GET  /v1/namespaces/{ns}        (and HEAD)   {"namespace": ["crunchbase"], "properties": {}}
//   GET  /v1/namespaces/{ns}/tables              {"identifiers": [{"namespace", "name"}, ...]}
//   GET  /v1/namespaces/{ns}/tables/{t} (HEAD)   LoadTableResult: metadata-location, metadata
// A lake namespace is a one-level Iceberg namespace; the tables listed are those with Iceberg
// metadata. Unknown namespaces and tables are 404 with the spec's error body
// ({"error": {"message", "type": NoSuchNamespaceException | NoSuchTableException, "code"}});
// every write route is 405 (the lake is written by Watershed's commits only).
// Does not own: authentication (server.cc checks the bearer token first), HTTP (server.cc
// renders the answer), the metadata itself (lake/iceberg_export.h).
// Thread safety: Answer may be called from any thread (one project behind a mutex).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "watershed/project/project.h"

namespace watershed::server {

inline constexpr char kIcebergRestPrefix[] = "/iceberg";

struct RestAnswer {
  int status = 200;
  std::string body;  // JSON
};

// The spec's error body: {"error": {"message", "type", "code"}}.
RestAnswer IcebergRestError(int status, std::string_view type, std::string_view message);

class IcebergRestCatalog {
 public:
  explicit IcebergRestCatalog(std::unique_ptr<project::Project> project)
      : project_(std::move(project)) {}

  // `method`: GET or HEAD (anything else is 405); `path`: below the prefix, still
  // percent-encoded ("/v1/namespaces/crunchbase/tables/organizations").
  // `may_read(table)` ("crunchbase.organizations"): whether the caller sees the table; one it
  // may not read is absent from listings and not found. Null: every table.
  RestAnswer Answer(std::string_view method, std::string_view path,
                    const std::multimap<std::string, std::string>& query,
                    const std::function<bool(const std::string& table)>& may_read = nullptr);

 private:
  std::mutex mu_;
  std::unique_ptr<project::Project> project_;
};

}  // namespace watershed::server
