// net/secrets_manager.cc — see secrets_manager.h.
#include "watershed/net/secrets_manager.h"

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "watershed/base/log.h"
#include "watershed/base/strings.h"
#include "watershed/net/aws.h"
#include "watershed/net/http_client.h"

namespace watershed::net {
namespace {

constexpr AwsService kSecretsManagerService{"secretsmanager", "secretsmanager", "secretsmanager"};

std::mutex& CacheMutex() {
  static std::mutex mu;
  return mu;
}
std::map<std::string, std::string, std::less<>>& Cache() {  // secret id -> SecretString
  static auto* cache = new std::map<std::string, std::string, std::less<>>();
  return *cache;
}

StatusOr<std::string> FetchSecretString(const std::string& id, const EnvLookup& getenv) {
  WS_ASSIGN_OR_RETURN(AwsConfig config, AwsConfigFromYaml(YAML::Node(), getenv));
  if (std::optional<std::string> endpoint = getenv("AWS_ENDPOINT_URL_SECRETS_MANAGER");
      endpoint && !endpoint->empty()) {
    config.endpoint = *endpoint;
  }
  HttpClientOptions options;
  options.retry.max_attempts = 4;
  HttpClient client(options);
  auto answer = AwsJsonCall(client, config, kSecretsManagerService, "secretsmanager",
                            "GetSecretValue", nlohmann::json({{"SecretId", id}}).dump());
  if (!answer.ok()) {
    if (answer.status().code() == absl::StatusCode::kNotFound) {
      return absl::NotFoundError(StrCat("no secret ", id, " in Secrets Manager (region ",
                                        config.region, "): ", MessageOf(answer.status())));
    }
    return answer.status();
  }
  nlohmann::json body = nlohmann::json::parse(*answer, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) {
    return absl::UnavailableError("secretsmanager GetSecretValue: the answer is not JSON");
  }
  auto value = body.find("SecretString");
  if (value == body.end() || !value->is_string()) {
    return absl::InvalidArgumentError(
        StrCat("secret ", id,
               " holds binary data (SecretBinary); store the value as text (SecretString)"));
  }
  RegisterSecret(value->get<std::string>());
  return value->get<std::string>();
}

}  // namespace

StatusOr<std::string> SecretsManagerValue(std::string_view reference, const EnvLookup& getenv) {
  const size_t hash = reference.find('#');
  const std::string id(reference.substr(0, hash));
  const std::string key =
      hash == std::string_view::npos ? "" : std::string(reference.substr(hash + 1));
  if (id.empty() || (hash != std::string_view::npos && key.empty())) {
    return absl::InvalidArgumentError("expected a secret's name or ARN, then optionally #KEY");
  }
  std::string secret;
  {
    std::lock_guard<std::mutex> lock(CacheMutex());
    auto cached = Cache().find(id);
    if (cached != Cache().end()) secret = cached->second;
  }
  if (secret.empty()) {
    WS_ASSIGN_OR_RETURN(secret, FetchSecretString(id, getenv));
    std::lock_guard<std::mutex> lock(CacheMutex());
    Cache()[id] = secret;
  }
  if (key.empty()) return secret;
  nlohmann::json fields = nlohmann::json::parse(secret, nullptr, /*allow_exceptions=*/false);
  if (!fields.is_object()) {
    return absl::InvalidArgumentError(StrCat("secret ", id,
                                             " is not a JSON object, so it has no key ", key,
                                             " (drop #", key, " to use the whole value)"));
  }
  auto field = fields.find(key);
  if (field == fields.end()) {
    std::vector<std::string> keys;
    for (auto it = fields.begin(); it != fields.end(); ++it) keys.push_back(it.key());
    return absl::InvalidArgumentError(
        StrCat("secret ", id, " has no key ", key, " (its keys: ", Join(keys, ", "), ")"));
  }
  std::string value = field->is_string() ? field->get<std::string>() : field->dump();
  RegisterSecret(value);
  return value;
}

}  // namespace watershed::net
