// net/aws.cc — AwsConfig, the JSON 1.1 and query protocols, AWS errors. See aws.h.
#include "watershed/net/aws.h"

#include <simdjson.h>

#include <cctype>
#include <optional>

#include "absl/strings/cord.h"
#include "watershed/base/log.h"
#include "watershed/net/aws_credentials.h"

namespace watershed::net {
namespace {

constexpr char kAwsCodePayload[] = "watershed.aws/code";

// The node's scalar at `key`, or nullopt when absent or null.
StatusOr<std::optional<std::string>> ScalarAt(const YAML::Node& node, const char* key) {
  const YAML::Node value = node[key];
  if (!value.IsDefined() || value.IsNull()) return std::optional<std::string>();
  if (!value.IsScalar()) {
    return Status(absl::StatusCode::kInvalidArgument,
                  StrCat("aws settings: '", key, "' must be a string"));
  }
  return std::optional<std::string>(value.Scalar());
}

std::optional<std::string> NonEmptyEnv(const EnvLookup& getenv, std::string_view name) {
  std::optional<std::string> value = getenv(name);
  if (value.has_value() && value->empty()) return std::nullopt;
  return value;
}

bool Contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

absl::StatusCode CodeFor(std::string_view aws_code, int http_status) {
  if (Contains(aws_code, "Throttl") || Contains(aws_code, "ProvisionedThroughputExceeded") ||
      Contains(aws_code, "LimitExceeded") || aws_code == "SlowDown" ||
      Contains(aws_code, "RequestLimitExceeded")) {
    return absl::StatusCode::kResourceExhausted;
  }
  if (aws_code == "SignatureDoesNotMatch" || aws_code == "InvalidClientTokenId" ||
      Contains(aws_code, "UnrecognizedClient") || Contains(aws_code, "AccessDenied") ||
      Contains(aws_code, "ExpiredToken") || aws_code == "IncompleteSignature" ||
      aws_code == "MissingAuthenticationToken" || Contains(aws_code, "InvalidSignature")) {
    return absl::StatusCode::kPermissionDenied;
  }
  if (Contains(aws_code, "ResourceNotFound") || Contains(aws_code, "NotFound") ||
      aws_code.starts_with("NoSuch")) {
    return absl::StatusCode::kNotFound;
  }
  if (Contains(aws_code, "ExpiredIterator") || Contains(aws_code, "ResourceInUse")) {
    return absl::StatusCode::kFailedPrecondition;
  }
  if (http_status >= 500) return absl::StatusCode::kUnavailable;
  if (http_status == 401 || http_status == 403) return absl::StatusCode::kPermissionDenied;
  return absl::StatusCode::kInvalidArgument;
}

// "Content-Type" etc. for a signed POST to `service`.
StatusOr<HttpRequest> SignedPost(const AwsConfig& config, const AwsService& service) {
  HttpRequest request;
  request.method = "POST";
  request.url = StrCat(config.EndpointFor(service.endpoint_prefix), "/");
  const std::string region =
      service.endpoint_prefix == "iam" && config.endpoint.empty() ? "us-east-1" : config.region;
  request.aws_sigv4 = StrCat("aws:amz:", region, ":", service.signing_name);
  if (config.provider != nullptr) {
    WS_ASSIGN_OR_RETURN(request.aws_credentials, config.provider->Get());
  } else {
    request.aws_credentials = {config.access_key_id, config.secret_access_key,
                               config.session_token};
  }
  return request;
}

StatusOr<std::string> Finish(StatusOr<HttpResponse> response, std::string_view what) {
  if (!response.ok()) return Annotate(response.status(), what);
  if (response->status >= 200 && response->status < 300) return std::move(response->body);
  return AwsErrorStatus(what, response->status, response->body);
}

// Shortens a server's message for an error line.
std::string Clip(std::string_view text) {
  constexpr size_t kMax = 500;
  if (text.size() <= kMax) return std::string(text);
  return StrCat(text.substr(0, kMax), "...");
}

}  // namespace

std::string AwsConfig::EndpointFor(std::string_view endpoint_prefix) const {
  if (!endpoint.empty()) {
    std::string_view e = endpoint;
    while (e.ends_with('/')) e.remove_suffix(1);
    return std::string(e);
  }
  if (endpoint_prefix == "iam") return "https://iam.amazonaws.com";
  return StrCat("https://", endpoint_prefix, ".", region, ".amazonaws.com");
}

StatusOr<AwsConfig> AwsConfigFromYaml(const YAML::Node& node, const EnvLookup& getenv) {
  const bool have_node = node.IsDefined() && !node.IsNull();
  if (have_node && !node.IsMap()) {
    return Status(absl::StatusCode::kInvalidArgument, "aws settings must be a map");
  }
  AwsConfig config;
  std::string profile, role_arn;
  bool keys_from_node = false;
  if (have_node) {
    WS_ASSIGN_OR_RETURN(auto region, ScalarAt(node, "region"));
    WS_ASSIGN_OR_RETURN(auto endpoint, ScalarAt(node, "endpoint"));
    WS_ASSIGN_OR_RETURN(auto key_id, ScalarAt(node, "access_key_id"));
    WS_ASSIGN_OR_RETURN(auto secret, ScalarAt(node, "secret_access_key"));
    WS_ASSIGN_OR_RETURN(auto token, ScalarAt(node, "session_token"));
    WS_ASSIGN_OR_RETURN(auto profile_name, ScalarAt(node, "profile"));
    WS_ASSIGN_OR_RETURN(auto role, ScalarAt(node, "role_arn"));
    if (profile_name) profile = *profile_name;
    if (role) role_arn = *role;
    if (region) config.region = *region;
    if (endpoint) config.endpoint = *endpoint;
    if (key_id) {
      config.access_key_id = *key_id;
      if (!secret) {
        return Status(absl::StatusCode::kInvalidArgument,
                      "aws settings: access_key_id is set but secret_access_key is not");
      }
      config.secret_access_key = *secret;
      if (token) config.session_token = *token;
      keys_from_node = true;
    } else if (secret || token) {
      return Status(absl::StatusCode::kInvalidArgument,
                    "aws settings: secret_access_key or session_token without access_key_id");
    }
  }
  if (config.region.empty()) {
    config.region = NonEmptyEnv(getenv, "AWS_REGION")
                        .value_or(NonEmptyEnv(getenv, "AWS_DEFAULT_REGION").value_or(""));
  }
  if (config.endpoint.empty())
    config.endpoint = NonEmptyEnv(getenv, "AWS_ENDPOINT_URL").value_or("");
  if (config.access_key_id.empty()) {
    config.access_key_id = NonEmptyEnv(getenv, "AWS_ACCESS_KEY_ID").value_or("");
    config.secret_access_key = NonEmptyEnv(getenv, "AWS_SECRET_ACCESS_KEY").value_or("");
    config.session_token = NonEmptyEnv(getenv, "AWS_SESSION_TOKEN").value_or("");
  }
  RegisterSecret(config.secret_access_key);
  RegisterSecret(config.session_token);
  const bool static_keys = !config.access_key_id.empty() && !config.secret_access_key.empty();
  if (!static_keys || !profile.empty() || !role_arn.empty()) {
    // The rest of the chain: a profile, a role, web identity (which may call STS now).
    struct Chain {
      HttpClient http{HttpClientOptions{}};  // for STS
      std::unique_ptr<CredentialProvider> provider;
    };
    auto chain = std::make_shared<Chain>();
    AwsIdentitySettings identity;
    identity.region = config.region;
    identity.endpoint = config.endpoint;
    identity.profile = profile;
    identity.role_arn = role_arn;
    if (keys_from_node) {
      identity.access_key_id = config.access_key_id;
      identity.secret_access_key = config.secret_access_key;
      identity.session_token = config.session_token;
    }
    auto provider = CredentialProvider::Create(identity, chain->http, getenv);
    if (!provider.ok()) {
      return Status(absl::StatusCode::kInvalidArgument,
                    StrCat("aws settings: no credentials (set access_key_id: and "
                           "secret_access_key:, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a "
                           "profile, or a role): ",
                           MessageOf(provider.status())));
    }
    chain->provider = *std::move(provider);
    if (config.region.empty()) config.region = chain->provider->region();
    config.provider = std::shared_ptr<CredentialProvider>(chain, chain->provider.get());
  }
  if (config.region.empty()) {
    return Status(absl::StatusCode::kInvalidArgument,
                  "aws settings: no region (set region:, AWS_REGION or AWS_DEFAULT_REGION)");
  }
  if (!config.endpoint.empty() && !config.endpoint.starts_with("http://") &&
      !config.endpoint.starts_with("https://")) {
    return Status(absl::StatusCode::kInvalidArgument,
                  StrCat("aws settings: endpoint must start with http:// or https://, not '",
                         config.endpoint, "'"));
  }
  return config;
}

StatusOr<std::string> AwsJsonCall(HttpClient& client, const AwsConfig& config,
                                  const AwsService& service, std::string_view target_prefix,
                                  std::string_view action, std::string_view json_body) {
  WS_ASSIGN_OR_RETURN(HttpRequest request, SignedPost(config, service));
  request.headers = {{"Content-Type", "application/x-amz-json-1.1"},
                     {"X-Amz-Target", StrCat(target_prefix, ".", action)}};
  request.body = std::string(json_body);
  return Finish(client.Send(request), StrCat(service.name, " ", action));
}

StatusOr<std::string> AwsQueryCall(HttpClient& client, const AwsConfig& config,
                                   const AwsService& service, std::string_view action,
                                   std::string_view version, const AwsQueryParams& params) {
  WS_ASSIGN_OR_RETURN(HttpRequest request, SignedPost(config, service));
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  constexpr std::string_view kUnreserved = "-_.~";
  request.body = StrCat("Action=", PercentEncode(action, kUnreserved),
                        "&Version=", PercentEncode(version, kUnreserved));
  for (const auto& [name, value] : params) {
    request.body +=
        StrCat("&", PercentEncode(name, kUnreserved), "=", PercentEncode(value, kUnreserved));
  }
  return Finish(client.Send(request), StrCat(service.name, " ", action));
}

std::string AwsErrorCode(const Status& status) {
  auto code = status.GetPayload(kAwsCodePayload);
  return code.has_value() ? std::string(*code) : std::string();
}

Status AwsErrorStatus(std::string_view what, int http_status, std::string_view body) {
  std::string code;
  std::string message;
  size_t first = body.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && body[first] == '<') {
    std::vector<std::string> codes = XmlElementTexts(body, "Code");
    std::vector<std::string> messages = XmlElementTexts(body, "Message");
    if (!codes.empty()) code = codes.front();
    if (!messages.empty()) message = messages.front();
  } else if (first != std::string_view::npos && body[first] == '{') {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(body.data(), body.size()).get(doc) == simdjson::SUCCESS) {
      std::string_view text;
      if (doc["__type"].get(text) == simdjson::SUCCESS ||
          doc["code"].get(text) == simdjson::SUCCESS) {
        code = std::string(
            text.substr(text.find('#') == std::string_view::npos ? 0 : text.find('#') + 1));
      }
      if (doc["message"].get(text) == simdjson::SUCCESS ||
          doc["Message"].get(text) == simdjson::SUCCESS) {
        message = std::string(text);
      }
    }
  }
  std::string text;
  if (code.empty()) {
    text = StrCat(what, ": HTTP ", http_status, first == std::string_view::npos ? "" : ": ",
                  Clip(body.substr(first == std::string_view::npos ? body.size() : first)));
  } else {
    text = StrCat(what, ": ", code, message.empty() ? "" : ": ", Clip(message));
  }
  Status status(CodeFor(code, http_status), RedactSecrets(text));
  if (!code.empty()) status.SetPayload(kAwsCodePayload, absl::Cord(code));
  return status;
}

