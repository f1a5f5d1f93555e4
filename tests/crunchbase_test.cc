// tests/crunchbase_test.cc — the Crunchbase unloader against the emulator (a real HTTP server on
// loopback): both modes with exact counts, faults and the rate limit, incremental runs, a run
// killed mid-way and resumed, and every recorded real response parsed and landed.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "emulators/crunchbase/server.h"
#include "gtest/gtest.h"
#include "tests/harness.h"
#include "watershed/lake/reader.h"
#include "watershed/load/crunchbase.h"

namespace watershed {
namespace {

namespace emu = emulators::crunchbase;
using testing_util::ChildProcess;
using testing_util::MakeTempDir;
using testing_util::Outcome;
using testing_util::Quote;
using testing_util::Watershed;
using testing_util::WatershedBinary;

class CrunchbaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    ASSERT_TRUE(project::Project::Init(dir_ + "/p", "cb").ok());
    project_ = std::move(*project::Project::Open(dir_ + "/p"));
  }

  std::unique_ptr<emu::Emulator> StartEmulator(emu::EmulatorOptions o) {
    auto e = emu::Emulator::Start(o);
    EXPECT_TRUE(e.ok()) << e.status();
    return std::move(*e);
  }

  load::CrunchbaseRun Run(const emu::Emulator& e, const std::string& mode) {
    load::CrunchbaseRun run;
    run.mode = mode;
    run.api.base_url = e.base_url();
    run.api.api_key = "emulator-key";
    run.api.requests_per_minute = 0;
    run.session.threads = 1;
    return run;
  }

  std::string Query(const std::string& sql) {
    auto db = warehouse::Database::Open("");
    auto conn = (*db)->Connect();
    EXPECT_TRUE(lake::AttachLakeViews(**conn, **project_->catalog(), project_->storage(), 0, "").ok());
    auto r = (*conn)->Query(sql);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() && r->row_count() > 0 ? r->GetString(0, 0) : "<none>";
  }

  // Rows on disk (all versions), from the catalog.
  int64_t StoredRows(const std::string& table) {
    auto state = (*project_->catalog())->GetTableState(table);
    return state.ok() ? state->row_count : -1;
  }

  std::string dir_;
  std::unique_ptr<project::Project> project_;
};

TEST_F(CrunchbaseTest, FullModeLandsEveryCollectionExactly) {
  auto e = StartEmulator({.num_orgs = 1500, .seed = 3});
  load::CrunchbaseRun run = Run(*e, "full");
  run.unload.collections = {"organizations", "people", "funding_rounds", "investments",
                            "acquisitions"};
  run.unload.page_size = 500;
  auto r = load::RunCrunchbase(*project_, run);
  ASSERT_TRUE(r.ok()) << r.status();
  const emu::Dataset& d = e->dataset();
  for (auto [name, c] : {std::pair{"organizations", emu::Collection::kOrganizations},
                         {"people", emu::Collection::kPeople},
                         {"funding_rounds", emu::Collection::kFundingRounds},
                         {"investments", emu::Collection::kInvestments},
                         {"acquisitions", emu::Collection::kAcquisitions}}) {
    const std::string table = StrCat("crunchbase.", name);
    EXPECT_EQ(Query(StrCat("SELECT count(*) FROM ", table)), std::to_string(d.Count(c))) << table;
    EXPECT_EQ(Query(StrCat("SELECT count(DISTINCT uuid) FROM ", table)),
              std::to_string(d.Count(c)))
        << table;
    EXPECT_EQ(StoredRows(table), static_cast<int64_t>(d.Count(c))) << table;
  }
  // Every organization's uuid is the emulator's.
  std::set<std::string> expected;
  for (auto ref : d.All(emu::Collection::kOrganizations)) expected.insert(d.UuidOf(ref).ToString());
  auto db = warehouse::Database::Open("");
  auto conn = (*db)->Connect();
  ASSERT_TRUE(lake::AttachLakeViews(**conn, **project_->catalog(), project_->storage(), 0, "").ok());
  auto rows = (*conn)->Query("SELECT uuid FROM crunchbase.organizations");
  ASSERT_TRUE(rows.ok());
  std::set<std::string> landed;
  for (size_t i = 0; i < rows->row_count(); ++i) landed.insert(rows->GetString(0, i));
  EXPECT_EQ(landed, expected);
  // Money and both shapes of announced_on landed without loss.
  EXPECT_NE(Query("SELECT count(money_raised__value_usd) FROM crunchbase.funding_rounds"), "0");
  EXPECT_NE(Query("SELECT count(announced_on) FROM crunchbase.funding_rounds"), "0");
  EXPECT_NE(Query("SELECT count(announced_on__value) FROM crunchbase.acquisitions"), "0");
  // Raw responses were kept.
  auto manifest = project_->storage().PathForRead(r->package + "/manifest.json");
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_TRUE(std::filesystem::exists(*manifest));
}

