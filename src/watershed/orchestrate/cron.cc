// orchestrate/cron.cc — see cron.h.
#include "watershed/orchestrate/cron.h"

#include <vector>

#include "watershed/base/columns.h"

namespace watershed::orchestrate {
namespace {

std::vector<std::string> Split(const std::string& s, char sep) {
  return watershed::Split(s, sep, /*trim=*/false, /*skip_empty=*/true);
}

bool ToInt(const std::string& s, int* out) {
  if (s.empty() || s.size() > 4) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  *out = std::stoi(s);
  return true;
}

// Sets the bits `field` selects within [lo, hi]. Returns false when it does not parse.
template <size_t N>
bool ParseField(const std::string& field, int lo, int hi, std::bitset<N>* bits, bool* any) {
  *any = field == "*";
  for (const std::string& part : watershed::Split(field, ',')) {
    if (part.empty()) return false;  // "1,,2" or a lone ","
    std::string range = part;
    int step = 1;
    if (size_t slash = part.find('/'); slash != std::string::npos) {
      range = part.substr(0, slash);
      if (!ToInt(part.substr(slash + 1), &step) || step == 0) return false;
    }
    int a = lo, b = hi;
    if (range != "*") {
      if (size_t dash = range.find('-'); dash != std::string::npos) {
        if (!ToInt(range.substr(0, dash), &a) || !ToInt(range.substr(dash + 1), &b)) return false;
      } else {
        if (!ToInt(range, &a)) return false;
        b = part.find('/') != std::string::npos ? hi : a;
      }
    }
    if (a < lo || b > hi || a > b) return false;
    for (int v = a; v <= b; v += step) bits->set(static_cast<size_t>(v));
  }
  return true;
}

}  // namespace

StatusOr<Schedule> Schedule::Parse(const std::string& text) {
  Schedule s;
  if (text.starts_with("every ")) {
    std::string n = text.substr(6);
    int64_t unit = 0;
    switch (n.empty() ? ' ' : n.back()) {
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      default: break;
    }
    int v = 0;
    if (unit == 0 || !ToInt(n.substr(0, n.size() - 1), &v) || v == 0) {
      return absl::InvalidArgumentError(
          StrCat("schedule '", text, "': expected every N followed by m, h or d (every 2h)"));
    }
    s.every_seconds_ = v * unit;
    return s;
  }
  auto fields = Split(text, ' ');
  std::bitset<8> dow8;
  bool month_any;
  bool hour_any, minute_any;
  if (fields.size() != 5 || !ParseField(fields[0], 0, 59, &s.minute_, &minute_any) ||
      !ParseField(fields[1], 0, 23, &s.hour_, &hour_any) ||
      !ParseField(fields[2], 1, 31, &s.dom_, &s.dom_any_) ||
      !ParseField(fields[3], 1, 12, &s.month_, &month_any) ||
      !ParseField(fields[4], 0, 7, &dow8, &s.dow_any_)) {
    return absl::InvalidArgumentError(StrCat(
        "schedule '", text, "' is not a cron expression (minute hour day month weekday, e.g. "
        "\"0 */2 * * *\") or every N{m,h,d}"));
  }
  for (int d = 0; d < 7; ++d) s.dow_[d] = dow8[d] || (d == 0 && dow8[7]);
  // A valid expression that never fires ("0 0 31 2 *": February 31st) is a mistake too.
  if (s.Next(0) < 0) {
    return absl::InvalidArgumentError(
        StrCat("schedule '", text, "' never fires (no date matches its day and month fields)"));
  }
  return s;
}

int64_t Schedule::Next(int64_t after) const {
  if (every_seconds_ > 0) return (after / every_seconds_ + 1) * every_seconds_;
  int64_t t = (after / 60 + 1) * 60;  // the next whole minute
  for (int guard = 0; guard < 5 * 366 * 24 * 60; ++guard) {
    const int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t y;
    unsigned m, d;
    CivilFromDays(days, &y, &m, &d);
    const int minute_of_day = static_cast<int>(t - days * 86400) / 60;
    const int dow = static_cast<int>(((days % 7) + 7 + 4) % 7);  // 1970-01-01 was a Thursday
    const bool day_ok = (dom_any_ && dow_any_)   ? true
                        : dom_any_              ? dow_[dow]
                        : dow_any_              ? dom_[d]
                                                : (dom_[d] || dow_[dow]);
    if (!month_[m] || !day_ok) {
      t = (days + 1) * 86400;  // next day, 00:00
      continue;
    }
    if (!hour_[minute_of_day / 60]) {
      t = days * 86400 + (minute_of_day / 60 + 1) * 3600;
      continue;
    }
    if (!minute_[minute_of_day % 60]) {
      t += 60;
      continue;
    }
    return t;
  }
  return -1;
}

std::string FormatUtc(int64_t seconds) { return IsoUtc(seconds * 1000000, /*fraction=*/false); }

}  // namespace watershed::orchestrate
