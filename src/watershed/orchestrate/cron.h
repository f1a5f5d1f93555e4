// orchestrate/cron.h — schedules: five-field cron expressions and "every N{m,h,d}".
//
// Owns: parsing a schedule and computing its next fire time after a moment (UTC). Cron fields:
// minute hour day-of-month month day-of-week, each `*`, a number, a range `a-b`, a list `a,b`
// and steps `*/n` or `a-b/n`; day-of-week 0-7 (0 and 7 are Sunday); when both day fields are
// restricted a day matches either (as in cron). "every 2h" fires at multiples of the period
// since the epoch. Does not own: running anything (scheduler.h). Thread safety: values only.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>

#include "watershed/base/status.h"

namespace watershed::orchestrate {

class Schedule {
 public:
  static StatusOr<Schedule> Parse(const std::string& text);
  // The first fire time strictly after `after` (seconds since the epoch, UTC).
  int64_t Next(int64_t after) const;

 private:
  int64_t every_seconds_ = 0;  // > 0 for "every N"
  std::bitset<60> minute_;
  std::bitset<24> hour_;
  std::bitset<32> dom_;
  std::bitset<13> month_;
  std::bitset<7> dow_;
  bool dom_any_ = true, dow_any_ = true;
};

// "2026-11-24T02:00:00Z" for a time; "2026-11-24" when it is midnight and `date_only_at_midnight`.
std::string FormatUtc(int64_t seconds);

}  // namespace watershed::orchestrate
