// cli/access_commands.cc — `access explain` (what the access model decides, and why) and
// `token create|list|rotate|revoke` (the principals' API tokens). See commands.h.
#include <iostream>
#include <nlohmann/json.hpp>

#include "watershed/base/clock.h"
#include "watershed/base/columns.h"
#include "watershed/base/strings.h"
#include "watershed/cli/commands.h"
#include "watershed/cli/output.h"
#include "watershed/project/access_tokens.h"
#include "watershed/project/project.h"
#include "watershed/security/access.h"

namespace watershed::cli {

namespace {

// The action a resource is usually asked for: ingest a stream, run a pipeline, read the rest.
security::Action DefaultAction(const std::string& resource) {
  if (resource.starts_with("stream:")) return security::Action::kIngest;
  if (resource.starts_with("pipeline:")) return security::Action::kRun;
  if (resource == "admin") return security::Action::kAdmin;
  return security::Action::kRead;
}

// "90d" -> now + 90 days; "never" -> 0.
StatusOr<int64_t> ExpiryFrom(const std::string& text) {
  if (text == "never") return int64_t{0};
  auto d = ParseDuration(text);
  if (!d.ok() || *d <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        StrCat("--expires ", text, ": give a duration such as 90d, 12h or 30m, or never"));
  }
  return NowMicros() + absl::ToInt64Microseconds(*d);
}

std::string When(int64_t micros) { return micros == 0 ? "-" : IsoUtc(micros, false); }

}  // namespace

Status RunToken(const GlobalOptions& g, const TokenCommand& c) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  WS_ASSIGN_OR_RETURN(auto tokens,
                      project::AccessTokens::Open(*project, /*create_key=*/c.verb == "create"));
  if (c.verb == "create" || c.verb == "rotate") {
    WS_ASSIGN_OR_RETURN(int64_t expires, ExpiryFrom(c.expires));
    security::MintedToken minted;
    if (c.verb == "create") {
      WS_ASSIGN_OR_RETURN(minted, tokens->Create(c.principal, expires));
    } else {
      auto overlap = ParseDuration(c.overlap);
      if (!overlap.ok()) {
        return absl::InvalidArgumentError(
            StrCat("--overlap ", c.overlap, ": give a duration such as 1d"));
      }
      const int64_t overlap_end = NowMicros() + absl::ToInt64Microseconds(*overlap);
      WS_ASSIGN_OR_RETURN(
          minted, tokens->Rotate(c.id, overlap_end,
                                 c.expires_given ? std::optional<int64_t>(expires) : std::nullopt));
      std::cerr << "token " << c.id << " stays valid until " << When(overlap_end)
                << " at the latest\n";
    }
    // The token itself on stdout (for a script to capture), once; the rest on stderr.
    std::cout << minted.token << "\n";
    std::cerr << "token " << minted.record.id << " for " << minted.record.principal << ", expires "
              << (minted.record.expires_micros == 0 ? "never" : When(minted.record.expires_micros))
              << ". Store it now: it is not shown again (only a keyed hash is kept).\n";
    return absl::OkStatus();
  }
  if (c.verb == "revoke") {
    WS_RETURN_IF_ERROR(tokens->Revoke(c.id));
    std::cerr << "token " << c.id << " revoked\n";
    return absl::OkStatus();
  }
  WS_ASSIGN_OR_RETURN(auto records, tokens->List());
  const int64_t now = NowMicros();
  auto state = [&](const security::TokenRecord& r) -> std::string {
    if (r.revoked_micros != 0) return "revoked";
    if (r.expires_micros != 0 && r.expires_micros <= now) return "expired";
    if (!r.replaced_by.empty()) return StrCat("rotated to ", r.replaced_by);
    return "active";
  };
  TextTable t;
  t.header = {"id", "principal", "created", "expires", "last used", "revoked", "state"};
  for (const auto& r : records) {
    t.rows.push_back({r.id, r.principal, When(r.created_micros), When(r.expires_micros),
                      When(r.last_used_micros), When(r.revoked_micros), state(r)});
  }
  WS_ASSIGN_OR_RETURN(OutputFormat f, ParseOutputFormat(c.format));
  Print(t, f, std::cout);
  return absl::OkStatus();
}

Status RunAccessExplain(const GlobalOptions& g, const std::string& principal,
                        const std::string& resource, const std::string& action_name,
                        const std::string& format) {
  WS_RETURN_IF_ERROR(security::CheckResource(resource));
  security::Action action = DefaultAction(resource);
  if (!action_name.empty()) {
    WS_ASSIGN_OR_RETURN(action, security::ParseAction(action_name));
  }
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  if (!project->config().access) {
    return absl::FailedPreconditionError(
        "watershed.yml has no access: section, so this project is single-user: whoever runs "
        "watershed here reads and writes everything. Add access: with groups and grants "
        "(docs/formats/access.md)");
  }
  const security::AccessPolicy& policy = *project->config().access;
  const security::Decision d = policy.Decide(principal, action, resource);
  std::vector<std::string> groups;
  for (const std::string& id : policy.Identities(principal))
    if (id != principal) groups.push_back(id);
  std::vector<std::pair<std::string, std::string>> masks;
  for (const auto& [tag, rule] : policy.masking()) {
    masks.push_back({tag, std::string(security::MaskName(policy.MaskFor(principal, tag)))});
  }
  std::vector<std::string> filters;
  for (const security::RowFilter* f : policy.RowFiltersFor(principal, resource)) {
    filters.push_back(StrCat(f->where, " (line ", f->line, ")"));
  }
  if (format == "json") {
    nlohmann::json masked = nlohmann::json::object();
    for (const auto& [tag, mask] : masks) masked[tag] = mask;
    std::cout << nlohmann::json{{"principal", principal},
                                {"action", security::ActionName(action)},
                                {"resource", resource},
                                {"decision", d.allowed ? "allow" : "deny"},
                                {"grant", d.grant ? d.grant->Describe() : ""},
                                {"reason", d.reason},
                                {"groups", groups},
                                {"masking", masked},
                                {"row_filters", filters}}
                     .dump(2)
              << "\n";
    return absl::OkStatus();
  }
  std::cout << (d.allowed ? "allow" : "deny") << "  " << principal << " "
            << security::ActionName(action) << " " << resource << "\n";
  std::cout << "  " << (d.allowed ? "grant    " : "why      ")
            << (d.grant ? d.grant->Describe() : d.reason) << "\n";
  std::cout << "  groups   " << (groups.empty() ? "(none)" : Join(groups, ", ")) << "\n";
  for (const auto& [tag, mask] : masks) {
    std::cout << "  masking  columns tagged " << tag << ": " << mask << "\n";
  }
  for (const std::string& f : filters) std::cout << "  rows     only where " << f << "\n";
  return absl::OkStatus();
}

}  // namespace watershed::cli
