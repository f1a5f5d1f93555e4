// orchestrate/airflow.cc — see airflow.h.
#include "watershed/orchestrate/airflow.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_format.h"
#include "watershed/base/strings.h"
#include "watershed/orchestrate/cron.h"

namespace watershed::orchestrate {
namespace {

// Airflow renders bash_command with Jinja: a literal `{` becomes the expression {{ '{' }} so
// that no `{{`, `{%` or `{#` can start from embedded text.
std::string JinjaLiteral(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '{') {
      out += "{{ '{' }}";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// A shell word for Airflow's bash_command: quoted for the shell, then escaped for Jinja.
std::string BashWord(std::string_view s) { return JinjaLiteral(ShellQuote(s)); }

Status ErrnoError(const std::string& what) {
  return absl::InternalError(StrCat(what, ": ", std::strerror(errno)));
}

}  // namespace

std::string PyStringLiteral(std::string_view s) {
  std::string out = "'";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\'':
        out += "\\'";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          static const char* kHex = "0123456789abcdef";
          out += "\\x";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(ch);
        }
    }
  }
  return out + "'";
}

std::string ShellQuote(std::string_view s) {
  bool safe = !s.empty();
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::strchr("_@%+=:,./-", c) != nullptr;
    if (!ok || c == '\0') safe = false;
  }
  if (safe) return std::string(s);
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\"'\"'";
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

namespace {

// The DAG file's fixed part: imports for Airflow 3 and 2, the task environment, the operator
// that applies Watershed's retry rule and the on_failure callback. No pipeline value is in it.
constexpr char kImports[] = R"PY(import json
import logging
import os
import re
import urllib.request
from datetime import datetime, timedelta, timezone

try:  # Airflow 3
    from airflow.sdk import DAG, Variable
except ImportError:  # Airflow 2.6+
    from airflow import DAG
    from airflow.models import Variable
try:  # Airflow 3: the standard provider
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:  # Airflow 2
    from airflow.operators.bash import BashOperator
    from airflow.operators.empty import EmptyOperator
from airflow.exceptions import AirflowException, AirflowFailException
)PY";

// After the pipeline's constants (PIPELINE, DEFAULT_BIN, DEFAULT_PROJECT).
constexpr char kBody[] = R"PY(
log = logging.getLogger(__name__)
# The exit code in BashOperator's error ("... returned a non-zero exit code N.").
_EXIT_CODE = re.compile(r'exit code (\d+)')
TRANSIENT_EXIT_CODE = 75
TIMEOUT_EXIT_CODE = 124

# Each task's environment (rendered by Airflow when the task runs; append_env keeps the rest).
# The binary and the project: the Airflow Variables watershed_bin and watershed_project, else
# the worker's WATERSHED_BIN and WATERSHED_PROJECT, else the paths at export time.
ENV = {
    'WATERSHED_VARIABLE_BIN': "{{ var.value.get('watershed_bin', '') }}",
    'WATERSHED_VARIABLE_PROJECT': "{{ var.value.get('watershed_project', '') }}",
    'WATERSHED_DEFAULT_BIN': DEFAULT_BIN,
    'WATERSHED_DEFAULT_PROJECT': DEFAULT_PROJECT,
    'WATERSHED_RUN_BY': 'airflow',
    'WATERSHED_EXTERNAL_RUN_ID': '{{ run_id }}',
}


class WatershedTask(BashOperator):
    """A `watershed task run` call. Airflow retries every failure; Watershed does not retry a
    task's terminal exit codes, nor anything but 75 under `retry_on: transient`, so those end
    the task at once (AirflowFailException: no retry)."""

    def __init__(self, *, retry_on='any', terminal_exit_codes=(), **kwargs):
        super().__init__(**kwargs)
        self.watershed_retry_on = retry_on
        self.watershed_terminal_exit_codes = tuple(terminal_exit_codes)

    def execute(self, context):
        try:
            return super().execute(context)
        except AirflowException as e:
            if type(e) is not AirflowException:  # skip, fail, timeout: Airflow's own
                raise
            found = _EXIT_CODE.search(str(e))
            code = int(found.group(1)) if found else None
            if code is None or code == TRANSIENT_EXIT_CODE:
                raise
            if self.watershed_retry_on == 'transient' or code in self.watershed_terminal_exit_codes:
                raise AirflowFailException(
                    'watershed task run exited %d, which Watershed does not retry '
                    '(docs/formats/pipelines.md)' % code) from e
            raise


