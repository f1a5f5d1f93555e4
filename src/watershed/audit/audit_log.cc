// observe/audit.cc — see audit.h.
#include "watershed/audit/audit_log.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "watershed/base/columns.h"
#include "watershed/base/ids.h"
#include "watershed/base/log.h"
#include "watershed/base/private_files.h"
#include "watershed/base/strings.h"

namespace watershed::audit {
namespace {

constexpr const char* kGenesis = "0000000000000000000000000000000000000000000000000000000000000000";

// The text an entry's hash covers: every field but the hash, in a fixed order.
std::string Canonical(const AuditEntry& e, const std::string& prev) {
  nlohmann::json j =
      nlohmann::json::array({e.seq, e.time, e.principal, e.action, e.target, e.outcome, prev});
  return j.dump();
}

// Reads [offset, offset + size) of `fd`; false on a read error.
bool ReadAt(int fd, off_t offset, size_t size, std::string* out) {
  out->assign(size, '\0');
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, out->data() + done, size - done, offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// The newest entry of the log open as `fd` (a JSON object with a hash), read backwards from the
// end in growing chunks so that an append does not read the whole log. A torn or foreign last
// line (a crash mid-write, an edit) is skipped: the chain continues from the newest entry, and
// Verify names the bad line. Sets *ends_with_newline (an empty file counts as ending with one).
nlohmann::json LastEntry(int fd, bool* ends_with_newline) {
  *ends_with_newline = true;
  struct stat st;
  if (::fstat(fd, &st) != 0 || st.st_size == 0) return nullptr;
  const off_t size = st.st_size;
  std::string buf;
  if (ReadAt(fd, size - 1, 1, &buf)) *ends_with_newline = buf == "\n";
  for (off_t chunk = 4096;; chunk *= 4) {
    const off_t start = size > chunk ? size - chunk : 0;
    if (!ReadAt(fd, start, static_cast<size_t>(size - start), &buf)) return nullptr;
    // Complete lines only: the first one is complete when the chunk starts the file.
    size_t end = buf.size();
    while (end > 0) {
      const size_t nl = buf.rfind('\n', end - 1);
      if (nl == end - 1) {  // an empty line
        end = nl;
        continue;
      }
      if (nl == std::string::npos && start > 0) break;  // its start lies before the chunk
      const size_t begin = nl == std::string::npos ? 0 : nl + 1;
      auto j = nlohmann::json::parse(buf.substr(begin, end - begin), nullptr, false);
      if (j.is_object() && j.contains("hash") && j.contains("seq")) return j;
      if (nl == std::string::npos) break;
      end = nl;
    }
    if (start == 0) return nullptr;
  }
}

}  // namespace

std::string AuditLogPath(const std::string& project_root) {
  return project_root + "/.watershed/audit.log";
}

std::string CurrentPrincipal() {
  passwd pw;
  passwd* found = nullptr;
  char buf[4096];
  if (::getpwuid_r(::geteuid(), &pw, buf, sizeof buf, &found) == 0 && found != nullptr) {
    return found->pw_name;
  }
  return std::to_string(::geteuid());
}

Status AuditDataChange(const std::string& project_root, int64_t load_id, int64_t snapshot_id,
                       const std::map<std::string, int64_t>& rows, const Status& outcome) {
  std::string target = snapshot_id > 0 ? StrCat("snapshot ", snapshot_id, ", load ", load_id)
                                       : StrCat("load ", load_id);
  std::string tables;
  for (const auto& [table, n] : rows) {
    tables += StrCat(tables.empty() ? "" : ", ", table, " +", n, n == 1 ? " row" : " rows");
  }
  target += StrCat(": ", tables.empty() ? std::string("cursors only") : tables);
  return AuditLog(AuditLogPath(project_root))
      .Append({0, "", CurrentPrincipal(), "data_change", target,
               outcome.ok() ? std::string("ok") : StrCat("error: ", MessageOf(outcome))});
}

Status AuditThrottle::Write(AuditEntry entry, int64_t count) {
  if (count > 1) entry.outcome += StrCat(" (", count, " times)");
  return log_.Append(std::move(entry));
}

Status AuditThrottle::Record(const std::string& key, AuditEntry entry, int64_t now_micros) {
  int64_t count = 0;
  std::string slot_key = key;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!slots_.contains(key) && slots_.size() >= max_keys_) slot_key = "*";
    auto it = slots_.find(slot_key);
    if (it == slots_.end()) {
      it = slots_.emplace(slot_key, Slot{}).first;
      it->second.last_written = now_micros - interval_micros_;  // a new key writes at once
    }
    Slot& slot = it->second;
    if (now_micros - slot.last_written < interval_micros_) {
      ++slot.held;
      slot.latest = std::move(entry);
      return absl::OkStatus();
    }
    count = slot.held + 1;
    slot.held = 0;
    slot.last_written = now_micros;
  }
  Status written = Write(entry, count);
  if (!written.ok()) {  // counted again with the next entry for the key
    std::lock_guard<std::mutex> lock(mu_);
    auto it = slots_.find(slot_key);
    if (it != slots_.end()) {
      it->second.held += count;
      it->second.latest = std::move(entry);
    }
  }
  return written;
}

