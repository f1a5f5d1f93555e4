// transform/runner.cc — see runner.h.
#include "watershed/transform/runner.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <set>

#include "watershed/base/log.h"
#include "watershed/base/metrics.h"
#include "watershed/base/private_files.h"
#include "watershed/lake/reader.h"
#include "watershed/observe/metrics.h"
#include "watershed/normalize/naming.h"
#include "watershed/project/sql_sandbox.h"
#include "watershed/quality/checks.h"
#include "watershed/transform/graph.h"
#include "watershed/transform/model_lineage.h"
#include "watershed/transform/realtime.h"
#include "watershed/warehouse/postgres/postgres.h"

namespace watershed::transform {
namespace {

namespace fs = std::filesystem;
using warehouse::QuoteIdent;
using warehouse::QuoteLiteral;

std::vector<std::string> MartNames(project::Project& project) {
  std::set<std::string> marts;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(project.root()) / "models", ec)) {
    if (e.is_directory()) marts.insert(e.path().filename().string());
  }
  return {marts.begin(), marts.end()};
}

// Where a mart's models run: the build's DuckDB or a PostgreSQL/Redshift database. One per
// thread; the SQL that differs between them is chosen here.
class Engine {
 public:
  virtual ~Engine() = default;
  virtual Status Execute(const std::string& sql) = 0;
  virtual StatusOr<int64_t> Count(const std::string& sql) = 0;  // first column of the first row
  virtual bool postgres() const = 0;
  // What the model's relation is now: nothing, a view, a table, or a snapshot's table (one with
  // the SCD2 columns). Switching materialization replaces one with the other.
  enum class Existing { kNone = 0, kView = 1, kTable = 2, kSnapshot = 3 };
  Existing KindOf(const Model& m) {
    const std::string where =
        postgres() ? StrCat("table_schema = ", QuoteLiteral(m.mart))
                   : StrCat("table_catalog = ", QuoteLiteral(m.mart), " AND table_schema = 'main'");
    auto kind = Count(StrCat("SELECT coalesce(max(CASE WHEN table_type = 'VIEW' THEN 1 ELSE 2 END)"
                             ", 0) FROM information_schema.tables WHERE ", where,
                             " AND table_name = ", QuoteLiteral(m.name)));
    if (!kind.ok() || *kind == 0) return Existing::kNone;
    if (*kind == 1) return Existing::kView;
    auto scd = Count(StrCat("SELECT count(*) FROM information_schema.columns WHERE ", where,
                            " AND table_name = ", QuoteLiteral(m.name), " AND column_name IN ("
                            "'valid_from', 'valid_to', 'is_current', ",
                            QuoteLiteral(normalize::kHashdiffColumn), ")"));
    return scd.ok() && *scd == 4 ? Existing::kSnapshot : Existing::kTable;
  }
  // The statement that removes what `target` is now (empty when nothing is there).
  std::string DropStatement(Existing kind, const std::string& target) {
    if (kind == Existing::kNone) return "";
    return StrCat(kind == Existing::kView ? "DROP VIEW IF EXISTS " : "DROP TABLE IF EXISTS ",
                  target, postgres() ? " CASCADE; " : "; ");
  }
};

class DuckEngine : public Engine {
 public:
  explicit DuckEngine(std::unique_ptr<warehouse::Connection> c) : c_(std::move(c)) {}
  Status Execute(const std::string& sql) override {
    Status s = c_->Execute(sql);
    if (!s.ok()) c_->Execute("ROLLBACK").IgnoreError();
    return s;
  }
  StatusOr<int64_t> Count(const std::string& sql) override {
    WS_ASSIGN_OR_RETURN(auto r, c_->Query(sql));
    return r.GetInt64(0, 0);
  }
  bool postgres() const override { return false; }

 private:
  std::unique_ptr<warehouse::Connection> c_;
};

class PgEngine : public Engine {
 public:
  explicit PgEngine(std::unique_ptr<warehouse::postgres::PgConnection> c) : c_(std::move(c)) {}
  Status Execute(const std::string& sql) override { return c_->Execute(sql); }
  StatusOr<int64_t> Count(const std::string& sql) override {
    WS_ASSIGN_OR_RETURN(auto r, c_->Query(sql));
    return std::stoll(r.GetString(0, 0));
  }
  bool postgres() const override { return true; }