def _interval(context):
    """The interval's identity, as Watershed names it: the day at midnight, else a UTC time."""
    start = context['data_interval_start'].astimezone(timezone.utc)
    if (start.hour, start.minute, start.second) == (0, 0, 0):
        return start.strftime('%Y-%m-%d')
    return start.strftime('%Y-%m-%dT%H:%M:%SZ')


def _watershed_run_id(external_id):
    """The run id `watershed task run` records (orchestrate/task_process.h ExternalRunId)."""
    def clean(b):
        ok = b'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-'
        return ''.join(chr(c) if c in ok else '_' for c in b)
    parts = [PIPELINE.encode('utf-8'), b'airflow', external_id.encode('utf-8')]
    h = 1469598103934665603
    for c in b'\0'.join(parts):
        h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return 'run_%s_%s_%s_%08x' % (clean(parts[0]), clean(parts[1]), clean(parts[2]),
                                  (h ^ (h >> 32)) & 0xFFFFFFFF)


def on_failure(context):
    """Posts Watershed's task_failed event (docs/formats/pipelines.md) to the pipeline's
    on_failure webhook: the Airflow Variable watershed_on_failure_webhook, else the worker's
    WATERSHED_ON_FAILURE_WEBHOOK (the URL is never written here nor logged: it may hold a token)."""
    url = Variable.get('watershed_on_failure_webhook', None) or os.environ.get(
        'WATERSHED_ON_FAILURE_WEBHOOK', '')
    ti = context['ti']
    if not url:
        log.warning('task %s failed; set the Airflow Variable watershed_on_failure_webhook to '
                    'the on_failure webhook of watershed.yml to be notified', ti.task_id)
        return
    found = _EXIT_CODE.search(str(context.get('exception', '')))
    timed_out = found is not None and int(found.group(1)) == TIMEOUT_EXIT_CODE
    event = {
        'event': 'task_failed',
        'pipeline': PIPELINE,
        'run_id': _watershed_run_id(context['run_id']),
        'logical_date': _interval(context),
        'task': TASKS.get(ti.task_id, ti.task_id),
        'status': 'timeout' if timed_out else 'failed',
        'log': getattr(ti, 'log_url', '') or '',
    }
    request = urllib.request.Request(url, data=json.dumps(event).encode('utf-8'),
                                     headers={'Content-Type': 'application/json'}, method='POST')
    try:
        with urllib.request.urlopen(request, timeout=10):
            pass
    except Exception as e:  # noqa: BLE001 (a callback must not raise)
        log.warning('on_failure webhook did not accept the event: %s', type(e).__name__)

)PY";

// The shell text that picks the binary and the project (ENV above); no pipeline value in it.
constexpr char kBin[] = "\"${WATERSHED_VARIABLE_BIN:-${WATERSHED_BIN:-$WATERSHED_DEFAULT_BIN}}\"";
constexpr char kProject[] =
    "\"${WATERSHED_VARIABLE_PROJECT:-${WATERSHED_PROJECT:-$WATERSHED_DEFAULT_PROJECT}}\"";

// Airflow accepts dag and task ids of ASCII letters, digits, `_`, `.` and `-` (at most 250): the
// pipeline's name when it is one, else that name with every other byte as `_` and a hash of
// the exact name (the command still carries the exact name).
std::string AirflowId(const std::string& name) {
  std::string clean;
  bool same = !name.empty() && name.size() <= 200;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    same &= ok;
    if (clean.size() < 200) clean.push_back(ok ? c : '_');
  }
  if (same) return name;
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ULL;
  return StrCat(clean, "_", absl::StrFormat("%08x", static_cast<uint32_t>(h ^ (h >> 32))));
}

