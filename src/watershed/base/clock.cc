// base/clock.cc — the real clock and the fake one. See clock.h.
#include "watershed/base/clock.h"

#include <cstdlib>
#include <string>

#include "watershed/base/strings.h"

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

StatusOr<absl::Duration> ParseDuration(std::string_view text) {
  const std::string t(text);
  auto bad = [&] {
    return absl::InvalidArgumentError(
        StrCat("'", t, "' is not a duration (examples: 500ms, 30s, 5m, 1.5h, 1d, 1h30m, or seconds)"));
  };
  if (t.empty() || t.front() == '-' || t.front() == '+') return bad();
  const char* p = t.c_str();
  char* end = nullptr;
  double whole = std::strtod(p, &end);
  if (end != p && *end == '\0') return absl::Seconds(whole);  // a plain number of seconds
  absl::Duration total = absl::ZeroDuration();
  while (*p != '\0') {
    if (*p == '-' || *p == '+' || *p == ' ') return bad();
    double n = std::strtod(p, &end);
    if (end == p) return bad();
    p = end;
    if (p[0] == 'm' && p[1] == 's') {
      total += absl::Milliseconds(n);
      p += 2;
      continue;
    }
    switch (*p) {
      case 's': total += absl::Seconds(n); break;
      case 'm': total += absl::Minutes(n); break;
      case 'h': total += absl::Hours(n); break;
      case 'd': total += absl::Hours(24 * n); break;
      case 'w': total += absl::Hours(24 * 7 * n); break;
      default: return bad();  // no unit, or an unknown one
    }
    ++p;
  }
  return total;
}

}  // namespace watershed
