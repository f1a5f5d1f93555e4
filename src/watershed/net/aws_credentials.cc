// net/aws_credentials.cc — see aws_credentials.h.
#include "watershed/net/aws_credentials.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/time/clock.h"
#include "watershed/base/log.h"
#include "watershed/base/strings.h"
#include "watershed/net/aws.h"
#include "watershed/net/sigv4.h"

namespace watershed::net {
namespace {

constexpr absl::Duration kRefreshBefore = absl::Minutes(5);

std::string EnvOr(const EnvLookup& getenv, std::string_view name, std::string fallback = "") {
  std::optional<std::string> v = getenv(name);
  return v.has_value() && !v->empty() ? *v : fallback;
}

std::string HomePath(const EnvLookup& getenv, std::string_view rest) {
  return StrCat(EnvOr(getenv, "HOME", "/root"), "/", rest);
}

struct Found {
  AwsCredentials credentials;
  std::optional<absl::Time> expires;
  std::string source;
};

StatusOr<absl::Time> ParseExpiration(std::string_view text) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &err)) {
    return absl::InvalidArgumentError(StrCat("STS answered an unreadable Expiration '", text, "'"));
  }
  return t;
}

// Calls an STS action (query protocol); signed with `signer` unless it is null.
StatusOr<Found> CallSts(HttpClient& http, const std::string& endpoint, const std::string& region,
                        const AwsCredentials* signer, std::string_view action,
                        const std::vector<std::pair<std::string, std::string>>& params,
                        const std::string& source) {
  HttpRequest request;
  request.method = "POST";
  request.url = StrCat(endpoint, "/");
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  request.body = StrCat("Action=", action, "&Version=2011-06-15");
  for (const auto& [k, v] : params) {
    request.body += StrCat("&", AwsUriEncode(k, true), "=", AwsUriEncode(v, true));
  }
  const std::string what = StrCat("sts ", action, " (", source, ")");
  if (signer != nullptr) {
    WS_RETURN_IF_ERROR(Annotate(SignV4(request, *signer, region, "sts", absl::Now()), what));
  }
  StatusOr<HttpResponse> response = http.Send(request);
  if (!response.ok()) return Annotate(response.status(), what);
  if (response->status < 200 || response->status >= 300) {
    return AwsErrorStatus(what, response->status, response->body);
  }
  auto one = [&](std::string_view tag) -> std::string {
    std::vector<std::string> v = XmlElementTexts(response->body, tag);
    return v.empty() ? "" : v.front();
  };
  Found f;
  f.credentials.access_key_id = one("AccessKeyId");
  f.credentials.secret_access_key = one("SecretAccessKey");
  f.credentials.session_token = one("SessionToken");
  if (f.credentials.access_key_id.empty() || f.credentials.secret_access_key.empty()) {
    return absl::UnavailableError(StrCat(what, ": the answer holds no credentials"));
  }
  RegisterSecret(f.credentials.secret_access_key);
  RegisterSecret(f.credentials.session_token);
  const std::string expiration = one("Expiration");
  if (!expiration.empty()) {
    WS_ASSIGN_OR_RETURN(absl::Time t, ParseExpiration(expiration));
    f.expires = t;
  }
  f.source = source;
  return f;
}

std::string StsEndpoint(const AwsIdentitySettings& s, const std::string& region) {
  if (!s.endpoint.empty()) {
    std::string_view e = s.endpoint;
    while (e.ends_with('/')) e.remove_suffix(1);
    return std::string(e);
  }
  return StrCat("https://sts.", region.empty() ? "us-east-1" : region, ".amazonaws.com");
}

