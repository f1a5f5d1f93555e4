// server/streams.cc — see streams.h.
#include "watershed/server/streams.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "watershed/base/log.h"
#include "watershed/base/strings.h"
#include "watershed/lake/maintenance.h"
#include "watershed/audit/audit_log.h"
#include "watershed/sources/events/kafka.h"
#include "watershed/sources/events/kinesis.h"
#include "watershed/sources/events/log.h"

namespace watershed::server {

std::string StreamLogDir(const project::Project& project, const std::string& stream) {
  return (std::filesystem::path(project.root()) / ".watershed" / "streams" / stream).string();
}

StatusOr<std::unique_ptr<sources::EventSource>> MakeExternalSource(
    const load::StreamConfig& config) {
  const YAML::Node settings = config.settings[config.source];
  if (!settings) {
    return absl::InvalidArgumentError(StrCat("streams.", config.name, ": source ", config.source,
                                             " needs a `", config.source,
                                             ":` section (docs/formats/stream-sources.md)"));
  }
  auto annotate = [&](const Status& s) {
    return Status(s.code(), StrCat("streams.", config.name, ".", config.source, ": ",
                                   std::string(s.message())));
  };
  if (config.source == "kinesis") {
    auto src = sources::KinesisSourceFromYaml(settings);
    if (!src.ok()) return annotate(src.status());
    return std::unique_ptr<sources::EventSource>(std::move(*src));
  }
  if (config.source == "kafka") {
    auto src = sources::KafkaSourceFromYaml(settings);
    if (!src.ok()) return annotate(src.status());
    return std::unique_ptr<sources::EventSource>(std::move(*src));
  }
  return absl::InvalidArgumentError(
      StrCat("stream ", config.name, ": unknown source ", config.source));
}

namespace {

// Compaction and expiry change what the lake holds: audited as data changes.
void Audit(const project::Project& project, const std::string& target) {
  audit::AuditLog log(audit::AuditLogPath(project.root()));
  Status s = log.Append({0, "", audit::CurrentPrincipal(), "data_change", target, "ok"});
  if (!s.ok()) LogWarn(StrCat("audit log: ", s.ToString()));
}

}  // namespace

Status LakeUpkeep(project::Project& project, const load::StreamConfig& config) {
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project.catalog());
  WS_ASSIGN_OR_RETURN(auto table, catalog->GetTable(config.table()));
  if (table) {
    lake::CompactOptions co;
    co.min_files = config.compact_min_files;
    WS_ASSIGN_OR_RETURN(auto compacted,
                        lake::CompactTable(*catalog, project.storage(), config.table(), co));
    if (compacted.files_in > 0) {
      const std::string what = StrCat("snapshot ", compacted.snapshot, ": ", config.table(),
                                      " compacted ", compacted.files_in, " files into ",
                                      compacted.files_out, " (", compacted.rows, " rows)");
      LogInfo(what);
      Audit(project, what);
    }
  }
  lake::ExpireOptions eo;
  eo.max_age = config.snapshot_max_age;
  eo.keep_last = config.keep_snapshots;
  WS_ASSIGN_OR_RETURN(auto expired, lake::ExpireSnapshots(*catalog, project.storage(), eo));
  if (expired.snapshots_expired > 0) {
    const std::string what =
        StrCat("expired ", expired.snapshots_expired, " snapshots (", expired.files_deleted,
               " files); readable from snapshot ", expired.kept_from);
    LogInfo(what);
    Audit(project, what);
  }
  return absl::OkStatus();
}

StatusOr<std::vector<StreamStatus>> StreamsStatus(project::Project& project) {
  WS_ASSIGN_OR_RETURN(auto configs, load::ParseStreams(project.config().raw["streams"]));
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project.catalog());
  WS_ASSIGN_OR_RETURN(std::vector<lake::Snapshot> snapshots, catalog->Snapshots());
  const std::string minute_ago = IsoUtc(NowMicros() - 60'000'000);
  const std::string hour_ago = IsoUtc(NowMicros() - 3600'000'000LL);
  std::vector<StreamStatus> out;
  for (const auto& [name, config] : configs) {
    StreamStatus s;
    s.stream = name;
    s.source = config.source;
    s.table = config.table();
    WS_ASSIGN_OR_RETURN(auto cps, load::LakeCheckpoints(*catalog, name));
    for (const auto& [p, pos] : cps) s.checkpoints.emplace_back(p, pos);
    if (config.source == "http") {
      WS_ASSIGN_OR_RETURN(sources::LogSummary log,
                          sources::EventLog::Peek(StreamLogDir(project, name)));
      s.next_offset = static_cast<int64_t>(log.next_offset);
      s.log_bytes = static_cast<int64_t>(log.disk_bytes);
      auto it = cps.find("0");
      s.lake_offset = it == cps.end() ? 0 : std::stoll(it->second) + 1;
      s.lag_events = std::max<int64_t>(0, s.next_offset - s.lake_offset);
    }
    auto state = catalog->GetTableState(config.table());
    if (state.ok()) s.lake_rows = state->row_count;
    int64_t recent = 0;
    for (auto it = snapshots.rbegin(); it != snapshots.rend(); ++it) {
      if (it->committed_at < hour_ago) break;
      auto summary = nlohmann::json::parse(it->summary, nullptr, false);
      if (!summary.is_object() || summary.value("stream", "") != name) continue;
      if (s.last_commit.empty()) s.last_commit = it->committed_at;
      if (it->committed_at >= minute_ago) recent += summary.value("events", int64_t{0});
      s.quarantined += summary.value("quarantined", int64_t{0});
    }
    s.events_per_second = recent / 60.0;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace watershed::server