 private:
  std::unique_ptr<warehouse::postgres::PgConnection> c_;
};

// SCD type 2: every version of a row, with valid_from, valid_to (NULL while current) and
// is_current. A changed row closes its current version and opens a new one; a key that is gone
// from the source has its current version closed (a hard delete). Strategy `timestamp`: a row
// changed when its updated_at column grew, and versions are stamped with updated_at; strategy
// `check`: a row changed when a hash of check_cols changed, stamped with the build's time.
Status RunSnapshot(Engine& e, const Model& m, const std::string& target, const std::string& sql,
                   Engine::Existing existing) {
  const std::string key = QuoteIdent(m.config.at("unique_key"));
  const bool by_time = !m.config.contains("strategy") || m.config.at("strategy") == "timestamp";
  WS_RETURN_IF_ERROR(e.Execute(StrCat("DROP TABLE IF EXISTS ws_src; CREATE TEMP TABLE ws_src AS ", sql)));
  std::string hash = "NULL";
  if (!by_time) {
    std::vector<std::string> cols;
    if (m.config.at("check_cols") == "all") {
      return absl::UnimplementedError(
          StrCat(m.path, ": check_cols='all' is resolved by the dimension builder; list columns"));
    }
    std::string list = m.config.at("check_cols");
    for (size_t start = 0; start <= list.size();) {
      size_t comma = list.find(',', start);
      if (comma == std::string::npos) comma = list.size();
      std::string c = list.substr(start, comma - start);
      c.erase(0, c.find_first_not_of(' '));
      c.erase(c.find_last_not_of(' ') + 1);
      if (!c.empty()) cols.push_back(c);
      start = comma + 1;
    }
    hash = "md5(concat_ws('||'";
    for (const auto& c : cols) hash += StrCat(", coalesce(CAST(", QuoteIdent(c), " AS VARCHAR), '')");
    hash += "))";
  }
  const std::string stamp =
      by_time ? StrCat("CAST(s.", QuoteIdent(m.config.at("updated_at")), " AS TIMESTAMP)")
              : "CAST(current_timestamp AS TIMESTAMP)";
  if (existing != Engine::Existing::kSnapshot) {  // first build, or switched from view/table
    return e.Execute(StrCat("BEGIN; ", e.DropStatement(existing, target), "CREATE TABLE ", target,
                            " AS SELECT s.*, ", hash, " AS ", normalize::kHashdiffColumn, ", ",
                            stamp, " AS valid_from, CAST(NULL AS TIMESTAMP) AS valid_to, true AS "
                            "is_current FROM ws_src s; COMMIT"));
  }
  const std::string changed =
      by_time ? StrCat("s.", QuoteIdent(m.config.at("updated_at")), " > t.",
                       QuoteIdent(m.config.at("updated_at")))
              : StrCat("t.", normalize::kHashdiffColumn, " IS DISTINCT FROM (SELECT ", hash,
                       " FROM ws_src s2 WHERE s2.", key, " = s.", key, ")");
  return e.Execute(StrCat(
      "BEGIN; ",
      // Versions that changed are closed...
      "UPDATE ", target, " AS t SET valid_to = ", stamp, ", is_current = false FROM ws_src s "
      "WHERE t.is_current AND t.", key, " = s.", key, " AND ", changed, "; ",
      // ...keys gone from the source are closed (hard deletes)...
      "UPDATE ", target, " AS t SET valid_to = CAST(current_timestamp AS TIMESTAMP), "
      "is_current = false WHERE t.is_current AND NOT EXISTS (SELECT 1 FROM ws_src s WHERE s.",
      key, " = t.", key, "); ",
      // ...and new and changed keys get a current version.
      "INSERT INTO ", target, " SELECT s.*, ", hash, ", ", stamp, ", NULL, true FROM ws_src s "
      "WHERE NOT EXISTS (SELECT 1 FROM ", target, " t WHERE t.", key, " = s.", key,
      " AND t.is_current); COMMIT"));
}

