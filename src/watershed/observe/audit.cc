// observe/audit.cc — see audit.h.
#include "watershed/observe/audit.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "watershed/base/columns.h"
#include "watershed/base/ids.h"
#include "watershed/base/log.h"

namespace watershed::observe {
namespace {

constexpr const char* kGenesis = "0000000000000000000000000000000000000000000000000000000000000000";

// The text an entry's hash covers: every field but the hash, in a fixed order.
std::string Canonical(const AuditEntry& e, const std::string& prev) {
  nlohmann::json j = nlohmann::json::array(
      {e.seq, e.time, e.principal, e.action, e.target, e.outcome, prev});
  return j.dump();
}

}  // namespace

Status AuditLog::Append(AuditEntry e) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
  int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND, 0644);
  if (fd < 0) return absl::UnavailableError(StrCat("cannot open audit log ", path_));
  if (flock(fd, LOCK_EX) != 0) {
    ::close(fd);
    return absl::UnavailableError(StrCat("cannot lock audit log ", path_));
  }
  // The last entry gives the sequence number and the previous hash.
  std::string prev = kGenesis;
  int64_t seq = 1;
  {
    std::ifstream in(path_);
    std::string line, last;
    while (std::getline(in, line)) {
      if (!line.empty()) last = line;
    }
    if (!last.empty()) {
      auto j = nlohmann::json::parse(last, nullptr, false);
      if (j.is_object()) {
        prev = j.value("hash", kGenesis);
        seq = j.value("seq", int64_t{0}) + 1;
      }
    }
  }
  e.seq = seq;
  e.time = IsoUtc(NowMicros());
  e.target = RedactSecrets(e.target);
  e.outcome = RedactSecrets(e.outcome);
  const std::string hash = Sha256Hex(prev + Canonical(e, prev));
  nlohmann::json j = {{"seq", e.seq},       {"time", e.time},       {"principal", e.principal},
                      {"action", e.action}, {"target", e.target},   {"outcome", e.outcome},
                      {"prev", prev},       {"hash", hash}};
  const std::string line = j.dump() + "\n";
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

Status AuditLog::Verify() const {
  std::ifstream in(path_);
  if (!in) return absl::NotFoundError(StrCat("no audit log at ", path_));
  std::string line, prev = kGenesis;
  int64_t expected_seq = 1, line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) {
      return absl::DataLossError(StrCat(path_, ":", line_no, ": not an audit entry (edited?)"));
    }
    AuditEntry e{j.value("seq", int64_t{0}), j.value("time", ""), j.value("principal", ""),
                 j.value("action", ""), j.value("target", ""), j.value("outcome", "")};
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
    prev = hash;
    ++expected_seq;
  }
  return absl::OkStatus();
}

}  // namespace watershed::observe
