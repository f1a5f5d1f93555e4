#include "watershed/base/config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "watershed/base/log.h"
#include "watershed/base/secret_refs.h"

namespace watershed {
namespace {

// A hermetic environment.
EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(InterpolateEnvTest, SubstitutesDefaultsAndEscapes) {
  EnvLookup env = FakeEnv({{"HOME", "/home/ws"}, {"EMPTY", ""}, {"KEY", "k-123"}});
  EXPECT_EQ(*InterpolateEnv("no vars", env), "no vars");
  EXPECT_EQ(*InterpolateEnv("${HOME}/lake", env), "/home/ws/lake");
  EXPECT_EQ(*InterpolateEnv("a${KEY}b${KEY}c", env), "ak-123bk-123c");
  EXPECT_EQ(*InterpolateEnv("${MISSING:-fallback}", env), "fallback");
  EXPECT_EQ(*InterpolateEnv("${EMPTY:-fallback}", env), "fallback");
  EXPECT_EQ(*InterpolateEnv("${EMPTY}", env), "");
  EXPECT_EQ(*InterpolateEnv("${KEY:-fallback}", env), "k-123");
  EXPECT_EQ(*InterpolateEnv("${MISSING:-}", env), "");
  EXPECT_EQ(*InterpolateEnv("${MISSING:-a:-b c}", env), "a:-b c");
  EXPECT_EQ(*InterpolateEnv("$${HOME} costs $5 $", env), "${HOME} costs $5 $");
  EXPECT_EQ(*InterpolateEnv("$$", env), "$$");
}

TEST(InterpolateEnvTest, SubstitutedValuesAreNotInterpolatedAgain) {
  EnvLookup env = FakeEnv({{"A", "${B}"}, {"B", "oops"}});
  EXPECT_EQ(*InterpolateEnv("${A}", env), "${B}");
}

TEST(InterpolateEnvTest, Errors) {
  EnvLookup env = FakeEnv({});
  StatusOr<std::string> missing = InterpolateEnv("key: ${CRUNCHBASE_API_KEY}", env);
  EXPECT_EQ(missing.status(),
            absl::InvalidArgumentError("environment variable CRUNCHBASE_API_KEY is not set"));
  EXPECT_EQ(InterpolateEnv("${OPEN", env).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(InterpolateEnv("${}", env).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(InterpolateEnv("${1ABC}", env).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(InterpolateEnv("${A-B}", env).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(InterpolateEnv("${A:=x}", env).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParseYamlTest, InterpolatesEveryScalar) {
  EnvLookup env = FakeEnv({{"CRUNCHBASE_API_KEY", "cb-secret"}, {"THREADS", "4"}, {"NS", "raw"}});
  const char* text = R"(
sources:
  crunchbase:
    api_key: ${CRUNCHBASE_API_KEY}
    threads: ${THREADS}
    base_url: ${CB_URL:-https://api.crunchbase.com/api/v4}
    collections: [organizations, "${NS}_people"]
    literal: "$${NOT_A_VAR}"
${NS}_zone: keyed
)";
  StatusOr<YAML::Node> root = ParseYaml(text, "watershed.yml", env);
  ASSERT_TRUE(root.ok()) << root.status();
  YAML::Node cb = (*root)["sources"]["crunchbase"];
  EXPECT_EQ(cb["api_key"].as<std::string>(), "cb-secret");
  EXPECT_EQ(cb["threads"].as<int>(), 4);
  EXPECT_EQ(cb["base_url"].as<std::string>(), "https://api.crunchbase.com/api/v4");
  EXPECT_EQ(cb["collections"][1].as<std::string>(), "raw_people");
  EXPECT_EQ(cb["literal"].as<std::string>(), "${NOT_A_VAR}");
  EXPECT_EQ((*root)["raw_zone"].as<std::string>(), "keyed");
}

TEST(ParseYamlTest, MissingVariableNamesFileAndLine) {
  const char* text =
      "project: demo\n"
      "sources:\n"
      "  crunchbase:\n"
      "    api_key: ${CRUNCHBASE_API_KEY}\n";
  StatusOr<YAML::Node> root = ParseYaml(text, "watershed.yml", FakeEnv({}));
  EXPECT_EQ(root.status(),
            absl::InvalidArgumentError(
                "watershed.yml:4: environment variable CRUNCHBASE_API_KEY is not set"));
}

TEST(ParseYamlTest, AliasesAreInterpolatedOnce) {
  // The value of A contains "$${": it must come out verbatim however often the node is reached.
  EnvLookup env = FakeEnv({{"A", "$${x}"}});
  const char* text = "base: &b\n  v: ${A}\nfirst: *b\nsecond: *b\n";
  StatusOr<YAML::Node> root = ParseYaml(text, "a.yml", env);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ((*root)["base"]["v"].as<std::string>(), "$${x}");
  EXPECT_EQ((*root)["first"]["v"].as<std::string>(), "$${x}");
  EXPECT_EQ((*root)["second"]["v"].as<std::string>(), "$${x}");
}

TEST(ParseYamlTest, AliasBombStaysLinear) {
  std::string text = "a0: &a0 [x, y]\n";
  for (int i = 1; i <= 30; ++i) {
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" + std::to_string(i - 1) +
            ", *a" + std::to_string(i - 1) + "]\n";
  }
  StatusOr<YAML::Node> root = ParseYaml(text, "bomb.yml", FakeEnv({}));
  ASSERT_TRUE(root.ok()) << root.status();  // 2^30 paths would never finish without `visited`
}

TEST(ParseYamlTest, SyntaxErrorsNameFileLineAndColumn) {
  StatusOr<YAML::Node> root = ParseYaml("a: 1\nb: [1, 2\nc: 3\n", "bad.yml", FakeEnv({}));
  ASSERT_FALSE(root.ok());
  EXPECT_EQ(root.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(root.status().message(), "bad.yml:")) << root.status();
  EXPECT_NE(root.status().message().find("end of sequence"), absl::string_view::npos)
      << root.status();

  StatusOr<YAML::Node> tab = ParseYaml("a:\n\t- b\n", "tab.yml", FakeEnv({}));
  ASSERT_FALSE(tab.ok());
  EXPECT_EQ(tab.status().code(), absl::StatusCode::kInvalidArgument);

  StatusOr<YAML::Node> alias = ParseYaml("a: *nope\n", "alias.yml", FakeEnv({}));
  ASSERT_FALSE(alias.ok());
  EXPECT_TRUE(absl::StartsWith(alias.status().message(), "alias.yml:1:")) << alias.status();
}

TEST(ParseYamlTest, EmptyAndScalarDocuments) {
  StatusOr<YAML::Node> empty = ParseYaml("", "empty.yml", FakeEnv({}));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->IsNull());
  StatusOr<YAML::Node> scalar = ParseYaml("${X:-7}", "s.yml", FakeEnv({}));
  ASSERT_TRUE(scalar.ok());
  EXPECT_EQ(scalar->as<int>(), 7);
}

TEST(ParseYamlTest, UsesTheRealEnvironmentByDefault) {
  ::setenv("WATERSHED_CONFIG_TEST_VAR", "from-env", 1);
  StatusOr<YAML::Node> root = ParseYaml("v: ${WATERSHED_CONFIG_TEST_VAR}", "env.yml");
  ::unsetenv("WATERSHED_CONFIG_TEST_VAR");
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ((*root)["v"].as<std::string>(), "from-env");
  EXPECT_EQ(RealGetenv("WATERSHED_CONFIG_TEST_VAR"), std::nullopt);
}

class LoadYamlFileTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("ws_config_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(LoadYamlFileTest, LoadsAndInterpolates) {
  std::string path = Write("watershed.yml", "lake: ${LAKE:-./lake}\nname: demo\n");
  StatusOr<YAML::Node> root = LoadYamlFile(path, FakeEnv({{"LAKE", "/data/lake"}}));
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ((*root)["lake"].as<std::string>(), "/data/lake");
  EXPECT_EQ((*root)["name"].as<std::string>(), "demo");
}

TEST_F(LoadYamlFileTest, ErrorsNameThePath) {
  std::string path = Write("watershed.yml", "a: 1\nkey: ${NOPE}\n");
  StatusOr<YAML::Node> root = LoadYamlFile(path, FakeEnv({}));
  EXPECT_EQ(root.status().message(), path + ":2: environment variable NOPE is not set");

  StatusOr<YAML::Node> missing = LoadYamlFile((dir_ / "absent.yml").string(), FakeEnv({}));
  EXPECT_NE(missing.status().message().find("absent.yml"), absl::string_view::npos);
}

TEST(YamlChecks, DuplicateKeysAreErrorsNamingBothLines) {
  auto dup = ParseYaml("name: a\npipelines: {}\nother: 1\npipelines:\n  x: 1\n", "watershed.yml");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(MessageOf(dup.status()).find("watershed.yml:4"), std::string_view::npos) << dup.status();
  EXPECT_NE(MessageOf(dup.status()).find("'pipelines' is given twice (first on line 2)"),
            std::string_view::npos)
      << dup.status();
  auto nested = ParseYaml("a:\n  b: 1\n  b: 2\n", "f.yml");
  EXPECT_FALSE(nested.ok());
  EXPECT_TRUE(ParseYaml("a: [{b: 1}, {b: 2}]\n", "f.yml").ok());  // one key per map
}

TEST(YamlChecks, UnknownKeysSuggestTheClosestKnownOne) {
  auto y = ParseYaml("retries: 1\nretrys: 2\n", "watershed.yml");
  ASSERT_TRUE(y.ok());
  Status s = CheckKnownKeys(*y, {"retries", "timeout"}, "pipelines.daily", "watershed.yml");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(MessageOf(s).find("watershed.yml:2"), std::string_view::npos) << s;
  EXPECT_NE(MessageOf(s).find("unknown key 'retrys' in pipelines.daily (did you mean 'retries'?)"),
            std::string_view::npos)
      << s;
  EXPECT_TRUE(CheckKnownKeys(*y, {"retries", "retrys"}, "x", "f").ok());
}

// ${file:PATH} reads a secret from a file (one final newline dropped), registers it so no log
// shows it, and names the file when it cannot be read or is empty.
TEST_F(LoadYamlFileTest, FileReferencesReadSecretsThatLogsRedact) {
  const std::string secret = Write("pg_password", "s3cr3t-from-file\n");
  std::string path = Write("watershed.yml", "dsn: postgres://u:${file:" + secret + "}@db/x\n");
  StatusOr<YAML::Node> root = LoadYamlFile(path, FakeEnv({}));
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ((*root)["dsn"].as<std::string>(), "postgres://u:s3cr3t-from-file@db/x");
  EXPECT_EQ(RedactSecrets("the value s3cr3t-from-file, logged"), "the value ***, logged");

  std::string absent = Write("w2.yml", "k: ${file:" + (dir_ / "nope").string() + "}\n");
  StatusOr<YAML::Node> bad = LoadYamlFile(absent, FakeEnv({}));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "w2.yml:1: secret file ")) << bad.status();
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "nope cannot be read")) << bad.status();

  const std::string empty = Write("empty_secret", "\n");
  StatusOr<YAML::Node> none =
      LoadYamlFile(Write("w3.yml", "k: ${file:" + empty + "}\n"), FakeEnv({}));
  EXPECT_TRUE(absl::StrContains(none.status().message(), "empty_secret is empty")) << none.status();
}

TEST_F(LoadYamlFileTest, RegisteredSecretSchemesResolveAndLogsRedactTheirValues) {
  RegisterSecretScheme("test-store", [](std::string_view ref) -> StatusOr<std::string> {
    if (ref == "db/password") return std::string("v4lue-from-store");
    return absl::NotFoundError(StrCat("no ", ref, " in the test store"));
  });
  StatusOr<YAML::Node> root =
      LoadYamlFile(Write("s.yml", "dsn: x:${test-store:db/password}@y\n"), FakeEnv({}));
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ((*root)["dsn"].as<std::string>(), "x:v4lue-from-store@y");
  EXPECT_EQ(RedactSecrets("got v4lue-from-store"), "got ***");

  StatusOr<YAML::Node> missing =
      LoadYamlFile(Write("s2.yml", "a: 1\nk: ${test-store:nope}\n"), FakeEnv({}));
  EXPECT_TRUE(absl::StrContains(missing.status().message(),
                                "s2.yml:2: secret nope (test-store): no nope in the test store"))
      << missing.status();
  // A scheme nobody registered is not a variable either.
  StatusOr<YAML::Node> unknown =
      LoadYamlFile(Write("s3.yml", "k: ${other-store:x}\n"), FakeEnv({}));
  EXPECT_TRUE(absl::StrContains(unknown.status().message(), "bad variable reference"))
      << unknown.status();
}

}  // namespace
}  // namespace watershed