// Replaces `target` with the result of `sql` so that readers see the old or the new table, never
// half of one. `suffix` carries Redshift's DISTKEY/SORTKEY.
// `existing` is what `target` is now: a view (a model switched to a table) is dropped in the
// same transaction.
Status ReplaceTable(Engine& e, const Model& m, const std::string& target, const std::string& sql,
                    const std::string& suffix, Engine::Existing existing) {
  if (!e.postgres()) {
    if (existing != Engine::Existing::kView) {
      return e.Execute(StrCat("CREATE OR REPLACE TABLE ", target, " AS ", sql));
    }
    return e.Execute(StrCat("BEGIN; DROP VIEW IF EXISTS ", target, "; CREATE TABLE ", target,
                            " AS ", sql, "; COMMIT"));
  }
  const std::string fresh = StrCat(QuoteIdent(m.mart), ".", QuoteIdent(m.name + "__new"));
  return e.Execute(StrCat("DROP TABLE IF EXISTS ", fresh, "; CREATE TABLE ", fresh, suffix,
                          " AS ", sql, "; BEGIN; ", e.DropStatement(existing, target),
                          "ALTER TABLE ", fresh, " RENAME TO ", QuoteIdent(m.name), "; COMMIT"));
}

ModelResult RunModel(Engine& e, const Model& m, bool full_refresh, bool redshift) {
  const auto start = std::chrono::steady_clock::now();
  ModelResult r{m.id(), m.materialized(), "ok", "", 0, 0};
  const std::string target = StrCat(QuoteIdent(m.mart), ".", QuoteIdent(m.name));
  // is_incremental(): an incremental model whose table exists, outside a full refresh.
  // (the same rule as the merge below: a table is there to merge into)
  const bool incremental_run = r.materialized == "incremental" && !full_refresh &&
                               e.KindOf(m) == Engine::Existing::kTable;
  const std::string sql = Compile(m, e.postgres() ? "" : "\"memory\".", incremental_run);
  for (const std::string& seed : m.seeds) {  // refs to seeds: loaded by `watershed seed`
    Model table;
    table.mart = seed.substr(0, seed.find('.'));
    table.name = seed.substr(seed.find('.') + 1);
    if (e.KindOf(table) == Engine::Existing::kNone) {
      r.status = "error";
      r.message = StrCat(m.path, ": refs seed '", table.name, "', which is not loaded into mart ",
                         table.mart, ": run `watershed seed` first");
      return r;
    }
  }
  std::string suffix;
  if (redshift) {
    std::vector<std::string> sort;
    if (m.config.contains("sort_keys")) sort.push_back(m.config.at("sort_keys"));
    suffix = warehouse::postgres::RedshiftTableSuffix(
        m.config.contains("dist_key") ? m.config.at("dist_key") : "", sort);
  }
  // A model may switch materialization between builds: what is there now decides how it goes.
  const Engine::Existing existing = e.KindOf(m);
  Status s;
  if (r.materialized == "view") {
    s = existing == Engine::Existing::kView || existing == Engine::Existing::kNone
            ? (e.postgres() ? e.Execute(StrCat("BEGIN; DROP VIEW IF EXISTS ", target,
                                               " CASCADE; CREATE VIEW ", target, " AS ", sql,
                                               "; COMMIT"))
                            : e.Execute(StrCat("CREATE OR REPLACE VIEW ", target, " AS ", sql)))
            : e.Execute(StrCat("BEGIN; ", e.DropStatement(existing, target), "CREATE VIEW ",
                               target, " AS ", sql, "; COMMIT"));
  } else if (r.materialized == "table") {
    s = ReplaceTable(e, m, target, sql, suffix, existing);
  } else if (r.materialized == "snapshot") {
    s = RunSnapshot(e, m, target, sql, existing);
  } else {  // incremental
    const bool append = m.config.contains("incremental_strategy") &&
                        m.config.at("incremental_strategy") == "append_new";
    const std::string key = QuoteIdent(m.config.at("unique_key"));
    // With a lookback, an incremental run only takes rows whose incremental_column is within
    // `lookback` of the newest value already in the table (late rows inside the window merge).
    std::string inc_sql = sql;
    if (m.config.contains("incremental_column") && m.config.contains("lookback")) {
      const std::string col = QuoteIdent(m.config.at("incremental_column"));
      inc_sql = StrCat("SELECT * FROM (", sql, ") ws_inc WHERE ws_inc.", col, " >= (SELECT max(",
                       col, ") FROM ", target, ") - INTERVAL ", QuoteLiteral(m.config.at("lookback")),
                       " OR (SELECT max(", col, ") FROM ", target, ") IS NULL");
    }
    // A view or a snapshot's table (other columns) is not a table to merge into: rebuild.
    if (full_refresh || existing != Engine::Existing::kTable) {
      s = ReplaceTable(e, m, target, sql, suffix, existing);
    } else if (append) {  // insert-only: rows whose key is new
      s = e.Execute(StrCat("INSERT INTO ", target, " SELECT * FROM (", inc_sql,
                           ") n WHERE NOT EXISTS (SELECT 1 FROM ", target, " t WHERE t.", key,
                           " = n.", key, ")"));
    } else {  // merge: the new rows replace those with the same key, in one transaction
      s = e.Execute(StrCat("DROP TABLE IF EXISTS ws_new; CREATE TEMP TABLE ws_new AS ", inc_sql,
                           "; BEGIN; DELETE FROM ", target, " WHERE ", key, " IN (SELECT ", key,
                           " FROM ws_new); INSERT INTO ", target, " SELECT * FROM ws_new; "
                           "COMMIT; DROP TABLE ws_new"));
    }
  }
  if (s.ok()) {
    auto count = e.Count(StrCat("SELECT count(*) FROM ", target));
    if (count.ok()) r.rows = *count;
    else s = count.status();
  }
  if (!s.ok()) {
    r.status = "error";
    r.message = StrCat(m.path, ": ", MessageOf(s));
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

// ---- publishing gated by checks ----------------------------------------------------------

std::string MartOf(const std::string& name) { return name.substr(0, name.find('.')); }

// DuckDB marts built in a copy (`marts/.staging/<mart>.<pid>.duckdb`) and published by renaming
// it over `marts/<mart>.duckdb` once their checks pass. Holds `marts/.staging/<mart>.lock`
// (flock) for the build, so two builds never stage the same mart; whatever was not published
// is deleted when this goes away.
struct MartStaging {
  std::map<std::string, std::string> files;  // mart -> staging copy
  std::vector<int> locks;
  MartStaging() = default;
  MartStaging(const MartStaging&) = delete;
  MartStaging& operator=(const MartStaging&) = delete;
  ~MartStaging() {
    std::error_code ec;
    for (const auto& [mart, file] : files) {
      fs::remove(file, ec);
      fs::remove(file + ".wal", ec);
    }
    for (int fd : locks) close(fd);
  }
};

StatusOr<std::unique_ptr<MartStaging>> StageGatedMarts(
    project::Project& project, const Graph& graph, const std::vector<int>& selected,
    const std::map<std::string, MartTarget>& targets, const std::vector<quality::Check>& checks) {
  auto staging = std::make_unique<MartStaging>();
  auto duckdb_mart = [&](const std::string& mart) {
    auto it = targets.find(mart);
    return it != targets.end() && it->second.type == "duckdb";
  };
  std::set<std::string> built, gated;
  for (int v : selected) built.insert(graph.models[v].mart);
  for (const quality::Check& c : checks) {
    const std::string mart = MartOf(c.table);
    if (c.severity == quality::Severity::kError && built.contains(mart) && duckdb_mart(mart)) {
      gated.insert(mart);
    }
  }
  // A mart whose models read a gated mart is gated too: it must not publish what it built from
  // a mart that may not be published.
  for (bool grew = !gated.empty(); grew;) {
    grew = false;
    for (int v : selected) {
      const Model& m = graph.models[v];
      if (gated.contains(m.mart) || !duckdb_mart(m.mart)) continue;
      for (const std::string& ref : m.refs) {
        if (gated.contains(MartOf(ref))) {
          gated.insert(m.mart);
          grew = true;
          break;
        }
      }
    }
  }
  if (gated.empty()) return staging;
  const fs::path marts = fs::path(project.root()) / "marts";
  const fs::path dir = marts / ".staging";
  std::error_code ec;
  fs::create_directories(marts, ec);  // a data folder (the CLI's umask 077)
  for (const std::string& mart : gated) {
    // The lock and its folder are state: owner-only (0600 / 0700).
    const std::string lock = (dir / (mart + ".lock")).string();
    WS_ASSIGN_OR_RETURN(const int fd, OpenPrivateFile(lock, O_RDWR));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      close(fd);
      return absl::UnavailableError(
          StrCat("mart ", mart, " is being built by another process (", lock, " is locked)"));
    }
    staging->locks.push_back(fd);
    // Copies left by builds that died are stale: this process holds the mart's lock.
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      const std::string name = e.path().filename().string();
      if (name.starts_with(mart + ".") && name != mart + ".lock") fs::remove(e.path(), ec);
    }
    const fs::path final_file = marts / (mart + ".duckdb");
    const std::string copy = (dir / StrCat(mart, ".", getpid(), ".duckdb")).string();
    if (fs::exists(final_file)) {
      if (fs::exists(final_file.string() + ".wal")) {  // fold the log in, so the copy is whole
        WS_ASSIGN_OR_RETURN(auto db, warehouse::Database::Open(final_file.string()));
        WS_ASSIGN_OR_RETURN(auto conn, db->Connect());
        WS_RETURN_IF_ERROR(
            Annotate(conn->Execute("CHECKPOINT"), StrCat("checkpointing ", final_file.string())));
      }
      fs::copy_file(final_file, copy, fs::copy_options::overwrite_existing, ec);
      if (ec) {
        return absl::UnavailableError(
            StrCat("cannot copy ", final_file.string(), " to ", copy, ": ", ec.message()));
      }
    }
    staging->files[mart] = copy;
  }
  return staging;
}