Status AuditThrottle::Flush(int64_t now_micros, bool all) {
  std::vector<std::pair<AuditEntry, int64_t>> due;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = slots_.begin(); it != slots_.end();) {
      Slot& slot = it->second;
      const int64_t idle = now_micros - slot.last_written;
      if (slot.held > 0 && (all || idle >= interval_micros_)) {
        due.emplace_back(slot.latest, slot.held);
        slot.held = 0;
        slot.last_written = now_micros;
      } else if (slot.held == 0 && idle >= 60'000'000) {
        it = slots_.erase(it);
        continue;
      }
      ++it;
    }
  }
  Status first;
  for (auto& [entry, count] : due) {
    Status s = Write(std::move(entry), count);
    if (first.ok()) first = s;
  }
  return first;
}

Status AuditLog::Append(AuditEntry e) {
  // Owner-only, folders included: the log names principals and targets.
  StatusOr<int> opened = OpenPrivateFile(path_, O_RDWR | O_APPEND);
  if (!opened.ok()) return Annotate(opened.status(), "audit log");
  const int fd = *opened;
  if (flock(fd, LOCK_EX) != 0) {
    ::close(fd);
    return absl::UnavailableError(StrCat("cannot lock audit log ", path_));
  }
  // The newest entry gives the sequence number and the previous hash.
  std::string prev = kGenesis;
  int64_t seq = 1;
  bool ends_with_newline = true;
  const nlohmann::json last = LastEntry(fd, &ends_with_newline);
  if (last.is_object()) {
    prev = last.value("hash", kGenesis);
    seq = last.value("seq", int64_t{0}) + 1;
  }
  e.seq = seq;
  e.time = IsoUtc(NowMicros());
  // What a client sent (a path, a header) may be any bytes; the log is JSON, so UTF-8.
  e.principal = ToValidUtf8(e.principal);
  e.action = ToValidUtf8(e.action);
  e.target = ToValidUtf8(RedactSecrets(e.target));
  e.outcome = ToValidUtf8(RedactSecrets(e.outcome));
  const std::string hash = Sha256Hex(prev + Canonical(e, prev));
  nlohmann::json j = {{"seq", e.seq},       {"time", e.time},     {"principal", e.principal},
                      {"action", e.action}, {"target", e.target}, {"outcome", e.outcome},
                      {"prev", prev},       {"hash", hash}};
  // After a torn last line, start on a line of its own.
  const std::string line = (ends_with_newline ? "" : "\n") + j.dump() + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ok = ok && ::fsync(fd) == 0;
  flock(fd, LOCK_UN);
  ::close(fd);
  if (!ok) return absl::UnavailableError(StrCat("cannot write audit log ", path_));
  return absl::OkStatus();
}

