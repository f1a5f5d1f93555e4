// bench/stream/load.cc — the client side of the stream benchmark (bench/stream/run.sh builds it
// with g++; CMake does not build bench/). Three modes, each printing one or more lines
// "RESULT key=value ..." on stdout (run.sh builds its table from them) and progress on stderr:
//
//   stream_load ws --port P --stream S [--events N] [--duration SEC] [--batch B] [--conns C]
//                  [--rate EVENTS_PER_S] [--done-file F]
//     N/B batches of B small NDJSON events POSTed to `watershed serve` over C keep-alive
//     connections (bearer token from WATERSHED_TOKEN); a 429 is retried after 20 ms and counted.
//     Events/s = acknowledged events / (first request .. last acknowledgement). Touches
//     --done-file at the last acknowledgement, then waits until the lake writer has committed
//     everything acknowledged so far (GET /v1/streams: lake_offset >= next_offset). --rate
//     paces the batches (open loop: batch b is due at b * B / rate seconds; 0 = flat out).
//   stream_load pg --conninfo STR [--events N] [--duration SEC] [--batch B] [--conns C] [--rate R]
//     The same batches, each sent as one `COPY bench_events(body) FROM STDIN` (one transaction,
//     jsonb column, synchronous_commit as configured on the server) over C connections.
//   stream_load probe --port P --stream S --accumulator A --project DIR --ws BIN
//                     --ready-file F --done-file F [--interval-ms 200] [--poll-gap-ms 100]
//                     [--tail-seconds 3] [--drain-seconds 60]
//     Sends probe 0 and waits until it is visible (warm-up; the table then has probe_id), touches
//     --ready-file, then sends one event {"probe_id":N} every interval and records its
//     acknowledgement time and log offset until --tail-seconds after --done-file appears.
//     Visibility is measured two ways:
//       polled: two threads run `watershed query` processes back to back (with a gap) — one over
//         stream.S, one over the real-time mart table S_A — and a probe is visible when the query
//         that first returns it finishes (granularity: the query's duration plus the gap);
//       exact:  afterwards, from the commit timestamps the server recorded: the catalog's
//         snapshots.committed_at of the first data file whose _ws_position range holds the
//         probe's offset (docs/formats/catalog.md), and the mart row's updated_at for its key.
//     Probes are split by phase: sent while the load ran ("load") or after it ("after").
// Exits 1 on errors (a failed request, a refused connection, probes never visible).
#include <httplib.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "stream_load: %s\n", message.c_str());
  std::exit(1);
}

int64_t WallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// One small event (~65 bytes): the same for both tools.
void AppendEvent(std::string& out, int64_t id) {
  out += "{\"id\":";
  AppendInt(out, id);
  out += ",\"user\":\"u";
  AppendInt(out, id % 5000);
  out += "\",\"page\":\"/p/";
  AppendInt(out, id % 13);
  out += "\",\"amount\":";
  AppendInt(out, id % 997);
  out += "}\n";
}

// --name value flags.
class Flags {
 public:
  Flags(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
      std::string a = argv[i];
      if (!a.starts_with("--") || i + 1 >= argc) Die("expected --flag value, got '" + a + "'");
      values_[a.substr(2)] = argv[++i];
    }
  }
  std::string Str(const std::string& name, const std::string& fallback = "\x01") const {
    auto it = values_.find(name);
    if (it != values_.end()) return it->second;
    if (fallback == "\x01") Die("--" + name + " is required");
    return fallback;
  }
  int64_t Int(const std::string& name, int64_t fallback) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    int64_t v = 0;
    auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
    if (ec != std::errc() || p != it->second.data() + it->second.size() || v < 0) {
      Die("--" + name + " must be a non-negative integer, not '" + it->second + "'");
    }
    return v;
  }

 private:
  std::map<std::string, std::string> values_;
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

bool FileExists(const std::string& path) { return std::filesystem::exists(path); }
void Touch(const std::string& path) {
  if (!path.empty()) std::ofstream(path) << "1\n";
}

// A number after "key": in a flat JSON answer; -1 when absent.
int64_t JsonInt(const std::string& body, const std::string& key) {
  size_t at = body.find("\"" + key + "\":");
  if (at == std::string::npos) return -1;
  return std::atoll(body.c_str() + at + key.size() + 3);
}

// ---------------------------------------------------------------------------------------------
// Load: batches over C connections.

struct LoadSpec {
  int64_t events, batch, conns, duration;
  int64_t rate;  // events/s to offer (batch b starts at b * batch / rate s); 0 = flat out
};

