// orchestrate/cron_test.cc — next fire times against a table of known answers.
#include "watershed/orchestrate/cron.h"

#include "gtest/gtest.h"
#include "watershed/normalize/infer.h"

namespace watershed::orchestrate {
namespace {

int64_t T(const char* iso) { return *normalize::ParseTimestamp(iso) / 1000000; }

TEST(Cron, NextFireTimesMatchKnownAnswers) {
  struct Case {
    const char* schedule;
    const char* after;
    const char* next;
  };
  const Case cases[] = {
      {"* * * * *", "2026-11-24T04:10:30Z", "2026-11-24T04:11:00Z"},
      {"0 */2 * * *", "2026-11-24T04:10:00Z", "2026-11-24T06:00:00Z"},
      {"0 */2 * * *", "2026-11-24T06:00:00Z", "2026-11-24T08:00:00Z"},  // strictly after
      {"30 9 * * 1-5", "2026-11-27T10:00:00Z", "2026-11-30T09:30:00Z"},  // Fri -> Mon
      {"0 0 1 * *", "2026-12-15T00:00:00Z", "2027-01-01T00:00:00Z"},
      {"0 0 29 2 *", "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z"},    // leap years only
      {"15,45 * * * *", "2026-11-24T04:20:00Z", "2026-11-24T04:45:00Z"},
      {"0 12 * * 0", "2026-11-24T00:00:00Z", "2026-11-29T12:00:00Z"},    // Sunday as 0
      {"0 12 * * 7", "2026-11-24T00:00:00Z", "2026-11-29T12:00:00Z"},    // ...and as 7
      {"0 0 13 * 5", "2026-11-01T00:00:00Z", "2026-11-06T00:00:00Z"},    // day OR weekday
      {"5-10/5 3 * * *", "2026-11-24T03:06:00Z", "2026-11-24T03:10:00Z"},
      {"every 2h", "2026-11-24T04:10:00Z", "2026-11-24T06:00:00Z"},
      {"every 15m", "2026-11-24T04:10:00Z", "2026-11-24T04:15:00Z"},
      {"every 1d", "2026-11-24T04:10:00Z", "2026-11-25T00:00:00Z"},
  };
  for (const Case& c : cases) {
    auto s = Schedule::Parse(c.schedule);
    ASSERT_TRUE(s.ok()) << c.schedule << ": " << s.status();
    EXPECT_EQ(FormatUtc(s->Next(T(c.after))), c.next) << c.schedule << " after " << c.after;
  }
  for (const char* bad : {"* * * *", "60 * * * *", "* 24 * * *", "*/0 * * * *", "every 2w",
                          "every h", "a b c d e"}) {
    EXPECT_FALSE(Schedule::Parse(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace watershed::orchestrate

namespace watershed::orchestrate {
namespace {

// Found by fuzz/fuzz_schedule: an empty list item parsed as "no value", so the schedule never
// fired and Next() answered -1 (before `after`).
TEST(Cron, EmptyListItemsAndSchedulesThatNeverFireAreErrors) {
  for (const char* bad : {"0 * * * ,", "0,,5 * * * *", "0 * * * 1,", "0 0 31 2 *", "0 0 30 2 *"}) {
    auto s = Schedule::Parse(bad);
    EXPECT_FALSE(s.ok()) << bad;
  }
  auto leap = Schedule::Parse("0 0 29 2 *");
  ASSERT_TRUE(leap.ok());
  EXPECT_GT(leap->Next(1764633600), 1764633600);
  EXPECT_NE(Schedule::Parse("0 0 31 2 *").status().message().find("never fires"),
            std::string::npos);
}

}  // namespace
}  // namespace watershed::orchestrate
