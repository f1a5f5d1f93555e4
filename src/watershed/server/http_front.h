// server/http_front.h — the connection layer in front of cpp-httplib: sockets, limits, threads.
//
// Owns: the listening socket and every accepted connection until it is closed, in plain HTTP
// or TLS (the handshake runs on the poll loop under the header deadline; then every read and
// write of the connection goes through its OpenSSL session) —
//   - a connection cap: past `max_connections` a new connection is answered 503 with
//     Retry-After and closed at once (logged, counted), so nobody starves silently;
//   - reading each request's header block on one poll loop, without a worker thread, so slow
//     clients hold a socket but never a worker; the block is limited in size and in header
//     lines (431) and must arrive within `header_timeout` of its first byte (408);
//   - keep-alive: an idle connection is closed after `idle_timeout`;
//   - a fixed pool of worker threads that run cpp-httplib's request parser and router (Routes)
//     once a whole header block is in memory; body reads must end by `body_timeout` after it,
//     answers be written within `write_timeout`;
//   - a lingering close (write side shut, whatever the client still sends read and dropped for
//     a moment), so that a client whose body was refused unread still receives the answer.
// Why not cpp-httplib's own listen(): the Debian build (0.11) hands a socket to a worker before
// a byte is read (slow headers hold workers; a full pool queues /healthz forever), and has no
// header count limit, no connection cap and no total deadlines. Its parser and router are used
// unchanged through Server::process_request over this file's Stream.
// Does not belong here: what routes answer, authentication and body limits (server.cc decides
// on the headers before reading a body; handlers use CloseAfterResponse and LastReadEnd below).
// Thread safety: Start() and Stop() from one owning thread; the functions for handlers work on
// the worker thread serving the request.
#pragma once

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "watershed/base/status.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace watershed::server {

// Every limit of the HTTP server; defaults in docs/formats/streams.md (`server:` settings).
struct HttpLimits {
  static constexpr int kMaxConnectionsLimit = 768;
  size_t max_body_bytes = size_t{64} << 20;           // per request body, chunked or not (413)
  size_t max_header_bytes = size_t{32} << 10;         // request line + headers (431)
  size_t max_headers = 100;                           // header lines (431)
  absl::Duration header_timeout = absl::Seconds(10);  // first byte -> end of headers (408)
  absl::Duration body_timeout = absl::Seconds(60);    // end of headers -> end of body (408)
  absl::Duration idle_timeout = absl::Seconds(30);    // keep-alive wait for the next request
  absl::Duration write_timeout = absl::Seconds(30);   // to write one answer
  // Open connections; more: 503 + Retry-After. At most kMaxConnectionsLimit: cpp-httplib 0.11
  // (built with select()) answers 500 on a socket numbered FD_SETSIZE (1024) or more.
  int max_connections = 256;
  int threads = 8;                          // workers running handlers
  int max_requests_per_connection = 10000;  // then the answer says Connection: close
};

// The cpp-httplib server holding the routes. Only its router is used (ProcessRequest); its
// listen functions are not: HttpFront owns the sockets.
class Routes : public httplib::Server {
 public:
  bool ProcessRequest(httplib::Stream& stream, bool close_connection, bool& connection_closed,
                      const std::function<void(httplib::Request&)>& setup_request) {
    return process_request(stream, close_connection, connection_closed, setup_request);
  }
};

// Why a read from the client came back short (for a handler whose body read failed).
enum class ReadEnd { kNone, kPeerClosed, kDeadline, kError };

// For a handler, on the worker thread serving the request: the connection closes after this
// answer (which then says `Connection: close`). Use it whenever the body was not read to its
// end. What the client still sends is read and dropped for a moment (1 MiB, 1 s) so that it
// can read the answer; `drain_body` (an authenticated client): up to max_body_bytes within
// body_timeout, so that a client that sends its whole body before reading (most do) still
// gets e.g. its 429 instead of a reset. Outside a request served by HttpFront: does nothing.
void CloseAfterResponse(bool drain_body = false);
// For a handler: how the last failed read of this request's body ended.
ReadEnd LastReadEnd();

class HttpFront {
 public:
  // Binds and listens on host:port (port 0: a free one, see port()). `routes` must outlive
  // the front; so must `tls` (an OpenSSL server context, security/tls.h) when given: every
  // connection then speaks TLS, and a client that sends plain HTTP is answered 400 in plain
  // text saying to use https. kUnavailable when the address cannot be bound.
  static StatusOr<std::unique_ptr<HttpFront>> Listen(const std::string& host, int port,
                                                     const HttpLimits& limits, Routes* routes,
                                                     ssl_ctx_st* tls = nullptr);
  ~HttpFront();  // Stop()
  HttpFront(const HttpFront&) = delete;
  HttpFront& operator=(const HttpFront&) = delete;

  int port() const { return port_; }
  // Starts the poll loop and the workers.
  void Start();
  // Stops accepting, lets the requests being handled finish their answer, closes every
  // connection and joins the threads. Idempotent.
  void Stop();

  int open_connections() const { return open_.load(); }

  struct Conn;  // internal: one accepted connection

 private:
  HttpFront(int listen_fd, int wake_fd, int port, const HttpLimits& limits, Routes* routes,
            ssl_ctx_st* tls);
  void Loop();
  void Work();
  void Serve(std::unique_ptr<Conn> conn);
  void Accept();
  // Looks at a waiting connection's buffer: dispatches a complete header block to a worker,
  // refuses one over the limits. False when the connection left the loop's set.
  bool Examine(std::unique_ptr<Conn>& conn);
  // On a TLS listener, before the first read: false (and the client answered 400) when the
  // first byte is not a TLS handshake record.
  bool CheckTls(Conn& conn);
  void Refuse(Conn& conn, int status, const std::string& message, const std::string& reason);
  void Linger(Conn& conn, bool drain_body = false);
  void Close(Conn& conn);
  void GiveBack(std::unique_ptr<Conn> conn);  // from a worker to the loop (or closed)
  void Wake();

  const int listen_fd_;
  const int wake_fd_;  // eventfd: wakes the poll loop
  const int port_;
  const HttpLimits limits_;
  Routes* const routes_;
  ssl_ctx_st* const tls_;  // nullptr: plain HTTP

  std::atomic<bool> stopping_{false};
  std::atomic<int> open_{0};
  std::thread loop_;
  std::vector<std::thread> workers_;
  bool started_ = false;

  std::mutex mu_;
  std::condition_variable ready_cv_;
  std::deque<std::unique_ptr<Conn>> ready_;      // complete header block, waiting for a worker
  std::vector<std::unique_ptr<Conn>> returned_;  // from workers: keep-alive or lingering
};

}  // namespace watershed::server
