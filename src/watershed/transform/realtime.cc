// transform/realtime.cc — see realtime.h.
#include "watershed/transform/realtime.h"


#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>
#include <simdjson.h>

#include "watershed/base/clock.h"
#include "watershed/base/log.h"
#include "watershed/store/store.h"
#include "watershed/base/strings.h"
#include "watershed/normalize/infer.h"
#include "watershed/base/metrics.h"

namespace watershed::transform {
namespace {

// A stable 64-bit hash (FNV-1a, then a murmur-style finalizer): the registers persist across
// restarts, so the hash must not depend on the process. Deliberately not base/ids.h's
// Fingerprint64: HyperLogLog registers already stored in marts/realtime.db were built with this
// function, and events seen before would count again under another hash; rebuilding them is
// not always possible once log retention has removed the events.
uint64_t StableHash(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

using store::Stmt;

// SQL quoting is the same in SQLite and DuckDB.
using warehouse::QuoteIdent;
using warehouse::QuoteLiteral;

std::string ColumnSuffix(std::string_view field) {
  std::string out;
  for (char c : field) out += (std::isalnum(static_cast<unsigned char>(c)) ? std::tolower(c) : '_');
  return out;
}

std::string Pointer(std::string_view dotted) {
  std::string out;
  size_t start = 0;
  while (start <= dotted.size()) {
    size_t dot = dotted.find('.', start);
    if (dot == std::string_view::npos) dot = dotted.size();
    out += "/";
    for (char c : dotted.substr(start, dot - start)) {
      if (c == '~') out += "~0";
      else if (c == '/') out += "~1";
      else out += c;
    }
    start = dot + 1;
  }
  return out;
}

std::string Definition(const Accumulator& a) {
  nlohmann::json j = {{"key", a.key}, {"time", a.time}, {"windows", a.window_names}};
  for (const Measure& m : a.measures) j["measures"].push_back({m.kind, m.field});
  return j.dump();
}

// The state of one (window, window_start, key) group.
struct Partial {
  int64_t count = 0;
  std::vector<double> sum, min, max;
  std::vector<HyperLogLog> hll;
  explicit Partial(size_t measures)
      : sum(measures, 0), min(measures, std::numeric_limits<double>::quiet_NaN()),
        max(measures, std::numeric_limits<double>::quiet_NaN()), hll() {}
};

std::optional<double> NumberOf(simdjson::dom::element v) {
  double d;
  int64_t i;
  uint64_t u;
  std::string_view s;
  if (!v.get(i)) return static_cast<double>(i);
  if (!v.get(u)) return static_cast<double>(u);
  if (!v.get(d)) return d;
  if (!v.get(s)) {
    if (auto x = normalize::ParseCanonicalDouble(s)) return *x;
    if (auto x = normalize::ParseCanonicalInt(s)) return static_cast<double>(*x);  // "12" too
  }
  return std::nullopt;
}

// A value as text for keys and distinct counting: strings as they are, others as JSON.
std::optional<std::string> TextOf(simdjson::dom::element v) {
  std::string_view s;
  if (!v.get(s)) return std::string(s);
  if (v.is_null()) return std::nullopt;
  return simdjson::minify(v);
}

std::optional<int64_t> TimeOf(simdjson::dom::element v) {
  std::string_view s;
  if (!v.get(s)) return normalize::ParseTimestamp(s);
  auto n = NumberOf(v);
  if (!n) return std::nullopt;
  double x = *n;
  if (std::abs(x) < 1e11) return static_cast<int64_t>(x * 1e6);   // seconds
  if (std::abs(x) < 1e14) return static_cast<int64_t>(x * 1e3);   // milliseconds
  return static_cast<int64_t>(x);                                  // microseconds
}

int64_t FloorTo(int64_t t, int64_t w) {
  int64_t q = t / w;
  if (t % w != 0 && t < 0) --q;
  return q * w;
}

}  // namespace

void HyperLogLog::AddHash(uint64_t hash) {
  size_t idx = hash >> (64 - kPrecision);
  uint64_t rest = (hash << kPrecision) | (uint64_t{1} << (kPrecision - 1));
  uint8_t rank = static_cast<uint8_t>(__builtin_clzll(rest) + 1);
  if (static_cast<uint8_t>(registers_[idx]) < rank) registers_[idx] = static_cast<char>(rank);
}

void HyperLogLog::Merge(const HyperLogLog& other) {
  for (size_t i = 0; i < kRegisters; ++i) {
    if (static_cast<uint8_t>(other.registers_[i]) > static_cast<uint8_t>(registers_[i])) {
      registers_[i] = other.registers_[i];
    }
  }
}

double HyperLogLog::Estimate() const {
  const double m = static_cast<double>(kRegisters);
  double sum = 0;
  int zeros = 0;
  for (char r : registers_) {
    sum += std::ldexp(1.0, -static_cast<uint8_t>(r));
    if (r == 0) ++zeros;
  }
  const double alpha = 0.7213 / (1 + 1.079 / m);
  double e = alpha * m * m / sum;
  if (e <= 2.5 * m && zeros > 0) e = m * std::log(m / zeros);  // linear counting for small sets
  return e;
}

HyperLogLog HyperLogLog::FromBytes(std::string_view bytes) {
  HyperLogLog h;
  if (bytes.size() == kRegisters) h.registers_.assign(bytes);
  return h;
}

StatusOr<std::vector<Accumulator>> ParseAccumulators(const load::StreamConfig& stream) {
  std::vector<Accumulator> out;
  const YAML::Node list = stream.settings ? stream.settings["accumulators"] : YAML::Node();
  if (!list) return out;
  if (!list.IsSequence()) {
    return absl::InvalidArgumentError(StrCat("streams.", stream.name, ".accumulators: expected a list"));
  }
  int index = 0;
  std::set<std::string> names;
  for (const YAML::Node& n : list) {
    Accumulator a;
    a.stream = stream.name;
    std::string where = StrCat("streams.", stream.name, ".accumulators[", std::to_string(index++), "]");
    try {
      if (!n.IsMap() || !n["name"]) return absl::InvalidArgumentError(StrCat(where, ": needs a name"));
      a.name = n["name"].as<std::string>();
      where = StrCat("streams.", stream.name, ".accumulators.", a.name);
      if (!names.insert(a.name).second) {
        return absl::InvalidArgumentError(StrCat(where, ": the name is used twice (each names a table)"));
      }
      for (char c : a.name) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
          return absl::InvalidArgumentError(StrCat(where, ": name may hold a-z, 0-9 and _ only"));
        }
      }
      if (n["key"]) a.key = n["key"].as<std::string>();
      if (n["time"]) a.time = n["time"].as<std::string>();
      std::vector<std::string> windows = {"1m"};
      if (n["windows"]) windows = n["windows"].as<std::vector<std::string>>();
      for (const std::string& w : windows) {
        auto d = ParseDuration(w);
        if (!d.ok() || *d < absl::Seconds(1)) {
          return absl::InvalidArgumentError(StrCat(where, ".windows: '", w, "' is not a window of at least 1s (1m, 1h, ...)"));
        }
        a.window_names.push_back(w);
        a.window_micros.push_back(absl::ToInt64Microseconds(*d));
      }
      a.measures.push_back({"count", "", "count"});
      if (const YAML::Node ms = n["measures"]) {
        for (const YAML::Node& m : ms) {
          if (m.IsScalar() && m.as<std::string>() == "count") continue;
          if (!m.IsMap() || m.size() != 1) {
            return absl::InvalidArgumentError(StrCat(where, ".measures: each is count or {sum|min|max|distinct: field}"));
          }
          std::string kind = m.begin()->first.as<std::string>();
          std::string field = m.begin()->second.as<std::string>();
          if (kind != "sum" && kind != "min" && kind != "max" && kind != "distinct") {
            return absl::InvalidArgumentError(StrCat(where, ".measures: '", kind, "' is not count, sum, min, max or distinct"));
          }
          Measure measure{kind, field, StrCat(kind, "_", ColumnSuffix(field))};
          for (const Measure& other : a.measures) {
            if (other.column == measure.column) {
              return absl::InvalidArgumentError(
                  StrCat(where, ".measures: {", kind, ": ", field, "} would be column ",
                         measure.column, " a second time"));
            }
          }
          a.measures.push_back(std::move(measure));
        }
      }
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(StrCat(where, ": ", e.what()));
    }
    out.push_back(std::move(a));
  }
  return out;
}

