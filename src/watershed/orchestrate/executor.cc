// orchestrate/executor.cc — see executor.h.
#include "watershed/orchestrate/executor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "watershed/base/ids.h"
#include "watershed/base/log.h"
#include "watershed/base/private_files.h"
#include "watershed/net/http_client.h"
#include "watershed/observe/metrics.h"
#include "watershed/orchestrate/run_store.h"
#include "watershed/store/store.h"

extern char** environ;

namespace watershed::orchestrate {
namespace {

using SteadyClock = std::chrono::steady_clock;

double Since(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

// Starts `argv` in a new process group with stdout and stderr to `log`, a run log created
// owner-only (0600: a task's output may carry what its commands print) before the fork, so the
// child only duplicates descriptors.
// The child's environment is this process's plus `extra` (built before the fork).
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log,
            const std::vector<std::string>& extra_env) {
  StatusOr<int> opened = OpenPrivateFile(log, O_WRONLY | O_TRUNC);
  const int fd = opened.ok() ? *opened : -1;
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) {
    bool replaced = false;
    for (const std::string& x : extra_env) {
      const std::string name = x.substr(0, x.find('=') + 1);
      replaced |= std::string_view(*e).starts_with(name);
    }
    if (!replaced) envp.push_back(*e);
  }
  for (const std::string& x : extra_env) envp.push_back(const_cast<char*>(x.c_str()));
  envp.push_back(nullptr);
  pid_t pid = fork();
  if (pid != 0) {
    if (fd >= 0) close(fd);
    return pid;
  }
  setpgid(0, 0);
  if (fd >= 0) {
    dup2(fd, 1);  // dup2 clears O_CLOEXEC on the copies
    dup2(fd, 2);
    close(fd);
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execve(args[0], args.data(), envp.data());
  _exit(127);
}

// A task failed for good: an alarm event in the log, and the pipeline's webhook if it has one.
void OnFailure(const Pipeline& p, const std::string& run_id, const std::string& date,
               const std::string& task, const std::string& status, const std::string& log) {
  LogError("alarm: pipeline task failed", {{"event", "alarm"}, {"pipeline", p.name},
                                           {"run_id", run_id}, {"logical_date", date},
                                           {"task", task}, {"status", status}, {"log", log}});
  if (p.on_failure_webhook.empty()) return;
  nlohmann::json body = {{"event", "task_failed"}, {"pipeline", p.name}, {"run_id", run_id},
                         {"logical_date", date},   {"task", task},      {"status", status},
                         {"log", log}};
  net::HttpClientOptions o;
  o.retry.max_attempts = 3;
  o.retry.initial_backoff = absl::Milliseconds(200);
  net::HttpClient client(o);
  auto r = client.Send({"POST", p.on_failure_webhook, {}, body.dump()});
  if (!r.ok() || r->status >= 300) {
    LogWarn("on_failure webhook did not accept the event",
            {{"pipeline", p.name}, {"status", r.ok() ? std::to_string(r->status)
                                                     : std::string(MessageOf(r.status()))}});
  }
}

// A task's final status in the metrics (watershed_tasks_total, _task_failures_total).
void CountTask(const std::string& pipeline, const std::string& task, const std::string& status) {
  metrics::GetCounter("watershed_tasks_total",
                            {{"pipeline", pipeline}, {"task", task}, {"status", status}})
      .Inc();
  if (status == "failed" || status == "timeout") {
    metrics::GetCounter("watershed_task_failures_total",
                              {{"pipeline", pipeline}, {"task", task}})
        .Inc();
  }
}

void FlushMetricsOrWarn(project::Project& project, const std::string& run_id) {
  Status s = observe::FlushMetrics(project);
  if (!s.ok()) {
    LogWarn("metrics not stored", {{"run_id", run_id}, {"error", std::string(MessageOf(s))}});
  }
}

// The global pool (`pool: {slots: N}` in watershed.yml); a task process runs only while its
// executor holds a slot, and a killed executor never leaks one. With a SQLite catalog the
// slots are N lock files shared by every executor on this machine (flock() locks vanish with
// their process). With a PostgreSQL catalog they are N session advisory locks in the catalog,
// shared by every machine of the project (a session's locks vanish when its connection does).
class Pool {
 public:
  static constexpr int64_t kAdvisoryBase = 0x5753504f4f4c0000;  // "WSPOOL\0\0" + slot

