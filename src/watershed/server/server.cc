// server/server.cc — see server.h.
#include "watershed/server/server.h"

#include <fmt/format.h>
#include <httplib.h>
#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <csignal>
#include <deque>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "watershed/audit/audit_log.h"
#include "watershed/base/log.h"
#include "watershed/base/strings.h"
#include "watershed/lake/maintenance.h"
#include "watershed/load/stream.h"
#include "watershed/observe/alarms.h"
#include "watershed/observe/metrics.h"
#include "watershed/observe/metrics_prometheus.h"
#include "watershed/project/access_tokens.h"
#include "watershed/project/project.h"
#include "watershed/security/access.h"
#include "watershed/security/tls.h"
#include "watershed/server/auth.h"
#include "watershed/server/http_front.h"
#include "watershed/server/iceberg_rest.h"
#include "watershed/server/settings.h"
#include "watershed/server/streams.h"
#include "watershed/sources/events/log.h"
#include "watershed/sources/events/log_source.h"
#include "watershed/transform/realtime.h"

namespace watershed::server {
namespace {

// The principal WATERSHED_TOKEN stands for: the project's owner, allowed everything.
constexpr std::string_view kOwnerPrincipal = "watershed-owner";

// A request's id, for the audit log and the answer's X-Request-Id header: the client's own
// X-Request-Id when it is 1-64 characters [A-Za-z0-9._-], else a new one (time and a counter).
std::string NewRequestId(const httplib::Request& req) {
  const std::string given = req.get_header_value("X-Request-Id");
  if (!given.empty() && given.size() <= 64 &&
      given.find_first_not_of(
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
          std::string::npos) {
    return given;
  }
  static std::atomic<uint64_t> next{1};
  return fmt::format("{:x}-{:x}", static_cast<uint64_t>(NowMicros()), next++);
}

std::atomic<bool> g_signalled{false};
void OnSignal(int) { g_signalled = true; }

constexpr char kIngestRoute[] = R"(/v1/streams/([^/]+)/events)";

// The stream named by an ingest path (/v1/streams/{stream}/events, as kIngestRoute matches
// it), or "" for any other path.
std::string IngestStream(std::string_view path) {
  constexpr std::string_view kPrefix = "/v1/streams/", kSuffix = "/events";
  if (!StartsWith(path, kPrefix) || !EndsWith(path, kSuffix) ||
      path.size() <= kPrefix.size() + kSuffix.size()) {
    return "";
  }
  std::string_view name =
      path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size());
  return name.find('/') == std::string_view::npos ? std::string(name) : "";
}

void Json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump() + "\n", "application/json");
}

void Error(httplib::Response& res, int status, const std::string& message) {
  Json(res, status, {{"error", message}});
}

// An answer refusing a request whose body is not read (or not to its end): the connection
// closes after it, and the refusal is counted by reason. `drain_body` (only for an
// authenticated client whose body is within the limit): the rest of the body is read and
// dropped, bounded and never buffered, so a client that sends it all before reading still
// gets the answer; otherwise hardly anything more is read (http_front.h).
void Reject(httplib::Response& res, int status, const std::string& message,
            const std::string& reason, bool drain_body = false) {
  metrics::GetCounter("watershed_http_requests_refused_total", {{"reason", reason}}).Inc();
  CloseAfterResponse(drain_body);
  Error(res, status, message);
}

