// base/log.h — structured logging on spdlog: one line per event, human or JSON, to stderr.
//
// Owns: the process logger (InitLogging), the Log* functions with key=value fields, the line
// formats, JSON string escaping (JsonEscape, shared with other modules that emit JSON by hand)
// and secret redaction: every value passed to RegisterSecret is replaced by "***" in every
// line before it is written, and so is everything the rules of base/redact.h recognise
// (credentials in URLs, key=value and JSON pairs, headers, bearer tokens), so API keys,
// passwords and webhook URLs never reach a log.
// Formats (timestamps are UTC, millisecond precision):
//   human: 2026-11-24 04:15:00.123 INFO  loaded page source=crunchbase rows=100 note="two words"
//   json:  {"ts":"2026-11-24T04:15:00.123Z","level":"info","msg":"loaded page","source":"..."}
// Fields are strings; a field named ts, level or msg is written as ts_, level_, msg_ in JSON.
// Messages name the run, source, table, file, page or offset involved (fields for ids).
// Does not belong here: metrics, audit events, lineage (observe/), log shipping.
// Thread safety: all functions are thread-safe; InitLogging may run while others log.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/time/time.h"
#include "spdlog/common.h"
#include "spdlog/sinks/sink.h"

namespace watershed {

enum class LogFormat { kHuman, kJson };

using LogField = std::pair<std::string_view, std::string>;
using LogFields = std::initializer_list<LogField>;

// Sets the format and minimum level of the process logger. Lines go to stderr, or to `sink`
// when given (tests capture output with an ostream sink). Before the first call the logger
// writes human lines at info level to stderr.
void InitLogging(LogFormat format, spdlog::level::level_enum level,
                 spdlog::sink_ptr sink = nullptr);

// True when a line at `level` would be written (skip building expensive fields otherwise).
bool LogEnabled(spdlog::level::level_enum level);

// Writes one line: `LogInfo("page loaded", {{"source", "crunchbase"}, {"rows", "100"}});`
void Log(spdlog::level::level_enum level, std::string_view msg, LogFields fields = {});
void LogDebug(std::string_view msg, LogFields fields = {});
void LogInfo(std::string_view msg, LogFields fields = {});
void LogWarn(std::string_view msg, LogFields fields = {});
void LogError(std::string_view msg, LogFields fields = {});

// Flushes the process logger.
void FlushLogs();

// The formatted line (without newline) for the given event, redacted. Exposed for tests and
// for modules that store log lines (run records).
std::string FormatLogLine(LogFormat format, absl::Time time, spdlog::level::level_enum level,
                          std::string_view msg, LogFields fields = {});

// Escapes `text` for use inside a JSON string literal (the quotes are not added): `"` and `\`
// are backslash-escaped, control characters become \n, \t, ... or \u00XX, valid UTF-8 passes
// through unchanged, and each byte of invalid UTF-8 becomes \ufffd, so the result is always
// valid JSON.
std::string JsonEscape(std::string_view text);

// Registers a secret (API key, password, token): from now on every log line replaces each
// occurrence of it with "***". Values shorter than 4 bytes are ignored (they would mangle
// ordinary text). Register a secret as soon as it is read, before anything can log it.
void RegisterSecret(std::string value);

// `text` with every registered secret replaced by "***" (longest secrets first), then
// RedactCredentials (base/redact.h): URLs inside the text by RedactUrl's rules, `key=value` /
// `"token": "..."` pairs whose key is a credential name, credential headers and
// `Bearer <token>`. What every log line, the audit log and the CLI's error messages go through.
std::string RedactSecrets(std::string_view text);

}  // namespace watershed