  // `catalog` is project.config().catalog_path; a PostgreSQL catalog is reached lazily.
  Pool(const std::string& dir, const std::string& catalog, int slots)
      : dir_(dir), catalog_(catalog), fds_(std::max(0, slots), -1), held_(fds_.size(), false) {}
  ~Pool() {
    for (int fd : fds_) {
      if (fd >= 0) close(fd);
    }
  }
  bool unlimited() const { return fds_.empty(); }
  bool shared() const {
    return catalog_.starts_with("postgres://") || catalog_.starts_with("postgresql://");
  }
  // A free slot's index, or -1 when all are taken (or the catalog cannot be reached: the
  // executor waits and tries again, as for a full pool).
  int TryAcquire() { return shared() ? TryAcquireAdvisory() : TryAcquireFile(); }
  void Release(int slot) {
    if (slot < 0 || slot >= static_cast<int>(fds_.size())) return;
    if (shared()) {
      if (!held_[slot] || db_ == nullptr) return;
      store::Stmt unlock(*db_, "SELECT CASE WHEN pg_advisory_unlock(?) THEN 1 ELSE 0 END");
      unlock.Bind(1, kAdvisoryBase + slot);
      if (!unlock.Step().ok()) db_.reset();  // the session (and its locks) goes with it
      held_[slot] = false;
      return;
    }
    if (fds_[slot] < 0) return;
    close(fds_[slot]);  // closing drops the lock
    fds_[slot] = -1;
  }

 private:
  int TryAcquireFile() {
    for (size_t i = 0; i < fds_.size(); ++i) {
      if (fds_[i] >= 0) continue;
      StatusOr<int> opened = OpenPrivateFile(StrCat(dir_, "/slot-", i, ".lock"), O_RDWR);
      if (!opened.ok()) continue;
      const int fd = *opened;
      if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        fds_[i] = fd;
        return static_cast<int>(i);
      }
      close(fd);
    }
    return -1;
  }

  int TryAcquireAdvisory() {
    if (db_ == nullptr) {
      auto opened = store::Connection::Open(catalog_);
      if (!opened.ok()) {
        if (!warned_) {  // once per outage: the executor asks again every few milliseconds
          LogWarn("pool: cannot reach the catalog; waiting for a slot",
                  {{"error", std::string(MessageOf(opened.status()))}});
          warned_ = true;
        }
        return -1;
      }
      warned_ = false;
      db_ = *std::move(opened);
      std::fill(held_.begin(), held_.end(), false);
    }
    for (size_t i = 0; i < held_.size(); ++i) {
      if (held_[i]) continue;
      store::Stmt lock(*db_, "SELECT CASE WHEN pg_try_advisory_lock(?) THEN 1 ELSE 0 END");
      lock.Bind(1, kAdvisoryBase + static_cast<int64_t>(i));
      StatusOr<bool> row = lock.Step();
      if (!row.ok() || !*row) {
        // A lost connection lost its locks too: a running task's slot is gone. Start over.
        db_.reset();
        return -1;
      }
      if (lock.Int(0) == 1) {
        held_[i] = true;
        return static_cast<int>(i);
      }
    }
    return -1;
  }

  std::string dir_, catalog_;
  std::vector<int> fds_;
  std::vector<bool> held_;
  std::unique_ptr<store::Connection> db_;
  bool warned_ = false;
};

struct Running {
  pid_t pid;
  int slot;
  int attempt;
  SteadyClock::time_point started;
  std::string log;
  std::string started_iso;
};

}  // namespace

