// cli/commands.h — the `watershed` subcommands, one function each, defined by group in
// lake_commands.cc, transform_commands.cc, source_commands.cc, pipeline_commands.cc and
// observe_commands.cc.
//
// Owns: turning parsed command-line options into calls on the modules and rendering what they
// return (summaries on stdout through output.h, progress and logs on stderr). Does not own:
// argument parsing (main.cc) or any data logic. Thread safety: called from main only.
#pragma once

#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/load/loader.h"
#include "watershed/observe/lineage.h"
#include "watershed/cli/quality_view.h"
#include "watershed/quality/checks.h"

namespace watershed::cli {

struct GlobalOptions {
  std::string project;  // --project DIR; empty = search upwards
  bool quiet = false;
};

Status RunInit(const std::string& dir, const std::string& name);

struct LoadCommand {
  std::string file;
  std::string table;
  std::string format = "auto";
  int64_t max_bad = 0;
  int threads = 0;
  bool force = false;
  std::string contract;
  double batch_mb = 48;
  sources::LimitOverrides limits;
};
Status RunLoad(const GlobalOptions& g, const LoadCommand& c);

struct ReadAt {  // which snapshot a read sees
  int64_t snapshot = 0;
  std::string as_of;
};

Status RunTables(const GlobalOptions& g, const ReadAt& at, const std::string& format);
Status RunDescribe(const GlobalOptions& g, const std::string& table, const ReadAt& at);
// `iceberg show TABLE`: where the table's Iceberg metadata is and what the snapshot a reader
// at `at` sees holds. `format`: table or json.
Status RunIcebergShow(const GlobalOptions& g, const std::string& table, const ReadAt& at,
                      const std::string& format);
// `access explain PRINCIPAL RESOURCE [--action A]`: the access model's decision, the grant that
// matched or why none did, the principal's groups, masking and row filters. `action` "" = the
// resource's usual one (ingest a stream, run a pipeline, admin admin, read the rest).
Status RunAccessExplain(const GlobalOptions& g, const std::string& principal,
                        const std::string& resource, const std::string& action,
                        const std::string& format);
// `token create --for P [--expires 90d]`, `token list`, `token rotate ID [--overlap 1d]`,
// `token revoke ID` (project/access_tokens.h).
struct TokenCommand {
  std::string verb;  // create, list, rotate, revoke
  std::string principal;
  std::string id;
  std::string expires = "90d";  // or "never"
  bool expires_given = false;
  std::string overlap = "1d";
  std::string format = "table";
};
Status RunToken(const GlobalOptions& g, const TokenCommand& c);
// `iceberg register [TABLE...]`: every (or each named) table registered or brought up to date
// in the configured catalogs (Glue); prints what was created, updated or already current.
Status RunIcebergRegister(const GlobalOptions& g, const std::vector<std::string>& tables,
                          const std::string& format);

struct QueryCommand {
  std::string sql;
  std::string mart;  // --mart: query a mart instead of the lake
  bool write = false;  // --write: the mart may be changed (read-only otherwise)
  ReadAt at;
  std::string format = "table";
  size_t max_rows = 1000;
};
Status RunQuery(const GlobalOptions& g, const QueryCommand& c);

// `grace`: a duration ("1h", "0s"); empty = 1h for an S3 lake, 0 for a local one.
Status RunGc(const GlobalOptions& g, bool dry_run, const std::string& grace);
// `watershed migrate --to-catalog URL [--to-lake s3://...]`: copies the project's catalog (every
// module's tables, snapshots and history included) into an empty catalog, and its lake files
// into another lake; prints what to set in watershed.yml.
Status RunMigrate(const GlobalOptions& g, const std::string& to_catalog, const std::string& to_lake);

struct CrunchbaseCommand {
  std::string mode;  // "" = watershed.yml's sources.crunchbase.mode, else full
  std::vector<std::string> orgs;
  std::string cards;        // comma-separated
  std::string collections;  // comma-separated
  std::string base_url;     // "" = CRUNCHBASE_BASE_URL, watershed.yml, or the real API
  int rate_limit = -1;      // requests/minute; -1 = watershed.yml or 200
  int page_size = 1000;
  int commit_every = 10;
  int64_t max_pages = 0;
  int threads = 0;
};
Status RunCrunchbase(const GlobalOptions& g, const CrunchbaseCommand& c);

struct BuildCommand {
  std::vector<std::string> select;
  bool full_refresh = false;
  int threads = 2;
};
Status RunBuild(const GlobalOptions& g, const BuildCommand& c);
Status RunDocs(const GlobalOptions& g, const std::string& out);
// `watershed seed [--select x]`: seeds/**/*.csv into their marts (transform/seeds.h).
Status RunSeed(const GlobalOptions& g, const std::vector<std::string>& select);

// Pipelines (orchestrate/).
struct RunCommand {
  std::string pipeline;
  std::string date;      // YYYY-MM-DD; default today (UTC)
  std::string resume;    // a run id
  std::string from, to;  // backfill
  int parallel = 1;      // backfill: days at once
};
Status RunPipeline(const GlobalOptions& g, const RunCommand& c);
Status RunBackfill(const GlobalOptions& g, const RunCommand& c);
// Returns the process exit code: 0, 75 for a transient failure (retried by the executor), 1.
int RunTaskCommand(const GlobalOptions& g, const std::string& pipeline, const std::string& task,
                   const std::string& date);
Status RunRuns(const GlobalOptions& g, const std::string& show_run_id);
Status RunSchedulerCommand(const GlobalOptions& g, bool once, const std::string& until);

// The audit log (audit/audit_log.h): every command run in a project is recorded.
void AuditCommand(const GlobalOptions& g, int argc, char** argv, const Status& outcome);
Status RunAudit(const GlobalOptions& g, bool verify);
Status RunCheck(const GlobalOptions& g, const CheckCommandOptions& c);

Status RunLineage(const GlobalOptions& g, const std::string& node,
                  const observe::TraceOptions& options, const std::string& format);

Status RunMetrics(const GlobalOptions& g, const std::string& format, const std::string& push);
Status RunAlarms(const GlobalOptions& g, const std::string& format, bool evaluate);

struct ServeCommand {
  std::string host = "127.0.0.1";
  int port = 8080;
  int threads = 8;
  std::string tls_cert, tls_key;
  std::string tls;  // "self-signed"
  bool insecure_listen = false;
};
Status RunServe(const GlobalOptions& g, const ServeCommand& c);
Status RunStreams(const GlobalOptions& g, const std::string& format);
Status RunExportAirflow(const GlobalOptions& g, const std::string& pipeline,
                        const std::string& out);

}  // namespace watershed::cli