std::string RealtimeDbPath(const project::Project& project) {
  return (std::filesystem::path(project.root()) / "marts" / "realtime.db").string();
}

StatusOr<std::unique_ptr<RealtimeMart>> RealtimeMart::Open(const project::Project& project,
                                                           const std::string& stream,
                                                           std::vector<Accumulator> accumulators) {
  std::string path = RealtimeDbPath(project);
  WS_ASSIGN_OR_RETURN(
      std::unique_ptr<store::Connection> conn,
      store::Connection::Open(path, {.synchronous_normal = true, .owner_only = false}));
  store::Connection& db = *conn;
  std::unique_ptr<RealtimeMart> mart(
      new RealtimeMart(stream, std::move(accumulators), std::move(conn)));
  WS_RETURN_IF_ERROR(db.Exec(
      "BEGIN IMMEDIATE;"
      "CREATE TABLE IF NOT EXISTS realtime_checkpoints(stream TEXT, partition TEXT, position TEXT,"
      " PRIMARY KEY(stream, partition));"
      "CREATE TABLE IF NOT EXISTS realtime_accumulators(table_name TEXT PRIMARY KEY, stream TEXT,"
      " name TEXT, definition TEXT, columns TEXT);"
      "COMMIT;"));
  // A changed definition starts the stream's accumulators over (the writer rewinds the source).
  bool reset = false;
  for (const Accumulator& a : mart->accumulators_) {
    Stmt q(db, "SELECT definition FROM realtime_accumulators WHERE table_name = ?");
    WS_ASSIGN_OR_RETURN(bool found, q.Bind(1, a.table()).Step());
    if (!found || q.Text(0) != Definition(a)) reset = true;
  }
  {
    Stmt q(db, "SELECT count(*) FROM realtime_accumulators WHERE stream = ?");
    WS_ASSIGN_OR_RETURN(bool row, q.Bind(1, stream).Step());
    if (row && q.Int(0) != static_cast<int64_t>(mart->accumulators_.size())) reset = true;
  }
  if (reset) {
    std::string sql = "BEGIN IMMEDIATE;";
    {
      Stmt q(db, "SELECT table_name FROM realtime_accumulators WHERE stream = ?");
      q.Bind(1, stream);
      while (true) {
        WS_ASSIGN_OR_RETURN(bool row, q.Step());
        if (!row) break;
        sql += StrCat("DROP TABLE IF EXISTS ", QuoteIdent(q.Text(0)), ";");
      }
    }
    sql += StrCat("DELETE FROM realtime_accumulators WHERE stream = ", QuoteLiteral(stream), ";");
    sql += StrCat("DELETE FROM realtime_checkpoints WHERE stream = ", QuoteLiteral(stream), ";");
    for (const Accumulator& a : mart->accumulators_) {
      std::string cols = "window_size TEXT, window_start INTEGER, key TEXT, count INTEGER";
      nlohmann::json colnames = nlohmann::json::array();
      for (size_t i = 1; i < a.measures.size(); ++i) {
        const Measure& m = a.measures[i];
        cols += StrCat(", ", QuoteIdent(m.column), m.kind == "distinct" ? " BLOB" : " REAL");
        colnames.push_back(m.column);
      }
      sql += StrCat("DROP TABLE IF EXISTS ", QuoteIdent(a.table()), ";CREATE TABLE ", QuoteIdent(a.table()),
                    "(", cols, ", updated_at INTEGER, PRIMARY KEY(window_size, window_start, key));");
      sql += StrCat("INSERT INTO realtime_accumulators VALUES(", QuoteLiteral(a.table()), ", ",
                    QuoteLiteral(stream), ", ", QuoteLiteral(a.name), ", ", QuoteLiteral(Definition(a)), ", ",
                    QuoteLiteral(colnames.dump()), ");");
    }
    sql += "COMMIT;";
    WS_RETURN_IF_ERROR(db.Exec(sql));
    if (!mart->accumulators_.empty()) {
      LogInfo(StrCat("real-time mart: accumulators of stream ", stream,
                     " (re)defined; they are rebuilt from the stream's retained events"));
    }
  }
  return mart;
}

