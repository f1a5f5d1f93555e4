// orchestrate/pipeline.cc — see pipeline.h.
#include "watershed/orchestrate/pipeline.h"

#include "watershed/base/clock.h"
#include "watershed/base/config.h"

#include <functional>
#include <set>

#include "watershed/base/strings.h"
#include "watershed/normalize/infer.h"

namespace watershed::orchestrate {

const Task* Pipeline::Find(const std::string& task) const {
  for (const Task& t : tasks) {
    if (t.name == task) return &t;
  }
  return nullptr;
}

namespace {

// `retry_on:` at `where`: any or transient, else an error with a did-you-mean.
StatusOr<std::string> RetryOn(const YAML::Node& node, const std::string& where) {
  const std::string v = node.as<std::string>();
  if (v == "any" || v == "transient") return v;
  const std::string near = ClosestMatch(v, {"any", "transient"});
  return absl::InvalidArgumentError(
      StrCat("watershed.yml:", node.Mark().line + 1, ": ", where, ".retry_on: '", v,
             "' is not any (retry every failure) or transient (retry exit 75 only)",
             near.empty() ? "" : StrCat("; did you mean '", near, "'?")));
}

// Durations in seconds (the Pipeline fields), read by base/clock.h's ParseDuration.
StatusOr<double> DurationSeconds(const YAML::Node& node) {
  WS_ASSIGN_OR_RETURN(absl::Duration d, ParseDuration(node.as<std::string>()));
  return absl::ToDoubleSeconds(d);
}

}  // namespace

StatusOr<std::map<std::string, Pipeline>> ParsePipelines(const YAML::Node& node) {
  std::map<std::string, Pipeline> out;
  if (!node) return out;
  try {
    for (const auto& kv : node) {
      Pipeline p;
      p.name = kv.first.as<std::string>();
      const YAML::Node& y = kv.second;
      const std::string where = StrCat("pipelines.", p.name);
      // A mistyped key (`retrys:`) is an error, not a setting silently ignored.
      static const std::vector<std::string>& kKeys = *new std::vector<std::string>{
          "schedule", "start",        "catchup", "retries", "retry_backoff", "retry_on",
          "timeout",  "max_parallel", "on_failure", "tasks", "description"};
      WS_RETURN_IF_ERROR(CheckKnownKeys(y, kKeys, where, "watershed.yml"));
      if (y["schedule"]) p.schedule = y["schedule"].as<std::string>();
      if (y["retries"]) p.retries = y["retries"].as<int>();
      if (y["retry_on"]) {
        WS_ASSIGN_OR_RETURN(p.retry_on, RetryOn(y["retry_on"], where));
      }
      if (y["catchup"]) p.catchup = y["catchup"].as<bool>();
      if (y["start"]) {
        p.start = y["start"].as<std::string>();
        if (!normalize::ParseDate(p.start)) {
          return absl::InvalidArgumentError(
              StrCat("watershed.yml:", y["start"].Mark().line + 1, ": ", where, ".start: '",
                     p.start, "' is not a date YYYY-MM-DD (the first interval's day)"));
        }
      }
      if (y["retry_backoff"]) {
        WS_ASSIGN_OR_RETURN(p.retry_backoff_seconds,
                            DurationSeconds(y["retry_backoff"]));
      }
      if (y["timeout"]) {
        WS_ASSIGN_OR_RETURN(p.timeout_seconds, DurationSeconds(y["timeout"]));
      }
      if (y["max_parallel"]) p.max_parallel = std::max(1, y["max_parallel"].as<int>());
      if (y["on_failure"] && y["on_failure"]["webhook"]) {
        p.on_failure_webhook = y["on_failure"]["webhook"].as<std::string>();
      }
      if (!y["tasks"] || !y["tasks"].IsMap()) {
        return absl::InvalidArgumentError(StrCat(where, ": needs tasks: {name: {type: ...}}"));
      }
      for (const auto& tk : y["tasks"]) {
        Task t;
        t.name = tk.first.as<std::string>();
        for (const auto& field : tk.second) {
          const std::string key = field.first.as<std::string>();
          if (key == "type") {
            t.type = field.second.as<std::string>();
          } else if (key == "after") {
            if (field.second.IsSequence()) {
              for (const auto& a : field.second) t.after.push_back(a.as<std::string>());
            } else {
              t.after.push_back(field.second.as<std::string>());
            }
          } else if (key == "retries") {
            t.retries = field.second.as<int>();
          } else if (key == "retry_on") {
            WS_ASSIGN_OR_RETURN(t.retry_on,
                                RetryOn(field.second, StrCat(where, ".tasks.", t.name)));
          } else if (key == "timeout") {
            WS_ASSIGN_OR_RETURN(t.timeout_seconds, DurationSeconds(field.second));
          } else if (field.second.IsSequence()) {
            std::string joined;
            for (const auto& v : field.second) joined += (joined.empty() ? "" : ",") + v.as<std::string>();
            t.params[key] = joined;
          } else {
            t.params[key] = field.second.as<std::string>();
          }
        }
        static const std::set<std::string>& kTypes = *new std::set<std::string>{"crunchbase", "load",  "build",
                                                     "check",      "shell", "noop"};
        if (!kTypes.contains(t.type)) {
          return absl::InvalidArgumentError(
              StrCat(where, ".tasks.", t.name, ": type '", t.type,
                     "' is not crunchbase, load, build, check, shell or noop"));
        }
        if (t.type == "shell" && !t.params.contains("command")) {
          return absl::InvalidArgumentError(StrCat(where, ".tasks.", t.name, ": needs command"));
        }
        if (t.type == "load" && (!t.params.contains("file") || !t.params.contains("table"))) {
          return absl::InvalidArgumentError(StrCat(where, ".tasks.", t.name, ": needs file and table"));
        }
        p.tasks.push_back(std::move(t));
      }
      for (const Task& t : p.tasks) {
        for (const std::string& a : t.after) {
          if (p.Find(a) == nullptr) {
            return absl::InvalidArgumentError(StrCat(where, ".tasks.", t.name,
                                                     ": after names unknown task '", a, "'"));
          }
        }
      }
      // Cycles, named.
      std::map<std::string, int> colour;
      std::vector<std::string> stack;
      std::string cycle;
      std::function<bool(const std::string&)> visit = [&](const std::string& v) {
        colour[v] = 1;
        stack.push_back(v);
        for (const std::string& u : p.Find(v)->after) {
          if (colour[u] == 1) {
            for (auto it = std::find(stack.begin(), stack.end(), u); it != stack.end(); ++it) {
              cycle += *it + " -> ";
            }
            cycle += u;
            return true;
          }
          if (colour[u] == 0 && visit(u)) return true;
        }
        stack.pop_back();
        colour[v] = 2;
        return false;
      };
      for (const Task& t : p.tasks) {
        if (colour[t.name] == 0 && visit(t.name)) {
          return absl::InvalidArgumentError(StrCat(where, ": tasks depend on each other in a cycle: ",
                                                   cycle));
        }
      }
      out[p.name] = std::move(p);
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(StrCat("watershed.yml:", e.mark.line + 1, ": pipelines: ", e.msg));
  }
  return out;
}

bool Pipeline::Retries(const Task& t, int attempt, int exit_code) const {
  if (exit_code == 0 || attempt > RetriesOf(t)) return false;
  if (exit_code == kTransientExitCode) return true;
  if (RetryOnOf(t) == "transient") return false;
  return t.type == "shell" || exit_code != kTerminalExitCode;
}

std::vector<std::string> TopologicalOrder(const Pipeline& p) {
  std::vector<std::string> order;
  std::set<std::string> done;
  while (order.size() < p.tasks.size()) {
    for (const Task& t : p.tasks) {
      if (done.contains(t.name)) continue;
      if (std::all_of(t.after.begin(), t.after.end(),
                      [&](const std::string& a) { return done.contains(a); })) {
        order.push_back(t.name);
        done.insert(t.name);
      }
    }
  }
  return order;
}

}  // namespace watershed::orchestrate