StatusOr<Found> WebIdentity(HttpClient& http, const AwsIdentitySettings& s,
                            const std::string& region, const std::string& role_arn,
                            const std::string& token_file, const std::string& session_name) {
  std::ifstream in(token_file, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(StrCat("web identity token file ", token_file,
                                             " cannot be read (AWS_WEB_IDENTITY_TOKEN_FILE)"));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string token(Trim(buffer.str()));
  RegisterSecret(token);
  return CallSts(http, StsEndpoint(s, region), region, nullptr, "AssumeRoleWithWebIdentity",
                 {{"RoleArn", role_arn},
                  {"RoleSessionName", session_name},
                  {"WebIdentityToken", token},
                  {"DurationSeconds", "3600"}},
                 StrCat("web identity role ", role_arn));
}

StatusOr<Found> AssumeRole(HttpClient& http, const AwsIdentitySettings& s,
                           const std::string& region, const AwsCredentials& source,
                           const std::string& role_arn, const std::string& session_name,
                           const std::string& external_id) {
  std::vector<std::pair<std::string, std::string>> params = {
      {"RoleArn", role_arn}, {"RoleSessionName", session_name}, {"DurationSeconds", "3600"}};
  if (!external_id.empty()) params.emplace_back("ExternalId", external_id);
  return CallSts(http, StsEndpoint(s, region), region, &source, "AssumeRole", params,
                 StrCat("assumed role ", role_arn));
}

// The profile's settings: the credentials file's section merged with the config file's
// ("[profile NAME]", or "[default]").
std::map<std::string, std::string> ProfileSettings(const EnvLookup& getenv,
                                                   const std::string& name,
                                                   std::string* files_read) {
  const std::string credentials_file =
      EnvOr(getenv, "AWS_SHARED_CREDENTIALS_FILE", HomePath(getenv, ".aws/credentials"));
  const std::string config_file = EnvOr(getenv, "AWS_CONFIG_FILE", HomePath(getenv, ".aws/config"));
  *files_read = StrCat(credentials_file, ", ", config_file);
  std::map<std::string, std::string> merged =
      ReadIniSection(config_file, name == "default" ? "default" : StrCat("profile ", name));
  for (auto& [k, v] : ReadIniSection(credentials_file, name)) merged[k] = v;
  return merged;
}

StatusOr<Found> FromProfile(HttpClient& http, const AwsIdentitySettings& s, const EnvLookup& getenv,
                            const std::string& name, const std::string& region, int depth) {
  if (depth > 5) {
    return absl::InvalidArgumentError(
        StrCat("profile '", name, "': source_profile chain deeper than 5 (a loop?)"));
  }
  std::string files;
  const std::map<std::string, std::string> p = ProfileSettings(getenv, name, &files);
  auto get = [&](const char* key) {
    auto it = p.find(key);
    return it == p.end() ? std::string() : it->second;
  };
  if (p.empty()) {
    return absl::NotFoundError(StrCat("profile '", name, "' is not in ", files));
  }
  const std::string role = get("role_arn");
  const std::string session = get("role_session_name").empty() ? s.role_session_name
                                                                : get("role_session_name");
  if (!role.empty()) {
    if (!get("web_identity_token_file").empty()) {
      return WebIdentity(http, s, region, role, get("web_identity_token_file"), session);
    }
    const std::string source_profile = get("source_profile");
    if (source_profile.empty()) {
      return absl::InvalidArgumentError(
          StrCat("profile '", name, "' in ", files,
                 ": role_arn without source_profile or web_identity_token_file (credential_source "
                 "and the EC2/ECS metadata endpoints are not supported)"));
    }
    Found base;
    if (source_profile == name) {  // keys in the same profile
      base.credentials = {get("aws_access_key_id"), get("aws_secret_access_key"),
                          get("aws_session_token")};
      if (base.credentials.access_key_id.empty()) {
        return absl::InvalidArgumentError(
            StrCat("profile '", name, "' is its own source_profile but has no aws_access_key_id"));
      }
    } else {
      WS_ASSIGN_OR_RETURN(base, FromProfile(http, s, getenv, source_profile, region, depth + 1));
    }
    RegisterSecret(base.credentials.secret_access_key);
    return AssumeRole(http, s, region, base.credentials, role, session, get("external_id"));
  }
  if (!get("credential_process").empty() || !get("sso_start_url").empty() ||
      !get("sso_session").empty()) {
    return absl::UnimplementedError(
        StrCat("profile '", name, "' uses credential_process or SSO, which Watershed does not "
                                  "run; export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (e.g. from "
                                  "`aws configure export-credentials`) instead"));
  }
  Found f;
  f.credentials = {get("aws_access_key_id"), get("aws_secret_access_key"),
                   get("aws_session_token")};
  if (f.credentials.access_key_id.empty() || f.credentials.secret_access_key.empty()) {
    return absl::InvalidArgumentError(
        StrCat("profile '", name, "' in ", files,
               " has neither aws_access_key_id/aws_secret_access_key nor role_arn"));
  }
  RegisterSecret(f.credentials.secret_access_key);
  RegisterSecret(f.credentials.session_token);
  f.source = StrCat("profile ", name);
  return f;
}

}  // namespace

