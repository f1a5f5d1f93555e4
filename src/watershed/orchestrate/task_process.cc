// orchestrate/task_process.cc — see task_process.h.
#include "watershed/orchestrate/task_process.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "absl/strings/str_format.h"
#include "watershed/base/ids.h"
#include "watershed/orchestrate/run_store.h"

extern char** environ;

namespace watershed::orchestrate {
namespace {

volatile sig_atomic_t g_child_group = 0;  // the supervised child's process group, 0 = none
volatile sig_atomic_t g_stop_signal = 0;  // the signal that told this process to stop

void StopChild(int sig) {
  g_stop_signal = sig;
  if (g_child_group > 0) kill(-g_child_group, SIGKILL);
}

// Starts argv[0] with `argv` in its own process group, the environment plus `extra`; the child
// dies with this process (PR_SET_PDEATHSIG) so a SIGKILLed supervisor leaves no task behind.
pid_t SpawnSupervised(const std::vector<std::string>& argv, const std::string& extra) {
  const std::string name = extra.substr(0, extra.find('=') + 1);
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!std::string_view(*e).starts_with(name)) envp.push_back(*e);
  }
  envp.push_back(const_cast<char*>(extra.c_str()));
  envp.push_back(nullptr);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid != 0) {
    if (pid > 0) setpgid(pid, pid);  // also here, so that the group exists before any kill
    return pid;
  }
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the supervisor died before prctl
  execve(args[0], args.data(), envp.data());
  _exit(127);
}

std::string Seconds(double s) { return absl::StrFormat("%g s", s); }

}  // namespace

std::string ExternalRunId(const std::string& pipeline, const std::string& run_by,
                          const std::string& external_id) {
  auto clean = [](const std::string& s) {
    std::string out;
    for (char c : s) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '.' || c == '-';
      out.push_back(ok ? c : '_');
    }
    return out;
  };
  uint64_t h = 1469598103934665603ULL;  // FNV-1a of the exact bytes
  const std::string nul(1, '\0');
  for (unsigned char c : pipeline + nul + run_by + nul + external_id) {
    h = (h ^ c) * 1099511628211ULL;
  }
  return StrCat("run_", clean(pipeline), "_", clean(run_by), "_", clean(external_id), "_",
                absl::StrFormat("%08x", static_cast<uint32_t>(h ^ (h >> 32))));
}

StatusOr<TaskProcessResult> RunTaskProcess(project::Project& project, const Pipeline& p,
                                           const Task& t, const TaskProcessOptions& o) {
  using Clock = std::chrono::steady_clock;
  WS_ASSIGN_OR_RETURN(std::unique_ptr<RunStore> store,
                      RunStore::Open(project.config().catalog_path));
  TaskProcessResult result;
  const std::string by = o.run_by.empty() ? "task run" : o.run_by;
  result.run_id = o.external_id.empty() ? NewId(StrCat("run_", p.name))
                                        : ExternalRunId(p.name, by, o.external_id);
  RunRecord run{result.run_id, p.name, o.logical_date, "", "", "running", by, o.external_id};
  WS_ASSIGN_OR_RETURN(result.attempt, store->BeginExternalAttempt(run, t.name));

  std::vector<std::string> argv = {o.binary, "task",    "run",          p.name,
                                   t.name,   "--date",  o.logical_date, "--project",
                                   project.root()};
  if (o.quiet) argv.push_back("--quiet");
  const auto started = Clock::now();
  struct sigaction stop {}, old_term {}, old_int {}, old_hup {};
  stop.sa_handler = StopChild;
  sigemptyset(&stop.sa_mask);
  sigaction(SIGTERM, &stop, &old_term);
  sigaction(SIGINT, &stop, &old_int);
  sigaction(SIGHUP, &stop, &old_hup);
  const pid_t pid = SpawnSupervised(argv, StrCat(kRunIdEnv, "=", result.run_id));
  bool timed_out = false;
  int status = 0;
  if (pid < 0) {
    result.exit_code = kTaskFailedExitCode;
    result.message = StrCat("cannot start ", o.binary, ": ", std::strerror(errno));
  } else {
    g_child_group = pid;
    if (g_stop_signal != 0) kill(-pid, SIGKILL);  // told to stop before the group existed
    const double timeout = p.TimeoutOf(t);
    auto last_heartbeat = Clock::now();
    while (true) {
      const pid_t got = waitpid(pid, &status, WNOHANG);
      if (got == pid || (got < 0 && errno != EINTR)) break;
      // The run's lease, as the executor renews it (RunStore::kHeartbeatSeconds).
      if (Clock::now() - last_heartbeat > std::chrono::seconds(RunStore::kHeartbeatSeconds)) {
        store->Heartbeat(result.run_id).IgnoreError();  // a missed beat only shortens the lease
        last_heartbeat = Clock::now();
      }
      const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
      if (elapsed > timeout) {
        kill(-pid, SIGKILL);  // the whole process group: the task and whatever it started
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        timed_out = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    g_child_group = 0;
    if (timed_out) {
      result.exit_code = kTimeoutExitCode;
      result.message = StrCat("task ", p.name, ".", t.name, " passed its timeout of ",
                              Seconds(timeout), " (`timeout:` of the task or of pipelines.",
                              p.name, " in watershed.yml); its processes were killed");
    } else if (g_stop_signal != 0) {
      result.exit_code = 128 + g_stop_signal;
      result.message = StrCat("task ", p.name, ".", t.name, " stopped by signal ",
                              static_cast<int>(g_stop_signal), "; its processes were killed");
    } else if (WIFEXITED(status)) {
      result.exit_code = WEXITSTATUS(status);
    } else {
      result.exit_code = 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
      result.message = StrCat("task ", p.name, ".", t.name, " was killed by signal ",
                              WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    }
  }
  sigaction(SIGTERM, &old_term, nullptr);
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGHUP, &old_hup, nullptr);

  const double secs = std::chrono::duration<double>(Clock::now() - started).count();
  const std::string st = result.exit_code == 0 ? "ok" : timed_out ? "timeout" : "failed";
  std::vector<std::string> tasks;
  for (const Task& each : p.tasks) {
    if (each.type != "noop") tasks.push_back(each.name);
  }
  WS_RETURN_IF_ERROR(store->FinishExternalAttempt(
      {result.run_id, t.name, result.attempt, "", "", st, result.exit_code, secs, ""}, tasks));
  return result;
}

}  // namespace watershed::orchestrate