struct LoadOutcome {
  int64_t events = 0, bytes = 0, requests = 0, throttled = 0;
  double seconds = 0;
  std::vector<double> request_ms;
};

// `send(connection, body)` returns once the batch is durable (or exits). Counts 429s itself.
LoadOutcome RunLoad(const LoadSpec& spec,
                    const std::function<std::function<int64_t(const std::string&)>(int)>& connect) {
  const int64_t batches = (spec.events + spec.batch - 1) / spec.batch;
  std::atomic<int64_t> next{0}, events{0}, bytes{0}, throttled{0};
  std::mutex mu;
  LoadOutcome out;
  Clock::time_point last_ack;
  std::vector<std::function<int64_t(const std::string&)>> senders;
  for (int c = 0; c < spec.conns; ++c) senders.push_back(connect(c));
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline =
      spec.duration > 0 ? start + std::chrono::seconds(spec.duration) : Clock::time_point::max();
  std::vector<std::thread> threads;
  for (int c = 0; c < spec.conns; ++c) {
    threads.emplace_back([&, c] {
      std::string body;
      std::vector<double> ms;
      Clock::time_point mine = start;
      while (true) {
        const int64_t b = next.fetch_add(1);
        if (b >= batches || Clock::now() >= deadline) break;
        const int64_t first = b * spec.batch, n = std::min(spec.batch, spec.events - first);
        if (spec.rate > 0) {
          std::this_thread::sleep_until(start +
                                        std::chrono::microseconds(first * 1000000 / spec.rate));
        }
        body.clear();
        for (int64_t i = 0; i < n; ++i) AppendEvent(body, first + i);
        const Clock::time_point t0 = Clock::now();
        throttled += senders[c](body);
        mine = Clock::now();
        ms.push_back(std::chrono::duration<double, std::milli>(mine - t0).count());
        events += n;
        bytes += static_cast<int64_t>(body.size());
      }
      std::lock_guard<std::mutex> lock(mu);
      out.request_ms.insert(out.request_ms.end(), ms.begin(), ms.end());
      last_ack = std::max(last_ack, mine);
    });
  }
  for (auto& t : threads) t.join();
  out.events = events;
  out.bytes = bytes;
  out.throttled = throttled;
  out.requests = static_cast<int64_t>(out.request_ms.size());
  out.seconds = Seconds(start, last_ack);
  return out;
}

void PrintLoad(const std::string& tool, const LoadSpec& spec, const LoadOutcome& o,
               const std::string& extra) {
  std::printf(
      "RESULT tool=%s events=%lld batch=%lld conns=%lld rate=%lld seconds=%.3f events_per_s=%.0f "
      "mb_per_s=%.1f req_p50_ms=%.1f req_p99_ms=%.1f throttled=%lld%s\n",
      tool.c_str(), static_cast<long long>(o.events), static_cast<long long>(spec.batch),
      static_cast<long long>(spec.conns), static_cast<long long>(spec.rate), o.seconds,
      static_cast<double>(o.events) / o.seconds,
      static_cast<double>(o.bytes) / 1048576.0 / o.seconds, Percentile(o.request_ms, 0.5),
      Percentile(o.request_ms, 0.99), static_cast<long long>(o.throttled), extra.c_str());
  std::fflush(stdout);
}

LoadSpec ReadSpec(const Flags& f) {
  LoadSpec s{f.Int("events", 2000000), f.Int("batch", 1000), f.Int("conns", 4),
             f.Int("duration", 0), f.Int("rate", 0)};
  if (s.events < 1 || s.batch < 1 || s.conns < 1) Die("--events, --batch, --conns must be >= 1");
  return s;
}

std::string Token() {
  const char* t = std::getenv("WATERSHED_TOKEN");
  if (t == nullptr || *t == '\0') Die("WATERSHED_TOKEN is not set");
  return t;
}

