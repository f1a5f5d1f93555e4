// orchestrate/airflow_test.cc — the Airflow export with hostile pipeline names, task names,
// project paths and schedules: the DAG file parses (python3's ast), every hostile byte sits
// inside a string literal, each bash_command splits (shlex, after Airflow's Jinja) into exactly
// the intended words, invalid schedules write nothing, and the file is replaced atomically.
#include "watershed/orchestrate/airflow.h"

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "watershed/base/test_util.h"

namespace watershed::orchestrate {
namespace {

using testing_util::MakeTempDir;
using testing_util::ReadFileBytes;
using testing_util::WriteFile;

// Checks the DAG at argv[1]: it parses; no token outside string literals (comments included)
// contains "PWN"; each bash_command, with {{ '{' }} and {{ data_interval_start | ts }}
// rendered (and nothing else left for Jinja), run by bash with the DAG's default project
// (DEFAULT_PROJECT, rendered the same way) and a binary that prints its arguments, is exactly
// <bin> task run <pipeline> <task> --date D --project <root> (pipeline/root from argv), for every
// task of the DAG's TASKS map (Airflow id -> exact Watershed name).
constexpr char kChecker[] = R"PY(
import ast, io, os, subprocess, sys, tokenize
src = open(sys.argv[1], encoding='utf-8').read()
tree = ast.parse(src)
for tok in tokenize.generate_tokens(io.StringIO(src).readline):
    if tok.type != tokenize.STRING and 'PWN' in tok.string:
        sys.exit('hostile text outside a string literal: %r' % tok.string)
consts, tasks, empties = {}, {}, []
for node in tree.body:
    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
        try:
            consts[node.targets[0].id] = ast.literal_eval(node.value)
        except ValueError:
            pass
def render(s):
    out = s.replace("{{ '{' }}", '{').replace('{{ data_interval_start | ts }}', '2026-01-01T00:00:00+00:00')
    rest = s.replace("{{ '{' }}", '').replace('{{ data_interval_start | ts }}', '')
    if '{{' in rest or '{%' in rest or '{#' in rest:
        sys.exit('jinja left in %r' % s)
    return out
if consts['PIPELINE'] != sys.argv[2]:
    sys.exit('PIPELINE %r' % consts['PIPELINE'])
if render(consts['DEFAULT_PROJECT']) != sys.argv[3]:
    sys.exit('DEFAULT_PROJECT %r' % consts['DEFAULT_PROJECT'])
for node in ast.walk(tree):
    if isinstance(node, ast.Call) and getattr(node.func, 'id', '') == 'WatershedTask':
        kw = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
        tasks[kw['task_id']] = kw['bash_command']
    if isinstance(node, ast.Call) and getattr(node.func, 'id', '') == 'EmptyOperator':
        empties.append(node.keywords[0].value.value)
if sorted(list(tasks) + empties) != sorted(consts['TASKS']) or len(consts['TASKS']) != int(sys.argv[4]):
    sys.exit('tasks: %r, TASKS %r' % (tasks, consts['TASKS']))
printer = os.path.join(os.path.dirname(os.path.abspath(sys.argv[1])), 'printargs')
with open(printer, 'w') as f:
    f.write('#!/bin/sh\nprintf "%s\\0" "$@"\n')
os.chmod(printer, 0o755)
env = {'PATH': os.environ['PATH'], 'WATERSHED_VARIABLE_BIN': printer,
       'WATERSHED_DEFAULT_PROJECT': render(consts['DEFAULT_PROJECT'])}
for task_id, cmd in tasks.items():
    out = subprocess.run(['bash', '-c', render(cmd)], env=env, capture_output=True).stdout
    words = out.decode('utf-8', 'surrogateescape').split('\0')[:-1]
    want = ['task', 'run', sys.argv[2], consts['TASKS'][task_id], '--date',
            '2026-01-01T00:00:00+00:00', '--project', sys.argv[3]]
    if words != want:
        sys.exit('words %r != %r' % (words, want))
print('ok')
)PY";

int RunChecker(const std::string& dir, const std::string& dag, const Pipeline& p,
               const std::string& root, std::string* output) {
  const std::string script = WriteFile(dir, "check_dag.py", kChecker);
  // Arguments through files would be safer still; these are passed single-quoted.
  auto q = [](const std::string& s) { return ShellQuote(s); };
  const std::string cmd = StrCat("python3 ", q(script), " ", q(dag), " ", q(p.name), " ", q(root),
                                 " ", p.tasks.size(), " 2>&1");
  FILE* f = ::popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) output->append(buf, n);
  const int status = ::pclose(f);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Pipeline Hostile(const std::string& name, const std::string& schedule) {
  Pipeline p;
  p.name = name;
  p.schedule = schedule;
  Task a;
  a.name = "x'; touch /tmp/PWN_a; echo '";
  Task b;
  b.name = "y\")\nimport os; os.system('PWN')  # {{ PWN }} {% PWN %} $(PWN) `PWN` \\";
  b.after = {a.name};
  Task c;
  c.name = "tab\there\rnul-less\x01\x7f ünïcødé PWN";
  c.after = {b.name};
  p.tasks = {a, b, c};
  return p;
}

TEST(AirflowExportTest, HostileNamesStayInsideStringLiteralsAndShellWords) {
  const std::string dir = MakeTempDir();
  const std::string root = dir + "/pro'ject $(PWN) {{ PWN }}";
  for (const std::string& name :
       {std::string("daily"), std::string("p'''\n__import__('os').system('PWN')#"),
        std::string("p\\'); import os; os.system(\"PWN\") #"), std::string("{{ PWN }}\n# PWN")}) {
    for (const std::string& schedule :
         {std::string(""), std::string("0 */2 * * *"), std::string("every 2h")}) {
      Pipeline p = Hostile(name, schedule);
      const std::string path = dir + "/airflow/dag.py";
      Status s = WriteAirflowDag(p, root, path);
      ASSERT_TRUE(s.ok()) << s;
      std::string out;
      EXPECT_EQ(RunChecker(dir, path, p, root, &out), 0) << out << "\n" << ReadFileBytes(path);
    }
  }
}

TEST(AirflowExportTest, InvalidSchedulesAreRefusedAndWriteNothing) {
  const std::string dir = MakeTempDir();
  const std::string path = dir + "/airflow/dag.py";
  for (const std::string& schedule :
       {std::string("every "), std::string("every"), std::string("every h"),
        std::string("every 2h'); import os; os.system('PWN') #"),
        std::string("0 0 * * *\nimport os"), std::string("'); __import__('os') #")}) {
    Pipeline p = Hostile("daily", schedule);
    Status s = WriteAirflowDag(p, dir, path);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << schedule;
    EXPECT_NE(MessageOf(s).find("pipeline 'daily'"), std::string_view::npos) << s;
    EXPECT_FALSE(std::filesystem::exists(path)) << schedule;
  }
  // An existing DAG is kept when the new one is refused, and replaced whole when accepted.
  ASSERT_TRUE(WriteAirflowDag(Hostile("daily", "every 30m"), dir, path).ok());
  const std::string first = ReadFileBytes(path);
  EXPECT_NE(first.find("schedule=timedelta(minutes=30)"), std::string::npos) << first;
  EXPECT_FALSE(WriteAirflowDag(Hostile("daily", "every "), dir, path).ok());
  EXPECT_EQ(ReadFileBytes(path), first);
  for (const auto& e : std::filesystem::directory_iterator(dir + "/airflow")) {
    EXPECT_EQ(e.path().filename(), "dag.py");  // no temporary files left
  }
  EXPECT_FALSE(AirflowDag(Hostile("bad\xff utf8", ""), dir).ok());
}

TEST(AirflowExportTest, QuotingHelpers) {
  EXPECT_EQ(PyStringLiteral("a'b\\c\nd\x01"), "'a\\'b\\\\c\\nd\\x01'");
  EXPECT_EQ(ShellQuote("daily"), "daily");
  EXPECT_EQ(ShellQuote("/srv/p-1.2"), "/srv/p-1.2");
  EXPECT_EQ(ShellQuote(""), "''");
  EXPECT_EQ(ShellQuote("a b"), "'a b'");
  EXPECT_EQ(ShellQuote("it's"), "'it'\"'\"'s'");
}

}  // namespace
}  // namespace watershed::orchestrate
