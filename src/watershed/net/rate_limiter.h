// net/rate_limiter.h — a client-side request budget: at most N requests in any window
// (default 200 per 60 s, the Crunchbase API's limit per key).
//
// Owns: Acquire(), which blocks (sleeping on the Clock) until one more request fits in every
// sliding window ending now, and never lets more than N through in any window of that length —
// also when many threads acquire at once. It keeps a "sliding log" of the last N send times: a
// request may go at time t when fewer than N sends happened in (t - window, t].
// Does not own: retries (http_client.h), per-host or per-key budgets (make one limiter each).
// Thread safety: all methods are thread-safe. Waiting callers queue: one sleeps on the Clock
// while the others block on a mutex, so a FakeClock is advanced once per freed slot (no
// over-sleeping when several threads wait) and a real clock wakes them in turn.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>

#include "absl/time/time.h"
#include "watershed/base/clock.h"

namespace watershed::net {

class RateLimiter {
 public:
  // `max_requests` <= 0 or a non-positive `window` means unlimited. `clock` == nullptr means
  // Clock::Real(); it is not owned and must outlive the limiter.
  RateLimiter(int max_requests, absl::Duration window, Clock* clock);

  // Waits until a request may be sent, then records it. Returns how long it waited.
  absl::Duration Acquire();
  // Requests recorded in the window ending now.
  int InWindow();
  int max_requests() const { return max_requests_; }

 private:
  const int max_requests_;
  const absl::Duration window_;
  Clock* clock_;
  std::mutex acquire_mu_;        // held for a whole Acquire: waiters queue here
  std::mutex mu_;                // guards sent_; never held while sleeping
  std::deque<absl::Time> sent_;  // send times within the last window, oldest first
};

}  // namespace watershed::net
