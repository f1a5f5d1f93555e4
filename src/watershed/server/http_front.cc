// server/http_front.cc — see http_front.h.
// Just over 600 lines on purpose: the poll loop, its per-connection state machine and the
// worker hand-off share one connection struct and are read together.
#include "watershed/server/http_front.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "watershed/base/log.h"
#include "watershed/base/metrics.h"
#include "watershed/base/strings.h"

namespace watershed::server {
namespace {

constexpr size_t kReadChunk = size_t{64} << 10;  // one recv of a worker
// A lingering close reads at most this much for at most this long, unless the handler vouched
// for the client (CloseAfterResponse(true): up to the body limit within the body timeout).
constexpr size_t kMaxDrainBytes = size_t{1} << 20;
constexpr int64_t kLingerMicros = 1'000'000;
constexpr int kMaxAcceptsPerWake = 64;

int64_t SteadyMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t Micros(absl::Duration d) { return absl::ToInt64Microseconds(d); }

// Milliseconds until `deadline` (steady micros), rounded up, at least 0.
int MillisUntil(int64_t deadline) {
  int64_t left = deadline - SteadyMicros();
  if (left <= 0) return 0;
  return static_cast<int>(std::min<int64_t>((left + 999) / 1000, 1 << 30));
}

// Counts refusals by reason (docs/formats/streams.md lists the reasons).
void CountRefusal(const std::string& reason) {
  metrics::GetCounter("watershed_http_requests_refused_total", {{"reason", reason}}).Inc();
}

// The answers this layer writes itself (everything else is cpp-httplib's).
const char* Reason(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 408:
      return "Request Timeout";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

std::string ErrorAnswer(int status, const std::string& message, bool retry_after) {
  const std::string body = nlohmann::json({{"error", message}}).dump() + "\n";
  return StrCat("HTTP/1.1 ", status, " ", Reason(status),
                "\r\nContent-Type: application/json\r\nContent-Length: ", body.size(),
                retry_after ? "\r\nRetry-After: 1" : "", "\r\nConnection: close\r\n\r\n", body);
}

void Address(const sockaddr_storage& addr, std::string* ip, int* port) {
  char text[INET6_ADDRSTRLEN] = "";
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
    *port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
    *port = ntohs(a->sin6_port);
  }
  *ip = text;
}

// Where the header block in `data` ends (just past its blank line), or 0 while it is
// incomplete. Ends like cpp-httplib's parser: at the first line that is exactly "\r\n".
size_t HeaderBlockEnd(std::string_view data) {
  size_t at = data.find("\n\r\n");
  return at == std::string_view::npos ? 0 : at + 3;
}

// What the handler of the request being served may ask of its connection.
struct RequestState {
  httplib::Request* request = nullptr;  // set once cpp-httplib has parsed the headers
  bool close = false;
  bool drain_body = false;
  ReadEnd read_end = ReadEnd::kNone;
};
thread_local RequestState* t_request = nullptr;

}  // namespace

struct HttpFront::Conn {
  int fd = -1;
  SSL* ssl = nullptr;          // on a TLS listener: the session (handshake done by the first read)
  bool tls_checked = false;    // the first byte was looked at (a TLS record, not plain HTTP)
  short waiting_for = POLLIN;  // after an EAGAIN: what the connection waits for (TLS may need both)
  std::string buf;  // received and not consumed yet: buf[pos..]
  size_t pos = 0;
  enum class State { kIdle, kHeaders, kDraining } state = State::kIdle;
  int64_t deadline = 0;  // steady micros
  size_t drained = 0;
  size_t drain_limit = 0;
  int requests = 0;
  std::string remote_ip, local_ip;
  int remote_port = 0, local_port = 0;

