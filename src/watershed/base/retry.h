// base/retry.h — which errors are worth retrying, and retrying them with exponential back-off.
//
// Owns: IsTransient (the one definition of a transient error), RetryPolicy (back-off with
// jitter) and Retry, which re-runs a step while it fails with a transient code, sleeping on a
// Clock so tests never wait.
// Does not belong here: rate limiting, circuit breakers, HTTP-specific rules (Retry-After,
// status mapping; sources/ maps HTTP codes to Status codes first), task-level retries
// (orchestrate/).
// Thread safety: all functions are reentrant; Retry runs `fn` on the calling thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/time/time.h"
#include "watershed/base/clock.h"
#include "watershed/base/status.h"

namespace watershed {

// True for kUnavailable, kDeadlineExceeded, kResourceExhausted and kAborted: the codes a retry
// may cure. OK and every other code are not transient.
bool IsTransient(const Status& status);

struct RetryPolicy {
  // Total attempts including the first; values below 1 mean 1.
  int max_attempts = 3;
  // Wait after the first failed attempt.
  absl::Duration initial_backoff = absl::Milliseconds(200);
  // Each further wait is `multiplier` times the previous one (before jitter), up to max_backoff.
  double multiplier = 2.0;
  absl::Duration max_backoff = absl::Seconds(30);
  // Each wait is scaled by a factor drawn uniformly from [1 - jitter, 1 + jitter]; 0 disables.
  double jitter = 0.2;

  // The wait after failed attempt `attempt` (1-based): initial_backoff * multiplier^(attempt-1),
  // capped at max_backoff, then jittered and capped again; never negative. Deterministic for a
  // given `seed` (Retry draws one random seed per call).
  absl::Duration Backoff(int attempt, uint64_t seed) const;
};

// Called before each wait: the attempt that failed (1-based), its error and the wait.
using RetryCallback = std::function<void(int attempt, const Status& error, absl::Duration wait)>;

// Runs fn(1), fn(2), ... until it returns OK, returns a non-transient error, or max_attempts
// have run; between attempts it calls on_retry (if set) and sleeps on `clock` (Clock::Real()
// when null). Returns OK or the last error. When more than one attempt ran, or the last error
// was transient, the message is prefixed "after N attempts: ", keeping the code.
Status Retry(const RetryPolicy& policy, Clock* clock, const std::function<Status(int attempt)>& fn,
             const RetryCallback& on_retry = nullptr);

namespace retry_internal {
template <typename T>
struct IsStatusOr : std::false_type {};
template <typename T>
struct IsStatusOr<absl::StatusOr<T>> : std::true_type {};
}  // namespace retry_internal

// The same for a step that returns a value: `StatusOr<Page> page = Retry(policy, clock,
// [&](int attempt) { return FetchPage(cursor); });`
template <typename Fn>
requires retry_internal::IsStatusOr<std::invoke_result_t<Fn&, int>>::value
    std::invoke_result_t<Fn&, int>
    Retry(const RetryPolicy& policy, Clock* clock, Fn&& fn,
          const RetryCallback& on_retry = nullptr) {
  using Result = std::invoke_result_t<Fn&, int>;
  std::optional<Result> value;
  Status status = Retry(
      policy, clock,
      [&](int attempt) -> Status {
        Result result = fn(attempt);
        if (!result.ok()) return result.status();
        value.emplace(std::move(result));
        return Status();
      },
      on_retry);
  if (!status.ok()) return Result(std::move(status));
  return std::move(*value);
}

}  // namespace watershed