TEST_F(CrunchbaseTest, FaultsAndTheRateLimitStillLandExactlyTheEmulatorsData) {
  auto e = StartEmulator({.num_orgs = 20000, .seed = 7, .rate_limit_per_minute = 200,
                          .fault_rate = 0.2});
  load::CrunchbaseRun run = Run(*e, "full");
  run.api.requests_per_minute = 200;
  auto r = load::RunCrunchbase(*project_, run);
  ASSERT_TRUE(r.ok()) << r.status();
  const size_t n = e->dataset().Count(emu::Collection::kOrganizations);
  EXPECT_EQ(Query("SELECT count(*) FROM crunchbase.organizations"), std::to_string(n));
  EXPECT_EQ(StoredRows("crunchbase.organizations"), static_cast<int64_t>(n));
  emu::EmulatorStats stats = e->stats();
  EXPECT_GT(stats.faults_injected, 0);
  EXPECT_EQ(stats.rate_limited, 0);  // the client never exceeded its budget
  // What the client sent in any minute, refused requests included (the accepted count could
  // never pass 200: the emulator refuses beyond it).
  EXPECT_LE(stats.max_arrivals_in_window, 200);
  EXPECT_GT(stats.max_arrivals_in_window, 0);
  EXPECT_GT(r->retries, 0u);
}

TEST_F(CrunchbaseTest, IncrementalRunPicksUpExactlyTheChangedAndDeletedEntities) {
  auto e = StartEmulator({.num_orgs = 3000, .seed = 11});
  load::CrunchbaseRun run = Run(*e, "full");
  ASSERT_TRUE(load::RunCrunchbase(*project_, run).ok());
  const int64_t first = StoredRows("crunchbase.organizations");
  emu::MutationResult m = e->Mutate(40, 7, "");
  auto r = load::RunCrunchbase(*project_, run);
  ASSERT_TRUE(r.ok()) << r.status();
  // Changed: the updated organizations and those whose references changed with the deletions.
  std::set<std::string> changed(m.updated.begin(), m.updated.end());
  for (const std::string& u : m.cascade_updated) {
    if (e->dataset().Find(emu::Collection::kOrganizations, u)) changed.insert(u);
  }
  EXPECT_EQ(r->unload.entities, static_cast<int64_t>(changed.size()));
  EXPECT_EQ(r->unload.tombstones, 7);
  EXPECT_EQ(StoredRows("crunchbase.organizations"),
            first + static_cast<int64_t>(changed.size()) + 7);
  EXPECT_EQ(Query(StrCat("SELECT updated_at::VARCHAR FROM crunchbase.organizations WHERE uuid = '",
                         m.updated[0], "'")),
            FormatTimestampMicros(e->dataset().UpdatedAt(
                                      *e->dataset().Find(emu::Collection::kOrganizations,
                                                         m.updated[0])) *
                                  1000000)
                .substr(0, 19));
  const size_t n = e->dataset().Count(emu::Collection::kOrganizations);
  EXPECT_EQ(Query("SELECT count(*) FROM crunchbase.organizations"), std::to_string(n));
  EXPECT_EQ(Query(StrCat("SELECT count(*) FROM crunchbase.organizations WHERE uuid = '",
                         m.deleted[0], "'")),
            "0");
  // A third run with no changes lands nothing.
  auto again = load::RunCrunchbase(*project_, run);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->unload.entities, 0);
  EXPECT_EQ(again->unload.tombstones, 0);
}