// Runs the checks of every staged mart on the build's connection (which sees the copies under
// the marts' names), then publishes the marts whose error checks passed and whose refs were
// published; the models of the others become errors.
Status PublishStaged(project::Project& project, warehouse::Connection& conn, const Graph& graph,
                     const std::vector<int>& selected, MartStaging& staging,
                     const std::vector<quality::Check>& checks, std::vector<ModelResult>& results) {
  std::map<std::string, std::string> blocked;  // mart -> why it is not published
  for (const auto& [mart, file] : staging.files) {
    std::vector<quality::Check> mine;
    for (const quality::Check& c : checks) {
      if (MartOf(c.table) == mart) mine.push_back(c);
    }
    if (mine.empty()) continue;
    quality::CheckSelection options;
    options.context = "build";
    auto report = quality::RunChecksOn(project, conn, mine, options);
    if (!report.ok()) {
      blocked[mart] = StrCat("its checks could not run: ", MessageOf(report.status()));
      continue;
    }
    std::vector<std::string> failed;
    for (const quality::CheckResult& r : report->results) {
      if (r.blocking()) failed.push_back(StrCat(r.check, " (", r.status, ": ", r.message, ")"));
    }
    if (failed.empty()) continue;
    std::string why = "error check(s) failed: ";
    for (size_t i = 0; i < failed.size(); ++i) why += (i ? "; " : "") + failed[i];
    blocked[mart] = why;
  }
  for (bool grew = !blocked.empty(); grew;) {
    grew = false;
    for (int v : selected) {
      const Model& m = graph.models[v];
      if (blocked.contains(m.mart) || !staging.files.contains(m.mart)) continue;
      for (const std::string& ref : m.refs) {
        if (blocked.contains(MartOf(ref))) {
          blocked[m.mart] =
              StrCat(m.id(), " refs ", ref, " of mart ", MartOf(ref), ", which was not published");
          grew = true;
          break;
        }
      }
    }
  }
  const fs::path marts = fs::path(project.root()) / "marts";
  for (const auto& [mart, file] : staging.files) {
    WS_RETURN_IF_ERROR(
        conn.Execute(StrCat("CHECKPOINT ", QuoteIdent(mart), "; DETACH ", QuoteIdent(mart))));
    if (blocked.contains(mart)) {
      LogWarn("mart not published", {{"mart", mart}, {"reason", blocked[mart]}});
      continue;
    }
    const fs::path final_file = marts / (mart + ".duckdb");
    std::error_code ec;
    fs::remove(final_file.string() + ".wal", ec);  // folded into the copy when it was staged
    fs::rename(file, final_file, ec);
    if (ec) {
      return absl::UnavailableError(StrCat("publishing mart ", mart, ": cannot rename ", file,
                                           " to ", final_file.string(), ": ", ec.message()));
    }
  }
  for (int v : selected) {
    auto it = blocked.find(graph.models[v].mart);
    if (it == blocked.end() || results[v].status != "ok") continue;
    results[v].status = "error";
    results[v].message = StrCat("built, but mart ", it->first, " was not published: ", it->second);
  }
  return absl::OkStatus();
}

}  // namespace

