// base/secret_refs.cc — see secret_refs.h.
#include "watershed/base/secret_refs.h"

#include <map>
#include <mutex>

#include "watershed/base/log.h"
#include "watershed/base/strings.h"

namespace watershed {
namespace {

std::mutex& RegistryMutex() {
  static std::mutex mu;
  return mu;
}
std::map<std::string, SecretResolver, std::less<>>& Registry() {
  static auto* schemes = new std::map<std::string, SecretResolver, std::less<>>();
  return *schemes;
}

}  // namespace

void RegisterSecretScheme(const std::string& scheme, SecretResolver resolver) {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  Registry()[scheme] = std::move(resolver);
}

std::optional<StatusOr<std::string>> ResolveSecretReference(std::string_view body) {
  const size_t colon = body.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  SecretResolver resolver;
  {
    std::lock_guard<std::mutex> lock(RegistryMutex());
    auto it = Registry().find(body.substr(0, colon));
    if (it == Registry().end()) return std::nullopt;
    resolver = it->second;
  }
  const std::string_view reference = body.substr(colon + 1);
  if (reference.empty()) {
    return absl::InvalidArgumentError(StrCat("bad secret reference \"${", body, "}\": expected ${",
                                             body.substr(0, colon), ":NAME}"));
  }
  StatusOr<std::string> value = resolver(reference);
  // Not "${scheme:ref}": log redaction takes "aws-secretsmanager:..." for a credential header.
  if (!value.ok()) {
    return Annotate(value.status(), StrCat("secret ", reference, " (", body.substr(0, colon), ")"));
  }
  if (!value->empty()) RegisterSecret(*value);
  return value;
}

}  // namespace watershed
