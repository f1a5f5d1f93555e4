// tests/audit_test.cc — the audit log is anchored in the catalog (issue: hardening, point 7):
// `watershed audit verify` detects what a hash chain alone cannot — a cut tail, a rewritten and
// re-chained log, and a deleted log — because every catalog commit recorded the log's newest
// entry with its snapshot. Through the real binary, on a project with three loads.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "gtest/gtest.h"
#include "tests/harness.h"
#include "watershed/audit/audit_log.h"

namespace watershed {
namespace {

namespace fs = std::filesystem;
using testing_util::MakeTempDir;
using testing_util::Outcome;
using testing_util::Quote;
using testing_util::ReadLines;
using testing_util::Watershed;
using testing_util::WatershedIn;
using testing_util::WriteFile;

void WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::trunc);
  for (const auto& l : lines) out << l << "\n";
}

class AnchoredAudit : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir() + "/anchored";
    ASSERT_EQ(Watershed("init " + Quote(dir_)).code, 0);
    for (int i = 1; i <= 3; ++i) {
      const std::string file = StrCat("f", i, ".ndjson");
      WriteFile(dir_, file, StrCat("{\"id\":", i, "}\n"));
      Outcome load = WatershedIn(dir_, "load " + Quote(dir_ + "/" + file) + " --table t.x");
      ASSERT_EQ(load.code, 0) << load.out;
    }
    log_ = dir_ + "/.watershed/audit.log";
    original_ = ReadLines(log_);
    ASSERT_GE(original_.size(), 6u);  // per load: its data change and its command
    Outcome intact = WatershedIn(dir_, "audit verify");
    ASSERT_EQ(intact.code, 0) << intact.out;
    // The first commit found the log empty: the second and third anchor entries 2 and 4.
    EXPECT_NE(intact.out.find("2 catalog anchors match"), std::string::npos) << intact.out;
  }

  std::string dir_, log_;
  std::vector<std::string> original_;
};

TEST_F(AnchoredAudit, CutTailIsDetected) {
  // The chain of what is left is intact; the catalog's last snapshot anchored a cut entry.
  std::vector<std::string> cut(original_.begin(), original_.end() - 3);
  WriteLines(log_, cut);
  EXPECT_TRUE(audit::AuditLog(log_).Verify().ok()) << "a chain alone cannot see a cut tail";
  Outcome verify = WatershedIn(dir_, "audit verify");
  EXPECT_EQ(verify.code, 1) << verify.out;
  EXPECT_NE(verify.out.find("is missing (the log was cut"), std::string::npos) << verify.out;
}

TEST_F(AnchoredAudit, RechainedRewriteIsDetected) {
  // Rewrite the first entry and re-chain everything after it with valid hashes.
  const std::string forged = dir_ + "/forged.log";
  audit::AuditLog out(forged);
  bool first = true;
  for (const std::string& line : original_) {
    auto j = nlohmann::json::parse(line);
    audit::AuditEntry e{0, "", j.value("principal", ""), j.value("action", ""),
                        j.value("target", ""), j.value("outcome", "")};
    if (first) e.target = "nothing happened here";
    first = false;
    ASSERT_TRUE(out.Append(e).ok());
  }
  fs::rename(forged, log_);
  EXPECT_TRUE(audit::AuditLog(log_).Verify().ok()) << "the forged chain is consistent";
  Outcome verify = WatershedIn(dir_, "audit verify");
  EXPECT_EQ(verify.code, 1) << verify.out;
  EXPECT_NE(verify.out.find("the log was rewritten"), std::string::npos) << verify.out;
}

TEST_F(AnchoredAudit, DeletedLogIsDetected) {
  fs::remove(log_);
  // `audit verify` itself is audited after it ran, so the check must fail before that.
  Outcome verify = WatershedIn(dir_, "audit verify");
  EXPECT_EQ(verify.code, 1) << verify.out;
  EXPECT_NE(verify.out.find("(the log was deleted)"), std::string::npos) << verify.out;
}

TEST_F(AnchoredAudit, LogAndStateFolderAreTheOwnersOnly) {
  struct stat st;
  ASSERT_EQ(::stat(log_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

}  // namespace
}  // namespace watershed
