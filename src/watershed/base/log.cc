// base/log.cc — the process logger, line formats, JSON escaping and redaction. See log.h.
#include "watershed/base/log.h"

#include <algorithm>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "absl/time/clock.h"
#include "spdlog/logger.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "watershed/base/redact.h"
#include "watershed/base/strings.h"

namespace watershed {
namespace {

constexpr size_t kMinSecretLength = 4;

struct LoggerState {
  std::mutex mu;
  LogFormat format = LogFormat::kHuman;    // guarded by mu
  std::shared_ptr<spdlog::logger> logger;  // guarded by mu; never null after first use
};

LoggerState& State() {
  static LoggerState* const state = new LoggerState();  // never destroyed: safe at exit
  return *state;
}

std::shared_ptr<spdlog::logger> MakeLogger(spdlog::sink_ptr sink, spdlog::level::level_enum level) {
  if (sink == nullptr) sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  sink->set_pattern("%v");  // lines are fully formatted by FormatLogLine
  auto logger = std::make_shared<spdlog::logger>("watershed", std::move(sink));
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  return logger;
}

// Copies the current format and logger (creating the default one on first use).
std::pair<LogFormat, std::shared_ptr<spdlog::logger>> Current() {
  LoggerState& state = State();
  std::lock_guard<std::mutex> lock(state.mu);
  if (state.logger == nullptr) state.logger = MakeLogger(nullptr, spdlog::level::info);
  return {state.format, state.logger};
}

struct SecretState {
  std::shared_mutex mu;
  std::vector<std::string> secrets;  // guarded by mu; longest first, no duplicates
};

SecretState& Secrets() {
  static SecretState* const state = new SecretState();
  return *state;
}

std::string_view HumanLevel(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "TRACE";
    case spdlog::level::debug:
      return "DEBUG";
    case spdlog::level::info:
      return "INFO ";
    case spdlog::level::warn:
      return "WARN ";
    case spdlog::level::err:
      return "ERROR";
    case spdlog::level::critical:
      return "CRIT ";
    default:
      return "OFF  ";
  }
}

std::string_view JsonLevel(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

// Escapes control characters (so one event stays on one line) and invalid UTF-8; with `json`
// also quotes and backslashes.
void AppendEscaped(std::string& out, std::string_view text, bool json) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      // The sequence's length follows from its lead byte; it is valid when all of it is.
      const size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      if (ValidUtf8Prefix(text.substr(i, length)) != length) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(text.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += json ? "\\\"" : "\"";
        break;
      case '\\':
        out += json ? "\\\\" : "\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
}

bool NeedsQuotes(std::string_view value) {
  if (value.empty()) return true;
  for (unsigned char c : value) {
    if (c <= 0x20 || c == '"' || c == '=' || c == '\\' || c == 0x7F) return true;
  }
  return false;
}

void AppendJsonString(std::string& out, std::string_view text) {
  out += '"';
  AppendEscaped(out, text, /*json=*/true);
  out += '"';
}

}  // namespace

std::string JsonEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  AppendEscaped(out, text, /*json=*/true);
  return out;
}

void RegisterSecret(std::string value) {
  if (value.size() < kMinSecretLength) return;
  SecretState& state = Secrets();
  std::unique_lock<std::shared_mutex> lock(state.mu);
  if (std::find(state.secrets.begin(), state.secrets.end(), value) != state.secrets.end()) return;
  state.secrets.push_back(std::move(value));
  std::stable_sort(state.secrets.begin(), state.secrets.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string RedactSecrets(std::string_view text) {
  std::string out(text);
  SecretState& state = Secrets();
  std::shared_lock<std::shared_mutex> lock(state.mu);
  for (const std::string& secret : state.secrets) {
    size_t pos = 0;
    while ((pos = out.find(secret, pos)) != std::string::npos) {
      out.replace(pos, secret.size(), kRedacted);
      pos += kRedacted.size();
    }
  }
  lock.unlock();
  return RedactCredentials(out);
}

std::string FormatLogLine(LogFormat format, absl::Time time, spdlog::level::level_enum level,
                          std::string_view msg, LogFields fields) {
  // Redact each part before escaping (escaping could hide a secret from the final pass), then
  // the whole line once more.
  std::string line;
  line.reserve(64 + msg.size() + 32 * fields.size());
  if (format == LogFormat::kJson) {
    line += "{\"ts\":\"";
    line += absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
    line += "\",\"level\":\"";
    line += JsonLevel(level);
    line += "\",\"msg\":";
    AppendJsonString(line, RedactSecrets(msg));
    for (const LogField& field : fields) {
      line += ',';
      std::string key = RedactSecrets(field.first);
      if (key == "ts" || key == "level" || key == "msg") key += '_';
      AppendJsonString(line, key);
      line += ':';
      AppendJsonString(line, RedactSecrets(field.second));
    }
    line += '}';
  } else {
    line += absl::FormatTime("%Y-%m-%d %H:%M:%E3S", time, absl::UTCTimeZone());
    line += ' ';
    line += HumanLevel(level);
    line += ' ';
    AppendEscaped(line, RedactSecrets(msg), /*json=*/false);
    for (const LogField& field : fields) {
      line += ' ';
      AppendEscaped(line, RedactSecrets(field.first), /*json=*/false);
      line += '=';
      std::string value = RedactSecrets(field.second);
      if (NeedsQuotes(value)) {
        AppendJsonString(line, value);
      } else {
        AppendEscaped(line, value, /*json=*/false);
      }
    }
  }
  return RedactSecrets(line);
}

void InitLogging(LogFormat format, spdlog::level::level_enum level, spdlog::sink_ptr sink) {
  auto logger = MakeLogger(std::move(sink), level);
  LoggerState& state = State();
  std::shared_ptr<spdlog::logger> old;
  {
    std::lock_guard<std::mutex> lock(state.mu);
    old = std::move(state.logger);
    state.format = format;
    state.logger = std::move(logger);
  }
  if (old != nullptr) old->flush();
}

bool LogEnabled(spdlog::level::level_enum level) { return Current().second->should_log(level); }

void Log(spdlog::level::level_enum level, std::string_view msg, LogFields fields) {
  auto [format, logger] = Current();
  if (!logger->should_log(level)) return;
  std::string line = FormatLogLine(format, absl::Now(), level, msg, fields);
  logger->log(level, spdlog::string_view_t(line.data(), line.size()));
}

void LogDebug(std::string_view msg, LogFields fields) { Log(spdlog::level::debug, msg, fields); }
void LogInfo(std::string_view msg, LogFields fields) { Log(spdlog::level::info, msg, fields); }
void LogWarn(std::string_view msg, LogFields fields) { Log(spdlog::level::warn, msg, fields); }
void LogError(std::string_view msg, LogFields fields) { Log(spdlog::level::err, msg, fields); }

void FlushLogs() { Current().second->flush(); }

}  // namespace watershed
