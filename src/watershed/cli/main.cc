// cli/main.cc — the `watershed` command: argument parsing (CLI11) and dispatch to the command
// functions of commands.h.
//
// Owns: every subcommand's flags, positionals and their help text; the quick-start footer of
// the top-level help; the "did you mean" answer to a mistyped subcommand. Exit codes: 0
// success, 1 the command failed (message on stderr), 2 bad usage (unknown subcommand, missing
// or malformed arguments: CLI11's usage errors are mapped to 2).
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "emulators/crunchbase/server.h"
#include "watershed/base/log.h"
#include "watershed/base/secret_refs.h"
#include "watershed/base/strings.h"
#include "watershed/cli/commands.h"
#include "watershed/cli/common.h"
#include "watershed/cli/output.h"
#include "watershed/net/secrets_manager.h"
#include "watershed/observe/lineage.h"
#include "watershed/observe/metrics.h"
#include "watershed/orchestrate/run_store.h"
#include "watershed/quality/checks.h"

namespace {

using watershed::Join;
using watershed::StartsWith;
using watershed::StrCat;

constexpr const char* kVersion = "0.1.0";

constexpr const char* kFooter = R"(
Quick start:
  watershed init myproject && cd myproject
  watershed load organizations.ndjson --table crunchbase.organizations
  watershed tables
  watershed query "SELECT count(*) FROM crunchbase.organizations"

Commands run inside a project folder (one with watershed.yml, found upwards from the
working directory) or take --project DIR. $WATERSHED_LAKE (s3://bucket/prefix) and
$WATERSHED_CATALOG (postgres://...) replace the project's storage.lake and storage.catalog.
Docs: README.md and docs/formats/.)";

// The deepest subcommand the command line selected (the app itself when none).
CLI::App* Selected(CLI::App& app) {
  CLI::App* level = &app;
  while (!level->get_subcommands().empty()) level = level->get_subcommands().front();
  return level;
}

// The command line as far as `level`: "watershed task".
std::string CommandPath(CLI::App* level) {
  std::string path;
  for (CLI::App* a = level; a != nullptr; a = a->get_parent()) {
    path =
        a->get_parent() == nullptr ? StrCat("watershed", path) : StrCat(" ", a->get_name(), path);
  }
  return path;
}

// A usage error. When the first word left over is not a subcommand where one was expected
// (`watershed tabels`), names the closest subcommand instead of CLI11's "A subcommand is
// required". Returns the exit code.
int UsageError(CLI::App& app, const CLI::ParseError& e) {
  CLI::App* level = Selected(app);
  const std::vector<std::string> extra = app.remaining(/*recurse=*/true);
  std::vector<std::string> names;
  for (CLI::App* sub : level->get_subcommands([](CLI::App*) { return true; })) {
    names.push_back(sub->get_name());
  }
  if (names.empty() || extra.empty() || StartsWith(extra.front(), "-")) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  const std::string& word = extra.front();
  const std::string path = CommandPath(level);
  std::cerr << "error: `" << path << "` has no subcommand `" << word << "`";
  const std::string closest = watershed::ClosestMatch(word, names);
  if (!closest.empty()) {
    std::cerr << "; did you mean `" << path << " " << closest << "`?\n";
  } else {
    std::cerr << " (subcommands: " << Join(names, ", ") << ")\n";
  }
  std::cerr << "Run `" << path << " --help` for what each does.\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace watershed;
  // Every file and folder Watershed creates is its owner's only (0600/0700): lake and mart files
  // hold the same data as the sources, the state files cursors and tokens. Other readers of the
  // lake reach it through the owner's engines (the SQL endpoint, S3 with IAM), not through
  // file modes. private_files.h sets state files exactly, also when they existed before.
  ::umask(077);
  // ${aws-secretsmanager:NAME[#KEY]} in watershed.yml and every YAML file (base/secret_refs.h).
  RegisterSecretScheme("aws-secretsmanager", [](std::string_view reference) {
    return net::SecretsManagerValue(reference);
  });
  // Gauges of modules above observe/ (it cannot include them): pipeline runs.
  observe::AddGaugeSource([](project::Project& project) {
    return orchestrate::RunMetrics(project.config().catalog_path);
  });
  CLI::App app{"Watershed — a data platform in one program: ingest, lake, catalog, SQL."};
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the subcommand
  app.set_version_flag("--version", kVersion);

  cli::GlobalOptions g;
  std::string log_format = "human";
  bool verbose = false;
  app.add_option("--project", g.project,
                 "Project folder (default: search upwards for watershed.yml)");
  app.add_option("--log-format", log_format, "Log lines on stderr: human or json")
      ->check(CLI::IsMember({"human", "json"}));
  app.add_flag("-v,--verbose", verbose, "Debug logging");
  app.add_flag("-q,--quiet", g.quiet, "No progress line");

  // init
  std::string init_dir, init_name;
  auto* init = app.add_subcommand("init", "Create a project: watershed.yml, models/, .gitignore");
  init->add_option("DIR", init_dir, "Folder to create the project in")->required();
  init->add_option("--name", init_name, "Project name (default: the folder's name)");

  // load
  cli::LoadCommand load;
  auto* load_cmd = app.add_subcommand(
      "load",
      "Normalize a file (NDJSON, JSON array/object, CSV; .gz/.zst; - for stdin) into a lake "
      "table and commit one snapshot");
  load_cmd->add_option("FILE", load.file, "Input file, or - for stdin")->required();
  load_cmd
      ->add_option("--table,-t", load.table,
                   "Target table NAMESPACE.NAME, e.g. crunchbase.organizations")
      ->required();
  load_cmd->add_option("--format", load.format, "auto (by extension/content), ndjson, json or csv")
      ->check(CLI::IsMember({"auto", "ndjson", "jsonl", "json", "csv"}));
  load_cmd
      ->add_option("--max-bad", load.max_bad,
                   "Bad records tolerated (quarantined in watershed.quarantine); more fails "
                   "the load and commits nothing")
      ->default_val(0);
  load_cmd->add_option("--threads", load.threads,
                       "Threads for writing Parquet (default: all cores)");
  load_cmd->add_flag("--force", load.force, "Load again even if this file was already loaded");
  load_cmd->add_option("--batch-mb", load.batch_mb,
                       "Normalized data buffered before Parquet files are written (default 48; "
                       "bounds memory)");
  load_cmd
      ->add_option("--contract", load.contract,
                   "Schema contract for this load: evolve, freeze or discard_row "
                   "(default: watershed.yml, else evolve)")
      ->check(CLI::IsMember({"evolve", "freeze", "discard_row"}));
  // Input limits (override watershed.yml `limits:`; 0 = unlimited; docs/formats/load.md).
  load_cmd->add_option("--max-record-mb", load.limits.max_record_mb, "Largest record in MiB (default 128)");
  load_cmd->add_option("--max-field-mb", load.limits.max_field_mb, "Largest field in MiB (default 64)");
  load_cmd->add_option("--max-columns", load.limits.max_columns,
                       "Most columns of a CSV file, and most columns plus child tables one table "
                       "gets from JSON records (default 1000)");
  load_cmd->add_option("--max-depth", load.limits.max_depth,
                       "Deepest nesting of objects and arrays in a JSON record (default 32)");
  load_cmd->add_option("--max-decompressed-mb", load.limits.max_decompressed_mb,
                       "Most decompressed MiB per file (default 65536)");
  load_cmd->add_option("--max-decompression-ratio", load.limits.max_decompression_ratio,
                       "Highest decompressed:compressed ratio past 64 MiB (default 200)");

  // tables / describe / query
  cli::ReadAt tables_at;
  std::string tables_format = "table";
  auto* tables =
      app.add_subcommand("tables", "List lake tables with rows, files and schema version");
  tables->add_option("--snapshot", tables_at.snapshot, "Read at this snapshot");
  tables->add_option("--as-of", tables_at.as_of, cli::kAsOfHelp);
  tables->add_option("--format", tables_format, "Output: table (default), csv or json")
      ->check(CLI::IsMember(cli::kOutputFormatNames));

  std::string describe_table;
  cli::ReadAt describe_at;
  auto* describe = app.add_subcommand(
      "describe", "Show a table's columns, schema versions, snapshots, files and statistics");
  describe
      ->add_option("TABLE", describe_table,
                   "The lake table, NAMESPACE.NAME (see `watershed tables`)")
      ->required();
  describe->add_option("--snapshot", describe_at.snapshot, "Read at this snapshot");
  describe->add_option("--as-of", describe_at.as_of, cli::kAsOfHelp);

  auto* iceberg = app.add_subcommand(
      "iceberg", "The lake's tables as Apache Iceberg v2 tables (docs/formats/iceberg.md)");
  iceberg->require_subcommand(1);
  std::string iceberg_table, iceberg_format = "table";
  cli::ReadAt iceberg_at;
  auto* iceberg_show = iceberg->add_subcommand(
      "show",
      "Print a table's Iceberg metadata location and the summary of the Iceberg "
      "snapshot a reader at --snapshot sees");
  iceberg_show
      ->add_option("TABLE", iceberg_table,
                   "The lake table, NAMESPACE.NAME (see `watershed tables`)")
      ->required();
  iceberg_show->add_option("--snapshot", iceberg_at.snapshot,
                           "The catalog snapshot (default latest); the Iceberg snapshot shown is "
                           "the table's newest at or before it");
  iceberg_show->add_option("--as-of", iceberg_at.as_of, cli::kAsOfHelp);
  iceberg_show->add_option("--format", iceberg_format, "Output: table (default) or json")
      ->check(CLI::IsMember({"table", "json"}));
  std::vector<std::string> register_tables;
  std::string register_format = "table";
  auto* iceberg_register = iceberg->add_subcommand(
      "register",
      "Register the lake's tables (all, or the ones named) in the catalogs of `catalogs:` in "
      "watershed.yml (Glue), or bring their entries up to date. Commits keep them current; "
      "this repairs after a failed update or registers tables written before the setting");
  iceberg_register->add_option("TABLE", register_tables,
                               "Lake tables, NAMESPACE.NAME (default: every table)");
  iceberg_register->add_option("--format", register_format, "Output: table (default) or json")
      ->check(CLI::IsMember({"table", "json"}));

  auto* access = app.add_subcommand(
      "access", "The access model of watershed.yml's access: section (docs/formats/access.md)");
  access->require_subcommand(1);
  std::string access_principal, access_resource, access_action, access_format = "table";
  auto* access_explain = access->add_subcommand(
      "explain",
      "Say whether PRINCIPAL may act on RESOURCE and which grant decides it (deny by default), "
      "with the principal's groups, masking and row filters");
  access_explain->add_option("PRINCIPAL", access_principal, "A user or service account")
      ->required();
  access_explain
      ->add_option("RESOURCE", access_resource,
                   "mart:<mart>.<table>, lake:<namespace>.<table>, stream:<name>, "
                   "pipeline:<name> or admin")
      ->required();
  access_explain
      ->add_option("--action", access_action,
                   "read, write, ingest, run or admin (default: ingest for a stream, run for a "
                   "pipeline, admin for admin, else read)")
      ->check(CLI::IsMember({"read", "write", "ingest", "run", "admin"}));
  access_explain->add_option("--format", access_format, "Output: table (default) or json")
      ->check(CLI::IsMember({"table", "json"}));

  cli::TokenCommand token;
  auto* token_cmd = app.add_subcommand(
      "token",
      "API tokens of the principals of access: (ws_<id>_<secret>; only a keyed hash is kept)");
  token_cmd->require_subcommand(1);
  auto* token_create = token_cmd->add_subcommand(
      "create", "Make a token for a user or service account and print it once (stdout)");
  token_create->add_option("--for", token.principal, "The principal (see access: in watershed.yml)")
      ->required();
  token_create->add_option("--expires", token.expires,
                           "Lifetime: 90d (default), 12h, ... or never");
  auto* token_list = token_cmd->add_subcommand(
      "list",
      "Every token: principal, created, expires, last used, revoked, state (never secrets)");
  token_list->add_option("--format", token.format, "Output: table (default), csv or json")
      ->check(CLI::IsMember({"table", "csv", "json"}));
  auto* token_rotate = token_cmd->add_subcommand(
      "rotate",
      "Make a new token for the same principal and keep the old one valid for --overlap only");
  token_rotate->add_option("ID", token.id, "The token's id (token list)")->required();
  token_rotate->add_option("--overlap", token.overlap,
                           "How long the old token still works (default 1d)");
  token_rotate
      ->add_option("--expires", token.expires,
                   "The new token's lifetime (default: the old one's, from now)")
      ->each([&](const std::string&) { token.expires_given = true; });
  auto* token_revoke = token_cmd->add_subcommand("revoke", "Stop a token from working at once");
  token_revoke->add_option("ID", token.id, "The token's id (token list)")->required();

  cli::QueryCommand query;
  auto* query_cmd = app.add_subcommand(
      "query", "Run SQL (DuckDB dialect) over lake tables, addressed as namespace.name");
  query_cmd
      ->add_option("SQL", query.sql,
                   "The query: one SELECT (DuckDB dialect for the lake and DuckDB marts)")
      ->required();
  query_cmd->add_option("--snapshot", query.at.snapshot, "Time travel: read this snapshot");
  query_cmd->add_option("--as-of", query.at.as_of, cli::kAsOfHelp);
  query_cmd->add_option("--format", query.format, "Output: table (default), csv or json")
      ->check(CLI::IsMember(cli::kOutputFormatNames));
  query_cmd->add_option("--max-rows", query.max_rows, "Rows shown in table format (default 1000)");
  query_cmd->add_option("--mart", query.mart,
                        "Query this mart (models by name; other marts as <mart>.<model>; lake "
                        "tables as namespace.name, as in a lake query). Read-only unless --write");
  query_cmd->add_flag("--write", query.write,
                      "With --mart: allow statements that change the mart (CREATE, INSERT, ...)");

  cli::BuildCommand build;
  auto* build_cmd = app.add_subcommand(
      "build",
      "Build the SQL models in models/<mart>/*.sql into their marts (marts/<mart>.duckdb)");
  build_cmd->add_option("--select", build.select,
                        "A mart, a model, +model (with its upstream) or model+ (with its "
                        "downstream); repeatable; default: everything");
  build_cmd->add_flag("--full-refresh", build.full_refresh,
                      "Rebuild incremental models from scratch");
  build_cmd->add_option("--threads", build.threads, "Models built at once (default 2)");

  std::vector<std::string> seed_select;
  auto* seed_cmd = app.add_subcommand(
      "seed", "Load the CSV files in seeds/ into their marts, so that models can ref() them");
  seed_cmd->add_option("--select", seed_select,
                       "A seed's name, mart.seed or a mart; repeatable; default: every seed");

  bool gc_dry_run = false;
  auto* gc = app.add_subcommand(
      "gc",
      "Remove orphan files: lake-written files no snapshot references, left by loads that never "
      "committed (other files are listed, never removed)");
  gc->add_flag("--dry-run", gc_dry_run, "Only list what would be removed");
  std::string gc_grace;
  gc->add_option("--grace", gc_grace,
                 "Keep orphans (and unfinished uploads) younger than this, e.g. 30m, 2h; default "
                 "1h for an S3 lake (another machine's commit may be in flight), 0s for a local one");

  std::string migrate_catalog, migrate_lake;
  auto* migrate = app.add_subcommand(
      "migrate",
      "Move the project to a shared catalog and/or lake: copy its catalog (snapshots, runs, "
      "metrics, lineage, check results) into an empty PostgreSQL database and its lake files "
      "to S3, then print what to set in watershed.yml");
  migrate->add_option("--to-catalog", migrate_catalog,
                      "postgres://USER[:PASSWORD]@HOST:5432/DB (an empty database)");
  migrate->add_option("--to-lake", migrate_lake,
                      "s3://BUCKET/PREFIX (reached with storage.s3 of watershed.yml and the AWS "
                      "credential chain); files already there are skipped, so it resumes");

  std::string docs_out;
  auto* docs = app.add_subcommand(
      "docs", "Write a browsable HTML page of the marts: models, columns, dependencies, SQL");
  docs->add_option("--out", docs_out, "Output file (default: <project>/docs/index.html)");

  cli::RunCommand run;
  auto* run_cmd = app.add_subcommand(
      "run", "Run a pipeline of watershed.yml once (tasks as a DAG: retries, timeouts, parallel)");
  run_cmd->add_option("PIPELINE", run.pipeline,
                      "A pipeline of watershed.yml (`pipelines:`); optional with --resume");
  run_cmd->add_option("--date", run.date, "Logical date YYYY-MM-DD (default: today, UTC)");
  run_cmd->add_option("--resume", run.resume,
                      "Rerun only the tasks of RUN_ID that did not succeed");
  auto* backfill =
      app.add_subcommand("backfill",
                         "Run a pipeline once per interval from --from to --to: once per day, or "
                         "at each time of its schedule (the scheduler's interval identities)");
  backfill->add_option("PIPELINE", run.pipeline, "A pipeline of watershed.yml (`pipelines:`)")
      ->required();
  backfill->add_option("--from", run.from, "First logical date, YYYY-MM-DD")->required();
  backfill->add_option("--to", run.to, "Last logical date, YYYY-MM-DD (included)")->required();
  backfill
      ->add_option("--parallel", run.parallel,
                   "Days run at once (default 1); days that succeeded before are skipped")
      ->check(CLI::PositiveNumber);
  bool sched_once = false;
  std::string sched_until;
  auto* scheduler = app.add_subcommand(
      "scheduler", "Run scheduled pipelines at their times, catching up missed intervals");
  scheduler->add_flag("--once", sched_once, "Run what is due now, then exit");
  scheduler->add_option("--until", sched_until, "Treat this UTC time as now (tests, catch-up)");
  std::string task_pipeline, task_name, task_date;
  auto* task_cmd = app.add_subcommand("task", "One task of a pipeline");
  auto* task_run = task_cmd->add_subcommand(
      "run",
      "Run one task now (what `watershed run` and external orchestrators call); exit 75 = "
      "transient failure");
  task_cmd->require_subcommand(1);
  task_run->add_option("PIPELINE", task_pipeline, "A pipeline of watershed.yml (`pipelines:`)")
      ->required();
  task_run->add_option("TASK", task_name, "One of the pipeline's tasks (`tasks:`)")->required();
  task_run->add_option("--date", task_date, "Logical date YYYY-MM-DD");
  std::string runs_show;
  auto* runs =
      app.add_subcommand("runs", "Pipeline run history; `runs show RUN_ID` for attempts and logs");
  auto* runs_show_cmd = runs->add_subcommand("show", "A run's task attempts and their logs");
  runs_show_cmd->add_option("RUN_ID", runs_show, "A run id, as `watershed runs` lists them")
      ->required();
  std::string export_pipeline, export_out;
  auto* export_cmd = app.add_subcommand("export", "Export to other tools");
  auto* airflow = export_cmd->add_subcommand("airflow", "Write an Airflow DAG file for a pipeline");
  export_cmd->require_subcommand(1);
  airflow->add_option("PIPELINE", export_pipeline, "A pipeline of watershed.yml (`pipelines:`)")
      ->required();
  airflow->add_option("--out", export_out, "Output file (default: <project>/airflow/PIPELINE.py)");

  bool audit_verify = false;
  auto* audit = app.add_subcommand("audit", "The audit log of commands (hash-chained)");
  auto* audit_verify_cmd = audit->add_subcommand(
      "verify", "Check the hash chain; names the first edited, inserted or removed entry");

  cli::CheckCommandOptions check;
  auto* check_cmd = app.add_subcommand(
      "check",
      "Run the data quality checks declared under `checks:` in watershed.yml and print a results "
      "table; fails when a check of severity error fails (failing rows go to quality.quarantine)");
  check_cmd->add_option("TABLE", check.table,
                        "A table, model or namespace/mart prefix (default: every check)");
  check_cmd->add_flag("--all", check.all, "Run every check");
  check_cmd->add_option("--sample", check.sample_rows,
                        "Failing rows kept per check in quality.quarantine (default 100)");
  check_cmd->add_option("--format", check.format, "Output: table (default) or json")
      ->check(CLI::IsMember({"table", "json"}));

  std::string lineage_node, lineage_format = "tree";
  bool lineage_up = false, lineage_down = false;
  observe::TraceOptions lineage;
  auto* lineage_cmd = app.add_subcommand(
      "lineage",
      "Column lineage: where NODE comes from (--upstream, the default) or what it feeds "
      "(--downstream). NODE is mart.model.column, ns.table.column, a dataset, or "
      "json:<table>:$.path");
  lineage_cmd
      ->add_option("NODE", lineage_node,
                   "A column (mart.model.column, ns.table.column), a dataset (mart.model, "
                   "ns.table) or json:<table>:$.path; e.g. "
                   "finance.fact_funding_round.amount_usd")
      ->required();
  lineage_cmd->add_flag("--upstream", lineage_up, "Trace to the sources (default)");
  lineage_cmd->add_flag("--downstream", lineage_down, "Trace to everything it feeds");
  lineage_cmd->add_option("--depth", lineage.depth, "Levels to follow (default 0 = all)");
  lineage_cmd->add_flag("--indirect", lineage.indirect, "Also follow joins, filters and grouping");
  lineage_cmd->add_option("--format", lineage_format, "Output: tree (default) or json")
      ->check(CLI::IsMember({"tree", "json"}));

  std::string metrics_format = "table", metrics_push;
  auto* metrics_cmd = app.add_subcommand(
      "metrics",
      "Metrics of every task and layer (records, bytes, durations, API requests and retries, "
      "stream lag, checks), as recorded in the catalog; --push cloudwatch sends what is new");
  metrics_cmd->add_option("--format", metrics_format, "Output: table (default), prometheus or json")
      ->check(CLI::IsMember({"table", "prometheus", "json"}));
  metrics_cmd->add_option("--push", metrics_push,
                          "cloudwatch: PutMetricData the points since the last push (settings: "
                          "metrics.cloudwatch in watershed.yml, AWS_* environment)");

  std::string alarms_format = "table";
  bool alarms_evaluate = false;
  auto* alarms_cmd = app.add_subcommand("alarms", "The alarms of watershed.yml and their state");
  alarms_cmd->add_option("--format", alarms_format, "Output: table (default) or json")
      ->check(CLI::IsMember({"table", "json"}));
  alarms_cmd->add_flag("--evaluate", alarms_evaluate,
                       "Evaluate now (state changes go to the log, webhook and audit log)");

  cli::ServeCommand serve;
  auto* serve_cmd = app.add_subcommand(
      "serve",
      "HTTP API: POST /v1/streams/{stream}/events (NDJSON or a JSON array; Authorization: Bearer "
      "$WATERSHED_TOKEN; acknowledged once durable), GET /v1/streams, GET /metrics, and the "
      "read-only Iceberg REST catalog at /iceberg (same token; docs/formats/iceberg.md). Runs "
      "every stream's lake writer and real-time mart until Ctrl-C");
  serve_cmd->add_option("--port", serve.port, "Port (default 8080; 0 = a free one, printed)");
  serve_cmd->add_option("--host", serve.host, "Address to listen on (default 127.0.0.1)");
  serve_cmd->add_option("--threads", serve.threads, "HTTP worker threads (default 8)");
  serve_cmd->add_option("--tls-cert", serve.tls_cert,
                        "Serve HTTPS with this PEM certificate (then any intermediates)");
  serve_cmd->add_option("--tls-key", serve.tls_key, "The certificate's PEM private key (0600)");
  serve_cmd
      ->add_option("--tls", serve.tls,
                   "self-signed: HTTPS with a certificate made and kept in .watershed/tls/ "
                   "(trials; prints its SHA-256 fingerprint)")
      ->check(CLI::IsMember({"self-signed"}));
  serve_cmd->add_flag("--insecure-listen", serve.insecure_listen,
                      "Allow plain HTTP on an address beyond loopback (a proxy in front "
                      "terminates TLS); without TLS only loopback is served");

  std::string streams_format = "table";
  auto* streams_cmd = app.add_subcommand(
      "streams", "Each stream's source, log and lake offsets, lag and throughput");
  streams_cmd->add_option("--format", streams_format, "Output: table (default), csv or json")
      ->check(CLI::IsMember(cli::kOutputFormatNames));

  cli::CrunchbaseCommand cb;
  auto* crunchbase = app.add_subcommand(
      "crunchbase",
      "Unload the Crunchbase API v4 into the lake (--mode full: search whole collections, "
      "incremental on later runs; --mode specific: given organizations with their cards)");
  crunchbase->add_option("--mode", cb.mode, "full or specific (default: watershed.yml, else full)")
      ->check(CLI::IsMember({"full", "specific"}));
  crunchbase->add_option("--org", cb.orgs,
                         "specific mode: an organization's permalink, uuid or name (repeatable)");
  crunchbase->add_option("--cards", cb.cards,
                         "specific mode: comma-separated cards (default: raised_funding_rounds,"
                         "investors,founders,headquarters_address,participated_investments,"
                         "acquiree_acquisitions)");
  crunchbase->add_option("--collections", cb.collections,
                         "full mode: comma-separated collections (default: organizations; also "
                         "people,funding_rounds,investments,acquisitions)");
  crunchbase->add_option(
      "--base-url", cb.base_url,
      "API base URL, .../api/v4 or .../v4/data (default: CRUNCHBASE_BASE_URL, "
      "watershed.yml, else the real API). The key comes from CRUNCHBASE_API_KEY");
  crunchbase->add_option("--rate-limit", cb.rate_limit,
                         "Client-side budget in requests per minute (default 200; 0 = off)");
  crunchbase->add_option("--page-size", cb.page_size,
                         "Search page size (default 1000, the maximum)");
  crunchbase->add_option("--commit-every", cb.commit_every,
                         "Commit (with the cursor) every N search pages (default 10)");
  crunchbase->add_option("--max-pages", cb.max_pages, "Stop after N search pages (trial runs)");
  crunchbase->add_option("--threads", cb.threads, "Threads for writing Parquet");

  emulators::crunchbase::EmulatorOptions emu;
  std::string unlicensed;
  auto* emulator = app.add_subcommand(
      "crunchbase-emulator",
      "Serve a local emulator of the Crunchbase API v4 (deterministic data, faults on demand) "
      "for demos and tests; point `watershed crunchbase --base-url` at it");
  emulator->add_option("--port", emu.port, "Port (default: a free one, printed)");
  emulator->add_option("--host", emu.host, "Address to listen on (default 127.0.0.1)");
  emulator->add_option("--orgs", emu.num_orgs, "Organizations to generate (default 1000)");
  emulator->add_option("--seed", emu.seed, "Seed of the generated data (default 1)");
  emulator->add_option("--key", emu.api_key,
                       "The API key clients must send in X-cb-user-key (default emulator-key)");
  emulator->add_option("--rate-limit", emu.rate_limit_per_minute,
                       "Answer 429 beyond N requests per minute per key (default off)");
  emulator->add_option("--fault-rate", emu.fault_rate,
                       "Fraction of requests answered with 500/503, truncated bodies or dropped "
                       "connections (default 0)");
  emulator->add_option("--slow-ms", emu.slow_ms, "Delay every answer by N ms");
  emulator->add_option("--replay", emu.replay_dir,
                       "Serve recorded responses from DIR instead (fixtures format)");
  emulator->add_option("--unlicensed-fields", unlicensed,
                       "Comma-separated field_ids answered with 400 MD403");

  // Only the top-level help ends with the quick start (subcommands copy a footer set earlier).
  app.footer(kFooter);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return UsageError(app, e);
  }

  InitLogging(log_format == "json" ? LogFormat::kJson : LogFormat::kHuman,
              verbose ? spdlog::level::debug : spdlog::level::info);

  Status status;
  if (*init) {
    status = cli::RunInit(init_dir, init_name);
  } else if (*load_cmd) {
    status = cli::RunLoad(g, load);
  } else if (*tables) {
    status = cli::RunTables(g, tables_at, tables_format);
  } else if (*describe) {
    status = cli::RunDescribe(g, describe_table, describe_at);
  } else if (*iceberg_show) {
    status = cli::RunIcebergShow(g, iceberg_table, iceberg_at, iceberg_format);
  } else if (*token_create || *token_list || *token_rotate || *token_revoke) {
    token.verb = *token_create   ? "create"
                 : *token_list   ? "list"
                 : *token_rotate ? "rotate"
                                 : "revoke";
    status = cli::RunToken(g, token);
  } else if (*access_explain) {
    status =
        cli::RunAccessExplain(g, access_principal, access_resource, access_action, access_format);
  } else if (*iceberg_register) {
    status = cli::RunIcebergRegister(g, register_tables, register_format);
  } else if (*query_cmd) {
    status = cli::RunQuery(g, query);
  } else if (*gc) {
    status = cli::RunGc(g, gc_dry_run, gc_grace);
  } else if (*migrate) {
    status = cli::RunMigrate(g, migrate_catalog, migrate_lake);
  } else if (*run_cmd) {
    if (run.pipeline.empty() && run.resume.empty()) {
      std::cerr << "error: name a PIPELINE, or --resume RUN_ID\n";
      return 2;
    }
    status = cli::RunPipeline(g, run);
  } else if (*scheduler) {
    status = cli::RunSchedulerCommand(g, sched_once, sched_until);
  } else if (*backfill) {
    status = cli::RunBackfill(g, run);
  } else if (*task_cmd) {
    return cli::RunTaskCommand(g, task_pipeline, task_name, task_date);
  } else if (*runs) {
    status = cli::RunRuns(g, runs_show);
  } else if (*export_cmd) {
    status = cli::RunExportAirflow(g, export_pipeline, export_out);
  } else if (*audit) {
    audit_verify = audit_verify_cmd->parsed();
    status = cli::RunAudit(g, audit_verify);
  } else if (*docs) {
    status = cli::RunDocs(g, docs_out);
  } else if (*build_cmd) {
    status = cli::RunBuild(g, build);
  } else if (*seed_cmd) {
    status = cli::RunSeed(g, seed_select);
  } else if (*lineage_cmd) {
    if (lineage_up && lineage_down) {
      std::cerr << "error: choose --upstream or --downstream, not both\n";
      return 2;
    }
    lineage.direction =
        lineage_down ? observe::Direction::kDownstream : observe::Direction::kUpstream;
    status = cli::RunLineage(g, lineage_node, lineage, lineage_format);
  } else if (*metrics_cmd) {
    status = cli::RunMetrics(g, metrics_format, metrics_push);
  } else if (*alarms_cmd) {
    status = cli::RunAlarms(g, alarms_format, alarms_evaluate);
  } else if (*check_cmd) {
    status = cli::RunCheck(g, check);
  } else if (*serve_cmd) {
    status = cli::RunServe(g, serve);
  } else if (*streams_cmd) {
    status = cli::RunStreams(g, streams_format);
  } else if (*crunchbase) {
    status = cli::RunCrunchbase(g, cb);
  } else if (*emulator) {
    emu.unlicensed_fields = cli::SplitList(unlicensed);
    status = emulators::crunchbase::Serve(emu);
  }
  if (!*audit) cli::AuditCommand(g, argc, argv, status);
  if (!status.ok()) {
    std::cerr << "error: " << RedactSecrets(MessageOf(status)) << "\n";
    return 1;
  }
  return 0;
}
