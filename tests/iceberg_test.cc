// tests/iceberg_test.cc — the example project's lake read as Iceberg by an independent engine:
// icebird (JavaScript, tests/tools/icebird/read.mjs) reads every table at every snapshot that
// changed it, and returns the rows `watershed query --snapshot N` returns, deletes included.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "emulators/crunchbase/server.h"
#include "gtest/gtest.h"
#include "tests/harness.h"
#include "watershed/base/test_util.h"
#include "watershed/lake/iceberg_export.h"
#include "watershed/lake/reader.h"
#include "watershed/lake/writer.h"
#include "watershed/load/crunchbase.h"

namespace watershed {
namespace {

namespace emu = emulators::crunchbase;
using nlohmann::json;

bool LocalLake() {
  const char* lake = std::getenv("WATERSHED_LAKE");
  return lake == nullptr || !std::string(lake).starts_with("s3://");
}

// One value in a form both sides agree on: numbers of double and decimal columns to 6
// significant digits (icebird gives decimals as JavaScript numbers), timestamps to the
// millisecond (icebird's precision), everything else as text.
std::string Canonical(const std::string& type, const json& v) {
  if (v.is_null()) return "∅";
  char buf[64];
  if (type == "double" || type.starts_with("decimal")) {
    const double d =
        v.is_string() ? std::strtod(v.get<std::string>().c_str(), nullptr) : v.get<double>();
    std::snprintf(buf, sizeof buf, "%.6g", d);
    return buf;
  }
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return v.dump();
}

class IcebergReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing_util::MakeTempDir() + "/example";
    std::filesystem::copy(std::string(WS_SOURCE_DIR) + "/examples/crunchbase", root_,
                          std::filesystem::copy_options::recursive);
    project_ = std::move(*project::Project::Open(root_));
    auto e = emu::Emulator::Start({.num_orgs = 150, .seed = 9});
    ASSERT_TRUE(e.ok()) << e.status();
    emulator_ = std::move(*e);
  }