TEST_F(CrunchbaseTest, SpecificModeByPermalinkUuidAndNameWithPagedCards) {
  auto e = StartEmulator({.num_orgs = 2000, .seed = 5});
  const emu::Dataset& d = e->dataset();
  // The organization with the most raised funding rounds... and any two others.
  auto orgs = d.All(emu::Collection::kOrganizations);
  // The organization with the most participated investments: more than the 100 inline items.
  const emu::CardDef* card = d.FindCard(emu::Collection::kOrganizations, "participated_investments");
  ASSERT_NE(card, nullptr);
  emu::EntityRef busiest = orgs[0];
  size_t most = 0;
  for (auto ref : orgs) {
    size_t n = d.CardItems(*card, ref.index).size();
    if (n > most) {
      most = n;
      busiest = ref;
    }
  }
  ASSERT_GT(most, 100u) << "no organization has a card past one inline page";
  std::string by_permalink = d.Permalink(busiest);
  std::string by_uuid = d.UuidOf(orgs[20]).ToString();
  std::string by_name = d.Name(orgs[30]);
  load::CrunchbaseRun run = Run(*e, "specific");
  run.unload.orgs = {by_permalink, by_uuid, by_name, "no-such-org-zz"};
  auto r = load::RunCrunchbase(*project_, run);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->unload.entities, 3);
  ASSERT_EQ(r->unload.not_found.size(), 1u);
  EXPECT_NE(r->unload.not_found[0].find("no-such-org-zz"), std::string::npos);
  EXPECT_EQ(Query("SELECT count(*) FROM crunchbase.organizations"), "3");
  EXPECT_EQ(Query(StrCat("SELECT count(*) FROM crunchbase.organizations WHERE uuid = '",
                         by_uuid, "'")),
            "1");
  // Every item of the long card landed once, past the 100 inline ones.
  EXPECT_EQ(Query(StrCat("SELECT count(*), count(DISTINCT uuid) FROM "
                         "crunchbase.organization_participated_investments WHERE "
                         "organization_uuid = '", d.UuidOf(busiest).ToString(), "'")),
            std::to_string(most));
  // A second run of the same organizations replaces their card rows instead of adding to them.
  ASSERT_TRUE(load::RunCrunchbase(*project_, run).ok());
  EXPECT_EQ(Query("SELECT count(*) FROM crunchbase.organizations"), "3");
  EXPECT_EQ(Query(StrCat("SELECT count(*) FROM crunchbase.organization_participated_investments "
                         "WHERE organization_uuid = '", d.UuidOf(busiest).ToString(), "'")),
            std::to_string(most));
}

TEST_F(CrunchbaseTest, AnAmbiguousNameIsAnErrorListingTheCandidates) {
  auto e = StartEmulator({.num_orgs = 2000, .seed = 5});
  const emu::Dataset& d = e->dataset();
  // Find two organizations sharing a name.
  std::map<std::string, int> names;
  std::string dup;
  for (auto ref : d.All(emu::Collection::kOrganizations)) {
    if (++names[d.Name(ref)] == 2) {
      dup = d.Name(ref);
      break;
    }
  }
  if (dup.empty()) GTEST_SKIP() << "the dataset has no duplicate names at this size";
  load::CrunchbaseRun run = Run(*e, "specific");
  run.unload.orgs = {dup};
  auto r = load::RunCrunchbase(*project_, run);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(MessageOf(r.status()).find("ambiguous"), std::string_view::npos) << r.status();
}

TEST_F(CrunchbaseTest, TheKeyIsRequiredAndNeverPrinted) {
  auto e = StartEmulator({.num_orgs = 100, .seed = 1});
  load::CrunchbaseRun run = Run(*e, "full");
  run.api.api_key = "wrong-secret-key-123";
  auto r = load::RunCrunchbase(*project_, run);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated) << r.status();
  EXPECT_EQ(MessageOf(r.status()).find("wrong-secret-key-123"), std::string_view::npos);
}

