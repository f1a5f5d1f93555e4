// orchestrate/pipeline_test.cc — pipeline declarations: validation, durations, order.
#include "watershed/orchestrate/pipeline.h"

#include "gtest/gtest.h"
#include "watershed/orchestrate/task.h"

namespace watershed::orchestrate {
namespace {

StatusOr<std::map<std::string, Pipeline>> Parse(const std::string& yaml) {
  return ParsePipelines(YAML::Load(yaml)["pipelines"]);
}

TEST(Pipelines, ValidDeclarationsParse) {
  auto p = Parse(R"(
pipelines:
  daily:
    schedule: "0 */2 * * *"
    retries: 3
    retry_backoff: 2s
    timeout: 10m
    max_parallel: 2
    tasks:
      extract: {type: crunchbase, mode: full}
      marts: {type: build, select: [finance, analytics], after: extract, retries: 0}
      notify: {type: shell, command: "echo {{ date }}", after: [marts], timeout: 30s}
)");
  ASSERT_TRUE(p.ok()) << p.status();
  const Pipeline& d = p->at("daily");
  EXPECT_EQ(d.schedule, "0 */2 * * *");
  EXPECT_EQ(d.retry_backoff_seconds, 2);
  EXPECT_EQ(d.timeout_seconds, 600);
  EXPECT_EQ(d.max_parallel, 2);
  EXPECT_EQ(d.Find("marts")->params.at("select"), "finance,analytics");
  EXPECT_EQ(d.RetriesOf(*d.Find("marts")), 0);
  EXPECT_EQ(d.RetriesOf(*d.Find("notify")), 3);
  EXPECT_EQ(d.TimeoutOf(*d.Find("notify")), 30);
  EXPECT_EQ(TopologicalOrder(d), (std::vector<std::string>{"extract", "marts", "notify"}));
  EXPECT_EQ(WithDate("x {{ date }} y {{date}}", "2026-01-02"), "x 2026-01-02 y 2026-01-02");
}

TEST(Pipelines, CyclesUnknownTasksAndBadTypesAreNamed) {
  auto cycle = Parse(R"(
pipelines:
  p:
    tasks:
      a: {type: shell, command: x, after: c}
      b: {type: shell, command: x, after: a}
      c: {type: shell, command: x, after: b}
)");
  ASSERT_FALSE(cycle.ok());
  EXPECT_NE(MessageOf(cycle.status()).find("cycle: a -> c -> b -> a"), std::string_view::npos)
      << cycle.status();
  auto unknown = Parse("pipelines:\n  p:\n    tasks:\n      a: {type: shell, command: x, after: zz}\n");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(MessageOf(unknown.status()).find("unknown task 'zz'"), std::string_view::npos);
  EXPECT_FALSE(Parse("pipelines:\n  p:\n    tasks:\n      a: {type: spark}\n").ok());
  auto typo = Parse("pipelines:\n  p:\n    retrys: 3\n    tasks:\n      a: {type: noop}\n");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(MessageOf(typo.status()).find("did you mean 'retries'"), std::string_view::npos)
      << typo.status();
  EXPECT_FALSE(Parse("pipelines:\n  p:\n    tasks:\n      a: {type: load, file: x}\n").ok());
  EXPECT_FALSE(Parse("pipelines:\n  p:\n    timeout: 5 minutes\n    tasks:\n      a: {type: noop}\n").ok());
  auto timed = Parse("pipelines:\n  p:\n    timeout: 1.5h\n    tasks:\n      a: {type: noop}\n");
  ASSERT_TRUE(timed.ok()) << timed.status();
  EXPECT_EQ(timed->at("p").timeout_seconds, 5400);
}

}  // namespace
}  // namespace watershed::orchestrate