StatusOr<std::map<std::string, MartTarget>> MartTargets(project::Project& project) {
  std::map<std::string, MartTarget> out;
  for (const std::string& mart : MartNames(project)) out[mart] = MartTarget{};
  const YAML::Node& raw = project.config().raw;
  try {
    if (raw["marts"] && raw["marts"].IsMap()) {
      for (const auto& kv : raw["marts"]) {
        const std::string mart = kv.first.as<std::string>();
        MartTarget t;
        t.type.clear();
        if (kv.second["target"]) t.target = kv.second["target"].as<std::string>();
        if (kv.second["type"]) t.type = kv.second["type"].as<std::string>();
        if (t.type.empty()) {
          t.type = t.target.empty() || t.target == "duckdb" ? "duckdb" : "postgres";
        }
        if (t.type != "duckdb" && t.type != "postgres" && t.type != "redshift") {
          return absl::InvalidArgumentError(StrCat("watershed.yml: marts.", mart, ".type '", t.type,
                                                   "' is not duckdb, postgres or redshift"));
        }
        if (t.type != "duckdb" && t.target.empty()) {
          return absl::InvalidArgumentError(StrCat(
              "watershed.yml: marts.", mart, " needs a target (postgres://user@host:port/db)"));
        }
        out[mart] = t;
      }
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(StrCat("watershed.yml: marts: ", e.what()));
  }
  return out;
}

StatusOr<MartSession> OpenMarts(project::Project& project, const std::string& use_mart,
                                bool read_only) {
  return OpenMarts(project, use_mart, {}, read_only);
}

StatusOr<MartSession> OpenMarts(project::Project& project, const std::string& use_mart,
                                const std::map<std::string, std::string>& mart_files,
                                bool read_only) {
  MartSession s;
  WS_ASSIGN_OR_RETURN(s.db, warehouse::Database::Open(""));
  WS_ASSIGN_OR_RETURN(s.conn, s.db->Connect());
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project.catalog());
  WS_ASSIGN_OR_RETURN(int64_t snapshot, catalog->LatestSnapshot());
  if (snapshot > 0) {
    WS_RETURN_IF_ERROR(lake::AttachLakeViews(*s.conn, *catalog, project.storage(), snapshot, ""));
  }
  WS_ASSIGN_OR_RETURN(auto targets, MartTargets(project));
  const fs::path dir = fs::path(project.root()) / "marts";
  std::error_code ec;
  fs::create_directories(dir, ec);
  for (const auto& [mart, t] : targets) {
    if (t.type != "duckdb") continue;
    auto file = mart_files.find(mart);
    const std::string path =
        file != mart_files.end() ? file->second : (dir / (mart + ".duckdb")).string();
    if (read_only && !fs::exists(path)) {
      if (mart == use_mart) {
        return absl::NotFoundError(StrCat("mart ", mart, " has not been built yet (no ", path,
                                          "): run `watershed build --select ", mart, "`"));
      }
      continue;
    }
    WS_RETURN_IF_ERROR(s.conn->Execute(StrCat("ATTACH ", QuoteLiteral(path), " AS ",
                                              QuoteIdent(mart), read_only ? " (READ_ONLY)" : "")));
  }
  if (!use_mart.empty() && use_mart != "realtime") {
    auto it = targets.find(use_mart);
    if (it == targets.end()) {
      return absl::NotFoundError(StrCat("no mart named '", use_mart, "' (marts are the folders in ",
                                        (fs::path(project.root()) / "models").string(), ")"));
    }
    if (it->second.type != "duckdb") {
      return absl::FailedPreconditionError(
          StrCat("mart ", use_mart, " lives in ", it->second.type, ", not DuckDB"));
    }
    WS_RETURN_IF_ERROR(s.conn->Execute(StrCat("USE ", QuoteIdent(use_mart))));
    // The mart's models first, then the lake's namespaces: `crunchbase.organizations` names the
    // lake table in a mart query as it does in a lake query.
    WS_ASSIGN_OR_RETURN(auto schemas,
                        s.conn->Query("SELECT schema_name FROM information_schema.schemata WHERE "
                                      "catalog_name = 'memory' AND schema_name NOT IN ('main', "
                                      "'information_schema', 'pg_catalog') ORDER BY 1"));
    std::string path = StrCat(use_mart, ".main");
    for (size_t i = 0; i < schemas.row_count(); ++i) {
      path += StrCat(",memory.", schemas.GetString(0, i));
    }
    WS_RETURN_IF_ERROR(s.conn->Execute(StrCat("SET search_path = ", QuoteLiteral(path))));
  }
  // Lake views and marts are in place: from here on SQL reaches only the lake and marts folders.
  WS_RETURN_IF_ERROR(project::SandboxUserSql(project, *s.db));
  if (use_mart == "realtime" && !targets.contains("realtime")) {  // the streams' accumulators
    WS_RETURN_IF_ERROR(AttachRealtime(project, *s.conn));
    WS_RETURN_IF_ERROR(s.conn->Execute("USE memory.realtime"));
    return s;
  }
  return s;
}

