// transform/jinja_test.cc — the Jinja subset: each construct, whitespace control, macros, and
// errors that name the file, the line and the construct.
#include "watershed/transform/jinja.h"

#include <gtest/gtest.h>

namespace watershed::transform::jinja {
namespace {

std::string R(const std::string& src, std::map<std::string, Value> globals = {},
              const std::vector<std::string>& libs = {}) {
  std::vector<std::shared_ptr<const Template>> libraries;
  for (size_t i = 0; i < libs.size(); ++i) {
    auto lib = Template::Parse(libs[i], "macros/m" + std::to_string(i) + ".sql");
    EXPECT_TRUE(lib.ok()) << lib.status();
    if (lib.ok()) libraries.push_back(*lib);
  }
  auto t = Template::Parse(src, "models/x.sql");
  if (!t.ok()) return "PARSE: " + std::string(t.status().message());
  auto out = Render(**t, globals, libraries);
  if (!out.ok()) return "RENDER: " + std::string(out.status().message());
  return *out;
}

TEST(Jinja, TextExpressionsAndComments) {
  EXPECT_EQ(R("select 1"), "select 1");
  EXPECT_EQ(R("a{# a comment {{ with }} tags #}b"), "ab");
  EXPECT_EQ(R("{{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ 7 % 3 }} {{ 1 / 2 }} {{ -3 }}"), "7 3 1 0.5 -3");
  EXPECT_EQ(R("{{ 'a' ~ 1 ~ \"b\" }} {{ 'x' + 'y' }}"), "a1b xy");
  EXPECT_EQ(R("{{ [1, 'a'] }} {{ {'k': 2} }} {{ none }} {{ true }} {{ 2.0 }}"),
            "[1, 'a'] {'k': 2} None True 2.0");
  EXPECT_EQ(R("{{ d.k }}|{{ d['k'] }}|{{ xs[1] }}|{{ xs[-1] }}",
              {{"d", Value(Dict{{"k", Value("v")}})}, {"xs", Value(List{1, 2, 3})}}),
            "v|v|2|3");
  EXPECT_EQ(R("{{ 'yes' if 1 < 2 else 'no' }} {{ 'a' in ['a'] }} {{ 'b' not in 'abc' }}"),
            "yes True False");
  EXPECT_EQ(R("{{ not 0 and 1 }} {{ 0 or 'z' }} {{ 1 == 1.0 }} {{ 2 >= 3 }} {{ 'a' < 'b' }}"),
            "1 z True False True");  // as Python: (not 0) and 1 is 1
  EXPECT_EQ(R("{{ x is defined }} {{ y is not defined }} {{ none is none }}", {{"x", Value(1)}}),
            "True True True");
}

TEST(Jinja, SetForIf) {
  EXPECT_EQ(R("{% set m = ['card', 'cash'] %}{% for x in m %}{{ loop.index }}:{{ x }}"
              "{% if not loop.last %},{% endif %}{% endfor %}"),
            "1:card,2:cash");
  EXPECT_EQ(R("{% for x in [] %}a{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(R("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}"),
            "a=1;b=2;");
  EXPECT_EQ(R("{% for x in [1,2,3] %}{{ loop.first }}{{ loop.index0 }}{{ loop.revindex }}"
              "{{ loop.length }} {% endfor %}"),
            "True033 False123 False213 ");
  EXPECT_EQ(R("{% if a %}A{% elif b %}B{% else %}C{% endif %}", {{"a", Value(0)}, {"b", Value(1)}}),
            "B");
  EXPECT_EQ(R("{% if a %}A{% elif b %}B{% else %}C{% endif %}", {{"a", Value(0)}, {"b", Value(0)}}),
            "C");
  // A set inside a loop does not leak out; a block set captures its text.
  EXPECT_EQ(R("{% set n = 1 %}{% for x in [5] %}{% set n = x %}{% endfor %}{{ n }}"), "1");
  EXPECT_EQ(R("{% set cols %}a, b{% endset %}select {{ cols }}"), "select a, b");
  EXPECT_EQ(R("{% set xs = [] %}{% do xs.append(1) %}{% do xs.append(2) %}{{ xs | join('+') }}"),
            "1+2");
}

TEST(Jinja, WhitespaceControl) {
  EXPECT_EQ(R("a\n  {%- if true -%}\n  b\n  {%- endif %}\nc"), "ab\nc");
  EXPECT_EQ(R("a   {{- 'x' -}}   b"), "axb");
  EXPECT_EQ(R("a {#- c -#} b"), "ab");
  EXPECT_EQ(R("a\n{% if true %}\nb\n{% endif %}\n"), "a\n\nb\n\n");  // no trimming by default
}

TEST(Jinja, Filters) {
  EXPECT_EQ(R("{{ 'Ab' | upper }} {{ 'Ab' | lower }} {{ '  t ' | trim }}|"), "AB ab t|");
  EXPECT_EQ(R("{{ 'a-b' | replace('-', '_') }} {{ [1,2] | length }} {{ 'abc' | length }}"),
            "a_b 2 3");
  EXPECT_EQ(R("{{ missing | default('d') }} {{ '' | default('e', true) }} {{ 'x' | d('y') }}"),
            "d e x");
  EXPECT_EQ(R("{{ ['b','a'] | sort | join(', ') }} {{ [3,1] | first }} {{ '42' | int + 1 }}"),
            "a, b 3 43");
  EXPECT_EQ(R("{{ 'a,b'.split(',') }} {{ 'Hi'.upper() }} {{ {'a': 1}.get('b', 0) }}"),
            "['a', 'b'] HI 0");
  EXPECT_NE(R("{{ 'a' | shout }}").find("unknown filter 'shout'"), std::string::npos);
}

TEST(Jinja, MacrosFromLibrariesAndTheTemplate) {
  const std::string lib =
      "{% macro cents(col, scale=2) -%}\n round({{ col }} / 100.0, {{ scale }})\n{%- endmacro %}"
      "{% macro pick(x) %}{{ return(x * 2) }}{% endmacro %}";
  EXPECT_EQ(R("select {{ cents('amount') }}, {{ cents('fee', scale=0) }}", {}, {lib}),
            "select round(amount / 100.0, 2), round(fee / 100.0, 0)");
  EXPECT_EQ(R("{{ pick(21) }}", {}, {lib}), "42");
  EXPECT_EQ(R("{% macro twice(s) %}{{ s }}{{ s }}{% endmacro %}{{ twice('ab') }}"), "abab");
  // Macros see the globals (ref, var, ... in dbt) and other macros.
  EXPECT_EQ(R("{{ outer() }}", {{"g", Value("G")}},
              {"{% macro inner() %}[{{ g }}]{% endmacro %}{% macro outer() %}{{ inner() }}"
               "{% endmacro %}"}),
            "[G]");
  EXPECT_NE(R("{{ cents() }}", {}, {lib}).find("macro cents needs argument 'col'"),
            std::string::npos);
}

TEST(Jinja, NativeFunctionsGetPositionalAndNamedArguments) {
  Function f = [](const Args& a) -> StatusOr<Value> {
    std::string s;
    for (const auto& v : a.positional) s += v.Str() + ";";
    for (const auto& [k, v] : a.named) s += k + "=" + v.Str() + ";";
    return Value(s);
  };
  EXPECT_EQ(R("{{ f('a', 1, k=true) }}", {{"f", Value(f)}}), "a;1;k=True;");
  Function fails = [](const Args&) -> StatusOr<Value> {
    return absl::InvalidArgumentError("var 'x' is not set");
  };
  EXPECT_EQ(R("a\n\n{{ var('x') }}", {{"var", Value(fails)}}),
            "RENDER: models/x.sql:3: var(): var 'x' is not set (in '{{ var('x') }}')");
}

TEST(Jinja, ErrorsNameTheFileLineAndConstruct) {
  EXPECT_EQ(R("select 1\n{% foo bar %}"),
            "PARSE: models/x.sql:2: unknown tag 'foo' in '{% foo bar %}' (supported: set, for, "
            "if, macro, do; see docs/formats/models.md)");
  EXPECT_EQ(R("a\n{% for x in y %}\nb"),
            "PARSE: models/x.sql:2: '{% for x in y %}' is never closed (expected '{% endfor %}')");
  EXPECT_EQ(R("{% if a %}{% endfor %}"),
            "PARSE: models/x.sql:1: unexpected '{% endfor %}' inside '{% if a %}' (line 1)");
  EXPECT_EQ(R("x\n{{ ref('a') "), "PARSE: models/x.sql:2: '{{' is never closed (expected '}}')");
  EXPECT_EQ(R("\n\n{{ nope }}"), "RENDER: models/x.sql:3: 'nope' is undefined (in '{{ nope }}')");
  EXPECT_EQ(R("{{ 1 + }}"), "PARSE: models/x.sql:1: expected an expression in '{{ 1 + }}'");
  EXPECT_EQ(R("{% for x in 3 %}{% endfor %}"),
            "RENDER: models/x.sql:1: cannot loop over an integer (3) (in '{% for x in 3 %}')");
  // An error inside a loop body names the body's line.
  EXPECT_EQ(R("{% for x in [1] %}\n\n{{ x.y.z }}{% endfor %}"),
            "RENDER: models/x.sql:3: 'x.y' is undefined (in '{{ x.y.z }}')");
  // Inside a macro: the macro's file and line.
  EXPECT_EQ(R("{{ m() }}", {}, {"\n{% macro m() %}\n{{ boom }}{% endmacro %}"}),
            "RENDER: macros/m0.sql:3: 'boom' is undefined (in '{{ boom }}')");
}

}  // namespace
}  // namespace watershed::transform::jinja