StatusOr<std::vector<AuditEntry>> AuditLog::Read() const {
  std::vector<AuditEntry> out;
  std::ifstream in(path_);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    out.push_back({j.value("seq", int64_t{0}), j.value("time", ""), j.value("principal", ""),
                   j.value("action", ""), j.value("target", ""), j.value("outcome", "")});
  }
  return out;
}

StatusOr<std::optional<Anchor>> AuditLog::Tail() const {
  int fd = ::open(path_.c_str(), O_RDONLY);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<Anchor>();
    return absl::UnavailableError(StrCat("cannot open audit log ", path_));
  }
  flock(fd, LOCK_SH);
  bool ends_with_newline = true;
  const nlohmann::json last = LastEntry(fd, &ends_with_newline);
  flock(fd, LOCK_UN);
  ::close(fd);
  if (!last.is_object()) return std::optional<Anchor>();
  return std::optional<Anchor>(Anchor{last.value("seq", int64_t{0}), last.value("hash", "")});
}

Status AuditLog::Verify(const std::vector<SnapshotAnchor>& anchors) const {
  // The oldest anchor that reaches furthest decides what a missing log means.
  const SnapshotAnchor* highest = nullptr;
  for (const SnapshotAnchor& a : anchors) {
    if (a.anchor.seq > 0 && (highest == nullptr || a.anchor.seq > highest->anchor.seq)) {
      highest = &a;
    }
  }
  std::ifstream in(path_);
  if (!in) {
    if (highest != nullptr) {
      return absl::DataLossError(StrCat(
          "the audit log ", path_, " is missing, but catalog snapshot ", highest->snapshot_id,
          " anchors its entry ", highest->anchor.seq, " (the log was deleted)"));
    }
    return absl::NotFoundError(StrCat("no audit log at ", path_));
  }
  std::map<int64_t, std::string> hashes;  // seq -> hash, for the anchors
  std::string line, prev = kGenesis;
  int64_t expected_seq = 1, line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) {
      return absl::DataLossError(StrCat(path_, ":", line_no, ": not an audit entry (edited?)"));
    }
    AuditEntry e{j.value("seq", int64_t{0}), j.value("time", ""),   j.value("principal", ""),
                 j.value("action", ""),      j.value("target", ""), j.value("outcome", "")};
    const std::string stored_prev = j.value("prev", "");
    const std::string hash = j.value("hash", "");
    if (e.seq != expected_seq) {
      return absl::DataLossError(StrCat(
          path_, ":", line_no, ": entry ", e.seq, " where ", expected_seq, " was expected: ",
          e.seq > expected_seq ? "entries were removed before it" : "an entry was inserted"));
    }
    if (stored_prev != prev) {
      return absl::DataLossError(StrCat(path_, ":", line_no, ": entry ", e.seq,
                                        " does not follow the entry before it (removed, "
                                        "inserted or reordered entries)"));
    }
    if (Sha256Hex(prev + Canonical(e, prev)) != hash) {
      return absl::DataLossError(
          StrCat(path_, ":", line_no, ": entry ", e.seq, " was edited (its hash does not match)"));
    }
    hashes[e.seq] = hash;
    prev = hash;
    ++expected_seq;
  }
  for (const SnapshotAnchor& a : anchors) {
    if (a.anchor.seq <= 0) continue;
    auto it = hashes.find(a.anchor.seq);
    if (it == hashes.end()) {
      return absl::DataLossError(StrCat(path_, ": entry ", a.anchor.seq,
                                        ", anchored by catalog snapshot ", a.snapshot_id,
                                        ", is missing (the log was cut after entry ",
                                        expected_seq - 1, ")"));
    }
    if (it->second != a.anchor.hash) {
      return absl::DataLossError(StrCat(path_, ": entry ", a.anchor.seq,
                                        " is not the one catalog snapshot ", a.snapshot_id,
                                        " anchored (the log was rewritten from there or before)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace watershed::audit
