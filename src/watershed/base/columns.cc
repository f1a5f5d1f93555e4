// base/columns.cc — type names, widening rules, calendar arithmetic.
#include "watershed/base/columns.h"

#include <chrono>
#include <cstdio>


namespace watershed {

std::string_view ColumnTypeSql(ColumnType type) {
  switch (type) {
    case ColumnType::kBoolean: return "BOOLEAN";
    case ColumnType::kBigint: return "BIGINT";
    case ColumnType::kDouble: return "DOUBLE";
    case ColumnType::kDecimal: return "DECIMAL(18,4)";
    case ColumnType::kDate: return "DATE";
    case ColumnType::kTimestamp: return "TIMESTAMP";
    case ColumnType::kVarchar: return "VARCHAR";
  }
  return "VARCHAR";
}

std::string_view ColumnTypeName(ColumnType type) {
  switch (type) {
    case ColumnType::kBoolean: return "boolean";
    case ColumnType::kBigint: return "bigint";
    case ColumnType::kDouble: return "double";
    case ColumnType::kDecimal: return "decimal";
    case ColumnType::kDate: return "date";
    case ColumnType::kTimestamp: return "timestamp";
    case ColumnType::kVarchar: return "varchar";
  }
  return "varchar";
}

StatusOr<ColumnType> ParseColumnType(std::string_view name) {
  std::string n = ToLower(name);
  for (ColumnType t : {ColumnType::kBoolean, ColumnType::kBigint, ColumnType::kDouble,
                       ColumnType::kDecimal, ColumnType::kDate, ColumnType::kTimestamp,
                       ColumnType::kVarchar}) {
    if (n == ColumnTypeName(t) || n == ToLower(ColumnTypeSql(t))) return t;
  }
  return absl::InvalidArgumentError(StrCat(
      "unknown column type '", name,
      "' (expected boolean, bigint, double, decimal, date, timestamp or varchar)"));
}

std::optional<ColumnType> WiderType(ColumnType a, ColumnType b) {
  if (a == b) return a;
  auto pair = [&](ColumnType x, ColumnType y) {
    return (a == x && b == y) || (a == y && b == x);
  };
  if (pair(ColumnType::kBigint, ColumnType::kDouble)) return ColumnType::kDouble;
  if (pair(ColumnType::kBigint, ColumnType::kDecimal)) return ColumnType::kDecimal;
  if (pair(ColumnType::kDate, ColumnType::kTimestamp)) return ColumnType::kTimestamp;
  return std::nullopt;
}

// Howard Hinnant's days_from_civil / civil_from_days algorithms (proleptic Gregorian).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

std::string FormatDate(int64_t days) {
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
  return buf;
}

std::string FormatTimestampMicros(int64_t micros) {
  int64_t days = micros >= 0 ? micros / 86400000000LL : -((-micros + 86399999999LL) / 86400000000LL);
  int64_t rem = micros - days * 86400000000LL;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s %02lld:%02lld:%02lld.%06lld", FormatDate(days).c_str(),
                static_cast<long long>(rem / 3600000000LL),
                static_cast<long long>(rem / 60000000LL % 60),
                static_cast<long long>(rem / 1000000LL % 60),
                static_cast<long long>(rem % 1000000LL));
  return buf;
}

std::string IsoUtc(int64_t micros, bool fraction) {
  std::string s = FormatTimestampMicros(micros);
  s[10] = 'T';
  if (!fraction) s.resize(19);
  return s + "Z";
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string TodayUtc() {
  const int64_t micros = NowMicros();
  return FormatDate(micros / 86400000000LL);
}

}  // namespace watershed
