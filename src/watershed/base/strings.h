// base/strings.h — string building that works with std::string_view.
//
// Debian's Abseil is built with its own absl::string_view, so absl::StrCat and friends do not
// take std::string_view: Watershed uses these helpers (and fmt) instead. Thread safety: pure.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

namespace watershed {

namespace strings_internal {
inline void Append(std::string& out, std::string_view s) { out.append(s); }
inline void Append(std::string& out, const char* s) { out.append(s); }
inline void Append(std::string& out, const std::string& s) { out.append(s); }
inline void Append(std::string& out, char c) { out.push_back(c); }
template <typename T>
  requires std::is_arithmetic_v<T>
inline void Append(std::string& out, T v) {
  fmt::format_to(std::back_inserter(out), "{}", v);
}
}  // namespace strings_internal

// StrCat("file ", name, " line ", 12) — concatenates strings, views, chars and numbers.
template <typename... Args>
std::string StrCat(const Args&... args) {
  std::string out;
  (strings_internal::Append(out, args), ...);
  return out;
}

// Heterogeneous hashing for std::unordered_map<std::string, T, StringHash, std::equal_to<>>,
// so lookups by std::string_view build no string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

std::string ToLower(std::string_view s);

// Splits `s` at every `sep`: "a,,b" -> {"a", "", "b"}; "" -> {""}. With `trim`, each part loses
// surrounding ASCII whitespace; with `skip_empty`, empty parts (after trimming) are dropped.
std::vector<std::string> Split(std::string_view s, char sep, bool trim = false,
                               bool skip_empty = false);
// Joins `parts` with `sep` between them.
std::string Join(const std::vector<std::string>& parts, std::string_view sep);
// `s` without leading and trailing ASCII whitespace (space, tab, CR, LF, FF, VT).
std::string_view Trim(std::string_view s);
// Percent-encodes every byte except ASCII letters, digits and the characters in `keep`
// (upper-case hex: "a b" -> "a%20b").
std::string PercentEncode(std::string_view s, std::string_view keep);
// Its inverse: each %XX (either case) becomes the byte; a % without two hex digits stays.
std::string PercentDecode(std::string_view s);
// The length of the longest prefix of `s` that is valid UTF-8 (s.size() when all of it is):
// shortest-form sequences only, no surrogates, nothing above U+10FFFF.
size_t ValidUtf8Prefix(std::string_view s);
inline bool IsValidUtf8(std::string_view s) { return ValidUtf8Prefix(s) == s.size(); }
// `s` with every byte that is not part of a valid UTF-8 sequence replaced by U+FFFD, so the
// result is always valid text (and equals `s` when `s` was valid).
std::string ToValidUtf8(std::string_view s);
// The candidate closest to `word` (a mistyped subcommand, table or pipeline name): the one
// fewest edits away (insertions, deletions, substitutions, swaps of neighbours), at most a
// third of the word's length (at least 1), or else the only candidate `word` is a prefix of.
// Case is ignored. Empty when none is close.
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);
// Whether `host` names this machine's loopback: "localhost", 127.x.x.x, "::1" (also "[::1]").
bool IsLoopbackHost(std::string_view host);
bool StartsWith(std::string_view s, std::string_view prefix);
bool EndsWith(std::string_view s, std::string_view suffix);

}  // namespace watershed
