// transform/realtime.h — the real-time mart: accumulators updated by every stream micro-batch.
//
// Owns: the `accumulators:` of each stream in watershed.yml (docs/formats/streams.md), their
// state in `marts/realtime.db` (SQLite, WAL: the server writes while any number of
// `watershed query --mart realtime` processes read), and RealtimeMart, a load::StreamConsumer
// that folds each micro-batch into per-key tumbling windows (count, sum, min, max, approximate
// distinct via HyperLogLog) and records the stream positions it has applied in the same SQLite
// transaction — so every event counts exactly once, across crashes too. Also loading the state
// into DuckDB as schema `realtime` for queries. Does not own: reading streams (load/stream.h).
// Thread safety: one RealtimeMart per stream writer thread; readers open their own connection.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/load/stream.h"
#include "watershed/project/project.h"
#include "watershed/store/store.h"
#include "watershed/warehouse/duckdb/database.h"


namespace watershed::transform {

struct Measure {
  std::string kind;   // count | sum | min | max | distinct
  std::string field;  // dotted path into the event ("amount", "user.id"); "" for count
  std::string column; // "sum_amount", "distinct_user_id"
};

struct Accumulator {
  std::string stream;
  std::string name;
  std::string key;                // dotted path of the grouping field; "" = one group
  std::string time;               // dotted path of the event time; "" = arrival time
  std::vector<std::string> window_names;  // "1m", "1h"
  std::vector<int64_t> window_micros;
  std::vector<Measure> measures;  // always starts with count
  std::string table() const { return stream + "_" + name; }  // realtime.<stream>_<name>
};

// The `accumulators:` list of one stream. Errors name the stream, accumulator and field.
StatusOr<std::vector<Accumulator>> ParseAccumulators(const load::StreamConfig& stream);

// Where the real-time mart lives in a project.
std::string RealtimeDbPath(const project::Project& project);

class RealtimeMart : public load::StreamConsumer {
 public:
  static StatusOr<std::unique_ptr<RealtimeMart>> Open(const project::Project& project,
                                                      const std::string& stream,
                                                      std::vector<Accumulator> accumulators);
  ~RealtimeMart() override;

  StatusOr<std::map<std::string, std::string>> Checkpoints() override;
  Status Apply(const std::vector<sources::Event>& events,
               const std::map<std::string, std::string>& checkpoints) override;

 private:
  RealtimeMart(std::string stream, std::vector<Accumulator> accumulators,
               std::unique_ptr<store::Connection> db)
      : stream_(std::move(stream)), accumulators_(std::move(accumulators)), db_(std::move(db)) {}
  std::string stream_;
  std::vector<Accumulator> accumulators_;
  std::unique_ptr<store::Connection> db_;
};

// Creates schema `realtime` in `conn` with one table per accumulator (window_size, window_start,
// key, count, sum_/min_/max_/distinct_ columns, updated_at), filled from the project's
// real-time mart. A project without one gets the empty schema.
Status AttachRealtime(const project::Project& project, warehouse::Connection& conn);

// HyperLogLog with 2^12 one-byte registers (standard error about 1.6%), exposed for tests.
class HyperLogLog {
 public:
  static constexpr int kPrecision = 12;
  static constexpr size_t kRegisters = size_t{1} << kPrecision;
  HyperLogLog() : registers_(kRegisters, 0) {}
  void AddHash(uint64_t hash);
  void Merge(const HyperLogLog& other);
  double Estimate() const;
  const std::string& bytes() const { return registers_; }
  static HyperLogLog FromBytes(std::string_view bytes);

 private:
  std::string registers_;
};

}  // namespace watershed::transform
