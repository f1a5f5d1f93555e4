// normalize/normalizer.cc — see normalizer.h. The record walk is a recursion over simdjson's
// DOM; every table keeps a tree of Nodes (one per flattened path) so a known path costs one hash
// lookup per key, with no string building.
#include "watershed/normalize/normalizer.h"

#include <simdjson.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>

#include <unordered_map>
#include <unordered_set>
#include "watershed/normalize/infer.h"

namespace watershed::normalize {

StatusOr<Contract> ParseContract(std::string_view name) {
  if (name == "evolve") return Contract::kEvolve;
  if (name == "freeze") return Contract::kFreeze;
  if (name == "discard_row") return Contract::kDiscardRow;
  return absl::InvalidArgumentError(StrCat(
      "unknown contract '", name, "' (expected evolve, freeze or discard_row)"));
}

std::string_view ContractName(Contract c) {
  switch (c) {
    case Contract::kEvolve: return "evolve";
    case Contract::kFreeze: return "freeze";
    case Contract::kDiscardRow: return "discard_row";
  }
  return "evolve";
}

namespace {

constexpr int kNumTypes = 7;
constexpr int64_t kMaxExactDouble = int64_t{1} << 53;

// One value on its way to a cell. `text` is the value as it appeared when it came from text
// (a JSON string or a CSV field); numbers from JSON have no text and are rendered on demand.
struct Scalar {
  ColumnType type;
  uint64_t slot = 0;
  std::string_view text = {};
  bool has_text = false;
};

struct Table;

struct Node {
  std::string key;     // the JSON key this node was reached by (as the client wrote it)
  std::string name;    // flattened column name by the convention (naming.h), "" at a root
  std::string source;  // JSON path from the root record: "$.a.b", "$.tags[*]"
  bool system = false;  // a system column stamped by the caller: `name` is the column
  // Children in the order the last object listed its keys: objects of one source mostly repeat
  // their key order, so position i is checked before the hash map.
  std::vector<Node*> order;
  std::unordered_map<std::string, std::unique_ptr<Node>, StringHash, std::equal_to<>> children;
  int column = -1;
  std::array<int, kNumTypes> variant{-1, -1, -1, -1, -1, -1, -1};
  bool money = false;
  Table* child_table = nullptr;
};

struct Table {
  std::string name;
  std::string parent;
  std::string source;  // a child table's array path ("$.categories[*]"), "$" for the root
  bool is_child = false;
  std::vector<ColumnSpec> columns;
  std::vector<ColumnData> data;
  std::unordered_map<std::string, int, StringHash, std::equal_to<>> by_name;
  // Which column holds each JSON path's values ("$.a", and "$.a <type>" for its variants).
  std::unordered_map<std::string, int, StringHash, std::equal_to<>> by_source;
  std::unordered_set<std::string> lower_names;  // every name taken, lower-cased
  size_t num_system = 2;
  size_t used = 0;  // data columns plus child tables, against max_columns
  size_t rows = 0;
  Node root;
  std::unique_ptr<Node> scalar;  // where non-object values (records, array elements) go
  std::unordered_map<std::string, std::unique_ptr<Node>> system_nodes;
};

// The by_source key of a variant column of `source`.
std::string VariantKey(std::string_view source, ColumnType type) {
  return StrCat(source, " ", ColumnTypeName(type));
}

uint64_t DoubleBits(double d) {
  uint64_t u;
  std::memcpy(&u, &d, sizeof u);
  return u;
}

double BitsDouble(uint64_t u) {
  double d;
  std::memcpy(&d, &u, sizeof d);
  return d;
}

bool MulOverflows(int64_t v, int64_t f, int64_t* out) { return __builtin_mul_overflow(v, f, out); }

}  // namespace

struct Normalizer::Impl {
  NormalizerOptions options;
  std::vector<std::unique_ptr<Table>> tables;
  std::unordered_map<std::string, Table*, StringHash, std::equal_to<>> tables_by_name;
  std::unordered_map<std::string, Table*, StringHash, std::equal_to<>> tables_by_source;
  std::shared_ptr<StringArena> arena = std::make_shared<StringArena>();
  simdjson::dom::parser parser;
  int64_t next_id = 0;
  size_t approx_bytes = 0;
  Status error;
  std::vector<size_t> saved_rows;
  // What a record changed in the schemas, undone when the record turns out bad.
  struct Saved {
    size_t columns;
    size_t used;
  };
  std::vector<Saved> saved_schema;
  std::vector<std::pair<Node*, std::string>> created_nodes;  // (parent, key)
  std::vector<Node*> touched_nodes;  // got a column, variant or child table
  size_t depth = 0;
  std::vector<Node*> csv_nodes;
  std::vector<std::string> csv_header_seen;
  char numbuf[64];