// Splits a request body into events: a JSON array's elements, or NDJSON lines (blank lines
// skipped). Views point into `body` or `*storage`.
Status SplitEvents(const std::string& body, std::vector<std::string>* storage,
                   std::vector<std::string_view>* events) {
  size_t i = 0;
  while (i < body.size() &&
         (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
    ++i;
  if (i < body.size() && body[i] == '[') {
    simdjson::dom::parser parser;
    simdjson::dom::array arr;
    if (auto e = parser.parse(body).get_array().get(arr)) {
      return absl::InvalidArgumentError(
          StrCat("request body: not a valid JSON array (", simdjson::error_message(e),
                 "); send a JSON array of events or NDJSON, one event per line"));
    }
    for (simdjson::dom::element element : arr) storage->push_back(simdjson::minify(element));
    for (const std::string& e : *storage) events->push_back(e);
    return absl::OkStatus();
  }
  std::string_view rest(body);
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    bool blank = line.find_first_not_of(" \t") == std::string_view::npos;
    if (!blank) events->push_back(line);
  }
  return absl::OkStatus();
}

// Events per second over the last few seconds, from samples of a growing counter.
class Rate {
 public:
  void Sample(uint64_t total) {
    int64_t now = NowMicros();
    samples_.emplace_back(now, total);
    while (samples_.size() > 2 && now - samples_.front().first > 10'000'000) samples_.pop_front();
  }
  double PerSecond() const {
    if (samples_.size() < 2) return 0;
    double secs = (samples_.back().first - samples_.front().first) / 1e6;
    return secs > 0 ? (samples_.back().second - samples_.front().second) / secs : 0;
  }

 private:
  std::deque<std::pair<int64_t, uint64_t>> samples_;
};

struct Stream {
  load::StreamConfig config;
  std::unique_ptr<sources::EventLog> log;  // http streams
  std::unique_ptr<sources::EventSource> source;
  std::unique_ptr<project::Project> project;  // the writer thread's own
  std::unique_ptr<transform::RealtimeMart> mart;
  std::unique_ptr<load::StreamWriter> writer;
  std::thread thread;
  std::atomic<uint64_t> accepted{0}, requests{0}, throttled{0}, refused{0};
  std::mutex rate_mu;
  Rate ingest_rate, commit_rate;

  // Mirrors the counters into the metrics registry (observe/metrics.h) as deltas.
  void PublishMetrics() {
    const load::StreamStats& st = writer->stats();
    const observe::MetricLabels labels = {{"stream", config.name}};
    auto bump = [&](const char* name, uint64_t now, uint64_t& seen) {
      if (now > seen) metrics::GetCounter(name, labels).Inc(static_cast<double>(now - seen));
      seen = now;
    };
    bump("watershed_stream_events_accepted_total", accepted.load(), seen_accepted);
    bump("watershed_stream_events_total", st.events.load(), seen_committed);
    bump("watershed_stream_events_quarantined_total", st.quarantined.load(), seen_quarantined);
    bump("watershed_stream_requests_total", requests.load(), seen_requests);
    bump("watershed_stream_requests_throttled_total", throttled.load(), seen_throttled);
    metrics::GetGauge("watershed_stream_lag_events", labels)
        .Set(static_cast<double>(
            log ? log->next_offset() -
                      std::min<uint64_t>(log->next_offset(), st.lake_position.load())
                : st.lag_events.load()));
    metrics::GetGauge("watershed_stream_lag_seconds", labels).Set(st.lag_seconds.load());
    int64_t last = st.last_commit_micros.load();
    if (last > 0) {
      metrics::GetGauge("watershed_stream_last_commit_age_seconds", labels)
          .Set((NowMicros() - last) / 1e6);
    }
  }
  uint64_t seen_accepted = 0, seen_committed = 0, seen_quarantined = 0, seen_requests = 0,
           seen_throttled = 0;
};

}  // namespace

