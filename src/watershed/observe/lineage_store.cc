// observe/lineage_store.cc — see lineage_store.h.
#include "watershed/observe/lineage_store.h"

#include "watershed/base/columns.h"
#include "watershed/base/strings.h"

namespace watershed::observe {
namespace {

constexpr char kLineageSchemaV1[] = R"sql(
CREATE TABLE IF NOT EXISTS lineage_nodes (
  node TEXT PRIMARY KEY,
  dataset TEXT NOT NULL,
  field TEXT NOT NULL,
  kind TEXT NOT NULL,
  data_type TEXT NOT NULL DEFAULT '',
  owner TEXT NOT NULL,
  recorded_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS lineage_nodes_owner ON lineage_nodes(owner);
CREATE TABLE IF NOT EXISTS lineage_edges (
  from_node TEXT NOT NULL,
  to_node TEXT NOT NULL,
  kind TEXT NOT NULL,
  transformation TEXT NOT NULL,
  subtype TEXT NOT NULL,
  owner TEXT NOT NULL,
  run_id TEXT NOT NULL,
  recorded_at TEXT NOT NULL,
  PRIMARY KEY (from_node, to_node, transformation, subtype)
);
CREATE INDEX IF NOT EXISTS lineage_edges_to ON lineage_edges(to_node);
CREATE INDEX IF NOT EXISTS lineage_edges_owner ON lineage_edges(owner);
CREATE TABLE IF NOT EXISTS lineage_owners (
  owner TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  run_id TEXT NOT NULL,
  recorded_at TEXT NOT NULL,
  column_level INTEGER NOT NULL,
  note TEXT NOT NULL DEFAULT ''
);
)sql";

using store::Stmt;

// Steps `q`, naming lineage in an error.
StatusOr<bool> StepRow(Stmt& q) {
  auto row = q.Step();
  if (!row.ok()) return Annotate(row.status(), "lineage");
  return row;
}

}  // namespace

std::string LineageNodeName(const std::string& dataset, const std::string& field) {
  return field.empty() ? dataset : StrCat(dataset, ".", field);
}

const store::Schema& LineageSchema() {
  static const store::Schema* schema = new store::Schema{"lineage", {kLineageSchemaV1}};
  return *schema;
}

StatusOr<std::unique_ptr<LineageStore>> LineageStore::Open(const std::string& path) {
  auto db = store::Connection::Open(path);
  if (!db.ok()) return Annotate(db.status(), "lineage");
  WS_RETURN_IF_ERROR(Annotate(store::Migrate(**db, LineageSchema()), "lineage"));
  return std::unique_ptr<LineageStore>(new LineageStore(std::move(*db)));
}

Status LineageStore::Write(const LineageRecord& r) {
  const std::string now = IsoUtc(NowMicros());
  store::Transaction txn(*db_);
  WS_RETURN_IF_ERROR(Annotate(txn.Begin(), "lineage"));
  if (r.replace) {
    Stmt del1(*db_, "DELETE FROM lineage_edges WHERE owner = ?");
    Stmt del2(*db_, "DELETE FROM lineage_nodes WHERE owner = ?");
    WS_RETURN_IF_ERROR(Annotate(del1.Bind(1, r.owner).Run(), "lineage: delete edges"));
    WS_RETURN_IF_ERROR(Annotate(del2.Bind(1, r.owner).Run(), "lineage: delete nodes"));
  }
  Stmt node(*db_,
            "INSERT INTO lineage_nodes (node, dataset, field, kind, data_type, owner, "
            "recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(node) DO UPDATE SET "
            "data_type = CASE WHEN excluded.data_type <> '' AND (lineage_nodes.owner = "
            "excluded.owner OR lineage_nodes.data_type = '') THEN excluded.data_type ELSE "
            "lineage_nodes.data_type END, owner = CASE WHEN lineage_nodes.kind = 'input' THEN "
            "excluded.owner ELSE lineage_nodes.owner END, kind = CASE WHEN lineage_nodes.kind "
            "= 'input' THEN excluded.kind ELSE lineage_nodes.kind END");
  WS_RETURN_IF_ERROR(Annotate(node.status(), "lineage: prepare node"));
  for (const LineageNode& n : r.nodes) {
    node.Bind(1, n.node).Bind(2, n.dataset).Bind(3, n.field).Bind(4, n.kind);
    node.Bind(5, n.data_type).Bind(6, n.owner).Bind(7, now);
    WS_RETURN_IF_ERROR(Annotate(node.Run(), "lineage: insert node"));
    node.Reset();
  }
  Stmt edge(*db_,
            "INSERT INTO lineage_edges (from_node, to_node, kind, transformation, "
            "subtype, owner, run_id, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(from_node, to_node, transformation, subtype) DO UPDATE SET "
            "kind = excluded.kind, owner = excluded.owner, run_id = excluded.run_id, "
            "recorded_at = excluded.recorded_at");
  WS_RETURN_IF_ERROR(Annotate(edge.status(), "lineage: prepare edge"));
  for (const LineageEdge& e : r.edges) {
    edge.Bind(1, e.from).Bind(2, e.to).Bind(3, e.kind).Bind(4, e.transformation);
    edge.Bind(5, e.subtype).Bind(6, e.owner).Bind(7, r.run_id).Bind(8, now);
    WS_RETURN_IF_ERROR(Annotate(edge.Run(), "lineage: insert edge"));
    edge.Reset();
  }
  Stmt own(*db_,
           "INSERT INTO lineage_owners (owner, kind, run_id, recorded_at, "
           "column_level, note) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(owner) DO UPDATE SET "
           "kind = excluded.kind, run_id = excluded.run_id, recorded_at = excluded.recorded_at, "
           "column_level = excluded.column_level, note = excluded.note");
  own.Bind(1, r.owner).Bind(2, r.kind).Bind(3, r.run_id).Bind(4, now);
  own.Bind(5, int64_t{r.column_level ? 1 : 0}).Bind(6, r.note);
  WS_RETURN_IF_ERROR(Annotate(own.Run(), "lineage: insert owner"));
  return Annotate(txn.Commit(), "lineage");
}

StatusOr<std::optional<LineageNode>> LineageStore::Node(const std::string& node) {
  Stmt q(*db_,
         "SELECT node, dataset, field, kind, data_type, owner FROM lineage_nodes WHERE node = ?");
  q.Bind(1, node);
  WS_ASSIGN_OR_RETURN(bool row, StepRow(q));
  if (!row) return std::nullopt;
  return LineageNode{q.Text(0), q.Text(1), q.Text(2), q.Text(3), q.Text(4), q.Text(5)};
}

std::vector<std::string> LineageStore::Fields(const std::string& dataset) {
  std::vector<std::string> out;
  Stmt q(*db_, "SELECT field FROM lineage_nodes WHERE dataset = ? AND field <> '' ORDER BY {ROWID}");
  q.Bind(1, dataset);
  while (true) {
    auto row = q.Step();
    if (!row.ok() || !*row) break;
    out.push_back(q.Text(0));
  }
  return out;
}

StatusOr<std::vector<LineageEdge>> LineageStore::Edges(const std::string& node, bool upstream) {
  std::vector<LineageEdge> out;
  Stmt q(*db_, upstream ? "SELECT from_node, to_node, kind, transformation, subtype, owner FROM "
                          "lineage_edges WHERE to_node = ? ORDER BY from_node, transformation, "
                          "subtype"
                        : "SELECT from_node, to_node, kind, transformation, subtype, owner FROM "
                          "lineage_edges WHERE from_node = ? ORDER BY to_node, transformation, "
                          "subtype");
  q.Bind(1, node);
  while (true) {
    WS_ASSIGN_OR_RETURN(bool row, StepRow(q));
    if (!row) break;
    out.push_back({q.Text(0), q.Text(1), q.Text(2), q.Text(3), q.Text(4), q.Text(5)});
  }
  return out;
}

StatusOr<std::vector<std::string>> LineageStore::AllNodes() {
  std::vector<std::string> out;
  Stmt q(*db_, "SELECT node FROM lineage_nodes ORDER BY node");
  while (true) {
    WS_ASSIGN_OR_RETURN(bool row, StepRow(q));
    if (!row) break;
    out.push_back(q.Text(0));
  }
  return out;
}

}  // namespace watershed::observe
