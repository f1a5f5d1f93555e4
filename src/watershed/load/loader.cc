// load/loader.cc — see loader.h.
#include "watershed/load/loader.h"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

namespace watershed::load {
namespace {

using Clock = std::chrono::steady_clock;

// The file's identity for the "already loaded" check: size and modification time.
std::string FileIdentity(const std::string& path) {
  struct stat st;
  if (path == "-" || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return "";
  return StrCat("size=", st.st_size, ";mtime_ns=",
                static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec);
}

}  // namespace

StatusOr<sources::InputLimits> ResolveLimits(const project::Project& project,
                                             const sources::LimitOverrides& overrides) {
  sources::InputLimits limits;
  const YAML::Node& raw = project.config().raw;
  if (raw && raw.IsMap()) {
    WS_RETURN_IF_ERROR(sources::ApplyLimitsConfig(
        raw["limits"], (std::filesystem::path(project.root()) / "watershed.yml").string(),
        &limits));
  }
  WS_RETURN_IF_ERROR(sources::ApplyLimitOverrides(overrides, &limits));
  return limits;
}

StatusOr<LoadSummary> LoadFile(project::Project& project, const LoadOptions& given) {
  LoadOptions options = given;
  WS_ASSIGN_OR_RETURN(options.table, lake::CanonicalTableName(given.table));
  const auto start = Clock::now();
  LoadSummary summary;
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project.catalog());
  WS_RETURN_IF_ERROR(lake::SplitTableName(options.table).status());
  if (options.table == kQuarantineTable) {
    return absl::InvalidArgumentError(StrCat(kQuarantineTable, " is written by Watershed only"));
  }

  // A file already committed to this table (same size and mtime) is not loaded twice.
  const std::string identity = FileIdentity(options.input);
  std::string cursor_key;
  if (!identity.empty()) {
    std::error_code ec;
    cursor_key =
        StrCat(options.table, "|", std::filesystem::weakly_canonical(options.input, ec).string());
    WS_ASSIGN_OR_RETURN(auto cursor, catalog->GetCursor("file", cursor_key));
    if (cursor && *cursor == identity && !options.force) {
      summary.skipped = true;
      summary.input_name = options.input;
      summary.skip_reason = StrCat(options.input, " was already loaded into ", options.table,
                                   " (same size and modification time); use --force to load "
                                   "it again");
      return summary;
    }
  }

  WS_ASSIGN_OR_RETURN(const sources::InputLimits limits, ResolveLimits(project, options.limits));
  WS_ASSIGN_OR_RETURN(auto reader,
                      sources::RecordReader::Open(options.input, options.format, limits));
  summary.input_name = reader->name();
  uint64_t total_bytes = 0;
  if (options.input != "-") {
    std::error_code ec;
    total_bytes = std::filesystem::file_size(options.input, ec);
  }

  SessionOptions so;
  so.threads = options.threads;
  so.batch_bytes = options.batch_bytes;
  so.contract = options.contract;
  so.max_columns = limits.max_columns;
  so.max_depth = limits.max_depth;
  WS_ASSIGN_OR_RETURN(
      auto session,
      LoadSession::Begin(project, StrCat("load ", reader->name(), " -> ", options.table), so));
  summary.load_id = session->load_id();
  auto fail = [&](Status s) {
    session->Abort(s);
    return s;
  };
  const normalize::Contract contract = session->ContractFor(options.table);

  sources::Record rec;
  uint64_t bad = 0;
  auto last_progress = Clock::now();
  const bool csv = reader->format() == sources::FileFormat::kCsv;
  for (uint64_t n = 0;; ++n) {
    auto more = reader->Next(&rec);
    if (!more.ok()) return fail(Annotate(more.status(), StrCat("reading ", reader->name())));
    if (!*more) break;
    summary.data_bytes = rec.byte_offset + rec.raw.size();
    Status s;
    if (!rec.error.empty()) {
      s = absl::InvalidArgumentError(rec.error);
    } else if (csv) {
      s = session->AddCsvRow(options.table, reader->csv_header(), rec.fields, rec.quoted);
    } else {
      s = session->AddJson(options.table, rec.json, true);
    }
    if (!s.ok()) {
      session->Quarantine(options.table, {reader->name(), rec.line, rec.byte_offset,
                                          std::string(MessageOf(s)), rec.raw});
      if (contract == normalize::Contract::kDiscardRow &&
          s.code() == absl::StatusCode::kFailedPrecondition) {
        ++summary.discarded;
      } else {
        ++bad;
        if (summary.first_errors.size() < 5) {
          summary.first_errors.push_back(
              StrCat("line ", rec.line, " (byte ", rec.byte_offset, "): ", MessageOf(s)));
        }
        if (static_cast<int64_t>(bad) > options.max_bad) {
          return fail(absl::InvalidArgumentError(StrCat(
              "more than ", options.max_bad, " bad record", options.max_bad == 1 ? "" : "s", " in ",
              reader->name(), " (--max-bad ", options.max_bad,
              "); nothing was committed. First: ", summary.first_errors.front(),
              ". Fix the input, or raise --max-bad to land the good records and quarantine the "
              "bad ones in ",
              kQuarantineTable)));
        }
      }
    }
    if ((n & 1023) == 0) {
      if (Status f = session->MaybeFlush(); !f.ok()) return fail(f);
      if (options.on_progress && Clock::now() - last_progress > std::chrono::milliseconds(250)) {
        last_progress = Clock::now();
        options.on_progress({session->records(options.table), bad, reader->bytes_read(),
                             total_bytes,
                             std::chrono::duration<double>(Clock::now() - start).count()});
      }
    }
  }
  summary.records = session->records(options.table);
  summary.quarantined = bad + summary.discarded;
  summary.input_bytes = reader->bytes_read();
  if (summary.records == 0 && summary.quarantined == 0) {
    session->Finish();
    summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return summary;
  }
  nlohmann::json js;
  js["input"] = reader->name();
  js["table"] = options.table;
  js["records"] = summary.records;
  js["quarantined"] = summary.quarantined;
  std::vector<lake::Cursor> cursors;
  if (!cursor_key.empty()) cursors.push_back({"file", cursor_key, identity});
  auto snapshot = session->Commit(cursors, js);
  if (!snapshot.ok()) return fail(Annotate(snapshot.status(), "committing the load"));
  session->Finish();
  summary.snapshot_id = *snapshot;
  for (const auto& [table, rows] : session->committed_rows()) {
    summary.rows_per_table.push_back({table, rows});
  }
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return summary;
}

}  // namespace watershed::load
