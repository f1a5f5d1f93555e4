// net/secrets_manager.h — ${aws-secretsmanager:NAME} references: a secret kept in AWS Secrets
// Manager, read once per process (GetSecretValue).
//
// Owns: the reference syntax `NAME_OR_ARN[#KEY]` — the secret's SecretString, or with #KEY the
// value of KEY in a secret stored as a JSON object (the form RDS and most tools write:
// {"username": ..., "password": ...}) — the call, and a per-process cache so a file read
// twice asks once. AWS settings come from the environment (the YAML holding the reference
// cannot configure its own resolution): region $AWS_REGION / $AWS_DEFAULT_REGION, endpoint
// $AWS_ENDPOINT_URL_SECRETS_MANAGER, else $AWS_ENDPOINT_URL, else AWS; credentials from the AWS
// chain (net/aws_credentials.h). The value is registered with RegisterSecret.
// Errors name the reference and the AWS answer, never a value: a missing secret is kNotFound,
// a missing key or a binary secret kInvalidArgument.
// Does not own: the ${...} syntax (base/config.h), registering the scheme (cli/main.cc).
// Thread safety: thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "watershed/base/config.h"
#include "watershed/base/status.h"

namespace watershed::net {

StatusOr<std::string> SecretsManagerValue(std::string_view reference,
                                          const EnvLookup& getenv = RealGetenv);

}  // namespace watershed::net