int WsLoad(const Flags& f) {
  const LoadSpec spec = ReadSpec(f);
  const int port = static_cast<int>(f.Int("port", 0));
  const std::string stream = f.Str("stream");
  const std::string path = "/v1/streams/" + stream + "/events";
  const httplib::Headers auth = {{"Authorization", "Bearer " + Token()}};
  std::vector<std::unique_ptr<httplib::Client>> clients;
  LoadOutcome o = RunLoad(spec, [&](int) {
    clients.push_back(std::make_unique<httplib::Client>("127.0.0.1", port));
    httplib::Client* c = clients.back().get();
    c->set_keep_alive(true);
    c->set_tcp_nodelay(true);  // as curl does: the body must not wait for an ACK
    c->set_read_timeout(120, 0);
    return [c, &path, &auth](const std::string& body) -> int64_t {
      int64_t throttled = 0;
      for (int attempt = 0;; ++attempt) {
        auto r = c->Post(path, auth, body, "application/x-ndjson");
        if (r && r->status == 200) return throttled;
        if (r && r->status == 429) {
          ++throttled;
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          continue;
        }
        if (attempt < 3 && !r) continue;  // a dropped keep-alive connection: reconnect
        Die("POST " + path + " failed: " +
            (r ? std::to_string(r->status) + " " + r->body : httplib::to_string(r.error())));
      }
    };
  });
  Touch(f.Str("done-file", ""));
  // How long the lake writer needs to commit what was acknowledged.
  const Clock::time_point acked = Clock::now();
  httplib::Client c("127.0.0.1", port);
  c.set_tcp_nodelay(true);
  int64_t target = -1, lake = -1;
  while (true) {
    auto r = c.Get("/v1/streams");
    if (!r || r->status != 200) Die("GET /v1/streams failed");
    if (target < 0) target = JsonInt(r->body, "next_offset");
    lake = JsonInt(r->body, "lake_offset");
    if (lake >= target) break;
    if (Seconds(acked, Clock::now()) > 300) Die("the lake writer did not catch up in 300 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double catchup = Seconds(acked, Clock::now());
  char extra[128];
  std::snprintf(extra, sizeof extra, " lake_catchup_s=%.2f end_to_end_events_per_s=%.0f", catchup,
                static_cast<double>(o.events) / (o.seconds + catchup));
  PrintLoad("watershed", spec, o, extra);
  return 0;
}

int PgLoad(const Flags& f) {
  const LoadSpec spec = ReadSpec(f);
  const std::string conninfo = f.Str("conninfo");
  std::vector<PGconn*> conns;
  LoadOutcome o = RunLoad(spec, [&](int) {
    PGconn* conn = PQconnectdb(conninfo.c_str());
    if (PQstatus(conn) != CONNECTION_OK) Die(std::string("PostgreSQL: ") + PQerrorMessage(conn));
    conns.push_back(conn);
    return [conn](const std::string& body) -> int64_t {
      PGresult* r = PQexec(conn, "COPY bench_events(body) FROM STDIN");
      if (PQresultStatus(r) != PGRES_COPY_IN) Die(std::string("COPY: ") + PQerrorMessage(conn));
      PQclear(r);
      if (PQputCopyData(conn, body.data(), static_cast<int>(body.size())) != 1 ||
          PQputCopyEnd(conn, nullptr) != 1) {
        Die(std::string("COPY data: ") + PQerrorMessage(conn));
      }
      while ((r = PQgetResult(conn)) != nullptr) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
          Die(std::string("COPY: ") + PQerrorMessage(conn));
        PQclear(r);
      }
      return 0;
    };
  });
  for (PGconn* c : conns) PQfinish(c);
  PrintLoad("postgres", spec, o, "");
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Probe.

struct Probe {
  int64_t id = 0, offset = -1, ack_us = 0;
  bool idle = false;             // sent after the load finished
  int64_t seen_us[2] = {0, 0};   // polled: lake, realtime (0 = not yet)
  int64_t exact_us[2] = {0, 0};  // exact commit timestamps
};

// Runs `command`; its stdout, or nullopt on a non-zero exit.
std::optional<std::string> Capture(const std::string& command) {
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return std::nullopt;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  if (pclose(p) != 0) return std::nullopt;
  return out;
}

// Ids in `watershed query --format csv` output (header skipped).
std::vector<int64_t> CsvIds(const std::string& csv) {
  std::vector<int64_t> ids;
  size_t pos = csv.find('\n');
  while (pos != std::string::npos && pos + 1 < csv.size()) {
    size_t end = csv.find('\n', pos + 1);
    std::string line =
        csv.substr(pos + 1, end == std::string::npos ? std::string::npos : end - pos - 1);
    if (!line.empty() && line != "\r") ids.push_back(std::atoll(line.c_str()));
    pos = end;
  }
  return ids;
}

// "2026-11-24T07:28:15.205656Z" -> microseconds since 1970.
int64_t ParseUtcMicros(const std::string& s) {
  std::tm tm{};
  int frac = 0;
  if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d.%6d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &frac) < 6) {
    return 0;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000000 + frac;
}

// Runs `sql` on a SQLite file read-only, calling `row` per result row.
void SqliteRows(const std::string& file, const std::string& sql,
                const std::function<void(sqlite3_stmt*)>& row) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    Die("cannot open " + file);
  }
  sqlite3_busy_timeout(db, 10000);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    Die(file + ": " + sqlite3_errmsg(db));
  }
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) row(st);
  if (rc != SQLITE_DONE) Die(file + ": " + sqlite3_errmsg(db));
  sqlite3_finalize(st);
  sqlite3_close(db);
}

