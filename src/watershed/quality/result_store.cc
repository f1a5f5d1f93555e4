// quality/result_store.cc — see result_store.h.
#include "watershed/quality/result_store.h"

#include "watershed/quality/checks.h"

namespace watershed::quality {
namespace {

// Steps `st`, naming the table in an error.
StatusOr<bool> StepRow(store::Stmt& st) {
  auto row = st.Step();
  if (!row.ok()) return Annotate(row.status(), "check_results");
  return row;
}

}  // namespace

StatusOr<std::unique_ptr<ResultStore>> ResultStore::Open(const std::string& catalog_path) {
  WS_ASSIGN_OR_RETURN(std::unique_ptr<store::Connection> db, store::Connection::Open(catalog_path));
  WS_RETURN_IF_ERROR(Annotate(store::Migrate(*db, Schema()), "check_results"));
  return std::unique_ptr<ResultStore>(new ResultStore(std::move(db)));
}

const store::Schema& ResultStore::Schema() {
  static const store::Schema* schema = new store::Schema{
      "quality",
      {"CREATE TABLE IF NOT EXISTS check_results ("
       " run_id TEXT NOT NULL, run_at TEXT NOT NULL, context TEXT NOT NULL,"
       " check_name TEXT NOT NULL, table_name TEXT NOT NULL, check_type TEXT NOT NULL,"
       " severity TEXT NOT NULL, status TEXT NOT NULL, failing_rows INTEGER, observed INTEGER,"
       " quarantined INTEGER NOT NULL, message TEXT NOT NULL, seconds REAL NOT NULL);"
       "CREATE INDEX IF NOT EXISTS check_results_by_table ON check_results(table_name, "
       "check_type);"
       "CREATE INDEX IF NOT EXISTS check_results_by_check ON check_results(check_name)"}};
  return *schema;
}

StatusOr<std::vector<int64_t>> ResultStore::TrailingCounts(const std::string& table, int n) {
  store::Stmt st(*db_,
                 "SELECT observed FROM check_results WHERE table_name = ? AND check_type = "
                 "'volume_anomaly' AND status != 'error' AND observed IS NOT NULL "
                 "ORDER BY {ROWID} DESC LIMIT ?");
  st.Bind(1, table).Bind(2, n);
  std::vector<int64_t> out;
  while (true) {
    WS_ASSIGN_OR_RETURN(bool row, StepRow(st));
    if (!row) break;
    out.push_back(st.Int(0));
  }
  return out;
}

Status ResultStore::Record(const CheckReport& report, const std::string& context) {
  store::Transaction txn(*db_);
  WS_RETURN_IF_ERROR(Annotate(txn.Begin(), "check_results"));
  store::Stmt st(*db_, "INSERT INTO check_results VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)");
  WS_RETURN_IF_ERROR(Annotate(st.status(), "check_results"));
  for (const CheckResult& r : report.results) {
    auto num = [&](int i, int64_t v) {
      if (v < 0) {
        st.BindNull(i);
      } else {
        st.Bind(i, v);
      }
    };
    st.Bind(1, report.run_id);
    st.Bind(2, report.run_at);
    st.Bind(3, context);
    st.Bind(4, r.check);
    st.Bind(5, r.table);
    st.Bind(6, r.type);
    st.Bind(7, std::string(SeverityName(r.severity)));
    st.Bind(8, r.status);
    num(9, r.failing_rows);
    num(10, r.observed);
    st.Bind(11, r.quarantined);
    st.Bind(12, r.message);
    st.Bind(13, r.seconds);
    WS_RETURN_IF_ERROR(Annotate(st.Run(), "check_results"));
  }
  return Annotate(txn.Commit(), "check_results");
}

StatusOr<std::vector<CheckResult>> ResultStore::History(const std::string& name, int limit) {
  store::Stmt st(*db_,
                 "SELECT check_name, table_name, check_type, severity, status, "
                 "failing_rows, observed, quarantined, message, seconds FROM check_results "
                 "WHERE check_name = ? ORDER BY {ROWID} DESC LIMIT ?");
  st.Bind(1, name).Bind(2, limit);
  std::vector<CheckResult> out;
  auto num = [&](int i) -> int64_t { return st.IsNull(i) ? -1 : st.Int(i); };
  while (true) {
    WS_ASSIGN_OR_RETURN(bool row, StepRow(st));
    if (!row) break;
    CheckResult r;
    r.check = st.Text(0);
    r.table = st.Text(1);
    r.type = st.Text(2);
    r.severity = st.Text(3) == "warn" ? Severity::kWarn : Severity::kError;
    r.status = st.Text(4);
    r.failing_rows = num(5);
    r.observed = num(6);
    r.quarantined = num(7);
    r.message = st.Text(8);
    r.seconds = st.Double(9);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace watershed::quality