  // ---- tables and columns ----

  Table* AddTable(const std::string& name, const std::string& parent, const std::string& source,
                  const std::vector<ColumnSpec>* known_columns) {
    auto t = std::make_unique<Table>();
    t->name = name;
    t->parent = parent;
    t->source = source;
    t->root.source = source;
    t->is_child = !parent.empty();
    t->num_system = t->is_child ? 4 : 2;
    std::vector<ColumnSpec> cols;
    if (known_columns != nullptr && !known_columns->empty()) {
      cols = *known_columns;
    } else {
      cols.push_back({std::string(kIdColumn), ColumnType::kBigint});
      cols.push_back({std::string(kLoadIdColumn), ColumnType::kBigint});
      if (t->is_child) {
        cols.push_back({std::string(kParentIdColumn), ColumnType::kBigint});
        // The index's source records which array the table holds (ColumnSpec::source).
        cols.push_back({std::string(kIndexColumn), ColumnType::kBigint, source});
      }
    }
    // The default partition key comes back as a column when the table is read.
    t->lower_names.insert(std::string(kIngestDateColumn));
    for (ColumnSpec& c : cols) {
      const int index = static_cast<int>(t->columns.size());
      t->by_name[c.name] = index;
      t->lower_names.insert(ToLower(c.name));
      if (c.name == kIndexColumn && !c.source.empty()) {
        t->source = c.source;
        t->root.source = c.source;
      } else if (!c.source.empty() && !IsSystemName(c.name)) {
        // A path's first column holds its values; later ones with the path are its variants.
        if (!t->by_source.contains(c.source)) {
          t->by_source[c.source] = index;
        } else {
          t->by_source[VariantKey(c.source, c.type)] = index;
        }
      }
      if (!IsSystemName(c.name)) ++t->used;
      t->columns.push_back(std::move(c));
      t->data.emplace_back();
    }
    Table* raw = t.get();
    tables_by_name[name] = raw;
    if (!raw->source.empty()) tables_by_source[raw->source] = raw;
    tables.push_back(std::move(t));
    return raw;
  }

  bool NameTaken(const Table& t, const std::string& name) const {
    return t.by_name.contains(name) || t.lower_names.contains(ToLower(name));
  }

  // Counts one more data column or child table of `t`; false (and the error) past the limit.
  bool Budget(Table& t, std::string_view what) {
    if (options.max_columns > 0 && t.used >= options.max_columns) {
      error = absl::InvalidArgumentError(StrCat(
          "record would give table ", t.name, " more than ", options.max_columns,
          " columns and child tables (", what, "); raise limits.max_columns (--max-columns) "
          "if such records are expected"));
      return false;
    }
    ++t.used;
    return true;
  }

  bool SchemaChangeAllowed(const Table& t, std::string_view what) {
    if (options.contract == Contract::kEvolve) return true;
    error = absl::FailedPreconditionError(StrCat(
        "contract ", ContractName(options.contract), " on ", options.root_table, ": ", what,
        " in table ", t.name));
    return false;
  }