Status Serve(const ServeOptions& options) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(options.project_dir));
  // Transport first: a refused address or a bad certificate fails before anything starts.
  std::unique_ptr<security::TlsServer> tls;
  if (options.tls_self_signed && !(options.tls_cert.empty() && options.tls_key.empty())) {
    return absl::InvalidArgumentError(
        "--tls self-signed and --tls-cert/--tls-key exclude each other: choose one");
  }
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return absl::InvalidArgumentError(options.tls_cert.empty()
                                          ? "--tls-key needs --tls-cert (the certificate chain)"
                                          : "--tls-cert needs --tls-key (its private key)");
  }
  if (!options.tls_cert.empty()) {
    WS_ASSIGN_OR_RETURN(tls, security::TlsServer::FromFiles(options.tls_cert, options.tls_key));
  } else if (options.tls_self_signed) {
    std::vector<std::string> names = {"localhost", "127.0.0.1", "::1"};
    if (options.host != "0.0.0.0" && options.host != "::" && !options.host.empty() &&
        std::find(names.begin(), names.end(), options.host) == names.end()) {
      names.push_back(options.host);
    }
    WS_ASSIGN_OR_RETURN(
        tls, security::TlsServer::SelfSigned(project->root() + "/.watershed/tls", names));
  } else if (!IsLoopbackHost(options.host) && !options.insecure_listen) {
    return absl::FailedPreconditionError(StrCat(
        "refusing to serve plain HTTP on ", options.host,
        ", beyond this machine: give --tls-cert FILE --tls-key FILE (or --tls self-signed for a "
        "trial), or --insecure-listen when a load balancer in front terminates TLS"));
  }
  const std::optional<security::AccessPolicy>& access = project->config().access;
  if (options.token.empty() && !access) {
    return absl::FailedPreconditionError(
        "no ingest token: set WATERSHED_TOKEN to the bearer token clients must send "
        "(Authorization: Bearer <token>), or add an access: section to watershed.yml and give "
        "each client its own token (`watershed token create`)");
  }
  if (!options.token.empty()) RegisterSecret(options.token);
  // With access:, each client presents its own token (project/access_tokens.h); WATERSHED_TOKEN,
  // when set, stays the owner's (every action).
  std::unique_ptr<project::AccessTokens> tokens;
  std::mutex tokens_mu;
  if (access) {
    auto opened = project::AccessTokens::Open(*project, /*create_key=*/false);
    if (opened.ok()) {
      tokens = *std::move(opened);
    } else if (options.token.empty()) {
      return opened.status();
    } else {
      LogWarn(StrCat("access tokens unavailable, only WATERSHED_TOKEN is accepted: ",
                     std::string(opened.status().message())));
    }
  } else if (!IsLoopbackHost(options.host)) {
    LogWarn(StrCat("serving on ", options.host,
                   " without an access: section: one shared token opens every stream and the "
                   "Iceberg catalog, and /metrics and /v1/streams need none. Add access: "
                   "(docs/formats/access.md)"));
  }
  WS_ASSIGN_OR_RETURN(auto configs, load::ParseStreams(project->config().raw["streams"]));
  if (configs.empty()) {
    LogWarn("watershed.yml declares no streams: ingest answers 404 until `streams:` names some");
  }
  HttpLimits limits;  // before any thread starts: a bad setting fails the start
  PublicRoutes public_routes;
  WS_RETURN_IF_ERROR(ParseServerSettings(project->config().raw["server"], &limits, &public_routes));
  limits.threads = std::max(2, options.http_threads);

  // Per stream: its source, its writer (with its own Project: a catalog serves one thread).
  std::map<std::string, std::unique_ptr<Stream>> streams;
  for (auto& [name, config] : configs) {
    auto s = std::make_unique<Stream>();
    s->config = config;
    if (config.source == "http") {
      sources::LogOptions lo;
      lo.sync = config.sync == "fsync" ? sources::LogOptions::Sync::kEveryAppend
                                       : sources::LogOptions::Sync::kGroupCommit;
      lo.group_commit_interval = config.group_commit_interval;
      WS_ASSIGN_OR_RETURN(s->log, sources::EventLog::Open(StreamLogDir(*project, name), lo));
      s->source = std::make_unique<sources::LogSource>(s->log.get(), name);
    } else {
      WS_ASSIGN_OR_RETURN(s->source, MakeExternalSource(config));
    }
    WS_ASSIGN_OR_RETURN(s->project, project::Project::Open(project->root()));
    WS_ASSIGN_OR_RETURN(auto accumulators, transform::ParseAccumulators(config));
    std::vector<load::StreamConsumer*> consumers;
    if (!accumulators.empty()) {
      WS_ASSIGN_OR_RETURN(
          s->mart, transform::RealtimeMart::Open(*s->project, name, std::move(accumulators)));
      consumers.push_back(s->mart.get());
    }
    WS_ASSIGN_OR_RETURN(
        s->writer, load::StreamWriter::Create(*s->project, config, s->source.get(), consumers));
    streams.emplace(name, std::move(s));
  }

  std::atomic<bool> stop_workers{false};
  // On any early return below, the writers are stopped and joined (never left running).
  struct JoinWriters {
    std::atomic<bool>& stop;
    std::map<std::string, std::unique_ptr<Stream>>& streams;
    ~JoinWriters() {
      stop = true;
      for (auto& [name, s] : streams) {
        if (s->thread.joinable()) s->thread.join();
      }
    }
  } join_writers{stop_workers, streams};
  for (auto& [name, s] : streams) {
    Stream* raw = s.get();
    raw->thread =
        std::thread([raw, &stop_workers] { raw->writer->Run(stop_workers).IgnoreError(); });
  }

  // Refused requests go to the audit log, at most one entry per second per remote address and
  // principal (with the count of those in between): a flood of bad tokens cannot flood the log.
  // Accepted requests are not audited one by one; their commits are (data_change entries).
  audit::AuditThrottle refusals(audit::AuditLogPath(project->root()));

  const BearerAuth auth(options.token);

  Routes http;
  http.set_payload_max_length(limits.max_body_bytes);
  http.set_keep_alive_max_count(static_cast<size_t>(limits.max_requests_per_connection));
  http.set_keep_alive_timeout(absl::ToInt64Seconds(limits.idle_timeout));

  // Who sends a request: the owner (WATERSHED_TOKEN) or a principal's token. A refusal is
  // audited and answered WWW-Authenticate; `refusal` says why.
  struct Caller {
    std::string principal;  // "" when refused
    std::string token_id;
    std::string refusal;
  };
  auto identify = [&](const httplib::Request& req, httplib::Response& res) -> Caller {
    const std::string header = req.get_header_value("Authorization");
    std::string_view presented;
    BearerAuth::Result checked = BearerToken(header, &presented);
    Caller caller;
    if (checked == BearerAuth::Result::kOk && !options.token.empty() &&
        auth.Check(header) == BearerAuth::Result::kOk) {
      caller.principal = std::string(kOwnerPrincipal);
      return caller;
    }
    if (checked == BearerAuth::Result::kOk && tokens) {
      std::lock_guard<std::mutex> lock(tokens_mu);
      auto who = tokens->Authenticate(std::string(presented));
      if (who.ok()) {
        caller.principal = who->principal;
        caller.token_id = who->token_id;
        return caller;
      }
      caller.refusal = std::string(who.status().message());
    } else {
      caller.refusal =
          checked == BearerAuth::Result::kMissing     ? "missing Authorization: Bearer <token>"
          : checked == BearerAuth::Result::kNotBearer ? "Authorization must be: Bearer <token>"
                                                      : "invalid token";
    }
    res.set_header("WWW-Authenticate", "Bearer");
    const std::string principal =
        checked == BearerAuth::Result::kMissing ? "anonymous" : "invalid-token";
    const std::string target =
        StrCat(req.method, " ", req.path.substr(0, 200), " from ", req.remote_addr, " request ",
               res.get_header_value("X-Request-Id"));
    Status audited =
        refusals.Record(StrCat(req.remote_addr, " ", principal),
                        {0, "", principal, "api_call", target, "refused 401"}, NowMicros());
    if (!audited.ok()) {
      LogWarn(StrCat("audit log: refused request not recorded: ", audited.ToString()));
    }
    return caller;
  };
  // Whether `caller` may do `action` on `resource` (security/access.h): always without an access:
  // section and for the owner; else the policy's decision, audited (allow and deny; repeats
  // within a second are counted into one entry).
  auto allowed = [&](const Caller& caller, security::Action action, const std::string& resource,
                     const httplib::Request& req, const httplib::Response& res) -> bool {
    if (!access || caller.principal == kOwnerPrincipal) return true;
    const security::Decision d = access->Decide(caller.principal, action, resource);
    const std::string target =
        StrCat(security::ActionName(action), " ", resource, " via ", req.method, " ",
               req.path.substr(0, 200), " from ", req.remote_addr, " token ", caller.token_id,
               " request ", res.get_header_value("X-Request-Id"));
    Status audited = refusals.Record(
        StrCat(caller.principal, " ", security::ActionName(action), " ", resource, " ", d.allowed),
        {0, "", caller.principal, "access", target,
         d.allowed ? StrCat("allow: ", d.grant->Describe()) : StrCat("deny: ", d.reason)},
        NowMicros());
    if (!audited.ok()) LogWarn(StrCat("audit log: decision not recorded: ", audited.ToString()));
    return d.allowed;
  };

  // Decides on a request's headers alone, before a byte of its body is read: only an
  // authenticated request to a stream that takes events, with a body of an acceptable length
  // and framing, has its body read; any other request with a body is refused unread (and its
  // connection closed). Runs for `Expect: 100-continue` (so the client never sends a refused
  // body) and again before routing. True: go on.
  auto admit = [&](const httplib::Request& req, httplib::Response& res) -> bool {
    const bool chunked = req.has_header("Transfer-Encoding");
    const bool sized = req.has_header("Content-Length");
    const std::string name = req.method == "POST" ? IngestStream(req.path) : "";
    if (name.empty()) {
      if (!chunked && (!sized || req.get_header_value("Content-Length") == "0")) return true;
      Reject(res, 413, StrCat(req.method, " ", req.path.substr(0, 200), " takes no request body"),
             "unexpected_body");
      return false;
    }
    const Caller caller = identify(req, res);
    if (caller.principal.empty()) {
      Reject(res, 401, caller.refusal, "unauthorized");
      return false;
    }
    if (!allowed(caller, security::Action::kIngest, StrCat("stream:", name), req, res)) {
      Reject(res, 403, StrCat(caller.principal, " may not ingest into stream ", name), "forbidden");
      return false;
    }
    auto it = streams.find(name);
    if (it == streams.end()) {
      std::string known;
      for (const auto& [n, s] : streams) known += StrCat(known.empty() ? "" : ", ", n);
      Reject(res, 404,
             StrCat("no stream '", name.substr(0, 200),
                    "' in watershed.yml (streams: ", known.empty() ? "none" : known, ")"),
             "unknown_stream", /*drain_body=*/true);
      return false;
    }
    Stream& s = *it->second;
    if (!s.log) {
      Reject(res, 409,
             StrCat("stream ", name, " reads from ", s.config.source,
                    "; send its events there, not to this server"),
             "not_http_stream", /*drain_body=*/true);
      return false;
    }
    const int64_t behind = static_cast<int64_t>(s.log->next_offset()) -
                           static_cast<int64_t>(s.writer->stats().lake_position.load());
    if (behind > s.config.max_lag_events) {
      s.throttled++;
      res.set_header("Retry-After", "1");
      Reject(res, 429,
             StrCat("stream ", name, " is ", behind,
                    " events behind its lake writer; retry after 1 s"),
             "backpressure", /*drain_body=*/true);
      return false;
    }
    if (chunked) {
      if (sized) {
        Reject(res, 400, "request has both Transfer-Encoding and Content-Length; send one",
               "bad_framing", /*drain_body=*/true);
        return false;
      }
      if (ToLower(Trim(req.get_header_value("Transfer-Encoding"))) != "chunked") {
        Reject(res, 501, "Transfer-Encoding: only chunked is supported", "bad_framing",
               /*drain_body=*/true);
        return false;
      }
      return true;  // its length is counted while it is read
    }
    if (!sized) {
      Reject(res, 411, "Content-Length (or Transfer-Encoding: chunked) is required", "bad_framing",
             /*drain_body=*/true);
      return false;
    }
    const std::string length = req.get_header_value("Content-Length");
    uint64_t bytes = 0;
    auto [end, err] = std::from_chars(length.data(), length.data() + length.size(), bytes);
    if (err == std::errc::result_out_of_range ||
        (err == std::errc() && end == length.data() + length.size() &&
         bytes > limits.max_body_bytes)) {
      Reject(res, 413,
             StrCat("request body of ", length.substr(0, 40), " bytes is over the limit of ",
                    limits.max_body_bytes, " bytes (server.max_body_bytes); send smaller batches"),
             "body_too_large");
      return false;
    }
    if (err != std::errc() || end != length.data() + length.size() || length.empty() ||
        req.get_header_value_count("Content-Length") > 1) {
      Reject(res, 400, "Content-Length must be one decimal number", "bad_framing",
             /*drain_body=*/true);
      return false;
    }
    return true;
  };
  http.set_expect_100_continue_handler([&](const httplib::Request& req, httplib::Response& res) {
    if (!res.has_header("X-Request-Id")) res.set_header("X-Request-Id", NewRequestId(req));
    return admit(req, res) ? 100 : res.status;
  });
  http.set_pre_routing_handler([&](const httplib::Request& req, httplib::Response& res) {
    if (!res.has_header("X-Request-Id")) res.set_header("X-Request-Id", NewRequestId(req));
    return admit(req, res) ? httplib::Server::HandlerResponse::Unhandled
                           : httplib::Server::HandlerResponse::Handled;
  });

  // A content reader, so that cpp-httplib never parses the body as a form (curl's default
  // Content-Type) and the body is read here, counted against the limit as it arrives (also a
  // chunked one), and appended only when it arrived whole.
  http.Post(kIngestRoute, [&](const httplib::Request& req, httplib::Response& res,
                              const httplib::ContentReader& read) {
    const std::string name = req.matches[1];
    auto it = streams.find(name);
    if (it == streams.end()) return Reject(res, 404, "no such stream", "unknown_stream");
    Stream& s = *it->second;
    s.requests++;
    std::string body;
    if (req.has_header("Content-Length")) {
      body.reserve(std::min<size_t>(req.get_header_value<uint64_t>("Content-Length"),
                                    limits.max_body_bytes));
    }
    bool over_limit = false;
    const bool whole = read([&](const char* data, size_t len) {
      if (len > limits.max_body_bytes - body.size()) {
        over_limit = true;
        return false;
      }
      body.append(data, len);
      return true;
    });
    if (!whole) {
      s.refused++;
      if (over_limit) {
        return Reject(res, 413,
                      StrCat("request body is over the limit of ", limits.max_body_bytes,
                             " bytes (server.max_body_bytes); nothing was appended; send "
                             "smaller batches"),
                      "body_too_large");
      }
      if (LastReadEnd() == ReadEnd::kDeadline) {
        return Reject(
            res, 408,
            StrCat("request body did not arrive within ", absl::FormatDuration(limits.body_timeout),
                   " (server.body_timeout); nothing was appended"),
            "body_timeout");
      }
      if (res.status == 415) {
        return Reject(res, 415, "Content-Encoding not supported (send gzip, deflate or none)",
                      "bad_encoding");
      }
      return Reject(res, 400,
                    StrCat("request body ended after ", body.size(),
                           " bytes, before its declared end (Content-Length or the last chunk); "
                           "nothing was appended; send it again"),
                    "truncated_body");
    }
    std::vector<std::string_view> events;
    std::vector<std::string> storage;
    Status split = SplitEvents(body, &storage, &events);
    if (!split.ok()) {
      s.refused++;
      return Error(res, 400, std::string(split.message()));
    }
    if (events.empty()) {
      s.refused++;
      return Error(res, 400, "request body holds no events (send NDJSON lines or a JSON array)");
    }
    auto appended = s.log->Append(events, req.get_header_value("Idempotency-Key"));
    if (!appended.ok()) {
      const Status& st = appended.status();
      if (st.code() == absl::StatusCode::kAlreadyExists) {  // a reused key: nothing appended
        s.refused++;
        return Error(res, 422, StrCat("Idempotency-Key: ", std::string(st.message())));
      }
      int code = st.code() == absl::StatusCode::kInvalidArgument     ? 400
                 : st.code() == absl::StatusCode::kResourceExhausted ? 507
                                                                     : 500;
      LogError(StrCat("stream ", name, ": append failed: ", st.ToString()));
      return Error(res, code, std::string(st.message()));
    }
    if (!appended->duplicate) s.accepted += appended->count;
    Json(res, 200,
         {{"stream", name},
          {"first_offset", appended->first_offset},
          {"count", appended->count},
          {"duplicate", appended->duplicate}});
  });

  // With access:, a token is needed (unless server.public_streams), and only the streams the
  // caller may read are listed.
  http.Get("/v1/streams", [&](const httplib::Request& req, httplib::Response& res) {
    Caller caller{std::string(kOwnerPrincipal), "", ""};
    if (access && !public_routes.streams) {
      caller = identify(req, res);
      if (caller.principal.empty()) return Reject(res, 401, caller.refusal, "unauthorized");
    }
    nlohmann::json out = nlohmann::json::array();
    for (auto& [name, s] : streams) {
      if (!allowed(caller, security::Action::kRead, StrCat("stream:", name), req, res)) continue;
      const load::StreamStats& st = s->writer->stats();
      std::lock_guard<std::mutex> lock(s->rate_mu);
      nlohmann::json j = {{"stream", name},
                          {"source", s->config.source},
                          {"table", s->config.table()},
                          {"committed_events", st.events.load()},
                          {"quarantined", st.quarantined.load()},
                          {"lag_events", st.lag_events.load()},
                          {"last_snapshot", st.last_snapshot.load()},
                          {"commit_events_per_second", s->commit_rate.PerSecond()}};
      if (s->log) {
        j["next_offset"] = s->log->next_offset();
        j["lake_offset"] = st.lake_position.load();
        j["lag_events"] = s->log->next_offset() -
                          std::min<uint64_t>(s->log->next_offset(), st.lake_position.load());
        j["accepted_events"] = s->accepted.load();
        j["ingest_events_per_second"] = s->ingest_rate.PerSecond();
        j["throttled_requests"] = s->throttled.load();
        j["log_bytes"] = s->log->disk_bytes();
      }
      out.push_back(j);
    }
    Json(res, 200, out);
  });

  // /metrics: everything recorded in the catalog's metric points plus this process's registry
  // (flushed first). A Project serves one thread, so scrapes take turns on their own.
  WS_ASSIGN_OR_RETURN(auto metrics_project, project::Project::Open(project->root()));
  std::mutex metrics_mu;
  // With access:, the admin grant is needed (unless server.public_metrics).
  http.Get("/metrics", [&](const httplib::Request& req, httplib::Response& res) {
    if (access && !public_routes.metrics) {
      const Caller caller = identify(req, res);
      if (caller.principal.empty()) return Reject(res, 401, caller.refusal, "unauthorized");
      if (!allowed(caller, security::Action::kAdmin, "admin", req, res)) {
        return Reject(res, 403, StrCat(caller.principal, " may not read /metrics (admin)"),
                      "forbidden");
      }
    }
    std::lock_guard<std::mutex> lock(metrics_mu);
    res.set_content(observe::RenderPrometheus(*metrics_project),
                    "text/plain; version=0.0.4; charset=utf-8");
  });

  // The Iceberg REST catalog (read-only) under /iceberg, behind the same bearer token.
  WS_ASSIGN_OR_RETURN(auto rest_project, project::Project::Open(project->root()));
  IcebergRestCatalog rest(std::move(rest_project));
  auto iceberg_rest = [&](const httplib::Request& req, httplib::Response& res) {
    RestAnswer answer;
    const Caller caller = identify(req, res);
    if (caller.principal.empty()) {
      answer = IcebergRestError(401, "NotAuthorizedException", caller.refusal);
    } else {
      std::multimap<std::string, std::string> query(req.params.begin(), req.params.end());
      // A table the caller may not read is absent (listings, loadTable).
      auto may_read = [&](const std::string& table) {
        return allowed(caller, security::Action::kRead, StrCat("lake:", table), req, res);
      };
      answer =
          rest.Answer(req.method, std::string_view(req.path).substr(sizeof kIcebergRestPrefix - 1),
                      query, may_read);
    }
    res.status = answer.status;
    if (!answer.body.empty()) res.set_content(answer.body, "application/json");
  };
  const std::string rest_route = StrCat(kIcebergRestPrefix, "/.*");
  http.Get(rest_route, iceberg_rest);
  http.Post(rest_route, iceberg_rest);
  http.Put(rest_route, iceberg_rest);
  http.Delete(rest_route, iceberg_rest);

  http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });

  StatusOr<std::unique_ptr<HttpFront>> front =
      HttpFront::Listen(options.host, options.port, limits, &http, tls ? tls->context() : nullptr);
  if (!front.ok()) return front.status();
  Listening listening;
  listening.port = (*front)->port();
  const bool v6 = options.host.find(':') != std::string::npos && options.host.front() != '[';
  listening.url = StrCat(tls ? "https://" : "http://", v6 ? "[" : "", options.host, v6 ? "]" : "",
                         ":", listening.port);
  if (tls) {
    listening.fingerprint = tls->fingerprint();
    listening.cert_file = tls->cert_file();
  }
  (*front)->Start();
  if (options.on_listening) {
    options.on_listening(listening);
  }
  if (tls) {
    LogInfo(StrCat("TLS certificate ", listening.cert_file, ", SHA-256 fingerprint ",
                   listening.fingerprint));
  } else if (!IsLoopbackHost(options.host)) {
    LogWarn(StrCat("serving plain HTTP on ", options.host,
                   " (--insecure-listen): tokens and events cross the network in clear text "
                   "unless a proxy in front terminates TLS"));
  }
  LogInfo(StrCat(
      "serving on ", listening.url, " — ", streams.size(),
      " stream(s); POST /v1/streams/<stream>/events, GET /v1/streams, GET /metrics, Iceberg REST "
      "catalog at /iceberg"));

  g_signalled = false;
  auto old_int = std::signal(SIGINT, OnSignal);
  auto old_term = std::signal(SIGTERM, OnSignal);

  // Maintenance on this thread: rates every second; log retention, compaction and snapshot
  // expiry every `every` seconds.
  WS_ASSIGN_OR_RETURN(auto upkeep, project::Project::Open(project->root()));
  int64_t last_upkeep = NowMicros();
  while (!g_signalled && !(options.stop && options.stop->load())) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    for (auto& [name, s] : streams) {
      std::lock_guard<std::mutex> lock(s->rate_mu);
      s->ingest_rate.Sample(s->accepted.load());
      s->commit_rate.Sample(s->writer->stats().events.load());
      s->PublishMetrics();
    }
    if (Status a = refusals.Flush(NowMicros()); !a.ok()) {
      LogWarn(StrCat("audit log: ", a.ToString()));
    }
    if (NowMicros() - last_upkeep < 10'000'000) continue;
    last_upkeep = NowMicros();
    for (auto& [name, s] : streams) {
      const load::StreamStats& st = s->writer->stats();
      if (s->log && st.consumed_position.load() > 0) {
        Status t = s->log->TruncateBefore(st.consumed_position.load());
        if (!t.ok()) LogWarn(StrCat("stream ", name, ": log retention: ", t.ToString()));
      }
      Status up = LakeUpkeep(*upkeep, s->config);
      if (!up.ok()) LogWarn(StrCat("stream ", name, ": maintenance: ", up.ToString()));
    }
    {
      std::lock_guard<std::mutex> lock(metrics_mu);
      Status tick = observe::MetricsTick(*metrics_project);  // flush, alarms, retention
      if (!tick.ok()) LogWarn(StrCat("metrics: ", tick.ToString()));
    }
  }

  LogInfo("stopping: finishing requests in flight and the writers' current batches");
  (*front)->Stop();
  if (Status a = refusals.Flush(NowMicros(), /*all=*/true); !a.ok()) {
    LogWarn(StrCat("audit log: ", a.ToString()));
  }
  stop_workers = true;
  for (auto& [name, s] : streams) s->thread.join();
  std::signal(SIGINT, old_int);
  std::signal(SIGTERM, old_term);
  for (auto& [name, s] : streams) {
    const load::StreamStats& st = s->writer->stats();
    LogInfo(StrCat("stream ", name, ": ", s->accepted.load(), " events accepted, ",
                   st.events.load(), " committed to ", s->config.table(), ", ",
                   st.quarantined.load(), " quarantined"));
  }
  return absl::OkStatus();
}

}  // namespace watershed::server
