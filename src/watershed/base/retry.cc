// base/retry.cc — transient-error classification and the retry loop. See retry.h.
#include "watershed/base/retry.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

namespace watershed {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

uint64_t RandomSeed() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine();
}

}  // namespace

bool IsTransient(const Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
      return true;
    default:
      return false;
  }
}

absl::Duration RetryPolicy::Backoff(int attempt, uint64_t seed) const {
  const double cap = std::max(0.0, absl::ToDoubleSeconds(max_backoff));
  const double initial = std::max(0.0, absl::ToDoubleSeconds(initial_backoff));
  const double growth = std::max(1.0, std::isfinite(multiplier) ? multiplier : 1.0);
  // pow may overflow to +inf for large attempts; min() with the cap handles it.
  double seconds = initial * std::pow(growth, std::max(0, attempt - 1));
  seconds = std::min(std::isfinite(seconds) ? seconds : cap, cap);
  const double spread = std::clamp(std::isfinite(jitter) ? jitter : 0.0, 0.0, 1.0);
  if (spread > 0) {
    uint64_t bits = SplitMix64(seed ^ SplitMix64(static_cast<uint64_t>(attempt)));
    double unit = static_cast<double>(bits >> 11) * 0x1.0p-53;  // [0, 1)
    seconds *= 1.0 - spread + 2.0 * spread * unit;
    seconds = std::min(seconds, cap);
  }
  return absl::Seconds(std::max(0.0, seconds));
}

Status Retry(const RetryPolicy& policy, Clock* clock, const std::function<Status(int attempt)>& fn,
             const RetryCallback& on_retry) {
  if (clock == nullptr) clock = Clock::Real();
  const int max_attempts = std::max(1, policy.max_attempts);
  const uint64_t seed = RandomSeed();
  Status last;
  int attempt = 1;
  for (;; ++attempt) {
    last = fn(attempt);
    if (last.ok()) return last;
    if (!IsTransient(last) || attempt >= max_attempts) break;
    absl::Duration wait = policy.Backoff(attempt, seed);
    if (on_retry) on_retry(attempt, last, wait);
    clock->SleepFor(wait);
  }
  if (attempt == 1 && !IsTransient(last)) return last;
  return Annotate(last,
                  "after " + std::to_string(attempt) + (attempt == 1 ? " attempt" : " attempts"));
}

}  // namespace watershed
