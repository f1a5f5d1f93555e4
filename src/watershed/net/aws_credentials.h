// net/aws_credentials.h — where AWS credentials come from: the chain a user of the AWS CLI and
// SDKs expects, and temporary credentials from STS kept fresh.
//
// Owns: the credential chain, first match wins —
//   1. keys given in the settings (access_key_id / secret_access_key / session_token);
//   2. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN);
//   3. web identity (EKS, GitHub OIDC): AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE
//      (+ AWS_ROLE_SESSION_NAME) → STS AssumeRoleWithWebIdentity (unsigned);
//   4. the profile (settings `profile:`, else AWS_PROFILE, else "default") in the shared
//      credentials file (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials) and the config
//      file (AWS_CONFIG_FILE, else ~/.aws/config, sections "[profile NAME]"): static keys, or
//      role_arn with source_profile (→ STS AssumeRole with the source's keys, chained as deep as
//      the profiles go) or web_identity_token_file;
// and then, when the settings name `role_arn:`, STS AssumeRole on top of whatever was found.
// Region: settings, AWS_REGION, AWS_DEFAULT_REGION, the profile's `region`.
// Temporary credentials are refreshed 5 minutes before they expire. Secrets (secret keys, session
// tokens, web identity tokens) are registered with the logger and never appear in messages.
// Not supported (said in the error): credential_process, SSO profiles, the EC2/ECS metadata
// endpoints.
// Does not own: signing (net/sigv4.h, net/http_client.h), what the calls do.
// Thread safety: a CredentialProvider may be used by several threads at once.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "watershed/base/config.h"
#include "watershed/base/status.h"
#include "watershed/net/http_client.h"

namespace watershed::net {

// The settings a credential chain reads (all optional): from a `storage.s3` map or a stream's.
struct AwsIdentitySettings {
  std::string region;
  std::string endpoint;  // also the STS endpoint when set (emulators, VPC endpoints)
  std::string access_key_id, secret_access_key, session_token;
  std::string profile;
  std::string role_arn;  // assumed on top of the chain's credentials
  std::string role_session_name = "watershed";
};

class CredentialProvider {
 public:
  // Resolves the chain once (reading files and calling STS as needed). kInvalidArgument /
  // kPermissionDenied naming the step that failed ("profile 'etl' in ~/.aws/config: role_arn
  // without source_profile"), kNotFound when no step has credentials, listing what was tried.
  static StatusOr<std::unique_ptr<CredentialProvider>> Create(
      const AwsIdentitySettings& settings, HttpClient& http, const EnvLookup& getenv = RealGetenv);

  // Current credentials, refreshed when temporary ones are within 5 minutes of expiring.
  StatusOr<AwsCredentials> Get();
  const std::string& region() const { return region_; }
  // Where the credentials came from, for `watershed doctor`-style messages: "environment",
  // "profile etl (~/.aws/credentials)", "web identity role arn:...", "assumed role arn:...".
  const std::string& source() const { return source_; }

 private:
  CredentialProvider(AwsIdentitySettings settings, HttpClient& http, EnvLookup getenv)
      : settings_(std::move(settings)), http_(http), getenv_(std::move(getenv)) {}
  Status Resolve();

  AwsIdentitySettings settings_;
  HttpClient& http_;
  EnvLookup getenv_;
  std::mutex mu_;
  AwsCredentials current_;
  std::optional<absl::Time> expires_;  // nullopt: static keys
  std::string region_;
  std::string source_;
};

// One section of an INI file (~/.aws/credentials, ~/.aws/config): "key = value" lines, '#'
// and ';' comments. Empty map when the file or section is missing. Exposed for tests.
std::map<std::string, std::string> ReadIniSection(const std::string& path,
                                                  const std::string& section);

}  // namespace watershed::net
