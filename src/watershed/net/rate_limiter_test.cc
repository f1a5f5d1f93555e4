#include "watershed/net/rate_limiter.h"

#include <algorithm>
#include <mutex>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace watershed::net {
namespace {

// A FakeClock that remembers, per thread, the last time it handed out. After Acquire returns,
// that is the send time the limiter recorded for this thread (its last Now() before recording),
// even when other threads moved the clock in between.
class RecordingClock : public FakeClock {
 public:
  absl::Time Now() const override {
    absl::Time now = FakeClock::Now();
    last_now_ = now;
    return now;
  }
  static absl::Time last_now() { return last_now_; }

 private:
  static thread_local absl::Time last_now_;
};
thread_local absl::Time RecordingClock::last_now_;

// The most sends in any window [t, t + window) starting at a send time t.
int MaxInAnyWindow(std::vector<absl::Time> sends, absl::Duration window) {
  std::sort(sends.begin(), sends.end());
  int most = 0;
  size_t end = 0;
  for (size_t begin = 0; begin < sends.size(); ++begin) {
    end = std::max(end, begin);
    while (end < sends.size() && sends[end] < sends[begin] + window) ++end;
    most = std::max(most, static_cast<int>(end - begin));
  }
  return most;
}

TEST(RateLimiterTest, NeverMoreThanTheLimitInAnyWindowAndUsesTheWholeBudget) {
  RecordingClock clock;
  const absl::Time start = clock.Now();
  RateLimiter limiter(200, absl::Seconds(60), &clock);
  std::vector<absl::Time> sends;
  for (int i = 0; i < 1000; ++i) {
    limiter.Acquire();
    sends.push_back(RecordingClock::last_now());
  }
  EXPECT_EQ(MaxInAnyWindow(sends, absl::Seconds(60)), 200);
  // 1,000 sends at 200 per window: the last one goes out 4 windows after the first.
  const absl::Duration elapsed = clock.Now() - start;
  EXPECT_GE(elapsed, absl::Seconds(240));
  EXPECT_LE(elapsed, absl::Seconds(240) / 0.99);
  EXPECT_EQ(limiter.InWindow(), 200);
}

TEST(RateLimiterTest, ConcurrentAcquirersDoNotOvershootAndTerminateOnAFakeClock) {
  RecordingClock clock;
  const absl::Time start = clock.Now();
  RateLimiter limiter(200, absl::Seconds(60), &clock);
  std::mutex mu;
  std::vector<absl::Time> sends;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 250; ++i) {
        limiter.Acquire();
        absl::Time sent = RecordingClock::last_now();
        std::lock_guard<std::mutex> lock(mu);
        sends.push_back(sent);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_EQ(sends.size(), 1000u);
  EXPECT_EQ(MaxInAnyWindow(sends, absl::Seconds(60)), 200);
  // Waiters queue, so the fake clock moves once per freed slot, not once per waiting thread.
  const absl::Duration elapsed = clock.Now() - start;
  EXPECT_GE(elapsed, absl::Seconds(240));
  EXPECT_LE(elapsed, absl::Seconds(240) / 0.99);
}

TEST(RateLimiterTest, SpreadOutSendsFreeSlotsOneByOne) {
  FakeClock clock;
  RateLimiter limiter(3, absl::Seconds(10), &clock);
  EXPECT_EQ(limiter.Acquire(), absl::ZeroDuration());  // t=0
  clock.Advance(absl::Seconds(4));
  EXPECT_EQ(limiter.Acquire(), absl::ZeroDuration());  // t=4
  clock.Advance(absl::Seconds(4));
  EXPECT_EQ(limiter.Acquire(), absl::ZeroDuration());  // t=8
  EXPECT_EQ(limiter.InWindow(), 3);
  EXPECT_EQ(limiter.Acquire(), absl::Seconds(2));  // waits until t=10, when t=0 leaves
  EXPECT_EQ(limiter.Acquire(), absl::Seconds(4));  // until t=14, when t=4 leaves
  EXPECT_EQ(limiter.InWindow(), 3);
  clock.Advance(absl::Seconds(30));
  EXPECT_EQ(limiter.InWindow(), 0);
  EXPECT_EQ(limiter.Acquire(), absl::ZeroDuration());
}

TEST(RateLimiterTest, ZeroMeansUnlimited) {
  FakeClock clock;
  RateLimiter limiter(0, absl::Seconds(60), &clock);
  for (int i = 0; i < 10000; ++i) EXPECT_EQ(limiter.Acquire(), absl::ZeroDuration());
  EXPECT_EQ(clock.sleep_count(), 0);
  EXPECT_EQ(limiter.max_requests(), 0);
}

TEST(RateLimiterTest, RealClockWaitsForTheWindow) {
  RateLimiter limiter(3, absl::Milliseconds(100), nullptr);  // Clock::Real()
  const absl::Time start = absl::Now();
  for (int i = 0; i < 7; ++i) limiter.Acquire();  // 3 at 0 ms, 3 at ~100 ms, 1 at ~200 ms
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_GE(elapsed, absl::Milliseconds(200));
  EXPECT_LT(elapsed, absl::Seconds(2));
}

}  // namespace
}  // namespace watershed::net