  std::string_view pending() const { return std::string_view(buf).substr(pos); }
  void Compact() {
    if (pos == 0) return;
    buf.erase(0, pos);
    pos = 0;
    if (buf.capacity() > 2 * kReadChunk) buf.shrink_to_fit();
  }
  ~Conn() { FreeTls(); }
  void FreeTls() {
    if (ssl != nullptr) SSL_free(ssl);
    ssl = nullptr;
  }
};

namespace {

// Whether TLS holds received bytes that no poll on the socket would announce.
bool TlsPending(const HttpFront::Conn& c) { return c.ssl != nullptr && SSL_has_pending(c.ssl); }

// The result of a TLS call that moved no bytes, as recv/send would say it: -1 with errno EAGAIN
// (and waiting_for set) when it must wait, 0 when the peer closed, else -1 with errno EPROTO.
ssize_t TlsEnd(HttpFront::Conn& c, int r) {
  switch (SSL_get_error(c.ssl, r)) {
    case SSL_ERROR_WANT_READ:
      c.waiting_for = POLLIN;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_WANT_WRITE:
      c.waiting_for = POLLOUT;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:  // close_notify
      return 0;
    case SSL_ERROR_SYSCALL:
      if (errno == 0) return 0;  // closed without close_notify
      return -1;
    default:  // a failed handshake or a bad record: nothing more to say to this client
      ERR_clear_error();
      errno = EPROTO;
      return -1;
  }
}

// One receive from the client: through TLS on a TLS listener, else recv(). Like recv: > 0
// bytes, 0 the peer closed, -1 with errno (EAGAIN: nothing yet; wait for c.waiting_for).
ssize_t ConnRecv(HttpFront::Conn& c, char* data, size_t size) {
  if (c.ssl == nullptr) {
    c.waiting_for = POLLIN;
    return ::recv(c.fd, data, size, 0);
  }
  ERR_clear_error();
  int r = SSL_read(c.ssl, data, static_cast<int>(std::min<size_t>(size, 1 << 30)));
  return r > 0 ? r : TlsEnd(c, r);
}

// One send to the client, like send(MSG_NOSIGNAL) (SIGPIPE is blocked on this file's threads
// for TLS's own writes).
ssize_t ConnSend(HttpFront::Conn& c, const char* data, size_t size) {
  if (c.ssl == nullptr) {
    c.waiting_for = POLLOUT;
    return ::send(c.fd, data, size, MSG_NOSIGNAL);
  }
  ERR_clear_error();
  int r = SSL_write(c.ssl, data, static_cast<int>(std::min<size_t>(size, 1 << 30)));
  return r > 0 ? r : TlsEnd(c, r);
}

// Threads of this file do not die of SIGPIPE when OpenSSL writes to a socket the client reset.
void BlockSigpipe() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

// A request's view of its connection for cpp-httplib: the buffered bytes first, then the
// socket (non-blocking), every read bounded by the request's deadline.
class ConnStream : public httplib::Stream {
 public:
  ConnStream(HttpFront::Conn& conn, RequestState& state, int64_t read_deadline,
             int64_t write_timeout_micros, const std::atomic<bool>& stopping)
      : conn_(conn),
        state_(state),
        read_deadline_(read_deadline),
        write_timeout_micros_(write_timeout_micros),
        stopping_(stopping) {}

  bool is_readable() const override {
    if (conn_.pos < conn_.buf.size() || TlsPending(conn_)) return true;
    pollfd p{conn_.fd, POLLIN, 0};
    return ::poll(&p, 1, MillisUntil(read_deadline_)) > 0;
  }
  bool is_writable() const override {
    pollfd p{conn_.fd, POLLOUT, 0};
    return ::poll(&p, 1, static_cast<int>(write_timeout_micros_ / 1000)) > 0;
  }

  ssize_t read(char* ptr, size_t size) override {
    if (conn_.pos == conn_.buf.size() && !Fill()) {
      return state_.read_end == ReadEnd::kPeerClosed ? 0 : -1;
    }
    size_t n = std::min(size, conn_.buf.size() - conn_.pos);
    memcpy(ptr, conn_.buf.data() + conn_.pos, n);
    conn_.pos += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (write_deadline_ == 0) write_deadline_ = SteadyMicros() + write_timeout_micros_;
    size_t done = 0;
    while (done < size) {
      ssize_t r = ConnSend(conn_, ptr + done, size - done);
      if (r > 0) {
        done += static_cast<size_t>(r);
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        pollfd p{conn_.fd, conn_.waiting_for, 0};
        int wait = MillisUntil(write_deadline_);
        if (wait == 0 || ::poll(&p, 1, wait) <= 0) return -1;  // too slow a reader
        continue;
      }
      return -1;
    }
    return static_cast<ssize_t>(size);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = conn_.remote_ip;
    port = conn_.remote_port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = conn_.local_ip;
    port = conn_.local_port;
  }
  socket_t socket() const override { return conn_.fd; }

