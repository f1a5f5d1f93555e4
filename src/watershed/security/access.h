// security/access.h — who may do what: the `access:` section of watershed.yml and the one
// function every door asks (docs/formats/access.md).
//
// Owns: principals (users named in groups, groups, service accounts), grants of actions on
// resource patterns, masking rules by column tag and row filters (parsed and validated here,
// applied by the doors that read data), and Decide: deny by default, allow when a grant to the
// principal (or one of its groups) names the action — or one that includes it — on a pattern
// the resource matches. The decision says which grant matched, so it can be audited and
// explained (`watershed access explain`).
//   resources  mart:<mart>.<table>  lake:<namespace>.<table>  stream:<name>  pipeline:<name>
//              admin (the platform itself)
//   actions    read, write (includes read), ingest (streams), run (pipelines),
//              admin (every action on the resources it names; on `admin`: on every resource)
//   patterns   `*` matches any run of characters, dots included ("mart:finance.*", "lake:*")
// Does not own: tokens and who a request is (the doors authenticate first), the audit log, a
// project without an `access:` section (single-user: the doors decide what that means).
// Depends on base only. Thread safety: an AccessPolicy is immutable after FromYaml; Decide may
// run on any thread.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "watershed/base/status.h"
#include "yaml-cpp/yaml.h"

namespace watershed::security {

enum class Action { kRead, kWrite, kIngest, kRun, kAdmin };
std::string_view ActionName(Action action);
StatusOr<Action> ParseAction(std::string_view name);

// Whether `resource` is one of the forms above ("mart:finance.dim_x", "admin"); patterns too
// when `pattern` is set. The error says which form was expected.
Status CheckResource(std::string_view resource, bool pattern = false);
// `*` matches any run of characters (none included); everything else matches itself.
bool ResourceMatches(std::string_view pattern, std::string_view resource);

struct Grant {
  std::vector<std::string> to;  // principals or groups
  std::vector<Action> allow;
  std::vector<std::string> on;  // resource patterns
  int line = 0;                 // in watershed.yml
  // "{to: analytics, allow: read, on: [lake:crunchbase.*]} (watershed.yml:14)"
  std::string Describe() const;
};

enum class Mask { kClear, kHash, kNull, kRedact };
std::string_view MaskName(Mask mask);

struct MaskingRule {
  Mask mask = Mask::kHash;                // for everyone else
  std::vector<std::string> unmasked_for;  // principals or groups who see clear values
};

struct RowFilter {
  std::string on;                 // resource pattern
  std::vector<std::string> for_;  // principals or groups
  std::string where;              // SQL predicate over the table's columns
  int line = 0;
};

struct Decision {
  bool allowed = false;
  std::string principal;
  Action action = Action::kRead;
  std::string resource;
  std::optional<Grant> grant;  // the grant that allowed it; none when denied
  std::string reason;          // why, in a sentence
};

class AccessPolicy {
 public:
  // The `access:` map of `file` (errors name file:line and what to write instead).
  static StatusOr<AccessPolicy> FromYaml(const YAML::Node& node, const std::string& file);

  // Users (members of groups), service accounts and groups named by the policy.
  bool IsPrincipal(const std::string& name) const;
  bool IsGroup(const std::string& name) const { return groups_.contains(name); }
  bool IsServiceAccount(const std::string& name) const { return service_accounts_.contains(name); }
  std::vector<std::string> Principals() const;
  // `principal` itself and the groups it is a member of.
  std::set<std::string> Identities(const std::string& principal) const;

  Decision Decide(const std::string& principal, Action action, const std::string& resource) const;
  // How `principal` sees a column tagged `tag` (kClear when no rule names the tag).
  Mask MaskFor(const std::string& principal, const std::string& tag) const;
  // The row filters that apply to `principal` reading `resource`.
  std::vector<const RowFilter*> RowFiltersFor(const std::string& principal,
                                              const std::string& resource) const;

  const std::vector<Grant>& grants() const { return grants_; }
  const std::map<std::string, MaskingRule>& masking() const { return masking_; }

 private:
  std::map<std::string, std::vector<std::string>> groups_;  // group -> members
  std::set<std::string> service_accounts_;
  std::vector<Grant> grants_;
  std::map<std::string, MaskingRule> masking_;  // by tag
  std::vector<RowFilter> row_filters_;
};

}  // namespace watershed::security