std::vector<std::string> XmlElementTexts(std::string_view xml, std::string_view tag) {
  std::vector<std::string> out;
  const std::string open = StrCat("<", tag, ">");
  const std::string close = StrCat("</", tag, ">");
  size_t pos = 0;
  while ((pos = xml.find(open, pos)) != std::string_view::npos) {
    size_t start = pos + open.size();
    size_t end = xml.find(close, start);
    if (end == std::string_view::npos) break;
    std::string_view raw = xml.substr(start, end - start);
    std::string text;
    text.reserve(raw.size());
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '&') {
        text.push_back(raw[i]);
        continue;
      }
      size_t semi = raw.find(';', i);
      if (semi == std::string_view::npos) {
        text.push_back('&');
        continue;
      }
      std::string_view entity = raw.substr(i + 1, semi - i - 1);
      std::optional<uint32_t> cp;
      if (entity == "amp")
        cp = '&';
      else if (entity == "lt")
        cp = '<';
      else if (entity == "gt")
        cp = '>';
      else if (entity == "quot")
        cp = '"';
      else if (entity == "apos")
        cp = '\'';
      else if (entity.size() > 1 && entity[0] == '#') {
        uint32_t v = 0;
        bool hex = entity[1] == 'x' || entity[1] == 'X';
        bool ok = entity.size() > (hex ? 2u : 1u);
        for (char c : entity.substr(hex ? 2 : 1)) {
          int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                  : hex && std::isxdigit(static_cast<unsigned char>(c))
                      ? (std::tolower(static_cast<unsigned char>(c)) - 'a' + 10)
                      : -1;
          if (d < 0 || v > 0x10FFFF) {
            ok = false;
            break;
          }
          v = v * (hex ? 16 : 10) + static_cast<uint32_t>(d);
        }
        if (ok && v <= 0x10FFFF) cp = v;
      }
      if (!cp.has_value()) {
        text.push_back('&');
        continue;
      }
      uint32_t c = *cp;  // UTF-8 encode
      if (c < 0x80) {
        text.push_back(static_cast<char>(c));
      } else if (c < 0x800) {
        text.push_back(static_cast<char>(0xC0 | (c >> 6)));
        text.push_back(static_cast<char>(0x80 | (c & 0x3F)));
      } else if (c < 0x10000) {
        text.push_back(static_cast<char>(0xE0 | (c >> 12)));
        text.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        text.push_back(static_cast<char>(0x80 | (c & 0x3F)));
      } else {
        text.push_back(static_cast<char>(0xF0 | (c >> 18)));
        text.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
        text.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        text.push_back(static_cast<char>(0x80 | (c & 0x3F)));
      }
      i = semi;
    }
    out.push_back(std::move(text));
    pos = end + close.size();
  }
  return out;
}

}  // namespace watershed::net
