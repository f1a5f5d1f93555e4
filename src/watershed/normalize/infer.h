// normalize/infer.h — recognising typed values inside text.
//
// Owns: the rules that turn a string into a date, a timestamp, a number or a boolean, exactly
// and without loss (a value that would not round-trip stays text: "0123" is not the number 123).
// Does not own: column types or schema evolution (normalizer.h). Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace watershed::normalize {

// "YYYY-MM-DD" -> days since 1970-01-01.
std::optional<int64_t> ParseDate(std::string_view s);
// "YYYY-MM-DD[T ]HH:MM:SS[.f{1,9}][Z|+HH:MM|-HHMM]" -> microseconds since epoch, UTC.
std::optional<int64_t> ParseTimestamp(std::string_view s);
// Canonical integers only: -?(0|[1-9][0-9]*), fitting in int64.
std::optional<int64_t> ParseCanonicalInt(std::string_view s);
// Decimal or scientific notation that is not a canonical integer; finite only.
std::optional<double> ParseCanonicalDouble(std::string_view s);
// A double as a DECIMAL(18,4) slot, when it has at most 4 decimals and fits.
std::optional<int64_t> DoubleToDecimal(double d);

}  // namespace watershed::normalize