  // The column of node `n` (its values, or with `variant` its values of `type` that do not
  // fit), created with `type` when missing. A path owns its column: another path whose name
  // would be equal (keys that normalize alike, a name of a system or partition column, a name
  // bounded to the same prefix) gets a hash suffix. -1 (and the error) when a contract or limit
  // forbids a new column.
  int ColumnFor(Table& t, const Node& n, ColumnType type, bool variant) {
    const std::string want = variant ? VariantColumnName(n.name, type) : n.name;
    const std::string key = n.system ? "" : variant ? VariantKey(n.source, type) : n.source;
    std::string name = want;
    if (n.system) {  // a system column: its own name, always
      if (auto it = t.by_name.find(want); it != t.by_name.end()) return it->second;
    } else {
      if (auto it = t.by_source.find(key); it != t.by_source.end()) return it->second;
      name = BoundName(want, key);
      // A column of a table written before sources were kept: the path it was named after
      // takes it over.
      if (auto it = t.by_name.find(name); it != t.by_name.end() && !IsSystemName(name) &&
                                          t.columns[it->second].source.empty()) {
        t.columns[it->second].source = n.source;
        return t.by_source[key] = it->second;
      }
      for (int k = 0; NameTaken(t, name); ++k) {
        name = DisambiguatedName(want, k == 0 ? key : StrCat(key, " ", k));
      }
    }
    if (!SchemaChangeAllowed(t, StrCat("new column ", name))) return -1;
    if (!n.system && !Budget(t, StrCat("new column ", name, " for ", n.source))) return -1;
    const int index = static_cast<int>(t.columns.size());
    if (!n.system) t.by_source[key] = index;
    t.by_name[name] = index;
    t.lower_names.insert(ToLower(name));
    t.columns.push_back({name, type, n.system ? std::string() : n.source});
    t.data.emplace_back();
    return index;
  }

  Table* ChildTable(Table& t, Node& n) {
    if (n.child_table != nullptr) return n.child_table;
    const std::string source = StrCat(n.source, "[*]");
    if (auto it = tables_by_source.find(source); it != tables_by_source.end()) {
      Touch(n).child_table = it->second;
      return n.child_table;
    }
    const std::string want = ChildTableName(t.name, n.name);
    std::string name = BoundTableName(want, source);
    auto it = tables_by_name.find(name);
    if (it != tables_by_name.end() && it->second->source.empty()) {
      // A child table written before sources were kept: the array it was named after takes it.
      Table* legacy = it->second;
      legacy->source = source;
      legacy->root.source = source;
      if (legacy->is_child && legacy->columns.size() > 3) legacy->columns[3].source = source;
      tables_by_source[source] = legacy;
      Touch(n).child_table = legacy;
      return legacy;
    }
    for (int k = 0; tables_by_name.contains(name); ++k) {
      const size_t dot = want.find('.');
      name = StrCat(want.substr(0, dot + 1),
                    DisambiguatedName(want.substr(dot + 1), k == 0 ? source : StrCat(source, " ", k)));
    }
    if (!SchemaChangeAllowed(t, StrCat("new child table ", name))) return nullptr;
    if (!Budget(t, StrCat("new child table ", name, " for ", source))) return nullptr;
    Touch(n).child_table = AddTable(name, t.name, source, nullptr);
    return n.child_table;
  }

  Node& Touch(Node& n) {
    touched_nodes.push_back(&n);
    return n;
  }

  Node* Child(Node& parent, std::string_view key) {
    auto it = parent.children.find(key);
    if (it != parent.children.end()) return it->second.get();
    auto node = std::make_unique<Node>();
    node->key = std::string(key);
    node->name = JoinPath(parent.name, NormalizeKey(key));
    node->source = StrCat(parent.source, JsonPathSegment(key));
    Node* raw = node.get();
    parent.children.emplace(std::string(key), std::move(node));
    created_nodes.emplace_back(&parent, std::string(key));
    return raw;
  }

