// tests/secret_store_test.cc — ${aws-secretsmanager:...} references through the real binary
// (issue 16 point 6): a Crunchbase unload whose API key lives in Secrets Manager (moto_server,
// signatures verified) against the emulator, which accepts only that key; the key in no output
// or log; a missing secret or key named with the file, line and reference.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "emulators/crunchbase/server.h"
#include "gtest/gtest.h"
#include "tests/harness.h"
#include "tests/moto.h"
#include "watershed/net/aws.h"

namespace watershed {
namespace {

namespace emu = emulators::crunchbase;
using testing_util::MotoServer;
using testing_util::Outcome;
using testing_util::Quote;

constexpr char kApiKey[] = "cb-key-kept-in-secrets-manager-7Q2x";
constexpr net::AwsService kSecretsManager{"secretsmanager", "secretsmanager", "secretsmanager"};

// Every file under `dir` that contains `needle`.
std::vector<std::string> FilesContaining(const std::string& dir, const std::string& needle) {
  std::vector<std::string> found;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() &&
        testing_util::ReadFileBytes(e.path()).find(needle) != std::string::npos) {
      found.push_back(e.path());
    }
  }
  return found;
}

TEST(SecretStoreTest, AwsSecretsManagerReferencesResolveAndStayOutOfLogs) {
  auto moto = MotoServer::Start({.verify_signatures = true});
  ASSERT_NE(moto, nullptr);
  auto client = MotoServer::QuickClient();
  auto created = net::AwsJsonCall(
      *client, moto->config(), kSecretsManager, "secretsmanager", "CreateSecret",
      nlohmann::json(
          {{"Name", "watershed/crunchbase"},
           {"SecretString", nlohmann::json({{"api_key", kApiKey}, {"owner", "data"}}).dump()}})
          .dump());
  ASSERT_TRUE(created.ok()) << created.status();

  auto e = emu::Emulator::Start({.num_orgs = 50, .seed = 4, .api_key = kApiKey});
  ASSERT_TRUE(e.ok()) << e.status();
  const emu::Dataset& d = (*e)->dataset();
  const auto orgs = d.All(emu::Collection::kOrganizations);

  const std::string dir = testing_util::MakeTempDir() + "/p";
  ASSERT_TRUE(project::Project::Init(dir, "secrets").ok());
  auto write_config = [&](const std::string& reference) {
    std::ofstream(dir + "/watershed.yml")
        << "name: secrets\nsources:\n  crunchbase:\n    mode: specific\n    base_url: "
        << (*e)->base_url() << "\n    api_key: ${aws-secretsmanager:" << reference
        << "}\n    orgs: [" << d.Permalink(orgs[0]) << "]\n    cards: [founders]\n";
  };
  // The AWS settings of the reference come from the environment (the endpoint only for
  // Secrets Manager, so a lake on S3 under the cloud label keeps its own).
  const std::map<std::string, std::string> env = {
      {"AWS_ENDPOINT_URL_SECRETS_MANAGER", moto->endpoint()},
      {"AWS_REGION", moto->config().region},
      {"AWS_ACCESS_KEY_ID", moto->config().access_key_id},
      {"AWS_SECRET_ACCESS_KEY", moto->config().secret_access_key},
  };

  write_config("watershed/crunchbase#api_key");
  Outcome unload = testing_util::WatershedIn(dir, "crunchbase", env);
  ASSERT_EQ(unload.code, 0) << unload.out;  // the emulator accepts no other key
  EXPECT_NE(unload.out.find("specific unload: 1 entities"), std::string::npos) << unload.out;
  EXPECT_EQ(unload.out.find(kApiKey), std::string::npos) << unload.out;
  EXPECT_EQ(FilesContaining(dir, kApiKey), std::vector<std::string>{}) << "the key was written";

  // A secret that does not exist, and a key the secret lacks: named, with the line.
  write_config("watershed/nope");
  Outcome missing = testing_util::WatershedIn(dir, "crunchbase", env);
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.out.find("watershed.yml:6: secret watershed/nope (aws-secretsmanager)"),
            std::string::npos)
      << missing.out;
  EXPECT_NE(missing.out.find("no secret watershed/nope in Secrets Manager"), std::string::npos)
      << missing.out;

  write_config("watershed/crunchbase#apikey");
  Outcome no_key = testing_util::WatershedIn(dir, "crunchbase", env);
  EXPECT_NE(no_key.code, 0);
  EXPECT_NE(no_key.out.find("has no key apikey (its keys: api_key, owner)"), std::string::npos)
      << no_key.out;
  EXPECT_EQ(no_key.out.find(kApiKey), std::string::npos) << no_key.out;

  // Credentials Secrets Manager does not know: the AWS refusal, not a value.
  std::map<std::string, std::string> stranger = env;
  stranger["AWS_SECRET_ACCESS_KEY"] = "not-the-key";
  write_config("watershed/crunchbase#api_key");
  Outcome refused = testing_util::WatershedIn(dir, "crunchbase", stranger);
  EXPECT_NE(refused.code, 0);
  EXPECT_NE(refused.out.find("secretsmanager GetSecretValue"), std::string::npos) << refused.out;
  EXPECT_EQ(refused.out.find(kApiKey), std::string::npos) << refused.out;
}

}  // namespace
}  // namespace watershed
