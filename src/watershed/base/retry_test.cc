#include "watershed/base/retry.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace watershed {
namespace {

TEST(IsTransientTest, ExactlyTheFourRetryableCodes) {
  EXPECT_TRUE(IsTransient(absl::UnavailableError("503")));
  EXPECT_TRUE(IsTransient(absl::DeadlineExceededError("timeout")));
  EXPECT_TRUE(IsTransient(absl::ResourceExhaustedError("429")));
  EXPECT_TRUE(IsTransient(absl::AbortedError("conflict")));
  EXPECT_FALSE(IsTransient(absl::OkStatus()));
  EXPECT_FALSE(IsTransient(absl::InvalidArgumentError("bad")));
  EXPECT_FALSE(IsTransient(absl::NotFoundError("404")));
  EXPECT_FALSE(IsTransient(absl::PermissionDeniedError("401")));
  EXPECT_FALSE(IsTransient(absl::InternalError("bug")));
  EXPECT_FALSE(IsTransient(absl::DataLossError("torn")));
  EXPECT_FALSE(IsTransient(absl::CancelledError("stop")));
}

TEST(RetryPolicyTest, BackoffGrowsExponentiallyWithoutJitter) {
  RetryPolicy policy;
  policy.jitter = 0;
  EXPECT_EQ(policy.Backoff(1, 7), absl::Milliseconds(200));
  EXPECT_EQ(policy.Backoff(2, 7), absl::Milliseconds(400));
  EXPECT_EQ(policy.Backoff(3, 7), absl::Milliseconds(800));
  EXPECT_EQ(policy.Backoff(8, 7), absl::Milliseconds(25600));
  EXPECT_EQ(policy.Backoff(9, 7), absl::Seconds(30));        // capped
  EXPECT_EQ(policy.Backoff(5000, 7), absl::Seconds(30));     // pow overflows to inf: still capped
  EXPECT_EQ(policy.Backoff(0, 7), absl::Milliseconds(200));  // nonsense attempt: first wait
}

TEST(RetryPolicyTest, JitterStaysInRangeAndIsDeterministicPerSeed) {
  RetryPolicy policy;  // jitter 0.2
  bool varied = false;
  for (uint64_t seed = 0; seed < 500; ++seed) {
    absl::Duration wait = policy.Backoff(2, seed);
    EXPECT_GE(wait, absl::Milliseconds(320));
    EXPECT_LE(wait, absl::Milliseconds(480));
    EXPECT_EQ(wait, policy.Backoff(2, seed));
    if (wait != policy.Backoff(2, 0)) varied = true;
  }
  EXPECT_TRUE(varied);
}

TEST(RetryPolicyTest, JitterNeverExceedsTheCapAndOddSettingsAreSafe) {
  RetryPolicy policy;
  policy.max_backoff = absl::Seconds(1);
  for (uint64_t seed = 0; seed < 200; ++seed) EXPECT_LE(policy.Backoff(20, seed), absl::Seconds(1));
  policy.multiplier = 0.5;  // treated as 1: waits never shrink
  policy.jitter = 0;
  EXPECT_EQ(policy.Backoff(4, 1), absl::Milliseconds(200));
  policy.initial_backoff = absl::Seconds(-3);
  EXPECT_EQ(policy.Backoff(1, 1), absl::ZeroDuration());
  policy.initial_backoff = absl::Milliseconds(10);
  policy.jitter = 5;  // clamped to 1: wait in [0, 2x]
  for (uint64_t seed = 0; seed < 200; ++seed) {
    EXPECT_GE(policy.Backoff(1, seed), absl::ZeroDuration());
    EXPECT_LE(policy.Backoff(1, seed), absl::Milliseconds(20));
  }
}

TEST(RetryTest, SucceedsFirstTimeWithoutSleeping) {
  FakeClock clock;
  int calls = 0;
  Status status = Retry(RetryPolicy{}, &clock, [&](int attempt) {
    ++calls;
    EXPECT_EQ(attempt, 1);
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(clock.sleep_count(), 0);
}

TEST(RetryTest, RetriesTransientErrorsThenSucceeds) {
  FakeClock clock;
  RetryPolicy policy;
  policy.max_attempts = 5;
  policy.jitter = 0;
  std::vector<int> attempts;
  std::vector<absl::Duration> waits;
  Status status = Retry(
      policy, &clock,
      [&](int attempt) {
        attempts.push_back(attempt);
        return attempt < 3 ? absl::UnavailableError("HTTP 503 on page 4") : absl::OkStatus();
      },
      [&](int attempt, const Status& error, absl::Duration wait) {
        EXPECT_EQ(error.code(), absl::StatusCode::kUnavailable);
        EXPECT_EQ(attempt, static_cast<int>(waits.size()) + 1);
        waits.push_back(wait);
      });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(attempts, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(waits, (std::vector<absl::Duration>{absl::Milliseconds(200), absl::Milliseconds(400)}));
  EXPECT_EQ(clock.total_slept(), absl::Milliseconds(600));
  EXPECT_EQ(clock.sleep_count(), 2);
}

TEST(RetryTest, GivesUpAfterMaxAttemptsAndSaysSo) {
  FakeClock clock;
  int calls = 0;
  Status status = Retry(RetryPolicy{}, &clock, [&](int) {
    ++calls;
    return absl::ResourceExhaustedError("HTTP 429 from api.crunchbase.com");
  });
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(), "after 3 attempts: HTTP 429 from api.crunchbase.com");
  EXPECT_EQ(clock.sleep_count(), 2);  // no sleep after the last attempt
}

TEST(RetryTest, NonTransientErrorFailsAtOnceUnchanged) {
  FakeClock clock;
  int calls = 0;
  Status status = Retry(RetryPolicy{}, &clock, [&](int) {
    ++calls;
    return absl::InvalidArgumentError("bad field_ids");
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(status, absl::InvalidArgumentError("bad field_ids"));
  EXPECT_EQ(clock.sleep_count(), 0);
}

TEST(RetryTest, NonTransientErrorAfterRetriesStopsAndIsAnnotated) {
  FakeClock clock;
  Status status = Retry(RetryPolicy{}, &clock, [&](int attempt) {
    return attempt == 1 ? absl::UnavailableError("503") : absl::PermissionDeniedError("401");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(status.message(), "after 2 attempts: 401");
}

TEST(RetryTest, SingleAttemptPolicy) {
  FakeClock clock;
  RetryPolicy policy;
  policy.max_attempts = 0;  // means 1
  int calls = 0;
  Status status = Retry(policy, &clock, [&](int) {
    ++calls;
    return absl::DeadlineExceededError("read timed out");
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(status.message(), "after 1 attempt: read timed out");
}

TEST(RetryTest, NullClockUsesTheRealOne) {
  RetryPolicy policy;
  policy.initial_backoff = absl::Milliseconds(1);
  Status status = Retry(policy, nullptr, [](int attempt) {
    return attempt < 2 ? absl::AbortedError("busy") : absl::OkStatus();
  });
  EXPECT_TRUE(status.ok());
}

TEST(RetryTest, StatusOrOverloadReturnsTheValue) {
  FakeClock clock;
  StatusOr<std::string> page =
      Retry(RetryPolicy{}, &clock, [](int attempt) -> StatusOr<std::string> {
        if (attempt == 1) return absl::UnavailableError("503");
        return std::string("page-") + std::to_string(attempt);
      });
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(*page, "page-2");
}

TEST(RetryTest, StatusOrOverloadReturnsTheError) {
  FakeClock clock;
  int retries = 0;
  StatusOr<int> value = Retry(
      RetryPolicy{}, &clock, [](int) -> StatusOr<int> { return absl::AbortedError("locked"); },
      [&](int, const Status&, absl::Duration) { ++retries; });
  EXPECT_EQ(value.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(value.status().message(), "after 3 attempts: locked");
  EXPECT_EQ(retries, 2);
}

TEST(RetryTest, StatusOrOverloadWorksWithMoveOnlyValues) {
  FakeClock clock;
  StatusOr<std::unique_ptr<int>> value =
      Retry(RetryPolicy{}, &clock,
            [](int) -> StatusOr<std::unique_ptr<int>> { return std::make_unique<int>(7); });
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(**value, 7);
}

}  // namespace
}  // namespace watershed