  // The node of a table's non-object values: `value`, with the table's own path.
  Node* ScalarNode(Table& t) {
    if (!t.scalar) {
      t.scalar = std::make_unique<Node>();
      t.scalar->key = std::string(kValueColumn);
      t.scalar->name = std::string(kValueColumn);
      t.scalar->source = t.source;
    }
    return t.scalar.get();
  }

  Node* SystemNode(Table& t, std::string_view column) {
    auto& node = t.system_nodes[std::string(column)];
    if (!node) {
      node = std::make_unique<Node>();
      node->key = std::string(column);
      node->name = std::string(column);
      node->system = true;
    }
    return node.get();
  }

  // ---- rows and cells ----

  size_t NewRow(Table& t, int64_t parent_id, int64_t index, int64_t* id) {
    size_t row = t.rows++;
    *id = (options.load_number << 40) | next_id++;
    PutSlot(t, 0, row, static_cast<uint64_t>(*id));
    PutSlot(t, 1, row, static_cast<uint64_t>(options.load_number));
    if (t.is_child) {
      PutSlot(t, 2, row, static_cast<uint64_t>(parent_id));
      PutSlot(t, 3, row, static_cast<uint64_t>(index));
    }
    return row;
  }

  void PadTo(ColumnData& d, bool is_text, size_t row) {
    if (d.valid.size() >= row) return;
    d.valid.resize(row, 0);
    if (is_text) {
      d.strings.resize(row);
    } else {
      d.slots.resize(row, 0);
    }
  }

  void PutSlot(Table& t, int col, size_t row, uint64_t slot) {
    ColumnData& d = t.data[col];
    if (d.valid.size() > row) {  // a duplicate key in one object: the last value wins
      d.slots[row] = slot;
      return;
    }
    PadTo(d, false, row);
    d.slots.push_back(slot);
    d.valid.push_back(1);
    approx_bytes += 9;
  }

  void PutText(Table& t, int col, size_t row, std::string_view text) {
    ColumnData& d = t.data[col];
    std::string_view stored = arena->Copy(text);
    if (d.valid.size() > row) {
      d.strings[row] = stored;
      return;
    }
    PadTo(d, true, row);
    d.strings.push_back(stored);
    d.valid.push_back(1);
    approx_bytes += 17;
  }

  std::string_view Render(const Scalar& s) {
    if (s.has_text) return s.text;
    switch (s.type) {
      case ColumnType::kBoolean: return s.slot ? "true" : "false";
      case ColumnType::kBigint: {
        auto r = std::to_chars(numbuf, numbuf + sizeof numbuf, static_cast<int64_t>(s.slot));
        return {numbuf, static_cast<size_t>(r.ptr - numbuf)};
      }
      case ColumnType::kDouble: {
        auto r = std::to_chars(numbuf, numbuf + sizeof numbuf, BitsDouble(s.slot));
        return {numbuf, static_cast<size_t>(r.ptr - numbuf)};
      }
      case ColumnType::kDecimal: {
        int64_t v = static_cast<int64_t>(s.slot);
        int n = std::snprintf(numbuf, sizeof numbuf, "%s%lld.%04lld", v < 0 ? "-" : "",
                              std::llabs(v / kDecimalFactor), std::llabs(v % kDecimalFactor));
        return {numbuf, static_cast<size_t>(n)};
      }
      case ColumnType::kDate: {
        std::string d = FormatDate(static_cast<int64_t>(s.slot));
        std::memcpy(numbuf, d.data(), d.size());
        return {numbuf, d.size()};
      }
      case ColumnType::kTimestamp: {
        std::string d = FormatTimestampMicros(static_cast<int64_t>(s.slot));
        std::memcpy(numbuf, d.data(), d.size());
        return {numbuf, d.size()};
      }
      case ColumnType::kVarchar: return s.text;
    }
    return s.text;
  }

