// base/secret_refs.h — secret references resolved by a secret store: ${SCHEME:REFERENCE} in
// YAML files (base/config.h interpolates them), e.g. ${aws-secretsmanager:prod/pg#password}.
//
// Owns: the registry of schemes and their resolvers. base/ cannot call a secret store itself
// (stores live in net/ and above), so the program registers each scheme at start
// (cli/main.cc: aws-secretsmanager -> net/secrets_manager.h). A value a resolver returns is
// registered with RegisterSecret before interpolation uses it, so no log shows it.
// Does not own: ${VAR} and ${file:PATH} (config.cc), what a reference means (the resolver).
// Thread safety: register at start, before other threads; resolving is thread-safe when the
// resolvers are.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "watershed/base/status.h"

namespace watershed {

// Resolves the REFERENCE part of ${SCHEME:REFERENCE} to the secret's value.
using SecretResolver = std::function<StatusOr<std::string>(std::string_view reference)>;

// Registers (or replaces) `scheme`: a name of [a-z0-9-], used as ${scheme:...}.
void RegisterSecretScheme(const std::string& scheme, SecretResolver resolver);

// For the body of a ${...} reference: nullopt when it does not start with a registered
// "SCHEME:"; else the resolver's answer (the value registered as a secret), errors prefixed
// with "secret REFERENCE (SCHEME): ".
std::optional<StatusOr<std::string>> ResolveSecretReference(std::string_view body);

}  // namespace watershed