RealtimeMart::~RealtimeMart() = default;

StatusOr<std::map<std::string, std::string>> RealtimeMart::Checkpoints() {
  std::map<std::string, std::string> out;
  if (accumulators_.empty()) return out;  // nothing to feed: never rewinds the writer
  Stmt q(*db_, "SELECT partition, position FROM realtime_checkpoints WHERE stream = ?");
  q.Bind(1, stream_);
  while (true) {
    WS_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out[q.Text(0)] = q.Text(1);
  }
  return out;
}

Status RealtimeMart::Apply(const std::vector<sources::Event>& events,
                           const std::map<std::string, std::string>& checkpoints) {
  if (accumulators_.empty()) return absl::OkStatus();
  // Fold the batch in memory first: one group per (accumulator, window, start, key).
  using GroupKey = std::tuple<size_t, size_t, int64_t, std::string>;
  std::map<GroupKey, Partial> groups;
  simdjson::dom::parser parser;
  std::vector<std::string> pointers_key, pointers_time;
  std::vector<std::vector<std::string>> pointers_field;
  for (const Accumulator& a : accumulators_) {
    pointers_key.push_back(a.key.empty() ? "" : Pointer(a.key));
    pointers_time.push_back(a.time.empty() ? "" : Pointer(a.time));
    std::vector<std::string> f;
    for (const Measure& m : a.measures) f.push_back(m.field.empty() ? "" : Pointer(m.field));
    pointers_field.push_back(std::move(f));
  }
  std::vector<int64_t> late(accumulators_.size(), 0);
  for (const sources::Event& e : events) {
    simdjson::dom::element doc;
    if (parser.parse(e.payload.data(), e.payload.size()).get(doc)) continue;  // quarantined by the lake
    if (!doc.is_object()) continue;
    for (size_t ai = 0; ai < accumulators_.size(); ++ai) {
      const Accumulator& a = accumulators_[ai];
      std::string key;
      if (!a.key.empty()) {
        simdjson::dom::element v;
        if (!doc.at_pointer(pointers_key[ai]).get(v)) key = TextOf(v).value_or("");
      }
      int64_t t = e.arrived_micros;
      if (!a.time.empty()) {
        simdjson::dom::element v;
        if (doc.at_pointer(pointers_time[ai]).get(v)) continue;  // no time: not counted
        auto parsed = TimeOf(v);
        if (!parsed) continue;
        t = *parsed;
      }
      if (!a.time.empty() && !a.window_micros.empty() &&
          FloorTo(t, a.window_micros[0]) + a.window_micros[0] < e.arrived_micros) {
        late[ai]++;  // its (smallest) window had ended when it arrived; counted all the same
      }
      for (size_t wi = 0; wi < a.window_micros.size(); ++wi) {
        GroupKey gk{ai, wi, FloorTo(t, a.window_micros[wi]), key};
        auto it = groups.find(gk);
        if (it == groups.end()) it = groups.emplace(gk, Partial(a.measures.size())).first;
        Partial& p = it->second;
        p.count++;
        for (size_t mi = 1; mi < a.measures.size(); ++mi) {
          const Measure& m = a.measures[mi];
          simdjson::dom::element v;
          if (doc.at_pointer(pointers_field[ai][mi]).get(v)) continue;
          if (m.kind == "distinct") {
            auto text = TextOf(v);
            if (!text) continue;
            if (p.hll.empty()) p.hll.resize(a.measures.size());
            p.hll[mi].AddHash(StableHash(*text));
            continue;
          }
          auto x = NumberOf(v);
          if (!x) continue;
          if (m.kind == "sum") p.sum[mi] += *x;
          if (m.kind == "min" && !(p.min[mi] <= *x)) p.min[mi] = *x;
          if (m.kind == "max" && !(p.max[mi] >= *x)) p.max[mi] = *x;
        }
      }
    }
  }

  // Merge into the stored rows and record the positions, in one transaction.
  store::Transaction txn(*db_);
  WS_RETURN_IF_ERROR(txn.Begin());
  const int64_t now = NowMicros();
  std::vector<std::unique_ptr<Stmt>> selects, upserts;
  for (const Accumulator& a : accumulators_) {
    std::string cols = "count";
    std::string marks = "?, ?, ?, ?";
    for (size_t i = 1; i < a.measures.size(); ++i) {
      cols += StrCat(", ", QuoteIdent(a.measures[i].column));
      marks += ", ?";
    }
    selects.push_back(std::make_unique<Stmt>(*db_,
        StrCat("SELECT ", cols, " FROM ", QuoteIdent(a.table()),
               " WHERE window_size = ? AND window_start = ? AND key = ?")));
    upserts.push_back(std::make_unique<Stmt>(*db_,
        StrCat("INSERT OR REPLACE INTO ", QuoteIdent(a.table()), "(window_size, window_start, key, ", cols,
               ", updated_at) VALUES(", marks, ", ?)")));
    WS_RETURN_IF_ERROR(selects.back()->status());
    WS_RETURN_IF_ERROR(upserts.back()->status());
  }
  for (auto& [gk, p] : groups) {
    const auto& [ai, wi, start, key] = gk;
    const Accumulator& a = accumulators_[ai];
    Stmt& sel = *selects[ai];
    sel.Reset();
    WS_ASSIGN_OR_RETURN(bool stored_row,
                        sel.Bind(1, a.window_names[wi]).Bind(2, start).Bind(3, key).Step());
    if (stored_row) {  // merge the stored state into this batch's
      p.count += sel.Int(0);
      for (size_t mi = 1; mi < a.measures.size(); ++mi) {
        const Measure& m = a.measures[mi];
        int col = static_cast<int>(mi);
        if (sel.IsNull(col)) continue;
        if (m.kind == "distinct") {
          if (p.hll.empty()) p.hll.resize(a.measures.size());
          p.hll[mi].Merge(HyperLogLog::FromBytes(sel.Blob(col)));
          continue;
        }
        double stored = sel.Double(col);
        if (m.kind == "sum") p.sum[mi] += stored;
        if (m.kind == "min" && !(p.min[mi] <= stored)) p.min[mi] = stored;
        if (m.kind == "max" && !(p.max[mi] >= stored)) p.max[mi] = stored;
      }
    }
    Stmt& up = *upserts[ai];
    up.Reset();
    up.Bind(1, a.window_names[wi]).Bind(2, start).Bind(3, key).Bind(4, p.count);
    int idx = 5;
    for (size_t mi = 1; mi < a.measures.size(); ++mi, ++idx) {
      const Measure& m = a.measures[mi];
      if (m.kind == "distinct") {
        if (p.hll.empty()) up.BindNull(idx);
        else up.BindBlob(idx, p.hll[mi].bytes());
        continue;
      }
      double v = m.kind == "sum" ? p.sum[mi] : (m.kind == "min" ? p.min[mi] : p.max[mi]);
      if (std::isnan(v)) up.BindNull(idx);
      else up.Bind(idx, v);
    }
    up.Bind(idx, now);
    WS_RETURN_IF_ERROR(up.Run());
  }
  Stmt cp(*db_, "INSERT OR REPLACE INTO realtime_checkpoints(stream, partition, position) VALUES(?, ?, ?)");
  for (const auto& [partition, position] : checkpoints) {
    cp.Reset();
    WS_RETURN_IF_ERROR(cp.Bind(1, stream_).Bind(2, partition).Bind(3, position).Run());
  }
  selects.clear();
  upserts.clear();
  WS_RETURN_IF_ERROR(txn.Commit());
  for (size_t ai = 0; ai < accumulators_.size(); ++ai) {
    if (late[ai] == 0) continue;
    metrics::GetCounter("watershed_records_late_total",
                              {{"layer", "realtime"}, {"stream", stream_}, {"accumulator", accumulators_[ai].name}})
        .Inc(static_cast<double>(late[ai]));
  }
  return absl::OkStatus();
}