// Seconds as a Python timedelta.
std::string Timedelta(double seconds) { return StrCat("timedelta(seconds=", seconds, ")"); }

}  // namespace

StatusOr<std::string> AirflowDag(const Pipeline& p, const std::string& root) {
  AirflowExportOptions o;
  o.project_root = root;
  o.today = "2024-01-01";
  return AirflowDag(p, o);
}

StatusOr<std::string> AirflowDag(const Pipeline& p, const AirflowExportOptions& o) {
  auto invalid = [&](const std::string& what) {
    return absl::InvalidArgumentError(
        StrCat("export airflow: pipeline ", PyStringLiteral(p.name), ": ", what));
  };
  for (const std::string* s : {&p.name, &p.schedule, &o.project_root, &o.binary}) {
    if (!IsValidUtf8(*s)) {
      return invalid("names, schedule, binary and project path must be valid UTF-8");
    }
  }
  for (const Task& t : p.tasks) {
    if (!IsValidUtf8(t.name)) return invalid("task names must be valid UTF-8");
  }
  std::string schedule = "None";
  if (!p.schedule.empty()) {
    auto parsed = Schedule::Parse(p.schedule);
    if (!parsed.ok()) return invalid(std::string(MessageOf(parsed.status())));
    schedule = PyStringLiteral(p.schedule);
    if (p.schedule.starts_with("every ")) {  // validated: "every " digits unit
      const std::string n = p.schedule.substr(6, p.schedule.size() - 7);
      const char unit = p.schedule.back();
      const char* arg = unit == 'm' ? "minutes" : unit == 'd' ? "days" : "hours";
      schedule = StrCat("timedelta(", arg, "=", std::stoll(n), ")");
    }
  }
  const std::string start = p.start.empty() ? o.today : p.start;  // validated YYYY-MM-DD
  if (start.size() != 10) return invalid("needs a start day (YYYY-MM-DD)");
  const std::string start_date =
      StrCat("datetime(", std::stoi(start.substr(0, 4)), ", ", std::stoi(start.substr(5, 2)), ", ",
             std::stoi(start.substr(8, 2)), ", tzinfo=timezone.utc)");
  // Airflow's execution_timeout is a backstop: `task run` kills the task at its own timeout
  // first and says so (exit 124).
  constexpr double kGraceSeconds = 60;

  std::string out =
      "# Generated by `watershed export airflow` from watershed.yml; regenerate it after editing\n"
      "# the pipeline. Each task runs `watershed task run PIPELINE TASK --date INTERVAL_START`,\n"
      "# which enforces the task's timeout, records the run (`watershed runs`) and exits 0, 1\n"
      "# (failed), 3 (not retried), 75 (transient) or 124 (timeout): docs/formats/pipelines.md.\n"
      "# Needs Airflow 2.6+ or 3.x.\n";
  if (o.pool_slots > 0) {
    out += StrCat("# The project's pool: create it once with\n#   airflow pools set watershed ",
                  o.pool_slots, " \"watershed.yml pool: slots\"\n");
  }
  out += StrCat("\n", kImports, "\nPIPELINE = ", PyStringLiteral(p.name), "\n",
                "DEFAULT_BIN = ", PyStringLiteral(JinjaLiteral(o.binary)), "\n",
                "DEFAULT_PROJECT = ", PyStringLiteral(JinjaLiteral(o.project_root)), "\n", kBody);
  out += "# Airflow task id: the Watershed task's exact name.\nTASKS = {\n";
  for (const Task& t : p.tasks) {
    out += StrCat("    ", PyStringLiteral(AirflowId(t.name)), ": ", PyStringLiteral(t.name), ",\n");
  }
  out += "}\n\n";
  out += StrCat("with DAG(\n    dag_id=", PyStringLiteral(AirflowId(p.name)), ",\n    schedule=", schedule,
                ",\n    start_date=", start_date, ",\n    catchup=", p.catchup ? "True" : "False",
                ",\n    max_active_tasks=", p.max_parallel,
                ",\n    default_args={\n        'retries': ", p.retries,
                ",\n        'retry_delay': ", Timedelta(p.retry_backoff_seconds),
                ",\n        'retry_exponential_backoff': True,\n        'execution_timeout': ",
                Timedelta(p.timeout_seconds + kGraceSeconds), ",\n    },\n"
                "    tags=['watershed'],\n) as dag:\n");
  auto var = [&](const std::string& task) {  // a Python identifier for the task
    size_t i = 0;
    while (i < p.tasks.size() && p.tasks[i].name != task) ++i;
    return StrCat("task_", i);
  };
  for (const Task& t : p.tasks) {
    if (t.type == "noop") {  // a join point: nothing runs
      out += StrCat("    ", var(t.name), " = EmptyOperator(task_id=", PyStringLiteral(AirflowId(t.name)),
                    ")\n");
      continue;
    }
    const std::string command =
        StrCat(kBin, " task run ", BashWord(p.name), " ", BashWord(t.name),
               " --date {{ data_interval_start | ts }} --project ", kProject);
    out += StrCat("    ", var(t.name), " = WatershedTask(\n        task_id=", PyStringLiteral(AirflowId(t.name)),
                  ",\n        bash_command=", PyStringLiteral(command),
                  ",\n        env=ENV,\n        append_env=True,\n        skip_on_exit_code=None,\n"
                  "        retry_on=",
                  PyStringLiteral(p.RetryOnOf(t)), ",\n        terminal_exit_codes=",
                  t.type == "shell" ? "()" : StrCat("(", kTerminalExitCode, ",)"), ",\n");
    if (t.retries >= 0) out += StrCat("        retries=", t.retries, ",\n");
    if (t.timeout_seconds >= 0) {
      out += StrCat("        execution_timeout=", Timedelta(t.timeout_seconds + kGraceSeconds),
                    ",\n");
    }
    if (o.pool_slots > 0) out += "        pool='watershed',\n";
    if (!p.on_failure_webhook.empty()) out += "        on_failure_callback=on_failure,\n";
    out += "    )\n";
  }
  for (const Task& t : p.tasks) {
    for (const std::string& a : t.after) out += StrCat("    ", var(a), " >> ", var(t.name), "\n");
  }
  return out;
}

Status WriteAirflowDag(const Pipeline& pipeline, const std::string& project_root,
                       const std::string& path) {
  AirflowExportOptions o;
  o.project_root = project_root;
  o.today = "2024-01-01";
  return WriteAirflowDag(pipeline, o, path);
}

Status WriteAirflowDag(const Pipeline& pipeline, const AirflowExportOptions& options,
                       const std::string& path) {
  WS_ASSIGN_OR_RETURN(const std::string text, AirflowDag(pipeline, options));
  namespace fs = std::filesystem;
  const fs::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  std::string tmp = StrCat(path, ".tmp.XXXXXX");
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) return ErrnoError(StrCat("export airflow: creating a temporary file next to ", path));
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status s = ErrnoError(StrCat("export airflow: writing ", tmp));
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    done += static_cast<size_t>(n);
  }
  ::fchmod(fd, 0644);  // a DAG file is read by the Airflow scheduler; it holds no secrets
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    Status s = ErrnoError(StrCat("export airflow: writing ", tmp));
    ::unlink(tmp.c_str());
    return s;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = ErrnoError(StrCat("export airflow: renaming ", tmp, " to ", path));
    ::unlink(tmp.c_str());
    return s;
  }
  return Status();
}

}  // namespace watershed::orchestrate
