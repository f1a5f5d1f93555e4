// transform/dbt_project_test.cc — dbt projects in model discovery: subfolders and duplicate
// names, dbt_project.yml folder defaults and vars, macros, var()/env_var()/is_incremental(),
// refs to seeds, schema.yml descriptions, and schema.yml tests as checks (quality/registry.h).
#include <cstdlib>
#include <filesystem>

#include "gtest/gtest.h"
#include "watershed/base/test_util.h"
#include "watershed/quality/registry.h"
#include "watershed/transform/model.h"
#include "watershed/transform/seeds.h"

namespace watershed::transform {
namespace {

namespace fs = std::filesystem;
using testing_util::MakeTempDir;
using testing_util::WriteFile;

std::string Put(const std::string& root, const std::string& rel, const std::string& text) {
  const fs::path p = fs::path(root) / rel;
  fs::create_directories(p.parent_path());
  return WriteFile(p.parent_path().string(), p.filename().string(), text);
}

const Model* Find(const std::vector<Model>& models, const std::string& id) {
  for (const Model& m : models) {
    if (m.id() == id) return &m;
  }
  return nullptr;
}

TEST(DbtProject, SubfoldersFolderDefaultsVarsMacrosAndSeeds) {
  const std::string root = MakeTempDir();
  Put(root, "dbt_project.yml",
      "name: shopco\nversion: '1'\nprofile: x\non-run-start: ['select 1']\n"
      "vars:\n  methods: [card, cash]\n  shopco:\n    cutoff: 3\n"
      "models:\n  shopco:\n    +tags: nightly\n    finance:\n      materialized: table\n"
      "      staging:\n        +materialized: view\n");
  Put(root, "macros/money.sql",
      "{% macro dollars(col, scale=2) %}round({{ col }} / 100.0, {{ scale }}){% endmacro %}");
  Put(root, "seeds/countries.csv", "code,name\nUS,United States\n");
  Put(root, "seeds/finance/rates.csv", "k,v\na,1\n");
  Put(root, "models/finance/staging/stg_pay.sql",
      "select {{ dollars('amount') }} as amount, '{{ var('cutoff') }}' as c from "
      "{{ ref('rates') }} join {{ ref('countries') }} using (k)");
  Put(root, "models/finance/marts/pay.sql",
      "select {% for m in var('methods') %}sum(case when method = '{{ m }}' then amount end) as "
      "{{ m }}_amount{% if not loop.last %}, {% endif %}{% endfor %} from {{ ref('stg_pay') }}");
  Put(root, "models/finance/marts/own.sql",
      "{{ config(materialized='view') }}select * from {{ ref('pay') }}");
  auto models = DiscoverModels(root + "/models");
  ASSERT_TRUE(models.ok()) << models.status();
  ASSERT_EQ(models->size(), 3u);
  const Model* stg = Find(*models, "finance.stg_pay");
  const Model* pay = Find(*models, "finance.pay");
  const Model* own = Find(*models, "finance.own");
  ASSERT_TRUE(stg && pay && own);
  EXPECT_EQ(stg->materialized(), "view");   // staging/ default (with +)
  EXPECT_EQ(pay->materialized(), "table");  // the mart's default (without +)
  EXPECT_EQ(own->materialized(), "view");   // its own config() wins
  EXPECT_TRUE(stg->refs.empty());
  EXPECT_EQ(stg->seeds, (std::vector<std::string>{"finance.rates", "finance.countries"}));
  EXPECT_EQ(Compile(*stg),
            "select round(amount / 100.0, 2) as amount, '3' as c from \"finance\".\"rates\" join "
            "\"finance\".\"countries\" using (k)");
  EXPECT_EQ(Compile(*pay),
            "select sum(case when method = 'card' then amount end) as card_amount, sum(case when "
            "method = 'cash' then amount end) as cash_amount from \"finance\".\"stg_pay\"");
  EXPECT_EQ(pay->refs, (std::vector<std::string>{"finance.stg_pay"}));

  // Seeds: a shared one (seeds/x.csv) and one of mart finance (seeds/finance/x.csv).
  auto seeds = DiscoverSeeds(root, {"finance"});
  ASSERT_EQ(seeds.size(), 2u);
  EXPECT_EQ(seeds[0].mart, "");
  EXPECT_EQ(seeds[0].name, "countries");
  EXPECT_EQ(seeds[1].mart, "finance");
  EXPECT_EQ(seeds[1].name, "rates");

  // Two models with one name in a mart: an error naming both files.
  Put(root, "models/finance/pay.sql", "select 1");
  auto dup = DiscoverModels(root + "/models");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(MessageOf(dup.status()).find("two models named 'pay' in mart finance"),
            std::string::npos)
      << dup.status();
  EXPECT_NE(MessageOf(dup.status()).find("marts/pay.sql"), std::string::npos) << dup.status();
}

TEST(DbtProject, VarEnvVarAndIsIncremental) {
  TemplateContext ctx;
  ctx.vars["region"] = jinja::Value("eu");
  auto m = ParseModel(
      "f", "inc", "models/f/inc.sql",
      "{{ config(materialized='incremental', unique_key='id') }}select * from {{ ref('src') }} "
      "where region = '{{ var('region') }}' and tier = '{{ var('tier', 'gold') }}' and env = '{{ "
      "env_var('WS_DBT_TEST_ENV', 'dev') }}'{% if is_incremental() %} and ts > (select max(ts) "
      "from {{ this }}){% endif %}",
      ctx);
  ASSERT_TRUE(m.ok()) << m.status();
  const std::string base =
      "select * from \"f\".\"src\" where region = 'eu' and tier = 'gold' and env = 'dev'";
  EXPECT_EQ(Compile(*m), base);
  EXPECT_EQ(Compile(*m, "\"memory\".", true),
            base + " and ts > (select max(ts) from \"f\".\"inc\")");
  setenv("WS_DBT_TEST_ENV", "prod", 1);
  auto prod = ParseModel("f", "x", "models/f/x.sql", "select '{{ env_var('WS_DBT_TEST_ENV') }}'");
  unsetenv("WS_DBT_TEST_ENV");
  ASSERT_TRUE(prod.ok()) << prod.status();
  EXPECT_EQ(Compile(*prod), "select 'prod'");

  // A ref inside a loop over a list records every model it names (for the graph).
  auto loop = ParseModel("f", "u", "models/f/u.sql",
                         "{% for t in ['a', 'b'] %}select * from {{ ref(t) }}"
                         "{% if not loop.last %} union all {% endif %}{% endfor %}");
  ASSERT_TRUE(loop.ok()) << loop.status();
  EXPECT_EQ(loop->refs, (std::vector<std::string>{"f.a", "f.b"}));
  EXPECT_EQ(Compile(*loop), "select * from \"f\".\"a\" union all select * from \"f\".\"b\"");

  auto missing = ParseModel("f", "x", "models/f/x.sql", "select\n{{ var('nope') }}");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(MessageOf(missing.status()),
            "models/f/x.sql:2: var(): var 'nope' is not set: add it under vars: in "
            "dbt_project.yml, or give a default: var('nope', 'value') (in '{{ var('nope') }}')");
  auto env = ParseModel("f", "x", "models/f/x.sql", "{{ env_var('WS_DBT_SURELY_UNSET') }}");
  ASSERT_FALSE(env.ok());
  EXPECT_NE(MessageOf(env.status()).find("environment variable WS_DBT_SURELY_UNSET is not set"),
            std::string::npos);
}

TEST(DbtProject, SchemaYmlDescriptionsAndTestsAsChecks) {
  const std::string root = MakeTempDir();
  Put(root, "models/shop/orders.sql", "select 1 as id, 'placed' as status, 1 as customer_id");
  Put(root, "models/shop/customers.sql", "select 1 as id");
  Put(root, "models/shop/docs/schema.yml",
      "version: 2\nmodels:\n  - name: orders\n    description: One row per order.\n"
      "    data_tests:\n      - unique:\n          column_name: status\n"
      "    columns:\n      - name: id\n        description: The key.\n"
      "        tests: [unique, not_null, dbt_utils.at_least_one]\n"
      "      - name: status\n        tests:\n          - accepted_values:\n"
      "              values: [placed, shipped]\n              config: {severity: warn}\n"
      "      - name: customer_id\n        tests:\n          - relationships:\n"
      "              to: ref('customers')\n              field: id\n");
  auto models = DiscoverModels(root + "/models");
  ASSERT_TRUE(models.ok()) << models.status();
  ASSERT_EQ(models->size(), 2u);  // the schema file is no builder
  const Model* orders = Find(*models, "shop.orders");
  ASSERT_NE(orders, nullptr);
  EXPECT_EQ(orders->description, "One row per order.");
  ASSERT_EQ(orders->column_descriptions.size(), 3u);
  EXPECT_EQ(orders->column_descriptions[0],
            (std::pair<std::string, std::string>{"id", "The key."}));

  auto checks = quality::SchemaYmlChecks(root + "/models");
  ASSERT_TRUE(checks.ok()) << checks.status();
  std::vector<std::string> names;
  for (const auto& c : *checks)
    names.push_back(c.name + ":" + c.table + ":" + std::string(quality::SeverityName(c.severity)));
  EXPECT_EQ(names,
            (std::vector<std::string>{"orders__unique__status:shop.orders:error",
                                      "orders__unique__id:shop.orders:error",
                                      "orders__not_null__id:shop.orders:error",
                                      "orders__accepted_values__status:shop.orders:warn",
                                      "orders__relationships__customer_id:shop.orders:error"}));
  EXPECT_EQ(checks->back().to_table, "shop.customers");
  EXPECT_EQ(checks->back().to_field, "id");
  EXPECT_EQ((*checks)[3].values, (std::vector<std::string>{"placed", "shipped"}));

  Put(root, "models/shop/docs/schema.yml",
      "version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: status\n"
      "        tests:\n          - accepted_values: {}\n");
  auto bad = quality::SchemaYmlChecks(root + "/models");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(MessageOf(bad.status())
                .find("schema.yml:7: models.orders.columns.status "
                      "(accepted_values): needs values"),
            std::string::npos)
      << bad.status();
}

}  // namespace
}  // namespace watershed::transform