 private:
  // Receives the next bytes into the (consumed) buffer, waiting until the deadline.
  bool Fill() {
    conn_.buf.resize(kReadChunk);
    conn_.pos = 0;
    for (;;) {
      ssize_t r = ConnRecv(conn_, conn_.buf.data(), kReadChunk);
      if (r > 0) {
        conn_.buf.resize(static_cast<size_t>(r));
        return true;
      }
      const int err = errno;
      if (r < 0 && err == EINTR) continue;
      if (r < 0 && (err == EAGAIN || err == EWOULDBLOCK)) {
        // In slices, so that a stopping server does not wait for a slow body.
        int wait = std::min(MillisUntil(read_deadline_), 250);
        pollfd p{conn_.fd, conn_.waiting_for, 0};
        if (stopping_) {
          state_.read_end = ReadEnd::kError;
        } else if (wait > 0) {
          ::poll(&p, 1, wait);
          continue;
        } else {
          state_.read_end = ReadEnd::kDeadline;
        }
      } else {
        state_.read_end = r == 0 ? ReadEnd::kPeerClosed : ReadEnd::kError;
      }
      conn_.buf.clear();
      return false;
    }
  }

  HttpFront::Conn& conn_;
  RequestState& state_;
  const int64_t read_deadline_;
  const int64_t write_timeout_micros_;
  const std::atomic<bool>& stopping_;
  int64_t write_deadline_ = 0;
};

}  // namespace

void CloseAfterResponse(bool drain_body) {
  if (t_request == nullptr) return;
  t_request->close = true;
  t_request->drain_body = drain_body;
  if (t_request->request != nullptr) {
    // cpp-httplib answers "Connection: close" when the request said so.
    t_request->request->headers.erase("Connection");
    t_request->request->set_header("Connection", "close");
  }
}

ReadEnd LastReadEnd() { return t_request == nullptr ? ReadEnd::kNone : t_request->read_end; }

StatusOr<std::unique_ptr<HttpFront>> HttpFront::Listen(const std::string& host, int port,
                                                       const HttpLimits& limits, Routes* routes,
                                                       ssl_ctx_st* tls) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return absl::UnavailableError(
        StrCat("cannot listen on ", host, ":", port, ": ", gai_strerror(rc)));
  }
  int fd = -1;
  std::string error = "no address";
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
      error = strerror(errno);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) {
    return absl::UnavailableError(StrCat("cannot listen on ", host, ":", port, ": ", error,
                                         " (in use? choose another with --port)"));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  std::string ip;
  int bound_port = 0;
  Address(bound, &ip, &bound_port);
  int wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) {
    ::close(fd);
    return absl::InternalError(StrCat("eventfd: ", strerror(errno)));
  }
  return std::unique_ptr<HttpFront>(new HttpFront(fd, wake, bound_port, limits, routes, tls));
}

HttpFront::HttpFront(int listen_fd, int wake_fd, int port, const HttpLimits& limits, Routes* routes,
                     ssl_ctx_st* tls)
    : listen_fd_(listen_fd),
      wake_fd_(wake_fd),
      port_(port),
      limits_(limits),
      routes_(routes),
      tls_(tls) {}

HttpFront::~HttpFront() {
  Stop();
  ::close(listen_fd_);
  ::close(wake_fd_);
}

void HttpFront::Start() {
  if (started_) return;
  started_ = true;
  loop_ = std::thread([this] { Loop(); });
  for (int i = 0; i < std::max(1, limits_.threads); ++i) {
    workers_.emplace_back([this] { Work(); });
  }
}

