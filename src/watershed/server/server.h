// server/server.h — `watershed serve`: the HTTP API and the stream machinery behind it.
//
// Owns: the routes (docs/formats/streams.md has the wire format)
//   POST /v1/streams/{stream}/events   NDJSON or a JSON array; bearer token; answered only once
//                                      the events are durable in the stream's log
//   GET  /v1/streams                   each stream's offsets, lag and throughput (JSON)
//   GET  /metrics                      Prometheus text
//   GET  /healthz                      "ok"
//   GET  /iceberg/v1/...               the Iceberg REST catalog, read-only, same bearer token
//                                      (server/iceberg_rest.h)
// and the threads serving them: per stream one log (http streams) and one stream-to-lake writer
// feeding the lake and the real-time mart, plus one maintenance thread (compaction, snapshot
// expiry, log retention). Backpressure: while a stream's writer is more than max_lag_events
// behind, ingest answers 429 with Retry-After instead of buffering. Hostile clients: every
// request is judged on its headers before its body is read (token, stream, framing, length:
// 401/404/409/429/411/413 unread), bodies are counted as they arrive (413 past
// server.max_body_bytes, chunked too) and appended only when whole; connections, header size,
// header count and read/idle times are limited by http_front.h. Limits: `server:` in
// watershed.yml (settings.h; defaults in docs/formats/streams.md). Stops cleanly on SIGINT or
// SIGTERM (answers in flight finish; writers finish their batch). Transport: HTTPS with
// --tls-cert/--tls-key or --tls self-signed (security/tls.h); plain HTTP only on loopback unless
// --insecure-listen. Does not own: the log format,
// the writer or the mart (sources/events, load/stream.h, transform/realtime.h).
// Thread safety: Serve() owns everything it starts.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "watershed/base/status.h"

namespace watershed::server {

// Where a started server listens.
struct Listening {
  int port = 0;
  std::string url;          // "https://127.0.0.1:8443"
  std::string fingerprint;  // TLS: SHA-256 of the certificate ("AB:CD:..."); "" without TLS
  std::string cert_file;    // TLS: the certificate served (clients may trust it: --cacert)
};

struct ServeOptions {
  std::string project_dir;  // "" = search upwards
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string token;     // bearer token every ingest request must carry (WATERSHED_TOKEN)
  int http_threads = 8;  // workers running requests (at least 2); the limits: `server:`
  // TLS (security/tls.h): a PEM certificate chain and its key, or a self-signed certificate
  // kept in .watershed/tls/ (trials). Without TLS, only a loopback `host` is served unless
  // `insecure_listen` (e.g. behind a load balancer that terminates TLS).
  std::string tls_cert, tls_key;
  bool tls_self_signed = false;
  bool insecure_listen = false;
  // Set to stop a running Serve() (tests); SIGINT/SIGTERM also stop it.
  std::atomic<bool>* stop = nullptr;
  // Called once the port is listening (the CLI prints it; tests wait for it).
  std::function<void(const Listening&)> on_listening;
};

Status Serve(const ServeOptions& options);

}  // namespace watershed::server
