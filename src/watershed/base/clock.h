// base/clock.h — the one source of "now" and of sleeping.
//
// Owns: the abstract Clock, the real clock (Clock::Real()) and FakeClock for tests. Code that
// reads the time or waits (retries, schedules, ids, timeouts) takes a Clock* so tests can drive
// time by hand instead of sleeping. ParseDuration: the one reading of durations in watershed.yml
// (timeouts, retry backoff, batch waits, windows, retention).
// Does not belong here: timers, schedulers, calendars, time formatting.
// Thread safety: Clock::Real() is stateless and thread-safe; FakeClock guards its time with a
// mutex, so one FakeClock may be shared by many threads.
#pragma once

#include <mutex>
#include <string_view>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "watershed/base/status.h"

namespace watershed {

class Clock {
 public:
  virtual ~Clock() = default;

  // The current time.
  virtual absl::Time Now() const = 0;

  // Blocks for `duration` (a real clock) or pretends to (a fake one). Non-positive durations
  // return at once.
  virtual void SleepFor(absl::Duration duration) = 0;

  // The process-wide wall clock. Never null, never deleted.
  static Clock* Real();
};

// A clock that only moves when told to. SleepFor advances the time instantly and records the
// sleep, so code with back-off runs at full speed in tests.
class FakeClock : public Clock {
 public:
  // Starts at `start` (by default 2023-11-14 22:13:20 UTC, an arbitrary fixed instant).
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1700000000));

  absl::Time Now() const override;
  void SleepFor(absl::Duration duration) override;

  void SetTime(absl::Time time);
  void Advance(absl::Duration duration);

  // Sum and count of SleepFor calls with a positive duration since construction.
  absl::Duration total_slept() const;
  int sleep_count() const;

 private:
  mutable std::mutex mu_;
  absl::Time now_;                                     // guarded by mu_
  absl::Duration total_slept_ = absl::ZeroDuration();  // guarded by mu_
  int sleep_count_ = 0;                                // guarded by mu_
};

// "500ms", "30s", "5m", "1.5h", "1d", "1w", "1h30m" (parts with units ms, s, m, h, d, w) or a
// plain number of seconds ("30", "1.5"). kInvalidArgument naming the text for anything else, and
// for negatives.
StatusOr<absl::Duration> ParseDuration(std::string_view text);

}  // namespace watershed