void HttpFront::Stop() {
  if (!started_ || stopping_.exchange(true)) return;
  Wake();
  ready_cv_.notify_all();
  loop_.join();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
}

void HttpFront::Wake() {
  uint64_t one = 1;
  ssize_t ignored = ::write(wake_fd_, &one, sizeof(one));
  (void)ignored;
}

void HttpFront::Close(Conn& conn) {
  if (conn.fd < 0) return;
  conn.FreeTls();
  ::close(conn.fd);
  conn.fd = -1;
  open_--;
}

void HttpFront::Linger(Conn& conn, bool drain_body) {
  if (conn.ssl != nullptr) {
    if (SSL_is_init_finished(conn.ssl)) SSL_shutdown(conn.ssl);  // close_notify, not waited for
    ERR_clear_error();
    conn.FreeTls();  // what the client still sends is read raw and dropped
  }
  ::shutdown(conn.fd, SHUT_WR);
  conn.state = Conn::State::kDraining;
  conn.deadline = SteadyMicros() + (drain_body ? Micros(limits_.body_timeout) : kLingerMicros);
  conn.drain_limit = drain_body ? limits_.max_body_bytes : kMaxDrainBytes;
  conn.drained = 0;
  conn.buf.clear();
  conn.buf.shrink_to_fit();
  conn.pos = 0;
}

void HttpFront::Refuse(Conn& conn, int status, const std::string& message,
                       const std::string& reason) {
  const std::string answer = ErrorAnswer(status, message, status == 503);
  ssize_t ignored = ConnSend(conn, answer.data(), answer.size());  // the socket is non-blocking
  (void)ignored;
  CountRefusal(reason);
  Linger(conn);
}

void HttpFront::Accept() {
  for (int i = 0; i < kMaxAcceptsPerWake; ++i) {
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) {
        static std::atomic<int64_t> last_logged{0};
        if (SteadyMicros() - last_logged.load() > 10'000'000) {
          last_logged = SteadyMicros();
          LogWarn("http: out of file descriptors; accepting again in a moment");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // no busy loop meanwhile
      }
      return;  // EAGAIN: none left; other errors: retried at the next poll
    }
    std::string ip;
    int port = 0;
    Address(peer, &ip, &port);
    if (open_.load() >= limits_.max_connections) {
      // Refused at once: what the client sent already is read and dropped (so that closing
      // does not reset the connection under the answer), the answer fits any socket buffer.
      // A TLS client gets no answer (that would need a handshake), only the close.
      char scratch[16 << 10];
      for (int k = 0; k < 4 && ::recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT) > 0; ++k) {
      }
      const std::string answer =
          tls_ != nullptr
              ? ""
              : ErrorAnswer(503,
                            StrCat("the server holds its limit of ", limits_.max_connections,
                                   " connections (server.max_connections); retry after 1 s"),
                            /*retry_after=*/true);
      ssize_t ignored = ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      (void)ignored;
      ::shutdown(fd, SHUT_WR);
      ::close(fd);
      CountRefusal("connections");
      static std::atomic<int64_t> last_logged{0};
      const int64_t now = SteadyMicros();
      if (now - last_logged.load() > 10'000'000) {
        last_logged = now;
        LogWarn("http: refused a connection (503): connection limit reached",
                {{"remote", ip}, {"limit", std::to_string(limits_.max_connections)}});
      }
      continue;
    }
    open_++;
    int yes = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));  // answers are two writes
    auto conn = std::make_unique<Conn>();
    conn->fd = fd;
    if (tls_ != nullptr) {
      conn->ssl = SSL_new(tls_);
      SSL_set_fd(conn->ssl, fd);
      SSL_set_accept_state(conn->ssl);
    }
    conn->remote_ip = ip;
    conn->remote_port = port;
    sockaddr_storage local{};
    len = sizeof(local);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
    Address(local, &conn->local_ip, &conn->local_port);
    conn->state = Conn::State::kHeaders;  // a new client is expected to send at once
    conn->deadline = SteadyMicros() + Micros(limits_.header_timeout);
    std::lock_guard<std::mutex> lock(mu_);
    returned_.push_back(std::move(conn));  // picked up by this loop's next round
  }
}

