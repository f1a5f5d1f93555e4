// base/status.h — the one error type of Watershed.
//
// Every function that can fail returns Status or StatusOr<T> (Abseil's). Transient codes
// (kUnavailable, kDeadlineExceeded, kResourceExhausted, kAborted) are retried by policy (see
// retry.h); every other code fails the task. Messages name what was involved: the file, line,
// table, page. Exceptions from libraries are caught in the adapter that wraps the library and
// never cross a public header. Thread-safe: values only.
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "watershed/base/strings.h"

namespace watershed {

// Debian's Abseil has its own string_view: build messages with StrCat (strings.h), pass
// std::string. `MessageOf(status)` gives the message as a std::string_view.
using Status = absl::Status;
template <typename T>
using StatusOr = absl::StatusOr<T>;

inline std::string_view MessageOf(const absl::Status& s) {
  return std::string_view(s.message().data(), s.message().size());
}

// Adds context in front of a status message, keeping its code: "loading x.ndjson: <message>".
inline Status Annotate(const Status& s, std::string_view context) {
  if (s.ok()) return s;
  return Status(s.code(), StrCat(context, ": ", MessageOf(s)));
}

}  // namespace watershed

#define WS_CONCAT_INNER_(a, b) a##b
#define WS_CONCAT_(a, b) WS_CONCAT_INNER_(a, b)

// Returns from the current function when `expr` yields a non-OK Status.
#define WS_RETURN_IF_ERROR(expr)                    \
  do {                                              \
    ::absl::Status ws_status_ = (expr);             \
    if (!ws_status_.ok()) return ws_status_;        \
  } while (0)

// `WS_ASSIGN_OR_RETURN(auto x, MakeX());` — assigns the value or returns the error.
#define WS_ASSIGN_OR_RETURN(lhs, expr) \
  WS_ASSIGN_OR_RETURN_IMPL_(WS_CONCAT_(ws_statusor_, __LINE__), lhs, expr)
#define WS_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return std::move(tmp).status();  \
  lhs = std::move(tmp).value()
