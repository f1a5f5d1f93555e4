// observe/audit.h — the audit log: every command and data change, append-only, hash-chained.
//
// Owns: `.watershed/audit.log` (docs/formats/audit-log.md): one JSON line per entry with a
// sequence number, time, principal, action, target and outcome, plus `prev` (the previous
// entry's hash) and `hash` = SHA-256 of prev + the entry's canonical text. Appends are atomic
// (O_APPEND under flock, fsynced). Verify() recomputes the chain and names the first entry that
// was edited, inserted or removed. Does not own: what gets audited (callers decide).
// Thread safety: Append may be called from several processes at once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "watershed/base/status.h"

namespace watershed::observe {

struct AuditEntry {
  int64_t seq = 0;
  std::string time;       // UTC ISO 8601
  std::string principal;  // who (the OS user, or a token's name)
  std::string action;     // "command", "load", ...
  std::string target;     // what it acted on
  std::string outcome;    // "ok" or "error: ..."
};

class AuditLog {
 public:
  explicit AuditLog(std::string path) : path_(std::move(path)) {}
  // Appends `entry` (seq, time and the chain are filled in). Secrets registered with
  // RegisterSecret (base/log.h) are redacted first.
  Status Append(AuditEntry entry);
  StatusOr<std::vector<AuditEntry>> Read() const;
  // OK when the chain is intact; kDataLoss naming the first bad line otherwise.
  Status Verify() const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace watershed::observe
