// net/rate_limiter.cc — the sliding-log request budget. See rate_limiter.h.
#include "watershed/net/rate_limiter.h"

#include <algorithm>

namespace watershed::net {

RateLimiter::RateLimiter(int max_requests, absl::Duration window, Clock* clock)
    : max_requests_(window > absl::ZeroDuration() ? std::max(0, max_requests) : 0),
      window_(window),
      clock_(clock != nullptr ? clock : Clock::Real()) {}

absl::Duration RateLimiter::Acquire() {
  if (max_requests_ == 0) return absl::ZeroDuration();
  const absl::Time start = clock_->Now();
  // One caller at a time decides and, if the budget is spent, sleeps; the rest queue here. This
  // keeps a FakeClock from being advanced once per waiting thread for the same freed slot.
  std::lock_guard<std::mutex> queue(acquire_mu_);
  for (;;) {
    absl::Duration wait;
    {
      std::lock_guard<std::mutex> lock(mu_);
      absl::Time now = clock_->Now();
      // A wall clock may step back; never record a send before an earlier one, so the log
      // stays sorted and the oldest entry is always at the front.
      if (!sent_.empty()) now = std::max(now, sent_.back());
      while (!sent_.empty() && sent_.front() <= now - window_) sent_.pop_front();
      if (static_cast<int>(sent_.size()) < max_requests_) {
        sent_.push_back(now);
        return std::max(absl::ZeroDuration(), now - start);
      }
      wait = sent_.front() + window_ - now;  // > 0: the oldest send is still in the window
    }
    clock_->SleepFor(wait);  // outside mu_: InWindow() stays responsive; re-check after
  }
}

int RateLimiter::InWindow() {
  if (max_requests_ == 0) return 0;
  std::lock_guard<std::mutex> lock(mu_);
  const absl::Time now = clock_->Now();
  return static_cast<int>(
      std::count_if(sent_.begin(), sent_.end(), [&](absl::Time t) { return t > now - window_; }));
}

}  // namespace watershed::net
