// cli/source_commands.cc — `crunchbase`, `serve`, `streams`: sources that run, and the server.
// See commands.h.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "watershed/cli/commands.h"
#include "watershed/cli/common.h"
#include "watershed/cli/output.h"
#include "watershed/load/crunchbase.h"
#include "watershed/project/project.h"
#include "watershed/server/server.h"
#include "watershed/server/streams.h"

namespace watershed::cli {

Status RunCrunchbase(const GlobalOptions& g, const CrunchbaseCommand& c) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  WS_ASSIGN_OR_RETURN(load::CrunchbaseRun run, load::CrunchbaseSettings(*project));
  // Command-line flags win over watershed.yml and the environment.
  if (!c.mode.empty()) run.mode = c.mode;
  if (!c.base_url.empty()) run.api.base_url = c.base_url;
  if (c.rate_limit >= 0) run.api.requests_per_minute = c.rate_limit;
  if (!c.orgs.empty()) run.unload.orgs = c.orgs;
  if (!c.cards.empty()) run.unload.cards = SplitList(c.cards);
  if (!c.collections.empty()) run.unload.collections = SplitList(c.collections);
  run.unload.page_size = c.page_size;
  run.unload.commit_every_pages = c.commit_every;
  run.unload.max_pages = c.max_pages;
  run.session.threads = c.threads;
  const bool live = !g.quiet && isatty(STDERR_FILENO);
  if (live) {
    run.unload.on_progress = [](const sources::crunchbase::Progress& p) {
      std::string eta;
      if (p.expected > 0 && p.entities > 0 && p.phase.starts_with("search")) {
        double rate = p.entities / std::max(p.seconds, 1e-9);
        eta = fmt::format(", ETA {:.0f} s", std::max(0.0, (p.expected - p.entities) / rate));
      }
      std::fprintf(stderr, "\r  %s: %s pages, %s entities%s, %.0f requests/min%s   ",
                   p.phase.c_str(), Thousands(p.pages).c_str(), Thousands(p.entities).c_str(),
                   p.expected > 0 ? fmt::format(" of {}", Thousands(p.expected)).c_str() : "",
                   p.requests_per_minute, eta.c_str());
    };
  }
  auto result = load::RunCrunchbase(*project, run);
  if (live) std::fprintf(stderr, "\r%100s\r", "");
  if (!result.ok()) return result.status();
  const load::CrunchbaseResult& r = *result;
  std::cout << "Crunchbase " << run.mode << " unload"
            << (r.unload.resumed ? " (resumed after an interrupted run)" : "") << ": "
            << Thousands(r.unload.entities) << " entities, " << Thousands(r.unload.pages)
            << " search pages, " << Thousands(r.unload.card_items) << " card items, "
            << Thousands(r.unload.tombstones) << " deletions — load " << r.load_id << ", "
            << r.unload.checkpoints << " commit(s), last snapshot " << r.last_snapshot << "\n";
  TextTable t;
  t.header = {"table", "rows landed"};
  t.numeric = {false, true};
  for (const auto& [table, rows] : r.rows) {
    t.rows.push_back({table, Thousands(static_cast<uint64_t>(rows))});
  }
  if (!t.rows.empty()) Print(t, OutputFormat::kTable, std::cout);
  std::cout << fmt::format(
      "{} requests ({} retried, {} throttled), {:.1f} s, {:.0f} requests/min; "
      "raw responses in {}\n",
      r.requests, r.retries, r.throttled, r.seconds, r.requests * 60.0 / std::max(r.seconds, 1e-9),
      r.package);
  for (const auto& nf : r.unload.not_found) std::cout << "  not found: " << nf << "\n";
  return absl::OkStatus();
}

Status RunServe(const GlobalOptions& g, const ServeCommand& c) {
  server::ServeOptions o;
  o.project_dir = g.project;
  o.host = c.host;
  o.port = c.port;
  o.http_threads = c.threads;
  o.tls_cert = c.tls_cert;
  o.tls_key = c.tls_key;
  o.tls_self_signed = c.tls == "self-signed";
  o.insecure_listen = c.insecure_listen;
  const char* token = std::getenv("WATERSHED_TOKEN");
  o.token = token ? token : "";
  o.on_listening = [&](const server::Listening& l) {
    std::cout << "listening on " << l.url << std::endl;
    if (!l.fingerprint.empty()) {
      std::cout << "TLS certificate " << l.cert_file << "\nSHA-256 fingerprint " << l.fingerprint
                << std::endl;
    }
  };
  return server::Serve(o);
}

Status RunStreams(const GlobalOptions& g, const std::string& format) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  WS_ASSIGN_OR_RETURN(OutputFormat f, ParseOutputFormat(format));
  WS_ASSIGN_OR_RETURN(auto streams, server::StreamsStatus(*project));
  if (streams.empty()) {
    std::cout
        << "no streams: declare them under `streams:` in watershed.yml (docs/formats/streams.md)\n";
    return absl::OkStatus();
  }
  TextTable t;
  t.header = {"stream", "source",           "table",     "log_next",          "lake_next",
              "lag",    "events/s (1 min)", "lake rows", "quarantined (1 h)", "last commit"};
  t.numeric = {false, false, false, true, true, true, true, true, true, false};
  auto num = [](int64_t v) { return v < 0 ? std::string("-") : std::to_string(v); };
  for (const server::StreamStatus& s : streams) {
    char rate[32];
    std::snprintf(rate, sizeof rate, "%.1f", s.events_per_second);
    t.rows.push_back({s.stream, s.source, s.table, num(s.next_offset), num(s.lake_offset),
                      num(s.lag_events), rate, std::to_string(s.lake_rows),
                      std::to_string(s.quarantined),
                      s.last_commit.empty() ? "never" : s.last_commit});
    t.nulls.push_back(std::vector<bool>(t.header.size(), false));
  }
  Print(t, f, std::cout);
  return absl::OkStatus();
}

}  // namespace watershed::cli
