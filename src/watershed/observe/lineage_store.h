// observe/lineage_store.h — the `lineage_*` tables of the catalog database: nodes (columns and
// datasets), edges (what feeds what, by which load or model) and owners (who recorded them).
//
// Owns: the schema (store::Schema "lineage", docs/formats/lineage.md) and every read and write
// of those tables. Does not own: what the edges mean (lineage.h traces them; transform/ and
// lineage.h's load recording compute them) or OpenLineage events (openlineage.h).
// Thread safety: a LineageStore is used by one thread; each opens its own connection (busy
// timeout 30 s), so several processes may record and read at once.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/store/store.h"

namespace watershed::observe {

// One column or dataset. `kind`: json, lake, model, dataset, or input (a column another owner
// reads before its own owner recorded it).
struct LineageNode {
  std::string node, dataset, field, kind, data_type, owner;
};

// `from` feeds `to`. `kind`: load or model; `transformation`: DIRECT, INDIRECT or TABLE.
struct LineageEdge {
  std::string from, to, kind, transformation, subtype, owner;
};

// What one owner (a model, or a lake table for loads) records at once.
struct LineageRecord {
  std::string owner;
  std::string kind;  // model, load
  std::string run_id;
  bool column_level = true;
  std::string note;
  std::vector<LineageNode> nodes;
  std::vector<LineageEdge> edges;
  bool replace = false;  // true: everything the owner recorded before is dropped first
};

// The node name of a dataset's field ("finance.dim.sk"), or the dataset itself when field is "".
std::string LineageNodeName(const std::string& dataset, const std::string& field);

// The registered schema of the lineage tables (migrated by Open).
const store::Schema& LineageSchema();

class LineageStore {
 public:
  // Opens (creating and migrating the tables if needed) the catalog database at `path`.
  static StatusOr<std::unique_ptr<LineageStore>> Open(const std::string& path);

  // Writes `record` in one transaction. A node another owner recorded keeps its owner; its type
  // is filled in when missing.
  Status Write(const LineageRecord& record);

  StatusOr<std::optional<LineageNode>> Node(const std::string& node);
  // The columns recorded for a dataset, in insertion order. A failed query gives no columns (its
  // caller, a schema lookup, can only say "unknown").
  std::vector<std::string> Fields(const std::string& dataset);
  // The edges into `node` (upstream) or out of it, ordered by the other end.
  StatusOr<std::vector<LineageEdge>> Edges(const std::string& node, bool upstream);
  // Every node name, sorted.
  StatusOr<std::vector<std::string>> AllNodes();

 private:
  explicit LineageStore(std::unique_ptr<store::Connection> db) : db_(std::move(db)) {}
  std::unique_ptr<store::Connection> db_;
};

}  // namespace watershed::observe