bool HttpFront::Examine(std::unique_ptr<Conn>& conn) {
  Conn& c = *conn;
  // Blank lines before a request line are skipped (RFC 9112 2.2).
  while (c.pos < c.buf.size() && (c.buf[c.pos] == '\r' || c.buf[c.pos] == '\n')) ++c.pos;
  std::string_view data = c.pending();
  if (data.empty()) return true;
  if (c.state == Conn::State::kIdle) {
    c.state = Conn::State::kHeaders;
    c.deadline = SteadyMicros() + Micros(limits_.header_timeout);
  }
  const size_t limit = limits_.max_header_bytes;
  const size_t end = HeaderBlockEnd(data.substr(0, std::min(data.size(), limit + 3)));
  if (end == 0) {
    if (data.size() > limit) {
      Refuse(c, 431,
             StrCat("request header block over ", limit, " bytes (server.max_header_bytes)"),
             "headers_too_large");
    }
    return true;
  }
  // Lines of the block: the request line, the headers, the blank line.
  const size_t lines = static_cast<size_t>(std::count(data.begin(), data.begin() + end, '\n'));
  if (lines > limits_.max_headers + 2) {
    Refuse(
        c, 431,
        StrCat("request has more than ", limits_.max_headers, " header lines (server.max_headers)"),
        "too_many_headers");
    return true;
  }
  c.Compact();
  {
    std::lock_guard<std::mutex> lock(mu_);
    ready_.push_back(std::move(conn));
  }
  ready_cv_.notify_one();
  return false;
}

bool HttpFront::CheckTls(Conn& conn) {
  unsigned char first = 0;
  ssize_t r = ::recv(conn.fd, &first, 1, MSG_PEEK | MSG_DONTWAIT);
  if (r != 1) return true;  // nothing yet, or closed: the read that follows finds out
  conn.tls_checked = true;
  if (first == 0x16) return true;  // a TLS handshake record
  conn.FreeTls();
  Refuse(conn, 400,
         StrCat("this port speaks HTTPS: use https://", conn.local_ip, ":", conn.local_port, "/"),
         "plain_http_on_tls");
  return false;
}

