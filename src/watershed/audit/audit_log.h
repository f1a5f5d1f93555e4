// audit/audit_log.h — the audit log: every command and data change, append-only, hash-chained,
// and anchored in the catalog.
//
// Owns: `.watershed/audit.log` (docs/formats/audit-log.md): one JSON line per entry with a
// sequence number, time, principal, action, target and outcome, plus `prev` (the previous
// entry's hash) and `hash` = SHA-256 of prev + the entry's canonical text. Appends are atomic
// (O_APPEND under flock, fsynced). Verify() recomputes the chain and names the first entry that
// was edited, inserted or removed. Also: the data-change entry of a catalog commit
// (AuditDataChange, called by load sessions) and AuditThrottle, which coalesces bursts of
// similar entries (refused API calls) so that a flood cannot flood the log.
// Anchors: every catalog commit records the log's newest entry (seq, hash) with its snapshot
// (lake/catalog.h), so Verify(anchors) also detects a cut tail, a rewritten and re-chained log
// and a deleted log, which a chain alone cannot. This module sits just above base/ because the
// lake's commits read the anchor; every layer above may audit.
// Does not own: what gets audited (callers decide), where anchors are stored (the catalog).
// Thread safety: Append may be called from several processes and threads at once (each call
// opens the file and holds an exclusive flock while it reads the last entry and writes its own);
// an append costs the same however long the log is (the last entry is read from the end).
// AuditThrottle is thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "watershed/base/status.h"

namespace watershed::audit {

struct AuditEntry {
  int64_t seq = 0;
  std::string time;       // UTC ISO 8601
  std::string principal;  // who (the OS user, or a token's name)
  std::string action;     // "command", "load", ...
  std::string target;     // what it acted on
  std::string outcome;    // "ok" or "error: ..."
};

// A point of the chain: entry `seq` had hash `hash`.
struct Anchor {
  int64_t seq = 0;
  std::string hash;
};
// An anchor recorded by a catalog commit.
struct SnapshotAnchor {
  int64_t snapshot_id = 0;
  Anchor anchor;
};

class AuditLog {
 public:
  explicit AuditLog(std::string path) : path_(std::move(path)) {}
  // Appends `entry` (seq, time and the chain are filled in). Secrets registered with
  // RegisterSecret (base/log.h) are redacted first.
  Status Append(AuditEntry entry);
  StatusOr<std::vector<AuditEntry>> Read() const;
  // The newest entry's anchor; nullopt when the log is empty or missing.
  StatusOr<std::optional<Anchor>> Tail() const;
  // OK when the chain is intact and holds every anchor exactly; kDataLoss naming the first bad
  // line, or the snapshot whose anchored entry is missing (the log was cut or deleted) or differs
  // (the log was rewritten). kNotFound when there is no log and no anchor.
  Status Verify(const std::vector<SnapshotAnchor>& anchors = {}) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The audit log of the project rooted at `project_root`: <root>/.watershed/audit.log.
std::string AuditLogPath(const std::string& project_root);

// The principal of entries written on behalf of this process: the OS user's name (the numeric
// uid when it has no name).
std::string CurrentPrincipal();

// Appends the entry of one catalog commit: principal CurrentPrincipal(), action "data_change",
// target "snapshot 12, load 5: crunchbase.organizations +2000 rows, ..." (snapshot left out when
// the commit failed), outcome "ok" or "error: <message>". `rows` are the rows the commit adds
// per table.
Status AuditDataChange(const std::string& project_root, int64_t load_id, int64_t snapshot_id,
                       const std::map<std::string, int64_t>& rows, const Status& outcome);

// Coalesces similar entries: at most one entry per key (e.g. remote address + principal) per
// interval. An entry recorded within the interval after the key's last written entry is only
// counted; the count is written with the next entry for the key — outcome "<outcome> (N times)"
// — by the next Record after the interval or by Flush. At most `max_keys` keys are tracked;
// beyond that new keys share the key "*".
class AuditThrottle {
 public:
  explicit AuditThrottle(std::string path, int64_t interval_micros = 1'000'000,
                         size_t max_keys = 10'000)
      : log_(std::move(path)), interval_micros_(interval_micros), max_keys_(max_keys) {}

  // Writes `entry` now (with the count of those held back since the key's last entry), or
  // holds it back. Errors: the append failed (the entry is counted again at the next write).
  Status Record(const std::string& key, AuditEntry entry, int64_t now_micros);
  // Writes the held-back counts whose interval has passed (all of them with `all`, at shutdown)
  // and forgets keys idle for a minute. Call periodically.
  Status Flush(int64_t now_micros, bool all = false);
  const AuditLog& log() const { return log_; }

 private:
  struct Slot {
    int64_t last_written = 0;
    int64_t held = 0;   // entries counted since last_written
    AuditEntry latest;  // the newest of them
  };
  // Appends `entry` standing for `count` entries.
  Status Write(AuditEntry entry, int64_t count);

  AuditLog log_;
  const int64_t interval_micros_;
  const size_t max_keys_;
  std::mutex mu_;  // guards slots_ (appends run outside it)
  std::map<std::string, Slot> slots_;
};

}  // namespace watershed::audit