  // The slot of `s` in a column of type `c`, when it fits there without loss.
  std::optional<uint64_t> Fit(ColumnType c, const Scalar& s) {
    if (c == s.type) return s.slot;
    int64_t v = static_cast<int64_t>(s.slot);
    switch (c) {
      case ColumnType::kDouble:
        if (s.type == ColumnType::kBigint && std::llabs(v) <= kMaxExactDouble) {
          return DoubleBits(static_cast<double>(v));
        }
        return std::nullopt;
      case ColumnType::kDecimal: {
        int64_t scaled;
        if (s.type == ColumnType::kBigint && !MulOverflows(v, kDecimalFactor, &scaled)) {
          return static_cast<uint64_t>(scaled);
        }
        if (s.type == ColumnType::kDouble) {
          if (auto d = DoubleToDecimal(BitsDouble(s.slot))) return static_cast<uint64_t>(*d);
        }
        return std::nullopt;
      }
      case ColumnType::kTimestamp:
        if (s.type == ColumnType::kDate) return static_cast<uint64_t>(v * 86400000000LL);
        return std::nullopt;
      default:
        return std::nullopt;
    }
  }

  // Whether every buffered value of column `col` converts to `to` without loss; converts if so.
  bool WidenColumn(Table& t, int col, ColumnType to) {
    ColumnType from = t.columns[col].type;
    ColumnData& d = t.data[col];
    std::vector<uint64_t> converted(d.slots.size());
    for (size_t i = 0; i < d.slots.size(); ++i) {
      if (!d.valid[i]) continue;
      auto slot = Fit(to, Scalar{from, d.slots[i]});
      if (!slot) return false;
      converted[i] = *slot;
    }
    d.slots = std::move(converted);
    t.columns[col].type = to;
    return true;
  }

  void SetScalar(Table& t, Node& n, size_t row, Scalar s) {
    // Money amounts are exact decimals, unless the column already had to hold doubles.
    if (n.money && (s.type == ColumnType::kBigint || s.type == ColumnType::kDouble) &&
        (n.column < 0 || t.columns[n.column].type == ColumnType::kDecimal)) {
      if (auto slot = Fit(ColumnType::kDecimal, s)) s = Scalar{ColumnType::kDecimal, *slot};
    }
    if (n.column < 0) {
      n.column = ColumnFor(t, n, s.type, false);
      if (n.column < 0) return;
      Touch(n);
    }
    ColumnType c = t.columns[n.column].type;
    if (c == ColumnType::kVarchar) return PutText(t, n.column, row, Render(s));
    if (s.type == ColumnType::kVarchar) return PutVariant(t, n, row, s);
    if (auto slot = Fit(c, s)) return PutSlot(t, n.column, row, *slot);
    auto wider = WiderType(c, s.type);
    if (wider && *wider == s.type) {
      if (!SchemaChangeAllowed(t, StrCat("type change of ", t.columns[n.column].name,
                                               " from ", ColumnTypeName(c), " to ",
                                               ColumnTypeName(s.type)))) {
        return;
      }
      if (WidenColumn(t, n.column, s.type)) return PutSlot(t, n.column, row, s.slot);
    }
    PutVariant(t, n, row, s);
  }

  void PutVariant(Table& t, Node& n, size_t row, const Scalar& s) {
    int& v = n.variant[static_cast<int>(s.type)];
    if (v < 0) {
      v = ColumnFor(t, n, s.type, true);
      if (v < 0) return;
      Touch(n);
    }
    if (s.type == ColumnType::kVarchar) return PutText(t, v, row, s.text);
    PutSlot(t, v, row, s.slot);
  }

  // ---- JSON ----

  Scalar StringScalar(std::string_view text) {
    if (text.size() == 10) {
      if (auto d = ParseDate(text)) return {ColumnType::kDate, static_cast<uint64_t>(*d), text, true};
    } else if (text.size() >= 19 && text.size() <= 35) {
      if (auto ts = ParseTimestamp(text)) {
        return {ColumnType::kTimestamp, static_cast<uint64_t>(*ts), text, true};
      }
    }
    return {ColumnType::kVarchar, 0, text, true};
  }

