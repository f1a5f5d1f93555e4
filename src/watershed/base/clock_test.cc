#include "watershed/base/clock.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace watershed {
namespace {

TEST(RealClockTest, NowIsCloseToAbslNowAndMonotonicEnough) {
  Clock* clock = Clock::Real();
  ASSERT_NE(clock, nullptr);
  EXPECT_EQ(clock, Clock::Real());
  absl::Time before = absl::Now();
  absl::Time now = clock->Now();
  EXPECT_GE(now, before);
  EXPECT_LT(now - before, absl::Seconds(5));
}

TEST(RealClockTest, SleepForWaitsAtLeastTheDuration) {
  Clock* clock = Clock::Real();
  absl::Time start = clock->Now();
  clock->SleepFor(absl::Milliseconds(20));
  EXPECT_GE(clock->Now() - start, absl::Milliseconds(19));
  clock->SleepFor(absl::Seconds(-1));  // returns at once
}

TEST(FakeClockTest, StartsAtTheGivenTime) {
  FakeClock clock(absl::FromUnixSeconds(42));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(42));
  FakeClock default_clock;
  EXPECT_EQ(default_clock.Now(), absl::FromUnixSeconds(1700000000));
}

TEST(FakeClockTest, SetTimeAndAdvance) {
  FakeClock clock;
  clock.SetTime(absl::FromUnixSeconds(1000));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(1000));
  clock.Advance(absl::Seconds(5));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(1005));
  clock.SetTime(absl::FromUnixSeconds(10));  // may go backwards, on purpose
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(10));
  EXPECT_EQ(clock.sleep_count(), 0);  // Advance and SetTime are not sleeps
}

TEST(FakeClockTest, SleepForAdvancesInstantlyAndIsRecorded) {
  FakeClock clock(absl::FromUnixSeconds(0));
  absl::Time real_start = absl::Now();
  clock.SleepFor(absl::Hours(3));
  clock.SleepFor(absl::Milliseconds(250));
  clock.SleepFor(absl::ZeroDuration());
  clock.SleepFor(absl::Seconds(-4));
  EXPECT_LT(absl::Now() - real_start, absl::Seconds(1));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(0) + absl::Hours(3) + absl::Milliseconds(250));
  EXPECT_EQ(clock.total_slept(), absl::Hours(3) + absl::Milliseconds(250));
  EXPECT_EQ(clock.sleep_count(), 2);
}

TEST(FakeClockTest, IsUsableThroughTheInterface) {
  FakeClock fake(absl::FromUnixSeconds(100));
  Clock* clock = &fake;
  clock->SleepFor(absl::Seconds(1));
  EXPECT_EQ(clock->Now(), absl::FromUnixSeconds(101));
}

TEST(FakeClockTest, ConcurrentSleepsAreAllCounted) {
  FakeClock clock(absl::FromUnixSeconds(0));
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&clock] {
      for (int i = 0; i < 1000; ++i) {
        clock.SleepFor(absl::Milliseconds(1));
        (void)clock.Now();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(8));
  EXPECT_EQ(clock.sleep_count(), 8000);
}

// Every form watershed.yml uses (pipelines, streams, windows, retention) and what is refused.
TEST(ParseDurationTest, UnitsCompoundsPlainSecondsAndErrors) {
  EXPECT_EQ(*ParseDuration("500ms"), absl::Milliseconds(500));
  EXPECT_EQ(*ParseDuration("90s"), absl::Seconds(90));
  EXPECT_EQ(*ParseDuration("5m"), absl::Minutes(5));
  EXPECT_EQ(*ParseDuration("1.5h"), absl::Minutes(90));
  EXPECT_EQ(*ParseDuration("2d"), absl::Hours(48));
  EXPECT_EQ(*ParseDuration("1w"), absl::Hours(7 * 24));  // freshness max_age (checks.md)
  EXPECT_EQ(*ParseDuration("1h30m"), absl::Minutes(90));
  EXPECT_EQ(*ParseDuration("30"), absl::Seconds(30));
  EXPECT_EQ(*ParseDuration("1.5"), absl::Milliseconds(1500));
  EXPECT_EQ(*ParseDuration("0s"), absl::ZeroDuration());
  for (const char* bad : {"", "1x", "-1s", "-5", "d", "h", "m5", "1h30", "1.2.3", ".", "5 minutes"}) {
    auto d = ParseDuration(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(d.status().message().find(std::string("'") + bad + "'"), std::string::npos) << bad;
  }
}

}  // namespace
}  // namespace watershed
