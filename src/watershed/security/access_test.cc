// security/access_test.cc — grants, patterns, deny by default, masking and row filters, and the
// errors a wrong access: section gets.
#include "watershed/security/access.h"

#include "gtest/gtest.h"

namespace watershed::security {
namespace {

constexpr char kAccess[] = R"(
groups: {finance_analysts: [alice], analytics: [bob, carol], ops: [dana]}
service_accounts: [clickstream_ingest, airflow]
grants:
  - {to: finance_analysts, allow: read, on: "mart:finance.*"}
  - {to: analytics, allow: read, on: ["mart:analytics.*", "lake:crunchbase.*"]}
  - {to: clickstream_ingest, allow: ingest, on: "stream:org_views"}
  - {to: airflow, allow: run, on: "pipeline:*"}
  - {to: carol, allow: write, on: "mart:analytics.scratch_*"}
  - {to: ops, allow: admin, on: admin}
masking:
  pii: {default: hash, unmasked_for: [finance_analysts]}
row_filters:
  - {on: "mart:finance.fact_funding_round", for: analytics, where: "country = 'DE'"}
)";

AccessPolicy Policy() {
  auto p = AccessPolicy::FromYaml(YAML::Load(kAccess), "watershed.yml");
  EXPECT_TRUE(p.ok()) << p.status();
  return *p;
}

TEST(Access, EveryPrincipalOnEveryResourceGetsTheExpectedDecision) {
  const AccessPolicy p = Policy();
  struct Case {
    const char* who;
    Action action;
    const char* resource;
    bool allowed;
  };
  const Case cases[] = {
      {"alice", Action::kRead, "mart:finance.dim_organization", true},
      {"alice", Action::kWrite, "mart:finance.dim_organization", false},
      {"alice", Action::kRead, "mart:analytics.fact_views", false},  // no cross-mart read
      {"alice", Action::kRead, "lake:crunchbase.organizations", false},
      {"bob", Action::kRead, "mart:analytics.fact_views", true},
      {"bob", Action::kRead, "lake:crunchbase.organizations", true},
      {"bob", Action::kRead, "mart:finance.dim_organization", false},
      {"bob", Action::kRead, "lake:raw.events", false},
      {"carol", Action::kWrite, "mart:analytics.scratch_1", true},
      {"carol", Action::kRead, "mart:analytics.scratch_1", true},  // write includes read
      {"bob", Action::kWrite, "mart:analytics.scratch_1", false},
      {"clickstream_ingest", Action::kIngest, "stream:org_views", true},
      {"clickstream_ingest", Action::kIngest, "stream:payments", false},
      {"clickstream_ingest", Action::kRead, "stream:org_views", false},
      {"airflow", Action::kRun, "pipeline:daily", true},
      {"airflow", Action::kRead, "mart:finance.dim_organization", false},
      {"dana", Action::kRead, "mart:finance.dim_organization", true},  // platform admin
      {"dana", Action::kIngest, "stream:payments", true},
      {"dana", Action::kAdmin, "admin", true},
      {"bob", Action::kAdmin, "admin", false},
      {"mallory", Action::kRead, "mart:analytics.fact_views", false},    // unknown: denied
      {"analytics", Action::kRead, "mart:analytics.fact_views", false},  // a group is no login
  };
  for (const Case& c : cases) {
    const Decision d = p.Decide(c.who, c.action, c.resource);
    EXPECT_EQ(d.allowed, c.allowed)
        << c.who << " " << ActionName(c.action) << " " << c.resource << ": " << d.reason;
    EXPECT_EQ(d.grant.has_value(), c.allowed);
  }
}

TEST(Access, DecisionsNameTheGrantOrWhyNot) {
  const AccessPolicy p = Policy();
  Decision yes = p.Decide("bob", Action::kRead, "lake:crunchbase.organizations");
  ASSERT_TRUE(yes.grant);
  EXPECT_EQ(yes.grant->Describe(),
            "{to: analytics, allow: read, on: [mart:analytics.*, lake:crunchbase.*]} (line 6)");
  Decision no = p.Decide("alice", Action::kRead, "mart:analytics.fact_views");
  EXPECT_EQ(no.reason,
            "no grant gives alice (groups: finance_analysts) read on mart:analytics.fact_views: "
            "denied by default");
  EXPECT_NE(p.Decide("mallory", Action::kRead, "admin").reason.find("not a principal"),
            std::string::npos);
}

TEST(Access, MaskingAndRowFiltersFollowGroups) {
  const AccessPolicy p = Policy();
  EXPECT_EQ(p.MaskFor("alice", "pii"), Mask::kClear);
  EXPECT_EQ(p.MaskFor("bob", "pii"), Mask::kHash);
  EXPECT_EQ(p.MaskFor("bob", "untagged"), Mask::kClear);
  auto filters = p.RowFiltersFor("carol", "mart:finance.fact_funding_round");
  ASSERT_EQ(filters.size(), 1u);
  EXPECT_EQ(filters[0]->where, "country = 'DE'");
  EXPECT_TRUE(p.RowFiltersFor("alice", "mart:finance.fact_funding_round").empty());
}

TEST(Access, PatternsMatchAnyRunOfCharacters) {
  EXPECT_TRUE(ResourceMatches("mart:finance.*", "mart:finance.dim_x"));
  EXPECT_TRUE(ResourceMatches("lake:*", "lake:a.b"));
  EXPECT_TRUE(ResourceMatches("mart:*.dim_*", "mart:finance.dim_org"));
  EXPECT_FALSE(ResourceMatches("mart:*.dim_*", "mart:finance.fact_org"));
  EXPECT_FALSE(ResourceMatches("mart:finance.*", "mart:financed.x"));
  EXPECT_FALSE(ResourceMatches("stream:a", "stream:ab"));
  EXPECT_TRUE(ResourceMatches("stream:a*", "stream:a"));
  EXPECT_TRUE(CheckResource("admin").ok());
  EXPECT_FALSE(CheckResource("mart:*").ok());  // a pattern where one resource is wanted
  EXPECT_TRUE(CheckResource("mart:*", true).ok());
  EXPECT_FALSE(CheckResource("table:x", true).ok());
}

TEST(Access, AWrongSectionIsRefusedWithItsLine) {
  struct Bad {
    const char* yaml;
    const char* says;
  };
  const Bad bad[] = {
      {"groups: {a: [x]}\ngrants:\n  - {to: b, allow: read, on: 'mart:m.*'}\n",
       "watershed.yml:3: \"b\" is not a group"},
      {"groups: {analytics: [x]}\ngrants:\n  - {to: analytic, allow: read, on: 'mart:m.*'}\n",
       "did you mean analytics?"},
      {"groups: {a: [x]}\ngrants:\n  - {to: a, allow: peek, on: 'mart:m.*'}\n",
       "unknown action \"peek\""},
      {"groups: {a: [x]}\ngrants:\n  - {to: a, allow: ingest, on: 'mart:m.*'}\n",
       "ingest is for stream: resources"},
      {"groups: {a: [x]}\ngrants:\n  - {to: a, allow: read, on: 'm.*'}\n",
       "is not a resource pattern"},
      {"groups: {a: [x]}\ngrants:\n  - {to: a, allow: read}\n", "a grant's on is required"},
      {"groups: {a: [x]}\ngrants:\n  - {to: a, allow: read, on: 'mart:x', as: y}\n", "not as"},
      {"groups: {a: [x]}\nservice_accounts: [a]\n", "both a group and a service account"},
      {"groups: {a: [x]}\nmasking: {pii: {default: scramble}}\n", "use hash, null or redact"},
  };
  for (const Bad& b : bad) {
    auto p = AccessPolicy::FromYaml(YAML::Load(b.yaml), "watershed.yml");
    ASSERT_FALSE(p.ok()) << b.yaml;
    EXPECT_NE(p.status().message().find(b.says), std::string::npos) << p.status();
  }
}

}  // namespace
}  // namespace watershed::security