TEST_F(CrunchbaseTest, AFieldOutsideTheLicenceIsReportedAndNotRetried) {
  auto e = StartEmulator({.num_orgs = 100, .seed = 1, .unlicensed_fields = {"rank_org"}});
  auto r = load::RunCrunchbase(*project_, Run(*e, "full"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied) << r.status();
  EXPECT_NE(MessageOf(r.status()).find("rank_org"), std::string_view::npos) << r.status();
  EXPECT_NE(MessageOf(r.status()).find("MD403"), std::string_view::npos) << r.status();
  EXPECT_EQ(e->stats().requests, 1);  // terminal: not retried
}

TEST_F(CrunchbaseTest, SettingsComeFromWatershedYmlAndBothBaseUrlStylesWork) {
  auto e = StartEmulator({.num_orgs = 300, .seed = 2});
  const emu::Dataset& d = e->dataset();
  auto orgs = d.All(emu::Collection::kOrganizations);
  std::string base = e->base_url();
  base = base.substr(0, base.find("/api/v4")) + "/v4/data";  // the other URL style
  std::ofstream(dir_ + "/p/watershed.yml", std::ios::app)
      << "sources:\n  crunchbase:\n    mode: specific\n    base_url: " << base
      << "\n    api_key: ${CB_TEST_KEY}\n    orgs: [" << d.Permalink(orgs[1]) << ", "
      << d.Permalink(orgs[2]) << "]\n    cards: [founders]\n";
  Outcome unload =
      Watershed("crunchbase --project " + Quote(dir_ + "/p"), {{"CB_TEST_KEY", "emulator-key"}});
  ASSERT_EQ(unload.code, 0) << unload.out;
  EXPECT_NE(unload.out.find("specific unload: 2 entities"), std::string::npos) << unload.out;
  EXPECT_EQ(Query("SELECT count(*) FROM crunchbase.organizations"), "2");
}

// Every recorded real response: the emulator replays it for its recorded request; 2xx bodies
// parse and land (entities, cards, search results, candidates, deletions), errors map to codes.
TEST_F(CrunchbaseTest, EveryRecordedResponseParsesAndLands) {
  const std::string dir = std::string(WS_FIXTURES_DIR) + "/crunchbase/recorded";
  auto e = StartEmulator({.replay_dir = dir});
  auto api = sources::crunchbase::Api::Create(
      {.base_url = e->base_url(), .api_key = "emulator-key", .requests_per_minute = 0});
  ASSERT_TRUE(api.ok());
  auto session = load::LoadSession::Begin(*project_, "recorded", {.threads = 1});
  ASSERT_TRUE(session.ok());
  int landed = 0, errors = 0, files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    ++files;
    auto doc = nlohmann::json::parse(testing_util::ReadFileBytes(entry.path().string()));
    for (const auto& it : doc["interactions"]) {
      std::string uri = it["request"]["uri"];
      std::string path = uri.substr(uri.find("/api/v4") + 7);
      std::string method = it["request"]["method"];
      std::string body = it["request"]["body"].is_null() ? "" : it["request"]["body"].dump();
      int status = it["response"]["status"];
      auto text = (*api)->Call(method, path, body);
      if (status >= 400) {
        ASSERT_FALSE(text.ok()) << path;
        EXPECT_TRUE(text.status().code() == absl::StatusCode::kNotFound ||
                    text.status().code() == absl::StatusCode::kPermissionDenied)
            << text.status();
        ++errors;
        continue;
      }
      ASSERT_TRUE(text.ok()) << path << ": " << text.status();
      std::vector<std::pair<std::string, std::string>> records;  // table, json
      if (path.starts_with("/searches/")) {
        auto page = sources::crunchbase::ParseSearch(*text, path);
        ASSERT_TRUE(page.ok()) << page.status();
        EXPECT_FALSE(page->entities.empty());
        for (auto& en : page->entities) {
          records.push_back({"recorded.search", en.element ? simdjson::minify(*en.element) : en.properties});
        }
      } else if (path.starts_with("/autocompletes")) {
        auto c = sources::crunchbase::ParseAutocomplete(*text);
        ASSERT_TRUE(c.ok());
        EXPECT_FALSE(c->empty());
        for (auto& x : *c) records.push_back({"recorded.candidates", nlohmann::json{{"uuid", x.uuid}, {"name", x.name}}.dump()});
      } else if (path.starts_with("/deleted_entities")) {
        auto del = sources::crunchbase::ParseDeleted(*text);
        ASSERT_TRUE(del.ok());
        EXPECT_EQ(del->size(), 1000u);
        for (auto& x : *del) records.push_back({"recorded.deleted", nlohmann::json{{"uuid", x.uuid}, {"deleted_at", x.deleted_at}}.dump()});
      } else {
        auto l = sources::crunchbase::ParseLookup(*text, path);
        ASSERT_TRUE(l.ok()) << l.status();
        EXPECT_FALSE(l->entity.uuid.empty()) << path;
        records.push_back({"recorded.entities", l->entity.properties});
        for (auto& [card, items] : l->cards) {
          for (auto& item : items) records.push_back({"recorded.card_items", item});
        }
      }
      for (auto& [table, json] : records) {
        ASSERT_TRUE((*session)->AddJson(table, json, false).ok()) << table << ": " << json;
        ++landed;
      }
    }
  }
  auto snap = (*session)->Commit({}, {});
  ASSERT_TRUE(snap.ok()) << snap.status();
  (*session)->Finish();
  EXPECT_EQ(files, 19);
  EXPECT_EQ(errors, 3);  // two 404s and the MD403 400
  int64_t rows = 0;
  for (const auto& [table, n] : (*session)->committed_rows()) {
    if (table.find("__") == std::string::npos) rows += n;
  }
  EXPECT_EQ(rows, landed);
}