  // One level deeper (an object or array); false (and the error) past max_depth.
  bool Deeper(const Node& n) {
    if (options.max_depth > 0 && depth >= options.max_depth) {
      error = absl::InvalidArgumentError(StrCat(
          "record nests objects and arrays deeper than ", options.max_depth, " levels (at ",
          n.source.substr(0, 200), "); raise limits.max_depth (--max-depth) if such records "
          "are expected"));
      return false;
    }
    ++depth;
    return true;
  }

  void AddValue(Table& t, Node& n, size_t row, simdjson::dom::element v) {
    using simdjson::dom::element_type;
    switch (v.type()) {
      case element_type::OBJECT:
        if (!Deeper(n)) return;
        AddObject(t, n, row, v.get_object().value_unsafe());
        --depth;
        return;
      case element_type::ARRAY:
        if (!Deeper(n)) return;
        AddArray(t, n, row, v.get_array().value_unsafe());
        --depth;
        return;
      case element_type::NULL_VALUE: return;
      case element_type::BOOL:
        return SetScalar(t, n, row, {ColumnType::kBoolean, v.get_bool().value_unsafe() ? 1u : 0u});
      case element_type::INT64:
        return SetScalar(t, n, row,
                         {ColumnType::kBigint, static_cast<uint64_t>(v.get_int64().value_unsafe())});
      case element_type::UINT64: {  // above int64: kept exactly as text
        auto r = std::to_chars(numbuf, numbuf + sizeof numbuf, v.get_uint64().value_unsafe());
        return SetScalar(t, n, row,
                         {ColumnType::kVarchar, 0,
                          std::string_view(numbuf, static_cast<size_t>(r.ptr - numbuf)), true});
      }
      case element_type::DOUBLE:
        return SetScalar(t, n, row, {ColumnType::kDouble, DoubleBits(v.get_double().value_unsafe())});
      case element_type::STRING:
        return SetScalar(t, n, row, StringScalar(v.get_string().value_unsafe()));
    }
  }

  void AddObject(Table& t, Node& n, size_t row, simdjson::dom::object obj) {
    bool money = false;
    for (auto field : obj) {
      if (field.key == "currency") {
        money = true;
        break;
      }
    }
    size_t i = 0;
    for (auto field : obj) {
      Node* c;
      if (i < n.order.size() && n.order[i]->key == field.key) {
        c = n.order[i];
      } else {
        c = Child(n, field.key);
        if (i >= n.order.size()) n.order.resize(i + 1);
        n.order[i] = c;
      }
      ++i;
      if (money && !c->money && (field.key == "value" || field.key == "value_usd")) {
        c->money = true;
      }
      AddValue(t, *c, row, field.value);
      if (!error.ok()) return;
    }
  }

  void AddArray(Table& t, Node& n, size_t parent_row, simdjson::dom::array arr) {
    if (arr.size() == 0) return;
    Table* ct = ChildTable(t, n);
    if (ct == nullptr) return;
    const int64_t parent_id = static_cast<int64_t>(t.data[0].slots[parent_row]);
    int64_t index = 0;
    for (simdjson::dom::element e : arr) {
      int64_t id;
      size_t row = NewRow(*ct, parent_id, index++, &id);
      if (e.type() == simdjson::dom::element_type::OBJECT) {
        if (!Deeper(ct->root)) return;
        AddObject(*ct, ct->root, row, e.get_object().value_unsafe());
        --depth;
      } else {
        AddValue(*ct, *ScalarNode(*ct), row, e);
      }
      if (!error.ok()) return;
    }
  }

  // ---- records ----

  void BeginRecord() {
    error = absl::OkStatus();
    depth = 0;
    saved_rows.resize(tables.size());
    saved_schema.resize(tables.size());
    for (size_t i = 0; i < tables.size(); ++i) {
      saved_rows[i] = tables[i]->rows;
      saved_schema[i] = {tables[i]->columns.size(), tables[i]->used};
    }
    created_nodes.clear();
    touched_nodes.clear();
  }