StatusOr<std::vector<ModelResult>> Build(project::Project& project, const BuildOptions& options) {
  WS_ASSIGN_OR_RETURN(auto models,
                      DiscoverModels((fs::path(project.root()) / "models").string()));
  if (models.empty()) {
    return absl::NotFoundError(StrCat("no models: write SELECTs as models/<mart>/<name>.sql in ",
                                      project.root()));
  }
  WS_ASSIGN_OR_RETURN(Graph graph, BuildGraph(std::move(models)));
  WS_ASSIGN_OR_RETURN(auto selected, Select(graph, options.select));
  WS_ASSIGN_OR_RETURN(auto targets, MartTargets(project));
  WS_ASSIGN_OR_RETURN(auto checks, quality::ProjectChecks(project));
  // Declared before the session: its staging files outlive the session's hold on them.
  WS_ASSIGN_OR_RETURN(std::unique_ptr<MartStaging> staging,
                      StageGatedMarts(project, graph, selected, targets, checks));
  WS_ASSIGN_OR_RETURN(MartSession session, OpenMarts(project, "", staging->files));

  // PostgreSQL/Redshift marts: schemas, and the lake tables their selected models read.
  std::map<std::string, std::set<std::string>> sources_by_target;
  for (int v : selected) {
    const Model& m = graph.models[v];
    const MartTarget& t = targets.at(m.mart);
    if (t.type == "duckdb") continue;
    auto& sources = sources_by_target[t.target];
    sources.insert("schema:" + m.mart);
    for (const auto& src : m.sources) sources.insert(src);
  }
  for (const auto& [target, sources] : sources_by_target) {
    WS_ASSIGN_OR_RETURN(auto pg, warehouse::postgres::PgConnection::Connect(target));
    for (const std::string& src : sources) {
      if (src.starts_with("schema:")) {
        WS_RETURN_IF_ERROR(pg->Execute(StrCat("CREATE SCHEMA IF NOT EXISTS ", QuoteIdent(src.substr(7)))));
        continue;
      }
      const size_t dot = src.find('.');
      const std::string ns = src.substr(0, dot), table = src.substr(dot + 1);
      WS_RETURN_IF_ERROR(Annotate(
          warehouse::postgres::LoadTableFromDuckDb(
              *session.conn, StrCat("SELECT * FROM \"memory\".", QuoteIdent(ns), ".", QuoteIdent(table)),
              *pg, ns, table)
              .status(),
          StrCat("copying lake table ", src, " to ", pg->Describe())));
    }
  }

  auto engine_for = [&](const Model& m) -> StatusOr<std::unique_ptr<Engine>> {
    const MartTarget& t = targets.at(m.mart);
    for (const std::string& ref : m.refs) {
      const MartTarget& r = targets.at(ref.substr(0, ref.find('.')));
      if (r.type != t.type || r.target != t.target) {
        return absl::InvalidArgumentError(StrCat(
            m.path, ": refs ", ref, ", which lives in another database; refs across databases "
            "are not supported"));
      }
    }
    if (t.type == "duckdb") {
      WS_ASSIGN_OR_RETURN(auto c, session.db->Connect());
      return std::unique_ptr<Engine>(new DuckEngine(std::move(c)));
    }
    WS_ASSIGN_OR_RETURN(auto c, warehouse::postgres::PgConnection::Connect(t.target));
    return std::unique_ptr<Engine>(new PgEngine(std::move(c)));
  };

  std::vector<ModelResult> results(graph.models.size());
  std::vector<bool> failed(graph.models.size(), false);
  std::vector<int> order;
  for (const auto& layer : Layers(graph, selected)) {
    std::vector<int> runnable;
    for (int v : layer) {
      order.push_back(v);
      int bad = -1;
      for (int u : graph.upstream[v]) {
        if (failed[u]) bad = u;
      }
      if (bad >= 0) {
        failed[v] = true;
        results[v] = {graph.models[v].id(), graph.models[v].materialized(), "skipped",
                      StrCat("upstream ", graph.models[bad].id(), " did not build"), 0, 0};
      } else {
        runnable.push_back(v);
      }
    }
    // The layer's models run in parallel, `threads` at a time.
    const size_t step = static_cast<size_t>(std::max(1, options.threads));
    for (size_t i = 0; i < runnable.size(); i += step) {
      std::vector<std::future<ModelResult>> running;
      for (size_t j = i; j < runnable.size() && j < i + step; ++j) {
        const Model& m = graph.models[runnable[j]];
        const bool redshift = targets.at(m.mart).type == "redshift";
        running.push_back(std::async(std::launch::async, [&, &m = m, redshift] {
          auto engine = engine_for(m);
          if (!engine.ok()) {
            return ModelResult{m.id(), m.materialized(), "error",
                               std::string(MessageOf(engine.status())), 0, 0};
          }
          return RunModel(**engine, m, options.full_refresh, redshift);
        }));
      }
      for (size_t j = 0; j < running.size(); ++j) {
        int v = runnable[i + j];
        results[v] = running[j].get();
        failed[v] = results[v].status != "ok";
      }
    }
  }
  // Column lineage and OpenLineage events for what ran (model_lineage.h); never fails a build.
  std::vector<observe::ModelBuild> builds;
  for (int v : order) {
    if (results[v].status == "skipped") continue;
    const Model& m = graph.models[v];
    metrics::GetHistogram("watershed_model_build_duration_seconds", {{"model", m.id()}})
        .Observe(results[v].seconds);
    builds.push_back({m.id(), m.path, Compile(m), m.materialized(), results[v].status == "ok",
                      results[v].message, results[v].seconds});
  }
  if (Status s = RecordModelBuilds(project, *session.conn, builds); !s.ok()) {
    LogWarn("lineage: not recorded", {{"error", std::string(MessageOf(s))}});
  }
  if (!staging->files.empty()) {
    WS_RETURN_IF_ERROR(
        PublishStaged(project, *session.conn, graph, selected, *staging, checks, results));
  }
  // The build's metrics (watershed_model_build_duration_seconds) are stored; never fails it.
  if (Status s = observe::FlushMetrics(project); !s.ok()) {
    LogWarn("metrics not stored", {{"error", std::string(MessageOf(s))}});
  }
  std::vector<ModelResult> out;
  for (int v : order) out.push_back(results[v]);
  return out;
}

}  // namespace watershed::transform