  void Load(const std::string& mode = "full", const std::vector<std::string>& orgs = {}) {
    auto settings = load::CrunchbaseSettings(*project_);
    ASSERT_TRUE(settings.ok()) << settings.status();
    load::CrunchbaseRun run = *settings;
    run.mode = mode;
    run.unload.orgs = orgs;
    run.api.base_url = emulator_->base_url();
    run.api.api_key = "emulator-key";
    run.api.requests_per_minute = 0;
    run.session.threads = 1;
    auto r = load::RunCrunchbase(*project_, run);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  // icebird's rows of `table` at Iceberg snapshot `snapshot`, canonical and sorted.
  std::vector<std::string> IcebirdRows(
      const std::string& table, int64_t snapshot,
      const std::vector<std::pair<std::string, std::string>>& fields) {
    auto names = *lake::SplitTableName(table);
    const std::string dir =
        project_->config().lake_path + "/" + lake::TableFolder(names.first, names.second);
    const std::string out = root_ + "/icebird.jsonl";
    const std::string cmd =
        StrCat("node ", WS_SOURCE_DIR, "/tests/tools/icebird/read.mjs --table-dir ", dir,
               " --snapshot ", snapshot, " > ", out);
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::vector<std::string> rows;
    std::istringstream lines(testing_util::ReadFileBytes(out));
    for (std::string line; std::getline(lines, line);) {
      json j = json::parse(line, nullptr, false);
      EXPECT_FALSE(j.is_discarded()) << line;
      std::string row;
      for (const auto& [name, type] : fields) {
        row += Canonical(type, j.contains(name) ? j[name] : json(nullptr)) + "|";
      }
      rows.push_back(row);
    }
    std::sort(rows.begin(), rows.end());
    return rows;
  }

  // The lake's rows of `table` at catalog snapshot `snapshot`, in the same canonical form.
  std::vector<std::string> LakeRows(
      const std::string& table, int64_t snapshot,
      const std::vector<std::pair<std::string, std::string>>& fields) {
    auto db = std::move(*warehouse::Database::Open(""));
    auto conn = std::move(*db->Connect());
    lake::Catalog& catalog = **project_->catalog();
    EXPECT_TRUE(lake::AttachLakeViews(*conn, catalog, project_->storage(), snapshot, "").ok());
    std::string select;
    for (const auto& [name, type] : fields) {
      const std::string q = warehouse::QuoteIdent(name);
      std::string e;
      if (type == "timestamp") {
        e = StrCat("strftime(", q, ", '%Y-%m-%dT%H:%M:%S.%gZ')");
      } else {
        e = StrCat("CAST(", q, " AS VARCHAR)");
      }
      select += StrCat(select.empty() ? "" : ", ", e, " AS ", q);
    }
    auto r = conn->Query(StrCat("SELECT ", select, " FROM ", table));
    EXPECT_TRUE(r.ok()) << r.status();
    std::vector<std::string> rows;
    if (!r.ok()) return rows;
    for (size_t i = 0; i < r->row_count(); ++i) {
      std::string row;
      for (size_t c = 0; c < fields.size(); ++c) {
        row += Canonical(fields[c].second,
                         r->IsNull(c, i) ? json(nullptr) : json(r->GetString(c, i))) +
               "|";
      }
      rows.push_back(row);
    }
    std::sort(rows.begin(), rows.end());
    return rows;
  }

  std::string root_;
  std::unique_ptr<project::Project> project_;
  std::unique_ptr<emu::Emulator> emulator_;
};

TEST_F(IcebergReadTest, IcebirdReadsEveryTableAtEverySnapshotAsWatershedDoes) {
  if (!LocalLake()) GTEST_SKIP() << "icebird reads the local lake here (the cloud run uses S3)";
  ASSERT_TRUE(
      std::system("node --version >/dev/null 2>&1") == 0 &&
      std::filesystem::exists(std::string(WS_SOURCE_DIR) + "/tests/tools/icebird/node_modules"))
      << "node and tests/tools/icebird/node_modules are needed (scripts/setup installs them)";
  Load();
  // Some organizations again, twice, in specific mode (with their cards): newer versions
  // supersede the earlier rows, and the second run replaces the first one's card rows.
  std::vector<std::string> uuids;
  {
    auto db = std::move(*warehouse::Database::Open(""));
    auto conn = std::move(*db->Connect());
    ASSERT_TRUE(
        lake::AttachLakeViews(*conn, **project_->catalog(), project_->storage(), 0, "").ok());
    auto r = conn->Query("SELECT uuid FROM crunchbase.organizations ORDER BY uuid LIMIT 4");
    ASSERT_TRUE(r.ok()) << r.status();
    for (size_t i = 0; i < r->row_count(); ++i) uuids.push_back(r->GetString(0, i));
  }
  Load("specific", uuids);
  Load("specific", uuids);
  lake::Catalog& catalog = **project_->catalog();
  auto tables = catalog.ListTables();
  ASSERT_TRUE(tables.ok()) << tables.status();
  ASSERT_GE(tables->size(), 5u);
  int compared = 0, with_deletes = 0;
  for (const lake::TableInfo& t : *tables) {
    auto snapshots = catalog.TableSnapshots(t.name);
    ASSERT_TRUE(snapshots.ok());
    for (const lake::Snapshot& s : *snapshots) {
      auto summary =
          lake::DescribeIcebergTable(catalog, project_->storage(), t.name, s.snapshot_id);
      ASSERT_TRUE(summary.ok()) << t.name << "@" << s.snapshot_id << ": " << summary.status();
      ASSERT_EQ(summary->snapshot_id, s.snapshot_id) << t.name;
      if (summary->summary["total-position-deletes"] != "0") ++with_deletes;
      // The columns as the Iceberg schema of that snapshot has them.
      auto state = catalog.GetTableState(t.name, s.snapshot_id);
      ASSERT_TRUE(state.ok());
      std::vector<std::pair<std::string, std::string>> fields;
      if (std::none_of(state->schema.columns.begin(), state->schema.columns.end(),
                       [&](const ColumnSpec& c) { return c.name == t.partition_by; })) {
        fields.push_back({t.partition_by, "date"});
      }
      for (const ColumnSpec& c : state->schema.columns)
        fields.push_back({c.name, lake::IcebergType(c.type)});
      const auto lake_rows = LakeRows(t.name, s.snapshot_id, fields);
      const auto iceberg_rows = IcebirdRows(t.name, s.snapshot_id, fields);
      EXPECT_EQ(iceberg_rows.size(), lake_rows.size())
          << t.name << " at snapshot " << s.snapshot_id;
      if (iceberg_rows != lake_rows) {
        std::vector<std::string> only_iceberg, only_lake;
        std::set_difference(iceberg_rows.begin(), iceberg_rows.end(), lake_rows.begin(),
                            lake_rows.end(), std::back_inserter(only_iceberg));
        std::set_difference(lake_rows.begin(), lake_rows.end(), iceberg_rows.begin(),
                            iceberg_rows.end(), std::back_inserter(only_lake));
        ADD_FAILURE() << t.name << " at snapshot " << s.snapshot_id << ": " << only_iceberg.size()
                      << " rows only in icebird, e.g. "
                      << (only_iceberg.empty() ? "" : only_iceberg[0]) << "\n"
                      << only_lake.size() << " only in the lake, e.g. "
                      << (only_lake.empty() ? "" : only_lake[0]);
      }
      ++compared;
    }
  }
  EXPECT_GE(compared, 10);
  EXPECT_GT(with_deletes, 0) << "the second load's versions must hide the first's";
}

TEST_F(IcebergReadTest, IcebergShowPrintsTheMetadataLocationAndSummary) {
  Load();
  const std::string scheme = LocalLake() ? "file://" : "s3://";
  auto out = testing_util::WatershedIn(root_, "iceberg show crunchbase.organizations");
  ASSERT_EQ(out.code, 0) << out.out;
  EXPECT_NE(out.out.find("metadata           " + scheme), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("operation          append"), std::string::npos) << out.out;
  auto j = testing_util::WatershedIn(root_, "iceberg show crunchbase.organizations --format json");
  ASSERT_EQ(j.code, 0) << j.out;
  json doc = json::parse(j.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << j.out;
  // The file it names is in the lake (a folder or S3), with the version hint beside it.
  const std::string location = doc["metadata_location"].get<std::string>();
  const std::string key = location.substr(location.find("structured/"));
  const auto keys = testing_util::LakeKeys(root_, "structured/crunchbase/organizations/metadata/");
  EXPECT_NE(std::find(keys.begin(), keys.end(), key), keys.end()) << key;
  EXPECT_NE(std::find(keys.begin(), keys.end(),
                      "structured/crunchbase/organizations/metadata/version-hint.text"),
            keys.end());
  EXPECT_NE(testing_util::ReadLakeFile(root_, key).find("\"format-version\": 2"),
            std::string::npos);
  auto missing = testing_util::WatershedIn(root_, "iceberg show crunchbase.nothing");
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.out.find("crunchbase.nothing"), std::string::npos) << missing.out;
}

// bigint -> double is no Iceberg promotion: the load that widens rewrites the older files with
// the cast in its own commit, so every file the Iceberg snapshot lists holds the column as
// DOUBLE, and an Iceberg reader sees both rows.
TEST(IcebergWidening, TheWideningLoadRewritesOlderFilesWithTheCast) {
  if (!LocalLake()) GTEST_SKIP() << "reads the local lake's files";
  const std::string dir = testing_util::MakeTempDir() + "/widen";
  ASSERT_EQ(testing_util::Watershed("init " + testing_util::Quote(dir)).code, 0);
  for (const auto& [file, body] : {std::pair{"a.ndjson", "{\"id\":1,\"v\":7}\n"},
                                   std::pair{"b.ndjson", "{\"id\":2,\"v\":1.5}\n"}}) {
    testing_util::WriteFile(dir, file, body);
    auto load = testing_util::WatershedIn(dir, "load " + testing_util::Quote(dir + "/" + file) +
                                                   " --table shop.m");
    ASSERT_EQ(load.code, 0) << load.out;
  }
  auto project = std::move(*project::Project::Open(dir));
  lake::Catalog& catalog = **project->catalog();
  auto state = catalog.GetTableState("shop.m");
  ASSERT_TRUE(state.ok()) << state.status();
  for (const lake::DataFile& f : state->files) {
    for (const ColumnSpec& c : f.columns) {
      if (c.name == "v") EXPECT_EQ(c.type, ColumnType::kDouble) << f.key;
    }
  }
  auto summary = lake::DescribeIcebergTable(catalog, project->storage(), "shop.m", 0);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->summary["operation"], "overwrite");
  EXPECT_EQ(summary->summary["total-records"], "2");
  // The plan an engine makes, and the physical type of v in each planned file.
  const std::string plan_path = dir + "/plan.json";
  ASSERT_EQ(std::system(StrCat("/usr/bin/python3 ", WS_SOURCE_DIR, "/tests/tools/iceberg_plan.py ",
                               summary->metadata_location.substr(7), " > ", plan_path)
                            .c_str()),
            0);
  json plan = json::parse(testing_util::ReadFileBytes(plan_path));
  ASSERT_EQ(plan["data_files"].size(), 2u);
  auto db = std::move(*warehouse::Database::Open(""));
  auto conn = std::move(*db->Connect());
  for (const json& f : plan["data_files"]) {
    auto r = conn->Query(StrCat("SELECT type FROM parquet_schema(",
                                warehouse::QuoteLiteral(f["path"].get<std::string>().substr(7)),
                                ") WHERE name = 'v'"));
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->row_count(), 1u);
    EXPECT_EQ(r->GetString(0, 0), "DOUBLE") << f["path"];
  }
  auto q = testing_util::WatershedIn(dir, "query \"SELECT string_agg(CAST(v AS VARCHAR), ',' ORDER BY id) FROM shop.m\" --format csv");
  ASSERT_EQ(q.code, 0) << q.out;
  EXPECT_NE(q.out.find("7.0,1.5"), std::string::npos) << q.out;
}

}  // namespace
}  // namespace watershed
