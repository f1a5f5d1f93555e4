// quality/result_store.h — the history of check results: the `check_results` table in the
// catalog database (docs/formats/checks.md), on store/store.h.
//
// Owns: the table's schema and migrations (store::Schema "quality"), appending one run's
// results in one transaction, reading a check's history and the row counts volume_anomaly
// compares against. Does not own: running checks (checks.h), the quarantine (a lake table).
// Thread safety: a ResultStore is used by one thread; several processes may write one catalog
// (SQLite locking through store::Connection).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/quality/check.h"
#include "watershed/store/store.h"

namespace watershed::quality {

struct CheckResult;
struct CheckReport;

class ResultStore {
 public:
  // Opens the table in the catalog database `catalog_path`, creating or migrating it.
  static StatusOr<std::unique_ptr<ResultStore>> Open(const std::string& catalog_path);
  // The table (docs/formats/checks.md). Append migrations; never edit one.
  static const store::Schema& Schema();

  // Row counts recorded by the newest `n` volume_anomaly results of `table` that ran.
  StatusOr<std::vector<int64_t>> TrailingCounts(const std::string& table, int n);
  // Appends every result of `report`, recorded with `context` (check, task ..., build).
  Status Record(const CheckReport& report, const std::string& context);
  // The recorded results of check `name`, newest first.
  StatusOr<std::vector<CheckResult>> History(const std::string& name, int limit);

 private:
  explicit ResultStore(std::unique_ptr<store::Connection> db) : db_(std::move(db)) {}
  std::unique_ptr<store::Connection> db_;
};

}  // namespace watershed::quality