StatusOr<RunOutcome> Execute(project::Project& project, const Pipeline& p,
                             const RunOptions& options) {
  namespace fs = std::filesystem;
  WS_ASSIGN_OR_RETURN(std::unique_ptr<RunStore> store, RunStore::Open(project.config().catalog_path));
  const auto start = SteadyClock::now();
  RunOutcome outcome;
  std::set<std::string> done;  // succeeded (in this run, or earlier when resuming)
  std::string date = options.logical_date;
  if (!options.resume_run_id.empty()) {
    WS_ASSIGN_OR_RETURN(auto runs, store->Runs(p.name));
    auto it = std::find_if(runs.begin(), runs.end(),
                           [&](const RunRecord& r) { return r.run_id == options.resume_run_id; });
    if (it == runs.end()) {
      return absl::NotFoundError(StrCat("no run ", options.resume_run_id, " of pipeline ", p.name,
                                        " (see `watershed runs`)"));
    }
    date = it->logical_date;
    WS_ASSIGN_OR_RETURN(auto attempts, store->Attempts(options.resume_run_id));
    for (const auto& a : attempts) {
      if (a.status == "ok") done.insert(a.task);
    }
  }
  outcome.run_id = NewId(StrCat("run_", p.name));
  WS_RETURN_IF_ERROR(store->BeginRun({outcome.run_id, p.name, date, "", "", "running"},
                                     options.unless_succeeded));
  const fs::path logs = fs::path(project.root()) / ".watershed" / "logs" / outcome.run_id;
  // Spawn creates the folders with the first log: .watershed/, logs/ and the run's, each 0700.
  std::error_code ec;
  const std::string binary = options.binary.empty() ? fs::read_symlink("/proc/self/exe", ec).string()
                                                    : options.binary;
  auto state = [&](const std::string& task, const std::string& s, int attempt) {
    if (options.on_state) options.on_state(task, s, attempt);
  };

  const YAML::Node& pool_cfg = project.config().raw["pool"];
  Pool pool((fs::path(project.root()) / ".watershed" / "pool").string(),
            project.config().catalog_path,
            pool_cfg && pool_cfg["slots"] ? pool_cfg["slots"].as<int>() : 0);
  std::map<std::string, TaskOutcome> results;
  for (const std::string& t : done) results[t] = {t, "ok", 0, 0, ""};
  std::map<std::string, Running> running;
  std::map<std::string, std::pair<int, SteadyClock::time_point>> waiting;  // retry: attempt, when
  std::map<std::string, int> attempts;
  auto finished = [&](const std::string& t) { return results.contains(t); };

  std::vector<TaskAttempt> noops;  // recorded together, once per pass
  SteadyClock::time_point last_heartbeat = SteadyClock::now();
  while (results.size() < p.tasks.size()) {
    // Skip tasks whose upstream failed; start tasks whose upstream succeeded.
    for (const Task& t : p.tasks) {
      if (finished(t.name) || running.contains(t.name)) continue;
      bool blocked = false, ready = true;
      for (const std::string& a : t.after) {
        if (finished(a) && results[a].status != "ok") blocked = true;
        if (!finished(a) || results[a].status != "ok") ready = false;
      }
      if (blocked) {
        results[t.name] = {t.name, "skipped", 0, 0, ""};
        CountTask(p.name, t.name, "skipped");
        store->RecordAttempt({outcome.run_id, t.name, 0, "", "", "skipped", 0, 0, ""}).IgnoreError();
        state(t.name, "skipped", 0);
        continue;
      }
      if (!ready) continue;
      if (t.type == "noop") {  // a join point: done as soon as its upstream is
        results[t.name] = {t.name, "ok", 1, 0, ""};
        CountTask(p.name, t.name, "ok");
        noops.push_back({outcome.run_id, t.name, 1, "", "", "ok", 0, 0, ""});
        state(t.name, "ok", 1);
        continue;
      }
      if (static_cast<int>(running.size()) >= p.max_parallel) continue;
      auto w = waiting.find(t.name);
      if (w != waiting.end() && SteadyClock::now() < w->second.second) continue;
      const int slot = pool.unlimited() ? -1 : pool.TryAcquire();
      if (!pool.unlimited() && slot < 0) {  // the global pool is full: wait for a slot
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        break;
      }
      const int attempt = ++attempts[t.name];
      waiting.erase(t.name);
      const std::string log = (logs / StrCat(t.name, ".", attempt, ".log")).string();
      std::vector<std::string> argv = {binary, "task", "run", p.name, t.name, "--date", date,
                                       "--project", project.root(), "--quiet"};
      // The task process knows it is supervised (no run of its own, no timer of its own).
      pid_t pid = Spawn(argv, log, {StrCat(kRunIdEnv, "=", outcome.run_id)});
      running[t.name] = {pid, slot, attempt, SteadyClock::now(), log, ""};
      store->RecordAttempt({outcome.run_id, t.name, attempt, "", "", "running", 0, 0, log})
          .IgnoreError();
      state(t.name, "running", attempt);
    }
    // Reap finished tasks; kill the ones past their timeout.
    for (auto it = running.begin(); it != running.end();) {
      const Task& t = *p.Find(it->first);
      Running& r = it->second;
      int status = 0;
      pid_t got = waitpid(r.pid, &status, WNOHANG);
      bool timed_out = false;
      if (got == 0 && Since(r.started) > p.TimeoutOf(t)) {
        kill(-r.pid, SIGKILL);  // the whole process group
        waitpid(r.pid, &status, 0);
        got = r.pid;
        timed_out = true;
      }
      if (got == 0) {
        ++it;
        continue;
      }
      pool.Release(r.slot);
      const int code = timed_out ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128;
      const double secs = Since(r.started);
      timed_out |= code == kTimeoutExitCode;  // the task process enforced the timeout itself
      std::string st = code == 0 ? "ok" : timed_out ? "timeout" : "failed";
      const bool retry = p.Retries(t, r.attempt, timed_out ? kTimeoutExitCode : code);
      if (retry) st = "retrying";
      store->RecordAttempt({outcome.run_id, t.name, r.attempt, "", "", st, code, secs, r.log})
          .IgnoreError();
      metrics::GetCounter("watershed_task_attempts_total",
                                {{"pipeline", p.name}, {"task", t.name}, {"status", st}})
          .Inc();
      metrics::GetHistogram("watershed_task_duration_seconds",
                                  {{"pipeline", p.name}, {"task", t.name}})
          .Observe(secs);
      state(t.name, st, r.attempt);
      if (retry) {
        const double wait = p.retry_backoff_seconds * (1 << std::min(r.attempt - 1, 16));
        waiting[t.name] = {r.attempt, SteadyClock::now() +
                                          std::chrono::milliseconds(static_cast<int64_t>(wait * 1000))};
      } else {
        results[t.name] = {t.name, st, r.attempt, secs, r.log};
        CountTask(p.name, t.name, st);
        if (st != "ok") OnFailure(p, outcome.run_id, date, t.name, st, r.log);
      }
      it = running.erase(it);
      FlushMetricsOrWarn(project, outcome.run_id);
    }
    WS_RETURN_IF_ERROR(store->RecordAttempts(noops));
    noops.clear();
    // The run's lease: other machines take a run whose lease expired for dead (RunStore).
    if (SteadyClock::now() - last_heartbeat > std::chrono::seconds(RunStore::kHeartbeatSeconds)) {
      Status beat = store->Heartbeat(outcome.run_id);
      if (!beat.ok()) {
        LogWarn("run lease not renewed",
                {{"run_id", outcome.run_id}, {"error", std::string(MessageOf(beat))}});
      }
      last_heartbeat = SteadyClock::now();
    }
    if (!running.empty() || !waiting.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  bool ok = true;
  for (const Task& t : p.tasks) {
    outcome.tasks.push_back(results[t.name]);
    ok &= results[t.name].status == "ok";
  }
  outcome.status = ok ? "success" : "failed";
  outcome.seconds = Since(start);
  WS_RETURN_IF_ERROR(store->FinishRun(outcome.run_id, outcome.status));
  metrics::GetCounter("watershed_pipeline_runs_total",
                            {{"pipeline", p.name}, {"status", outcome.status}})
      .Inc();
  metrics::GetHistogram("watershed_pipeline_run_duration_seconds", {{"pipeline", p.name}})
      .Observe(outcome.seconds);
  FlushMetricsOrWarn(project, outcome.run_id);
  return outcome;
}

}  // namespace watershed::orchestrate