// The CLI against the emulator as a separate process: a run killed with SIGKILL resumes from
// its last commit and ends with nothing missing and nothing twice.
TEST_F(CrunchbaseTest, KilledRunResumesWithoutDuplicates) {
  // 200 pages of 100, each answered after 10 ms: the run takes a few seconds, so kills land mid-way.
  auto e = StartEmulator({.num_orgs = 20000, .seed = 9, .slow_ms = 10});
  const std::string project = dir_ + "/p";
  for (int round = 0; round < 3; ++round) {
    ChildProcess unload({WatershedBinary(), "crunchbase", "--mode", "full", "--base-url",
                         e->base_url(), "--page-size", "100", "--commit-every", "3",
                         "--rate-limit", "0", "--threads", "1", "--project", project},
                        "/dev/null", {{"CRUNCHBASE_API_KEY", "emulator-key"}});
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + 300 * round));
    unload.Stop(SIGKILL);
  }
  const int64_t partial = StoredRows("crunchbase.organizations");
  const size_t n = e->dataset().Count(emu::Collection::kOrganizations);
  EXPECT_LT(partial, static_cast<int64_t>(n));  // the kills landed before the end
  Outcome resumed = Watershed("crunchbase --mode full --base-url " + Quote(e->base_url()) +
                                  " --page-size 100 --rate-limit 0 --project " + Quote(project),
                              {{"CRUNCHBASE_API_KEY", "emulator-key"}});
  ASSERT_EQ(resumed.code, 0) << resumed.out;
  EXPECT_NE(resumed.out.find("resumed"), std::string::npos) << resumed.out;
  EXPECT_EQ(resumed.out.find("emulator-key"), std::string::npos)
      << "the key leaked into the output";
  EXPECT_EQ(Query("SELECT count(*) FROM crunchbase.organizations"), std::to_string(n));
  // Each page was committed once: the rows on disk are exactly the organizations.
  EXPECT_EQ(StoredRows("crunchbase.organizations"), static_cast<int64_t>(n));
}

}  // namespace
}  // namespace watershed