  // Undoes the schema changes of a bad record: its new columns, child tables and nodes.
  void RollbackSchema() {
    bool grew = tables.size() > saved_schema.size();
    for (size_t i = 0; i < saved_schema.size() && !grew; ++i) {
      grew = tables[i]->columns.size() > saved_schema[i].columns;
    }
    if (grew) {
      for (Node* n : touched_nodes) {
        // Every column, variant or child table a node got in this record: forgotten (a column
        // kept from earlier records is found again through by_source).
        n->column = -1;
        n->variant.fill(-1);
        n->child_table = nullptr;
      }
      while (tables.size() > saved_schema.size()) {
        tables_by_name.erase(tables.back()->name);
        tables_by_source.erase(tables.back()->source);
        tables.pop_back();
      }
      for (size_t i = 0; i < tables.size(); ++i) {
        Table& t = *tables[i];
        const size_t keep = saved_schema[i].columns;
        for (size_t c = keep; c < t.columns.size(); ++c) {
          t.by_name.erase(t.columns[c].name);
          t.lower_names.erase(ToLower(t.columns[c].name));
        }
        std::erase_if(t.by_source, [&](const auto& kv) { return static_cast<size_t>(kv.second) >= keep; });
        t.columns.resize(keep);
        t.data.resize(keep);
        t.used = saved_schema[i].used;
      }
    }
    for (auto it = created_nodes.rbegin(); it != created_nodes.rend(); ++it) {
      Node* parent = it->first;
      auto child = parent->children.find(it->second);
      if (child == parent->children.end()) continue;
      std::erase(parent->order, child->second.get());
      parent->children.erase(child);
    }
    created_nodes.clear();
    touched_nodes.clear();
  }

  Status EndRecord() {
    if (error.ok()) return error;
    RollbackSchema();
    for (size_t i = 0; i < saved_rows.size(); ++i) {
      Table& t = *tables[i];
      t.rows = saved_rows[i];
      for (ColumnData& d : t.data) {
        if (d.valid.size() > t.rows) {
          d.valid.resize(t.rows);
          if (!d.slots.empty()) d.slots.resize(std::min(d.slots.size(), t.rows));
          if (!d.strings.empty()) d.strings.resize(std::min(d.strings.size(), t.rows));
        }
      }
    }
    return error;
  }
};

Normalizer::Normalizer(NormalizerOptions options, const std::vector<TableSchema>& known)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  const std::string& root = impl_->options.root_table;
  const std::vector<ColumnSpec>* root_cols = nullptr;
  for (const TableSchema& s : known) {
    if (s.name == root) root_cols = &s.columns;
  }
  impl_->AddTable(root, "", "$", root_cols);
  for (const TableSchema& s : known) {
    if (s.name != root) impl_->AddTable(s.name, s.parent, "", &s.columns);
  }
  for (const auto& t : impl_->tables) {  // a child table counts against its parent's limit
    if (auto p = impl_->tables_by_name.find(t->parent); p != impl_->tables_by_name.end()) {
      ++p->second->used;
    }
  }
}

Normalizer::~Normalizer() = default;

Status Normalizer::AddJson(std::string_view json, bool padded,
                           std::span<const SystemValue> system) {
  simdjson::dom::element doc;
  auto err = impl_->parser.parse(json.data(), json.size(), !padded).get(doc);
  if (err) {
    return absl::InvalidArgumentError(
        StrCat("malformed JSON: ", simdjson::error_message(err)));
  }
  return AddElement(doc, system);
}