void HttpFront::Loop() {
  BlockSigpipe();
  std::vector<std::unique_ptr<Conn>> conns;  // idle, sending headers, or draining
  std::vector<std::unique_ptr<Conn>> incoming;
  std::vector<pollfd> fds;
  char scratch[16 << 10];
  auto& open_gauge = metrics::GetGauge("watershed_http_connections_open");
  while (!stopping_) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      incoming.swap(returned_);
    }
    // New connections, and connections back from a worker, which may already hold their next
    // request (pipelining).
    for (auto& c : incoming) {
      if (c->state == Conn::State::kDraining || Examine(c)) conns.push_back(std::move(c));
    }
    incoming.clear();
    open_gauge.Set(open_.load());

    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    int64_t next_deadline = SteadyMicros() + 1'000'000;
    for (const auto& c : conns) {
      // A lingering connection that has sent more than enough is no longer read: it waits for
      // its deadline, so the client has that long to read the answer before the close.
      const bool read = c->state != Conn::State::kDraining || c->drained <= c->drain_limit;
      const short events = c->state == Conn::State::kDraining ? POLLIN : c->waiting_for;
      fds.push_back({c->fd, static_cast<short>(read ? events : 0), 0});
      next_deadline = std::min(next_deadline, TlsPending(*c) ? 0 : c->deadline);
    }
    int ready = ::poll(fds.data(), fds.size(), MillisUntil(next_deadline));
    if (ready < 0 && errno != EINTR) {
      LogError(StrCat("http: poll failed: ", strerror(errno)));
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    if (fds[0].revents & POLLIN) {
      uint64_t count;
      ssize_t ignored = ::read(wake_fd_, &count, sizeof(count));
      (void)ignored;
    }
    if (fds[1].revents & POLLIN) Accept();

    const int64_t now = SteadyMicros();
    for (size_t i = 0; i < conns.size(); ++i) {
      std::unique_ptr<Conn>& c = conns[i];
      const short revents = TlsPending(*c) ? POLLIN : fds[i + 2].revents;
      if (revents != 0) {
        if (c->state == Conn::State::kDraining) {
          ssize_t r = ::recv(c->fd, scratch, sizeof(scratch), MSG_DONTWAIT);
          if (r > 0) c->drained += static_cast<size_t>(r);
          if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
            Close(*c);  // the client closed too (or reset): done
            c.reset();
            continue;
          }
        } else if (c->ssl != nullptr && !c->tls_checked && !CheckTls(*c)) {
          continue;  // plain HTTP on the TLS port: answered, lingering
        } else {
          // At most the header limit (plus a little) is ever buffered here.
          const size_t room = limits_.max_header_bytes + 4 -
                              std::min(c->pending().size(), limits_.max_header_bytes + 3);
          c->Compact();
          const size_t old = c->buf.size();
          c->buf.resize(old + room);
          size_t got = 0;
          ssize_t r = 0;
          do {  // TLS may hold more of a record than one read asked for
            r = ConnRecv(*c, c->buf.data() + old + got, room - got);
            if (r > 0) got += static_cast<size_t>(r);
          } while (r > 0 && got < room && TlsPending(*c));
          c->buf.resize(old + got);
          if (got == 0 && (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))) {
            Close(*c);  // the client went away (or reset) between requests
            c.reset();
            continue;
          }
          if (!Examine(c)) {
            c.reset();
            continue;
          }
        }
      }
      if (now >= c->deadline) {
        if (c->state == Conn::State::kHeaders) {
          Refuse(*c, 408,
                 StrCat("request headers did not arrive within ",
                        absl::FormatDuration(limits_.header_timeout), " (server.header_timeout)"),
                 "header_timeout");
        } else {
          Close(*c);  // idle keep-alive connection, or a lingering close that is over
          c.reset();
        }
      }
    }
    std::erase(conns, nullptr);
  }
  // Stopping: no new connections; the ones waiting here are closed. Workers close theirs.
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& c : returned_) conns.push_back(std::move(c));
  returned_.clear();
  for (auto& c : conns) Close(*c);
  open_gauge.Set(open_.load());
}

void HttpFront::GiveBack(std::unique_ptr<Conn> conn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      returned_.push_back(std::move(conn));
      conn = nullptr;
    }
  }
  if (conn) {
    Close(*conn);
  } else {
    Wake();
  }
}

void HttpFront::Work() {
  BlockSigpipe();
  for (;;) {
    std::unique_ptr<Conn> conn;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ready_cv_.wait(lock, [&] { return stopping_ || !ready_.empty(); });
      if (ready_.empty()) return;  // stopping
      conn = std::move(ready_.front());
      ready_.pop_front();
    }
    if (stopping_) {
      Close(*conn);
      continue;
    }
    Serve(std::move(conn));
  }
}

void HttpFront::Serve(std::unique_ptr<Conn> conn) {
  RequestState state;
  ConnStream stream(*conn, state, SteadyMicros() + Micros(limits_.body_timeout),
                    Micros(limits_.write_timeout), stopping_);
  const bool last = ++conn->requests >= limits_.max_requests_per_connection || stopping_;
  bool client_closes = false;
  t_request = &state;
  const bool ok = routes_->ProcessRequest(stream, last, client_closes,
                                          [&](httplib::Request& req) { state.request = &req; });
  t_request = nullptr;
  if (state.read_end == ReadEnd::kDeadline) CountRefusal("body_timeout");
  if (!ok || last || client_closes || state.close) {
    Linger(*conn, state.drain_body);  // the loop reads what is left for a while, then closes
  } else {
    conn->state = Conn::State::kIdle;
    conn->deadline = SteadyMicros() + Micros(limits_.idle_timeout);
    conn->Compact();
  }
  GiveBack(std::move(conn));
}

}  // namespace watershed::server
