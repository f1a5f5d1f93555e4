#include "watershed/base/log.h"

#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/civil_time.h"
#include "gtest/gtest.h"
#include "spdlog/sinks/ostream_sink.h"

namespace watershed {
namespace {

absl::Time FixedTime() {
  return absl::FromCivil(absl::CivilSecond(2026, 11, 24, 4, 15, 0), absl::UTCTimeZone()) +
         absl::Milliseconds(123);
}

// Replaces each timestamp in captured output with "<ts>" after checking its shape, so lines can
// be compared exactly.
std::string MaskTimestamps(std::string text) {
  constexpr std::string_view kHuman = "9999-99-99 99:99:99.999";
  constexpr std::string_view kJson = "9999-99-99T99:99:99.999Z";
  auto matches = [&](size_t at, std::string_view shape) {
    if (at + shape.size() > text.size()) return false;
    for (size_t i = 0; i < shape.size(); ++i) {
      const char c = text[at + i];
      if (shape[i] == '9' ? !(c >= '0' && c <= '9') : c != shape[i]) return false;
    }
    return true;
  };
  std::string out;
  size_t line_start = 0;
  while (line_start < text.size()) {
    size_t end = text.find('\n', line_start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(line_start, end - line_start);
    if (line.rfind("{\"ts\":\"", 0) == 0 && matches(line_start + 7, kJson)) {
      line.replace(7, kJson.size(), "<ts>");
    } else if (matches(line_start, kHuman)) {
      line.replace(0, kHuman.size(), "<ts>");
    }
    out += line;
    if (end < text.size()) out += '\n';
    line_start = end + 1;
  }
  return out;
}

// Routes the process logger into a string for the duration of a test.
class CapturedLog {
 public:
  CapturedLog(LogFormat format, spdlog::level::level_enum level) {
    InitLogging(format, level, std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_));
  }
  ~CapturedLog() { InitLogging(LogFormat::kHuman, spdlog::level::info); }
  std::string text() {
    FlushLogs();
    return stream_.str();
  }

 private:
  std::ostringstream stream_;
};

TEST(JsonEscapeTest, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(JsonEscape(""), "");
  EXPECT_EQ(JsonEscape("plain text"), "plain text");
  EXPECT_EQ(JsonEscape("say \"hi\""), "say \\\"hi\\\"");
  EXPECT_EQ(JsonEscape("C:\\dir"), "C:\\\\dir");
  EXPECT_EQ(JsonEscape("a\nb\rc\td\be\ff"), "a\\nb\\rc\\td\\be\\ff");
  EXPECT_EQ(JsonEscape(std::string("\x01\x1f\x7f", 3)), "\\u0001\\u001f\\u007f");
  EXPECT_EQ(JsonEscape(std::string("nul\0byte", 8)), "nul\\u0000byte");
  EXPECT_EQ(JsonEscape("/ stays"), "/ stays");
}

TEST(JsonEscapeTest, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(JsonEscape("café 日本 🚀"), "café 日本 🚀");
  EXPECT_EQ(JsonEscape("\xff"), "\\ufffd");
  EXPECT_EQ(JsonEscape("a\xc3"), "a\\ufffd");                                 // truncated sequence
  EXPECT_EQ(JsonEscape("\xc0\xaf"), "\\ufffd\\ufffd");                        // overlong '/'
  EXPECT_EQ(JsonEscape("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd");             // UTF-16 surrogate
  EXPECT_EQ(JsonEscape("\xf4\x90\x80\x80"), "\\ufffd\\ufffd\\ufffd\\ufffd");  // > U+10FFFF
  EXPECT_EQ(JsonEscape("ok\xe6\x97x"), "ok\\ufffd\\ufffdx");
}

TEST(FormatLogLineTest, HumanLine) {
  EXPECT_EQ(FormatLogLine(LogFormat::kHuman, FixedTime(), spdlog::level::info, "page loaded",
                          {{"source", "crunchbase"}, {"rows", "100"}}),
            "2026-11-24 04:15:00.123 INFO  page loaded source=crunchbase rows=100");
  EXPECT_EQ(FormatLogLine(LogFormat::kHuman, FixedTime(), spdlog::level::err, "failed"),
            "2026-11-24 04:15:00.123 ERROR failed");
  EXPECT_EQ(FormatLogLine(LogFormat::kHuman, FixedTime(), spdlog::level::warn, "slow"),
            "2026-11-24 04:15:00.123 WARN  slow");
  EXPECT_EQ(FormatLogLine(LogFormat::kHuman, FixedTime(), spdlog::level::debug, "x"),
            "2026-11-24 04:15:00.123 DEBUG x");
}

TEST(FormatLogLineTest, HumanQuotesAwkwardValuesAndStaysOnOneLine) {
  std::string line = FormatLogLine(
      LogFormat::kHuman, FixedTime(), spdlog::level::info, "two\nlines",
      {{"note", "two words"}, {"empty", ""}, {"eq", "a=b"}, {"q", "say \"x\""}, {"nl", "a\nb"}});
  EXPECT_EQ(line,
            "2026-11-24 04:15:00.123 INFO  two\\nlines note=\"two words\" empty=\"\" eq=\"a=b\" "
            "q=\"say \\\"x\\\"\" nl=\"a\\nb\"");
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(FormatLogLineTest, JsonLine) {
  EXPECT_EQ(FormatLogLine(LogFormat::kJson, FixedTime(), spdlog::level::info, "page \"4\" loaded",
                          {{"source", "crunchbase"}, {"path", "C:\\x\n"}}),
            "{\"ts\":\"2026-11-24T04:15:00.123Z\",\"level\":\"info\",\"msg\":\"page \\\"4\\\" "
            "loaded\",\"source\":\"crunchbase\",\"path\":\"C:\\\\x\\n\"}");
  EXPECT_EQ(FormatLogLine(LogFormat::kJson, FixedTime(), spdlog::level::err, "x"),
            "{\"ts\":\"2026-11-24T04:15:00.123Z\",\"level\":\"error\",\"msg\":\"x\"}");
}

TEST(FormatLogLineTest, JsonRenamesReservedKeys) {
  EXPECT_EQ(FormatLogLine(LogFormat::kJson, FixedTime(), spdlog::level::warn, "m",
                          {{"msg", "a"}, {"ts", "b"}, {"level", "c"}}),
            "{\"ts\":\"2026-11-24T04:15:00.123Z\",\"level\":\"warn\",\"msg\":\"m\",\"msg_\":\"a\","
            "\"ts_\":\"b\",\"level_\":\"c\"}");
}

TEST(SecretsTest, RegisteredSecretsAreRedactedEverywhere) {
  RegisterSecret("cb-key-0123456789abcdef");
  RegisterSecret("abc");  // too short: ignored
  EXPECT_EQ(RedactSecrets("key=cb-key-0123456789abcdef&x=cb-key-0123456789abcdef"),
            "key=***&x=***");
  EXPECT_EQ(RedactSecrets("abc stays"), "abc stays");
  std::string human = FormatLogLine(LogFormat::kHuman, FixedTime(), spdlog::level::info,
                                    "GET /v4?user_key=cb-key-0123456789abcdef",
                                    {{"header", "X-cb-user-key: cb-key-0123456789abcdef"},
                                     {"cb-key-0123456789abcdef", "as a key"}});
  EXPECT_EQ(human.find("cb-key-0123456789abcdef"), std::string::npos) << human;
  EXPECT_NE(human.find("user_key=***"), std::string::npos) << human;
}

TEST(SecretsTest, SecretsWithJsonSpecialCharactersAreRedactedBeforeEscaping) {
  RegisterSecret("pa\"ss\\wo\nrd");
  std::string json = FormatLogLine(LogFormat::kJson, FixedTime(), spdlog::level::info, "login",
                                   {{"password", "pa\"ss\\wo\nrd"}});
  EXPECT_NE(json.find("\"password\":\"***\""), std::string::npos) << json;
  EXPECT_EQ(json.find("ss\\\\wo"), std::string::npos) << json;
}

TEST(SecretsTest, LongerSecretsWinOverTheirPrefixes) {
  RegisterSecret("token-AAAA");
  RegisterSecret("token-AAAA-BBBB");
  EXPECT_EQ(RedactSecrets("t=token-AAAA-BBBB u=token-AAAA"), "t=*** u=***");
}

TEST(LogTest, WritesHumanLinesThroughTheSinkAndFiltersByLevel) {
  CapturedLog capture(LogFormat::kHuman, spdlog::level::info);
  LogDebug("hidden");
  LogInfo("loaded", {{"table", "crunchbase.organizations"}});
  LogWarn("slow page", {{"page", "4"}});
  LogError("gave up");
  EXPECT_FALSE(LogEnabled(spdlog::level::debug));
  EXPECT_TRUE(LogEnabled(spdlog::level::info));
  EXPECT_EQ(MaskTimestamps(capture.text()),
            "<ts> INFO  loaded table=crunchbase.organizations\n"
            "<ts> WARN  slow page page=4\n"
            "<ts> ERROR gave up\n");
}

TEST(LogTest, WritesJsonLinesAndRedacts) {
  RegisterSecret("s3cr3t-value");
  CapturedLog capture(LogFormat::kJson, spdlog::level::debug);
  LogDebug("connecting", {{"dsn", "postgres://u:s3cr3t-value@db/x"}});
  Log(spdlog::level::info, "done");
  std::string text = capture.text();
  EXPECT_EQ(text.find("s3cr3t-value"), std::string::npos) << text;
  EXPECT_EQ(MaskTimestamps(text),
            "{\"ts\":\"<ts>\",\"level\":\"debug\",\"msg\":\"connecting\","
            "\"dsn\":\"postgres://***@db/x\"}\n"
            "{\"ts\":\"<ts>\",\"level\":\"info\",\"msg\":\"done\"}\n");
}

TEST(LogTest, ConcurrentLoggingKeepsLinesWhole) {
  CapturedLog capture(LogFormat::kJson, spdlog::level::info);
  constexpr int kThreads = 8;
  constexpr int kLines = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < kLines; ++i) {
        LogInfo("tick", {{"thread", std::to_string(t)}, {"i", std::to_string(i)}});
        if (t == 0 && i % 100 == 0) RegisterSecret("concurrent-secret-" + std::to_string(i));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::istringstream lines(MaskTimestamps(capture.text()));
  std::string line;
  std::set<std::string> seen;
  const std::string prefix = "{\"ts\":\"<ts>\",\"level\":\"info\",\"msg\":\"tick\",\"thread\":\"";
  while (std::getline(lines, line)) {
    ASSERT_EQ(line.substr(0, prefix.size()), prefix) << line;
    ASSERT_EQ(line.back(), '}') << line;
    seen.insert(line);
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kThreads * kLines));  // all whole and distinct
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(
        seen.count(prefix + std::to_string(t) + "\",\"i\":\"" + std::to_string(kLines - 1) + "\"}"),
        1u);
  }
}

TEST(LogTest, DefaultLoggerWritesToStderr) {
  testing::internal::CaptureStderr();
  InitLogging(LogFormat::kHuman, spdlog::level::info);
  LogInfo("to stderr", {{"k", "v"}});
  FlushLogs();
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("INFO  to stderr k=v\n"), std::string::npos) << err;
}

}  // namespace
}  // namespace watershed
