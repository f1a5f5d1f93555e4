// base/clock.cc — the real clock and the fake one. See clock.h.
#include "watershed/base/clock.h"

namespace watershed {
namespace {

class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  void SleepFor(absl::Duration duration) override {
    if (duration > absl::ZeroDuration()) absl::SleepFor(duration);
  }
};

}  // namespace

Clock* Clock::Real() {
  static RealClock* const clock = new RealClock();  // never destroyed: safe at exit
  return clock;
}

FakeClock::FakeClock(absl::Time start) : now_(start) {}

absl::Time FakeClock::Now() const {
  std::lock_guard<std::mutex> lock(mu_);
  return now_;
}

void FakeClock::SleepFor(absl::Duration duration) {
  if (duration <= absl::ZeroDuration()) return;
  std::lock_guard<std::mutex> lock(mu_);
  now_ += duration;
  total_slept_ += duration;
  ++sleep_count_;
}

void FakeClock::SetTime(absl::Time time) {
  std::lock_guard<std::mutex> lock(mu_);
  now_ = time;
}

void FakeClock::Advance(absl::Duration duration) {
  std::lock_guard<std::mutex> lock(mu_);
  now_ += duration;
}

absl::Duration FakeClock::total_slept() const {
  std::lock_guard<std::mutex> lock(mu_);
  return total_slept_;
}

int FakeClock::sleep_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sleep_count_;
}

}  // namespace watershed