std::map<std::string, std::string> ReadIniSection(const std::string& path,
                                                  const std::string& section) {
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  if (!in) return out;
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    std::string_view l = Trim(line);
    if (l.empty() || l.front() == '#' || l.front() == ';') continue;
    if (l.front() == '[') {
      const size_t end = l.find(']');
      inside = end != std::string_view::npos && Trim(l.substr(1, end - 1)) == section;
      continue;
    }
    if (!inside) continue;
    const size_t eq = l.find('=');
    if (eq == std::string_view::npos) continue;
    out[ToLower(Trim(l.substr(0, eq)))] = std::string(Trim(l.substr(eq + 1)));
  }
  return out;
}

StatusOr<std::unique_ptr<CredentialProvider>> CredentialProvider::Create(
    const AwsIdentitySettings& settings, HttpClient& http, const EnvLookup& getenv) {
  std::unique_ptr<CredentialProvider> p(new CredentialProvider(settings, http, getenv));
  WS_RETURN_IF_ERROR(p->Resolve());
  return p;
}

Status CredentialProvider::Resolve() {
  const AwsIdentitySettings& s = settings_;
  const std::string profile = !s.profile.empty() ? s.profile : EnvOr(getenv_, "AWS_PROFILE", "default");
  region_ = s.region;
  if (region_.empty()) region_ = EnvOr(getenv_, "AWS_REGION", EnvOr(getenv_, "AWS_DEFAULT_REGION"));
  if (region_.empty()) {
    std::string files;
    auto p = ProfileSettings(getenv_, profile, &files);
    region_ = p["region"];
  }
  Found found;
  if (!s.access_key_id.empty()) {
    if (s.secret_access_key.empty()) {
      return absl::InvalidArgumentError("aws settings: access_key_id is set but secret_access_key is not");
    }
    found.credentials = {s.access_key_id, s.secret_access_key, s.session_token};
    found.source = "settings";
  } else if (!EnvOr(getenv_, "AWS_ACCESS_KEY_ID").empty() && s.profile.empty()) {
    found.credentials = {EnvOr(getenv_, "AWS_ACCESS_KEY_ID"), EnvOr(getenv_, "AWS_SECRET_ACCESS_KEY"),
                         EnvOr(getenv_, "AWS_SESSION_TOKEN")};
    if (found.credentials.secret_access_key.empty()) {
      return absl::InvalidArgumentError("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    }
    found.source = "environment";
  } else if (!EnvOr(getenv_, "AWS_ROLE_ARN").empty() &&
             !EnvOr(getenv_, "AWS_WEB_IDENTITY_TOKEN_FILE").empty() && s.profile.empty()) {
    WS_ASSIGN_OR_RETURN(found, WebIdentity(http_, s, region_, EnvOr(getenv_, "AWS_ROLE_ARN"),
                                           EnvOr(getenv_, "AWS_WEB_IDENTITY_TOKEN_FILE"),
                                           EnvOr(getenv_, "AWS_ROLE_SESSION_NAME",
                                                 s.role_session_name)));
  } else {
    StatusOr<Found> from_profile = FromProfile(http_, s, getenv_, profile, region_, 0);
    if (!from_profile.ok()) {
      if (from_profile.status().code() != absl::StatusCode::kNotFound) return from_profile.status();
      return absl::NotFoundError(StrCat(
          "no AWS credentials: tried the settings (access_key_id), AWS_ACCESS_KEY_ID, "
          "AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE and ",
          MessageOf(from_profile.status()), "; set one of them (see docs/formats/project.md, storage.s3)"));
    }
    found = *std::move(from_profile);
  }
  RegisterSecret(found.credentials.secret_access_key);
  RegisterSecret(found.credentials.session_token);
  if (!s.role_arn.empty()) {
    WS_ASSIGN_OR_RETURN(found, AssumeRole(http_, s, region_, found.credentials, s.role_arn,
                                          s.role_session_name, ""));
  }
  current_ = found.credentials;
  expires_ = found.expires;
  source_ = found.source;
  return absl::OkStatus();
}

StatusOr<AwsCredentials> CredentialProvider::Get() {
  std::lock_guard<std::mutex> lock(mu_);
  if (expires_.has_value() && absl::Now() + kRefreshBefore >= *expires_) {
    WS_RETURN_IF_ERROR(Resolve());
  }
  return current_;
}

}  // namespace watershed::net
