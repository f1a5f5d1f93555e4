// emulators/crunchbase/server.h — an HTTP emulator of the Crunchbase API v4.
//
// Owns: the HTTP surface (entity lookups with cards, card paging, searches with predicates,
// order and keyset paging, autocomplete, deleted entities, admin endpoints) under both
// `/api/v4` and `/v4/data`; the user-key check; fault injection (per-key sliding-window rate
// limit with 429 + Retry-After, 500/503, truncated bodies, dropped connections, slow answers,
// unlicensed fields); replay of recorded responses; request statistics. See README.md for the
// wire shapes.
// Does not belong here: data generation and field rendering (dataset.h); the Watershed source
// that talks to this server (src/watershed/sources/).
// Thread safety: an Emulator serves on its own threads; its public methods may be called from
// any thread. Start() ignores SIGPIPE for the process (a dropped client must not kill it).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "emulators/crunchbase/dataset.h"
#include "watershed/base/status.h"

namespace watershed::emulators::crunchbase {

struct EmulatorOptions {
  int port = 0;  // 0 = any free port
  std::string host = "127.0.0.1";
  int num_orgs = 1000;
  uint64_t seed = 1;
  std::string api_key = "emulator-key";
  int rate_limit_per_minute = 0;               // per key, sliding 60 s window; 0 = off
  double fault_rate = 0;                       // fraction of API requests answered with a fault
  int slow_ms = 0;                             // sleep before answering each API request
  std::string replay_dir;                      // serve recorded responses (fixtures format) instead
  std::vector<std::string> unlicensed_fields;  // field_ids answered with 400 MD403
};

struct EmulatorStats {
  int64_t requests = 0;                // API requests (admin endpoints not counted)
  std::map<int, int64_t> by_status;    // status sent; 0 = connection dropped without answer
  int64_t faults_injected = 0;         // 500, 503, truncated bodies, dropped connections
  int64_t rate_limited = 0;            // 429s sent
  int64_t max_requests_in_window = 0;  // most requests accepted in any 60 s window for one key
  // Most requests that arrived (accepted or refused with 429) in any 60 s window for one key:
  // what a client sent, so a client's budget can be checked against it.
  int64_t max_arrivals_in_window = 0;
};

class Emulator {
 public:
  // Generates the dataset (or loads the recordings), binds and starts serving in the
  // background. Fails when the port cannot be bound or replay_dir cannot be read.
  static StatusOr<std::unique_ptr<Emulator>> Start(const EmulatorOptions& options);
  ~Emulator();  // stops

  void Stop();
  int port() const;
  std::string base_url() const;  // "http://127.0.0.1:PORT/api/v4"

  // Direct access for tests. Reading while requests are served is safe; changing it is not —
  // use Mutate(), which takes the emulator's write lock.
  Dataset& dataset();
  MutationResult Mutate(int update, int remove, const std::string& now_iso);

  EmulatorStats stats() const;

  struct Impl;

 private:
  explicit Emulator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Starts an emulator, prints
// "Crunchbase emulator on http://127.0.0.1:PORT/api/v4 (key: K, N organizations, seed S)"
// to stdout, and blocks until SIGINT or SIGTERM.
Status Serve(const EmulatorOptions& options);

}  // namespace watershed::emulators::crunchbase
