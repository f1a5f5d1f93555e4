// server/iceberg_rest.cc — see iceberg_rest.h.
#include "watershed/server/iceberg_rest.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <vector>

#include "watershed/base/strings.h"
#include "watershed/lake/iceberg_export.h"
#include "watershed/lake/writer.h"

namespace watershed::server {

using nlohmann::json;

RestAnswer IcebergRestError(int status, std::string_view type, std::string_view message) {
  return {status, json{{"error", {{"message", message}, {"type", type}, {"code", status}}}}.dump()};
}

namespace {

RestAnswer Ok(const json& body) { return {200, body.dump()}; }

RestAnswer Failed(const Status& status) {
  if (status.code() == absl::StatusCode::kNotFound) {
    return IcebergRestError(404, "NoSuchTableException", std::string(status.message()));
  }
  return IcebergRestError(500, "InternalServerError", std::string(status.message()));
}

// The path's segments, percent-decoded ("/v1/namespaces/a%20b" -> v1, namespaces, "a b").
std::vector<std::string> Segments(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) out.push_back(PercentDecode(path.substr(start, end - start)));
    start = end + 1;
  }
  return out;
}

// The lake's tables that have Iceberg metadata, by namespace.
StatusOr<std::map<std::string, std::set<std::string>>> Tables(
    project::Project& project, const std::function<bool(const std::string&)>& may_read) {
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project.catalog());
  WS_ASSIGN_OR_RETURN(auto all, catalog->ListTables(0));
  std::map<std::string, std::set<std::string>> out;
  for (const lake::TableInfo& t : all) {
    WS_ASSIGN_OR_RETURN(auto state, catalog->ExportState(t.table_id, lake::kIcebergFormat));
    if (!state) continue;
    auto names = lake::SplitTableName(t.name);
    if (!names.ok() || (may_read && !may_read(t.name))) continue;
    out[names->first].insert(names->second);
  }
  return out;
}

}  // namespace

RestAnswer IcebergRestCatalog::Answer(std::string_view method, std::string_view path,
                                      const std::multimap<std::string, std::string>& query,
                                      const std::function<bool(const std::string&)>& may_read) {
  if (method != "GET" && method != "HEAD") {
    return IcebergRestError(405, "NotAllowedException",
                            "this Iceberg REST catalog is read-only: Watershed's commits write "
                            "the lake's tables");
  }
  const std::vector<std::string> seg = Segments(path);
  if (seg.empty() || seg[0] != "v1") {
    return IcebergRestError(404, "NotFoundException",
                            StrCat("no route ", path.substr(0, 200),
                                   " (the catalog's routes are "
                                   "/iceberg/v1/...)"));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (seg.size() == 2 && seg[1] == "config") {
    return Ok({{"defaults", json::object()}, {"overrides", json::object()}});
  }
  if (seg.size() < 2 || seg[1] != "namespaces" || seg.size() > 5 ||
      (seg.size() >= 4 && seg[3] != "tables")) {
    return IcebergRestError(404, "NotFoundException", StrCat("no route ", path.substr(0, 200)));
  }
  auto tables = Tables(*project_, may_read);
  if (!tables.ok()) return Failed(tables.status());
  if (seg.size() == 2) {
    json out = json::array();
    // One level of namespaces: a parent has no children.
    auto parent = query.find("parent");
    if (parent == query.end() || parent->second.empty()) {
      for (const auto& [ns, names] : *tables) out.push_back(json::array({ns}));
    }
    return Ok({{"namespaces", out}});
  }
  // A multi-level namespace arrives joined by the unit separator (0x1F): none exists here.
  const std::string& ns = seg[2];
  auto it = tables->find(ns);
  if (it == tables->end()) {
    return IcebergRestError(404, "NoSuchNamespaceException",
                            StrCat("namespace does not exist: ", ns.substr(0, 200)));
  }
  if (seg.size() == 3)
    return Ok({{"namespace", json::array({ns})}, {"properties", json::object()}});
  if (seg.size() == 4) {
    json ids = json::array();
    for (const std::string& name : it->second) {
      ids.push_back({{"namespace", json::array({ns})}, {"name", name}});
    }
    return Ok({{"identifiers", ids}});
  }
  const std::string& name = seg[4];
  if (!it->second.contains(name)) {
    return IcebergRestError(404, "NoSuchTableException",
                            StrCat("table does not exist: ", ns, ".", name.substr(0, 200)));
  }
  auto catalog = project_->catalog();
  if (!catalog.ok()) return Failed(catalog.status());
  auto summary =
      lake::DescribeIcebergTable(**catalog, project_->storage(), StrCat(ns, ".", name), 0);
  if (!summary.ok()) return Failed(summary.status());
  if (method == "HEAD") return {204, ""};
  auto local = project_->storage().PathForRead(summary->metadata_key);
  if (!local.ok()) return Failed(local.status());
  std::ifstream in(*local, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  json metadata = json::parse(text.str(), nullptr, false);
  if (!in.is_open() || metadata.is_discarded()) {
    return IcebergRestError(500, "InternalServerError",
                            StrCat("could not read ", summary->metadata_location));
  }
  return Ok({{"metadata-location", summary->metadata_location},
             {"metadata", metadata},
             {"config", json::object()}});
}

}  // namespace watershed::server