Status Normalizer::AddElement(simdjson::dom::element doc, std::span<const SystemValue> system) {
  Impl& im = *impl_;
  im.BeginRecord();
  Table& root = *im.tables[0];
  int64_t id;
  size_t row = im.NewRow(root, 0, 0, &id);
  for (const SystemValue& v : system) {
    if (!im.error.ok()) break;
    Scalar s{v.type, static_cast<uint64_t>(v.number)};
    if (v.type == ColumnType::kVarchar) s = {v.type, 0, v.text, true};
    im.SetScalar(root, *im.SystemNode(root, v.column), row, s);
  }
  if (im.error.ok() && doc.type() == simdjson::dom::element_type::OBJECT) {
    if (im.Deeper(root.root)) im.AddObject(root, root.root, row, doc.get_object().value_unsafe());
  } else if (im.error.ok()) {
    im.AddValue(root, *im.ScalarNode(root), row, doc);
  }
  WS_RETURN_IF_ERROR(im.EndRecord());
  ++records_;
  return absl::OkStatus();
}

Status Normalizer::AddCsvRow(const std::vector<std::string>& header,
                             const std::vector<std::string_view>& fields,
                             const std::vector<bool>& quoted) {
  Impl& im = *impl_;
  Table& root = *im.tables[0];
  if (im.csv_header_seen != header) {
    im.csv_header_seen = header;
    im.csv_nodes.clear();
    for (const std::string& h : header) im.csv_nodes.push_back(im.Child(root.root, h));
  }
  im.BeginRecord();
  int64_t id;
  size_t row = im.NewRow(root, 0, 0, &id);
  for (size_t i = 0; i < fields.size() && i < im.csv_nodes.size() && im.error.ok(); ++i) {
    std::string_view f = fields[i];
    bool q = i < quoted.size() && quoted[i];
    if (f.empty() && !q) continue;  // NULL
    if (const size_t valid = ValidUtf8Prefix(f); valid < f.size()) {
      im.error = absl::InvalidArgumentError(
          StrCat("field ", i + 1, " (column '", ToValidUtf8(header[i].substr(0, 100)),
                 "') is not valid UTF-8 at byte ", valid, " of the field"));
      break;
    }
    Scalar s = im.StringScalar(f);
    if (s.type == ColumnType::kVarchar) {
      if (f == "true" || f == "false") {
        s = {ColumnType::kBoolean, f == "true" ? 1u : 0u, f, true};
      } else if (auto v = ParseCanonicalInt(f)) {
        s = {ColumnType::kBigint, static_cast<uint64_t>(*v), f, true};
      } else if (auto d = ParseCanonicalDouble(f)) {
        s = {ColumnType::kDouble, DoubleBits(*d), f, true};
      }
    }
    im.SetScalar(root, *im.csv_nodes[i], row, s);
  }
  WS_RETURN_IF_ERROR(im.EndRecord());
  ++records_;
  return absl::OkStatus();
}

size_t Normalizer::buffered_bytes() const { return impl_->approx_bytes + impl_->arena->bytes(); }

std::vector<TableBatch> Normalizer::Flush() {
  Impl& im = *impl_;
  std::vector<TableBatch> out;
  for (auto& tp : im.tables) {
    Table& t = *tp;
    if (t.rows == 0) continue;
    TableBatch b;
    b.table = t.name;
    b.columns = t.columns;
    b.num_rows = t.rows;
    b.arena = im.arena;
    for (size_t c = 0; c < t.data.size(); ++c) {
      ColumnData& d = t.data[c];
      im.PadTo(d, t.columns[c].type == ColumnType::kVarchar, t.rows);
      const size_t capacity = d.valid.capacity();
      const bool text = t.columns[c].type == ColumnType::kVarchar;
      b.data.push_back(std::move(d));
      d = ColumnData();
      // The next batch is likely as large: reserve now instead of growing by copies.
      d.valid.reserve(capacity);
      if (text) {
        d.strings.reserve(capacity);
      } else {
        d.slots.reserve(capacity);
      }
    }
    t.rows = 0;
    out.push_back(std::move(b));
  }
  im.arena = std::make_shared<StringArena>();
  im.approx_bytes = 0;
  return out;
}

std::vector<TableSchema> Normalizer::Schemas() const {
  std::vector<TableSchema> out;
  for (const auto& t : impl_->tables) out.push_back({t->name, t->parent, t->columns});
  return out;
}

}  // namespace watershed::normalize