int RunProbe(const Flags& f) {
  const int port = static_cast<int>(f.Int("port", 0));
  const std::string stream = f.Str("stream"), accumulator = f.Str("accumulator");
  const std::string project = f.Str("project"), ws = f.Str("ws");
  const std::string ready_file = f.Str("ready-file"), done_file = f.Str("done-file");
  const int64_t interval_ms = f.Int("interval-ms", 200), gap_ms = f.Int("poll-gap-ms", 100);
  const int64_t tail_s = f.Int("tail-seconds", 3), drain_s = f.Int("drain-seconds", 60);
  const std::string mart_table = stream + "_" + accumulator;

  httplib::Client client("127.0.0.1", port);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);
  const httplib::Headers auth = {{"Authorization", "Bearer " + Token()}};
  std::mutex mu;
  std::vector<Probe> probes;  // index = id - 1

  auto send = [&](int64_t id) {
    Probe p;
    p.id = id;
    p.idle = FileExists(done_file);
    std::string body = "{\"probe_id\":" + std::to_string(id) + "}\n";
    auto r = client.Post("/v1/streams/" + stream + "/events", auth, body, "application/x-ndjson");
    p.ack_us = WallMicros();
    if (!r || r->status != 200) {
      Die("probe " + std::to_string(id) + " failed: " +
          (r ? std::to_string(r->status) + " " + r->body : httplib::to_string(r.error())));
    }
    p.offset = JsonInt(r->body, "first_offset");
    return p;
  };
  // One poll per path: the probe ids at or above `from` visible now.
  std::atomic<int> poll_failures[2] = {0, 0};
  auto poll = [&](int path, int64_t from) {
    std::string sql = path == 0 ? "SELECT probe_id FROM stream." + stream +
                                      " WHERE probe_id >= " + std::to_string(from)
                                : "SELECT DISTINCT key FROM " + mart_table +
                                      " WHERE TRY_CAST(key AS BIGINT) >= " + std::to_string(from);
    std::string cmd = "'" + ws + "' --project '" + project + "' -q query --format csv " +
                      (path == 1 ? "--mart realtime " : "") + "\"" + sql + "\" 2>/dev/null";
    auto out = Capture(cmd);
    if (!out) poll_failures[path]++;
    return out ? CsvIds(*out) : std::vector<int64_t>{};
  };

  // Warm-up: probe 0 creates the probe_id column and the mart row; wait for both.
  Probe zero = send(0);
  const Clock::time_point warm = Clock::now();
  for (int path = 0; path < 2; ++path) {
    while (poll(path, 0).empty()) {
      if (Seconds(warm, Clock::now()) > 60) Die("probe 0 not visible after 60 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  std::fprintf(stderr, "probe: warm-up visible after %.2f s\n", Seconds(warm, Clock::now()));
  poll_failures[0] = poll_failures[1] = 0;  // the table did not exist yet
  Touch(ready_file);

  std::atomic<bool> sending{true};
  std::vector<double> poll_ms[2];
  std::thread pollers[2];
  for (int path = 0; path < 2; ++path) {
    pollers[path] = std::thread([&, path] {
      Clock::time_point drain_start{};
      while (true) {
        int64_t from = -1;
        size_t count;
        {
          std::lock_guard<std::mutex> lock(mu);
          count = probes.size();
          for (const Probe& p : probes) {
            if (p.seen_us[path] == 0) {
              from = p.id;
              break;
            }
          }
        }
        if (from < 0) {
          if (!sending) return;
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
          continue;
        }
        if (!sending) {
          if (drain_start == Clock::time_point{}) drain_start = Clock::now();
          if (Seconds(drain_start, Clock::now()) > static_cast<double>(drain_s)) return;
        }
        const Clock::time_point t0 = Clock::now();
        std::vector<int64_t> ids = poll(path, from);
        const int64_t now = WallMicros();
        poll_ms[path].push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        {
          std::lock_guard<std::mutex> lock(mu);
          for (int64_t id : ids) {
            // Only probes acknowledged before this poll started can be credited to it.
            if (id >= 1 && static_cast<size_t>(id) <= count && probes[id - 1].seen_us[path] == 0) {
              probes[id - 1].seen_us[path] = now;
            }
          }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms));
      }
    });
  }

  // Send until tail_s after the load finished.
  Clock::time_point done_at{};
  Clock::time_point next = Clock::now();
  for (int64_t id = 1;; ++id) {
    Probe p = send(id);
    {
      std::lock_guard<std::mutex> lock(mu);
      probes.push_back(p);
    }
    if (done_at == Clock::time_point{} && FileExists(done_file)) done_at = Clock::now();
    if (done_at != Clock::time_point{} &&
        Seconds(done_at, Clock::now()) >= static_cast<double>(tail_s))
      break;
    next += std::chrono::milliseconds(interval_ms);
    std::this_thread::sleep_until(next);
  }
  sending = false;
  for (auto& t : pollers) t.join();

  // Exact: the lake from catalog commit timestamps, the mart from its rows' updated_at.
  struct FileRange {
    int64_t lo, hi, committed_us;
  };
  std::vector<FileRange> files;
  SqliteRows(project + "/.watershed/catalog.db",
             "SELECT CAST(c.min_value AS INTEGER), CAST(c.max_value AS INTEGER), s.committed_at"
             " FROM data_files f JOIN tables t ON t.table_id = f.table_id"
             " JOIN column_stats c ON c.file_id = f.file_id AND c.column_name = '_ws_position'"
             " JOIN snapshots s ON s.snapshot_id = f.added_snapshot WHERE t.name = 'stream." +
                 stream + "'",
             [&](sqlite3_stmt* st) {
               files.push_back(
                   {sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                    ParseUtcMicros(reinterpret_cast<const char*>(sqlite3_column_text(st, 2)))});
             });
  std::map<int64_t, int64_t> mart_updated;
  SqliteRows(project + "/marts/realtime.db",
             "SELECT CAST(key AS INTEGER), min(updated_at) FROM \"" + mart_table +
                 "\" WHERE key IS NOT NULL AND key <> '' GROUP BY key",
             [&](sqlite3_stmt* st) {
               mart_updated[sqlite3_column_int64(st, 0)] = sqlite3_column_int64(st, 1);
             });
  for (Probe& p : probes) {
    for (const FileRange& r : files) {
      if (r.lo <= p.offset && p.offset <= r.hi &&
          (p.exact_us[0] == 0 || r.committed_us < p.exact_us[0])) {
        p.exact_us[0] = r.committed_us;
      }
    }
    if (auto it = mart_updated.find(p.id); it != mart_updated.end()) p.exact_us[1] = it->second;
  }

  // One RESULT line per (path, how, phase).
  int missing = 0;
  const char* path_names[2] = {"lake", "realtime"};
  for (int path = 0; path < 2; ++path) {
    for (int how = 0; how < 2; ++how) {
      for (int idle = 0; idle < 2; ++idle) {
        std::vector<double> ms;
        int unseen = 0;
        for (const Probe& p : probes) {
          if (p.idle != static_cast<bool>(idle)) continue;
          const int64_t at = how == 0 ? p.exact_us[path] : p.seen_us[path];
          if (at == 0) {
            ++unseen;
            continue;
          }
          ms.push_back(static_cast<double>(at - p.ack_us) / 1000.0);
        }
        missing += unseen;
        std::printf(
            "RESULT path=%s how=%s phase=%s probes=%zu unseen=%d p50_ms=%.0f p99_ms=%.0f "
            "max_ms=%.0f poll_p50_ms=%.0f poll_max_ms=%.0f poll_failures=%d\n",
            path_names[path], how == 0 ? "exact" : "polled", idle ? "after" : "load", ms.size(),
            unseen, Percentile(ms, 0.5), Percentile(ms, 0.99),
            ms.empty() ? NAN : *std::max_element(ms.begin(), ms.end()),
            how == 0 ? NAN : Percentile(poll_ms[path], 0.5),
            how == 0 ? NAN : Percentile(poll_ms[path], 1.0),
            how == 0 ? 0 : poll_failures[path].load());
      }
    }
  }
  std::fflush(stdout);
  (void)zero;
  return missing == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) Die("usage: stream_load ws|pg|probe --flag value ...");
  const std::string mode = argv[1];
  Flags flags(argc, argv, 2);
  if (mode == "ws") return WsLoad(flags);
  if (mode == "pg") return PgLoad(flags);
  if (mode == "probe") return RunProbe(flags);
  Die("unknown mode '" + mode + "' (ws, pg or probe)");
}
