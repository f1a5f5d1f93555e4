// security/access.cc — see access.h; the file's form: docs/formats/access.md.
#include "watershed/security/access.h"

#include <algorithm>

#include "watershed/base/strings.h"

namespace watershed::security {

namespace {

constexpr std::string_view kKinds[] = {"mart", "lake", "stream", "pipeline"};

std::string At(const std::string& file, const YAML::Node& node) {
  return StrCat(file, ":", node.Mark().line + 1);
}

// A scalar or a list of scalars, as a list. `node` may be missing: errors then name the line
// of `parent`.
StatusOr<std::vector<std::string>> Names(const YAML::Node& node, const std::string& what,
                                         const std::string& file, const YAML::Node& parent) {
  std::vector<std::string> out;
  if (node && node.IsScalar()) {
    out.push_back(node.as<std::string>());
  } else if (node && node.IsSequence()) {
    for (const YAML::Node& n : node) {
      if (!n.IsScalar()) {
        return absl::InvalidArgumentError(
            StrCat(At(file, n), ": ", what, " must be names (text), not a map or a list"));
      }
      out.push_back(n.as<std::string>());
    }
  }
  if (out.empty() || std::any_of(out.begin(), out.end(), [](auto& s) { return s.empty(); })) {
    return absl::InvalidArgumentError(StrCat(At(file, node ? node : parent), ": ", what,
                                             " is required: a name or a list of names"));
  }
  return out;
}

bool Allows(const Grant& g, Action a) {
  return std::find(g.allow.begin(), g.allow.end(), a) != g.allow.end();
}

std::string_view KindOf(std::string_view resource) {
  const size_t colon = resource.find(':');
  return colon == std::string_view::npos ? resource : resource.substr(0, colon);
}

}  // namespace

std::string_view ActionName(Action action) {
  switch (action) {
    case Action::kRead:
      return "read";
    case Action::kWrite:
      return "write";
    case Action::kIngest:
      return "ingest";
    case Action::kRun:
      return "run";
    case Action::kAdmin:
      return "admin";
  }
  return "read";
}

StatusOr<Action> ParseAction(std::string_view name) {
  for (Action a : {Action::kRead, Action::kWrite, Action::kIngest, Action::kRun, Action::kAdmin}) {
    if (ActionName(a) == name) return a;
  }
  return absl::InvalidArgumentError(
      StrCat("unknown action \"", name, "\": use read, write, ingest, run or admin"));
}

std::string_view MaskName(Mask mask) {
  switch (mask) {
    case Mask::kClear:
      return "clear";
    case Mask::kHash:
      return "hash";
    case Mask::kNull:
      return "null";
    case Mask::kRedact:
      return "redact";
  }
  return "hash";
}

Status CheckResource(std::string_view resource, bool pattern) {
  if (resource == "admin") return absl::OkStatus();
  const size_t colon = resource.find(':');
  const std::string_view kind = KindOf(resource);
  const bool known = std::find(std::begin(kKinds), std::end(kKinds), kind) != std::end(kKinds);
  if (colon == std::string_view::npos || !known || colon + 1 == resource.size()) {
    return absl::InvalidArgumentError(
        StrCat("\"", resource, "\" is not a resource", pattern ? " pattern" : "",
               ": write mart:<mart>.<table>, lake:<namespace>.<table>, stream:<name>, "
               "pipeline:<name> or admin",
               pattern ? " (`*` matches any run of characters, e.g. mart:finance.*)" : ""));
  }
  if (!pattern && resource.find('*') != std::string_view::npos) {
    return absl::InvalidArgumentError(
        StrCat("\"", resource, "\" is a pattern; name one resource (e.g. mart:finance.dim_x)"));
  }
  return absl::OkStatus();
}

bool ResourceMatches(std::string_view pattern, std::string_view resource) {
  // Greedy match with backtracking to the last `*` (linear in practice, no recursion).
  size_t p = 0, r = 0, star = std::string_view::npos, mark = 0;
  while (r < resource.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = r;
    } else if (p < pattern.size() && pattern[p] == resource[r]) {
      ++p;
      ++r;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      r = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string Grant::Describe() const {
  std::vector<std::string> actions;
  for (Action a : allow) actions.emplace_back(ActionName(a));
  auto list = [](const std::vector<std::string>& v) {
    return v.size() == 1 ? v[0] : StrCat("[", Join(v, ", "), "]");
  };
  return StrCat("{to: ", list(to), ", allow: ", list(actions), ", on: ", list(on), "}",
                line > 0 ? StrCat(" (line ", line, ")") : "");
}

StatusOr<AccessPolicy> AccessPolicy::FromYaml(const YAML::Node& node, const std::string& file) {
  AccessPolicy p;
  if (!node || node.IsNull()) return p;  // `access:` with nothing in it: deny everything
  if (!node.IsMap()) {
    return absl::InvalidArgumentError(
        StrCat(At(file, node),
               ": access must be a map of groups, service_accounts, grants, "
               "masking and row_filters"));
  }
  if (const YAML::Node g = node["groups"]) {
    if (!g.IsMap()) {
      return absl::InvalidArgumentError(
          StrCat(At(file, g),
                 ": access.groups must map each group to its members, e.g. "
                 "{finance_analysts: [alice]}"));
    }
    for (const auto& kv : g) {
      const std::string name = kv.first.as<std::string>();
      std::vector<std::string> members;
      if (!kv.second.IsNull()) {
        WS_ASSIGN_OR_RETURN(members, Names(kv.second, StrCat("access.groups.", name), file, g));
      }
      p.groups_[name] = members;
    }
  }
  if (const YAML::Node s = node["service_accounts"]) {
    WS_ASSIGN_OR_RETURN(auto names, Names(s, "access.service_accounts", file, node));
    for (const std::string& n : names) {
      if (p.groups_.contains(n)) {
        return absl::InvalidArgumentError(
            StrCat(At(file, s), ": ", n, " is both a group and a service account: rename one"));
      }
      p.service_accounts_.insert(n);
    }
  }
  std::vector<std::string> known = p.Principals();
  for (const auto& [g, m] : p.groups_) known.push_back(g);
  auto check_known = [&](const std::string& name, const YAML::Node& at) -> Status {
    if (p.IsPrincipal(name) || p.IsGroup(name)) return absl::OkStatus();
    const std::string close = ClosestMatch(name, known);
    return absl::InvalidArgumentError(
        StrCat(At(file, at), ": \"", name,
               "\" is not a group, a member of one or a service account of access:",
               close.empty() ? "" : StrCat(" (did you mean ", close, "?)")));
  };
  if (const YAML::Node grants = node["grants"]) {
    if (!grants.IsSequence()) {
      return absl::InvalidArgumentError(
          StrCat(At(file, grants), ": access.grants must be a list of {to, allow, on}"));
    }
    for (const YAML::Node& g : grants) {
      if (!g.IsMap()) {
        return absl::InvalidArgumentError(
            StrCat(At(file, g), ": a grant is a map {to: GROUP, allow: read, on: \"mart:x.*\"}"));
      }
      for (const auto& kv : g) {
        const std::string key = kv.first.as<std::string>();
        if (key != "to" && key != "allow" && key != "on") {
          return absl::InvalidArgumentError(
              StrCat(At(file, kv.first), ": a grant has the keys to, allow and on, not ", key));
        }
      }
      Grant grant;
      grant.line = g.Mark().line + 1;
      WS_ASSIGN_OR_RETURN(grant.to, Names(g["to"], "a grant's to", file, g));
      for (const std::string& t : grant.to) WS_RETURN_IF_ERROR(check_known(t, g["to"]));
      WS_ASSIGN_OR_RETURN(auto actions, Names(g["allow"], "a grant's allow", file, g));
      for (const std::string& a : actions) {
        auto action = ParseAction(a);
        if (!action.ok()) return Annotate(action.status(), At(file, g["allow"]));
        grant.allow.push_back(*action);
      }
      WS_ASSIGN_OR_RETURN(grant.on, Names(g["on"], "a grant's on", file, g));
      for (const std::string& on : grant.on) {
        WS_RETURN_IF_ERROR(Annotate(CheckResource(on, true), At(file, g["on"])));
        const std::string_view kind = KindOf(on);
        for (Action a : grant.allow) {
          const bool fits = a == Action::kAdmin || (kind == "admin"        ? false
                                                    : a == Action::kIngest ? kind == "stream"
                                                    : a == Action::kRun    ? kind == "pipeline"
                                                                           : true);
          if (!fits) {
            return absl::InvalidArgumentError(
                StrCat(At(file, g["on"]), ": ", ActionName(a), " does not apply to ", on,
                       a == Action::kIngest ? " (ingest is for stream: resources)"
                       : a == Action::kRun  ? " (run is for pipeline: resources)"
                                            : " (only admin applies to admin)"));
          }
        }
      }
      p.grants_.push_back(std::move(grant));
    }
  }
  if (const YAML::Node m = node["masking"]) {
    if (!m.IsMap()) {
      return absl::InvalidArgumentError(
          StrCat(At(file, m),
                 ": access.masking maps a column tag to its rule, e.g. "
                 "{pii: {default: hash, unmasked_for: [finance_analysts]}}"));
    }
    for (const auto& kv : m) {
      MaskingRule rule;
      const std::string tag = kv.first.as<std::string>();
      if (!kv.second.IsMap()) {
        return absl::InvalidArgumentError(
            StrCat(At(file, kv.second), ": access.masking.", tag,
                   " must be a map {default: hash|null|redact, unmasked_for: [...]}"));
      }
      if (const YAML::Node d = kv.second["default"]) {
        const std::string name = d.as<std::string>();
        if (name == "hash") {
          rule.mask = Mask::kHash;
        } else if (name == "null") {
          rule.mask = Mask::kNull;
        } else if (name == "redact") {
          rule.mask = Mask::kRedact;
        } else {
          return absl::InvalidArgumentError(
              StrCat(At(file, d), ": masking default \"", name, "\": use hash, null or redact"));
        }
      }
      if (const YAML::Node u = kv.second["unmasked_for"]) {
        WS_ASSIGN_OR_RETURN(rule.unmasked_for, Names(u, "unmasked_for", file, kv.second));
        for (const std::string& n : rule.unmasked_for) WS_RETURN_IF_ERROR(check_known(n, u));
      }
      p.masking_[tag] = std::move(rule);
    }
  }
  if (const YAML::Node rf = node["row_filters"]) {
    if (!rf.IsSequence()) {
      return absl::InvalidArgumentError(
          StrCat(At(file, rf), ": access.row_filters must be a list of {on, for, where}"));
    }
    for (const YAML::Node& f : rf) {
      if (!f.IsMap()) {
        return absl::InvalidArgumentError(StrCat(
            At(file, f), ": a row filter is a map {on: \"mart:x.t\", for: GROUP, where: SQL}"));
      }
      RowFilter filter;
      filter.line = f.Mark().line + 1;
      WS_ASSIGN_OR_RETURN(auto on, Names(f["on"], "a row filter's on", file, f));
      filter.on = on.front();
      WS_RETURN_IF_ERROR(Annotate(CheckResource(filter.on, true), At(file, f["on"])));
      WS_ASSIGN_OR_RETURN(filter.for_, Names(f["for"], "a row filter's for", file, f));
      for (const std::string& n : filter.for_) WS_RETURN_IF_ERROR(check_known(n, f["for"]));
      WS_ASSIGN_OR_RETURN(auto where, Names(f["where"], "a row filter's where", file, f));
      filter.where = where.front();
      p.row_filters_.push_back(std::move(filter));
    }
  }
  return p;
}

bool AccessPolicy::IsPrincipal(const std::string& name) const {
  if (service_accounts_.contains(name)) return true;
  for (const auto& [g, members] : groups_) {
    if (std::find(members.begin(), members.end(), name) != members.end()) return true;
  }
  return false;
}

std::vector<std::string> AccessPolicy::Principals() const {
  std::set<std::string> all(service_accounts_.begin(), service_accounts_.end());
  for (const auto& [g, members] : groups_) all.insert(members.begin(), members.end());
  return {all.begin(), all.end()};
}

std::set<std::string> AccessPolicy::Identities(const std::string& principal) const {
  std::set<std::string> out = {principal};
  for (const auto& [g, members] : groups_) {
    if (std::find(members.begin(), members.end(), principal) != members.end()) out.insert(g);
  }
  return out;
}

Decision AccessPolicy::Decide(const std::string& principal, Action action,
                              const std::string& resource) const {
  Decision d{false, principal, action, resource, std::nullopt, ""};
  if (!IsPrincipal(principal)) {
    d.reason = StrCat(principal,
                      " is not a principal of access: (a member of a group or a "
                      "service account); everything is denied");
    return d;
  }
  const std::set<std::string> ids = Identities(principal);
  for (const Grant& g : grants_) {
    if (std::none_of(g.to.begin(), g.to.end(), [&](const auto& t) { return ids.contains(t); })) {
      continue;
    }
    for (const std::string& on : g.on) {
      const bool everywhere = on == "admin" && Allows(g, Action::kAdmin);
      if (!everywhere && !ResourceMatches(on, resource)) continue;
      if (everywhere || Allows(g, action) || Allows(g, Action::kAdmin) ||
          (action == Action::kRead && Allows(g, Action::kWrite))) {
        d.allowed = true;
        d.grant = g;
        d.reason = StrCat("allowed by ", g.Describe());
        return d;
      }
    }
  }
  std::vector<std::string> groups;
  for (const std::string& id : ids)
    if (id != principal) groups.push_back(id);
  d.reason = StrCat("no grant gives ", principal,
                    groups.empty() ? "" : StrCat(" (groups: ", Join(groups, ", "), ")"), " ",
                    ActionName(action), " on ", resource, ": denied by default");
  return d;
}

Mask AccessPolicy::MaskFor(const std::string& principal, const std::string& tag) const {
  auto it = masking_.find(tag);
  if (it == masking_.end()) return Mask::kClear;
  const std::set<std::string> ids = Identities(principal);
  for (const std::string& u : it->second.unmasked_for) {
    if (ids.contains(u)) return Mask::kClear;
  }
  return it->second.mask;
}

std::vector<const RowFilter*> AccessPolicy::RowFiltersFor(const std::string& principal,
                                                          const std::string& resource) const {
  const std::set<std::string> ids = Identities(principal);
  std::vector<const RowFilter*> out;
  for (const RowFilter& f : row_filters_) {
    if (!ResourceMatches(f.on, resource)) continue;
    if (std::any_of(f.for_.begin(), f.for_.end(), [&](const auto& n) { return ids.contains(n); }))
      out.push_back(&f);
  }
  return out;
}

}  // namespace watershed::security