Status AttachRealtime(const project::Project& project, warehouse::Connection& conn) {
  WS_RETURN_IF_ERROR(conn.Execute("CREATE SCHEMA IF NOT EXISTS realtime"));
  std::string path = RealtimeDbPath(project);
  if (!std::filesystem::exists(path)) return absl::OkStatus();
  WS_ASSIGN_OR_RETURN(std::unique_ptr<store::Connection> conn_db,
                      store::Connection::Open(path, {.read_only = true}));
  store::Connection& db = *conn_db;
  // One read transaction: every table as of the same moment.
  WS_RETURN_IF_ERROR(db.Exec("BEGIN"));
  std::vector<std::pair<std::string, std::vector<std::string>>> tables;
  {
    Stmt q(db, "SELECT table_name, columns FROM realtime_accumulators ORDER BY table_name");
    if (!q.status().ok()) return absl::OkStatus();  // created but never defined
    while (true) {
      WS_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      auto cols = nlohmann::json::parse(q.Text(1));
      tables.emplace_back(q.Text(0), cols.get<std::vector<std::string>>());
    }
  }
  for (const auto& [table, cols] : tables) {
    std::vector<ColumnSpec> specs = {{"window_size", ColumnType::kVarchar},
                                     {"window_start", ColumnType::kTimestamp},
                                     {"key", ColumnType::kVarchar},
                                     {"count", ColumnType::kBigint}};
    for (const std::string& c : cols) {
      specs.push_back({c, c.starts_with("distinct_") ? ColumnType::kBigint : ColumnType::kDouble});
    }
    specs.push_back({"updated_at", ColumnType::kTimestamp});
    std::string ddl = StrCat("CREATE OR REPLACE TABLE realtime.", QuoteIdent(table), "(");
    for (size_t i = 0; i < specs.size(); ++i) {
      ddl += StrCat(i ? ", " : "", QuoteIdent(specs[i].name), " ",
                    std::string(ColumnTypeSql(specs[i].type)));
    }
    WS_RETURN_IF_ERROR(conn.Execute(ddl + ")"));

    TableBatch batch;
    batch.table = table;
    batch.columns = specs;
    batch.data.resize(specs.size());
    batch.arena = std::make_shared<StringArena>();
    std::string sql = "SELECT window_size, window_start, key, count";
    for (const std::string& c : cols) sql += StrCat(", ", QuoteIdent(c));
    sql += StrCat(", updated_at FROM ", QuoteIdent(table));
    Stmt q(db, sql);
    auto put_slot = [&](size_t col, std::optional<uint64_t> v) {
      batch.data[col].slots.push_back(v.value_or(0));
      batch.data[col].valid.push_back(v.has_value());
    };
    while (true) {
      WS_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      for (int col : {0, 2}) {
        batch.data[col].strings.push_back(batch.arena->Copy(q.Text(col)));
        batch.data[col].valid.push_back(1);
      }
      put_slot(1, static_cast<uint64_t>(q.Int(1)));
      put_slot(3, static_cast<uint64_t>(q.Int(3)));
      for (size_t i = 0; i < cols.size(); ++i) {
        int c = static_cast<int>(4 + i);
        if (q.IsNull(c)) {
          put_slot(c, std::nullopt);
        } else if (cols[i].starts_with("distinct_")) {
          double est = HyperLogLog::FromBytes(q.Blob(c)).Estimate();
          put_slot(c, static_cast<uint64_t>(std::llround(est)));
        } else {
          double d = q.Double(c);
          uint64_t bits;
          std::memcpy(&bits, &d, sizeof bits);
          put_slot(c, bits);
        }
      }
      put_slot(4 + cols.size(), static_cast<uint64_t>(q.Int(static_cast<int>(4 + cols.size()))));
      ++batch.num_rows;
    }
    if (batch.num_rows > 0) {
      WS_RETURN_IF_ERROR(conn.AppendBatch(StrCat("realtime.", table), batch));
    }
  }
  return db.Exec("COMMIT");
}

}  // namespace watershed::transform
