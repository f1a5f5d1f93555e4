// normalize/infer.cc — text-to-value recognisers (see infer.h).
#include "watershed/normalize/infer.h"

#include <charconv>
#include <cmath>

#include "watershed/base/columns.h"

namespace watershed::normalize {
namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

bool ValidCivil(int y, int m, int d) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

}  // namespace

std::optional<int64_t> ParseDate(std::string_view s) {
  int y, m, d;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !Digits(s, 0, 4, &y) ||
      !Digits(s, 5, 2, &m) || !Digits(s, 8, 2, &d) || !ValidCivil(y, m, d)) {
    return std::nullopt;
  }
  return DaysFromCivil(y, m, d);
}

std::optional<int64_t> ParseTimestamp(std::string_view s) {
  if (s.size() < 19 || (s[10] != 'T' && s[10] != ' ')) return std::nullopt;
  auto days = ParseDate(s.substr(0, 10));
  int hh, mm, ss;
  if (!days || s[13] != ':' || s[16] != ':' || !Digits(s, 11, 2, &hh) || !Digits(s, 14, 2, &mm) ||
      !Digits(s, 17, 2, &ss) || hh > 23 || mm > 59 || ss > 60) {
    return std::nullopt;
  }
  int64_t micros = ((*days * 24 + hh) * 60 + mm) * 60 * 1000000LL + ss * 1000000LL;
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    int64_t frac = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (pos - start < 6) frac = frac * 10 + (s[pos] - '0');
      ++pos;
    }
    size_t n = pos - start;
    if (n == 0 || n > 9) return std::nullopt;
    // Sub-microsecond digits would be lost: keep such values as text.
    for (size_t i = start + 6; i < pos; ++i) {
      if (s[i] != '0') return std::nullopt;
    }
    for (size_t i = n; i < 6; ++i) frac *= 10;
    micros += frac;
  }
  if (pos == s.size()) return micros;
  if (s[pos] == 'Z' && pos + 1 == s.size()) return micros;
  if (s[pos] == '+' || s[pos] == '-') {
    int oh, om;
    std::string_view tz = s.substr(pos + 1);
    if (tz.size() == 5 && tz[2] == ':' && Digits(tz, 0, 2, &oh) && Digits(tz, 3, 2, &om)) {
    } else if (tz.size() == 4 && Digits(tz, 0, 2, &oh) && Digits(tz, 2, 2, &om)) {
    } else if (tz.size() == 2 && Digits(tz, 0, 2, &oh)) {
      om = 0;
    } else {
      return std::nullopt;
    }
    if (oh > 23 || om > 59) return std::nullopt;
    int64_t offset = (oh * 60LL + om) * 60 * 1000000LL;
    return s[pos] == '+' ? micros - offset : micros + offset;
  }
  return std::nullopt;
}

std::optional<int64_t> ParseCanonicalInt(std::string_view s) {
  size_t i = (!s.empty() && s[0] == '-') ? 1 : 0;
  if (i >= s.size() || s.size() - i > 19) return std::nullopt;
  if (s[i] == '0' && s.size() - i > 1) return std::nullopt;
  if (s == "-0") return std::nullopt;
  int64_t v;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> ParseCanonicalDouble(std::string_view s) {
  // JSON number grammar: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?
  size_t i = 0, n = s.size();
  if (i < n && s[i] == '-') ++i;
  if (i >= n) return std::nullopt;
  if (s[i] == '0') {
    ++i;
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
  } else {
    return std::nullopt;
  }
  bool frac_or_exp = false;
  if (i < n && s[i] == '.') {
    ++i;
    size_t start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return std::nullopt;
    frac_or_exp = true;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    size_t start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return std::nullopt;
    frac_or_exp = true;
  }
  if (i != n || !frac_or_exp) return std::nullopt;
  double v;
  auto [p, ec] = std::from_chars(s.data(), s.data() + n, v);
  if (ec != std::errc() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<int64_t> DoubleToDecimal(double d) {
  double scaled = d * kDecimalFactor;
  if (!std::isfinite(scaled) || std::fabs(scaled) >= 9.0e17) return std::nullopt;
  double rounded = std::nearbyint(scaled);
  // More than four decimals cannot be stored exactly.
  if (std::fabs(scaled - rounded) > 1e-6 * std::max(1.0, std::fabs(scaled) * 1e-9)) {
    return std::nullopt;
  }
  return static_cast<int64_t>(rounded);
}

}  // namespace watershed::normalize
