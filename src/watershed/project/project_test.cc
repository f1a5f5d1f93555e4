// project/project_test.cc — finding a project (given, and upwards from the working directory),
// parsing watershed.yml (paths, tables, errors that name the file), `init` refusing to overwrite,
// and the per-table settings.
#include "watershed/project/project.h"

#include <unistd.h>

#include <filesystem>

#include "gtest/gtest.h"
#include "watershed/base/test_util.h"

namespace watershed::project {
namespace {

namespace fs = std::filesystem;
using testing_util::MakeTempDir;
using testing_util::ReadFileBytes;
using testing_util::WriteFile;

// Changes the working directory for one test and restores it.
class InDirectory {
 public:
  explicit InDirectory(const std::string& dir) : previous_(fs::current_path()) {
    fs::current_path(dir);
  }
  ~InDirectory() { fs::current_path(previous_); }

 private:
  fs::path previous_;
};

std::string Canonical(const std::string& p) { return fs::weakly_canonical(p).string(); }

TEST(ProjectInit, CreatesTheProjectFileModelsAndGitignore) {
  const std::string root = MakeTempDir() + "/new/proj";  // parents are created
  ASSERT_TRUE(Project::Init(root, "").ok());
  EXPECT_TRUE(fs::is_directory(root + "/models"));
  const std::string yml = ReadFileBytes(root + "/watershed.yml");
  EXPECT_NE(yml.find("name: proj\n"), std::string::npos) << "the folder's name by default";
  const std::string ignore = ReadFileBytes(root + "/.gitignore");
  for (const char* p : {"lake/", ".watershed/", "marts/"}) {
    EXPECT_NE(ignore.find(p), std::string::npos) << p;
  }
  auto project = Project::Open(root);
  ASSERT_TRUE(project.ok()) << project.status();
  EXPECT_EQ((*project)->config().name, "proj");
}

TEST(ProjectInit, RefusesToOverwriteAnExistingProject) {
  const std::string root = MakeTempDir();
  ASSERT_TRUE(Project::Init(root, "first").ok());
  WriteFile(root, "watershed.yml", "name: edited\n");
  Status again = Project::Init(root, "second");
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(MessageOf(again).find("already has a watershed.yml"), std::string::npos);
  EXPECT_EQ(ReadFileBytes(root + "/watershed.yml"), "name: edited\n") << "nothing was changed";
}

TEST(ProjectOpen, FindsTheNearestProjectUpwards) {
  const std::string root = MakeTempDir();
  ASSERT_TRUE(Project::Init(root, "up").ok());
  fs::create_directories(root + "/models/finance/deep");
  InDirectory cd(root + "/models/finance/deep");
  auto project = Project::Open("");
  ASSERT_TRUE(project.ok()) << project.status();
  EXPECT_EQ(Canonical((*project)->root()), Canonical(root));
  EXPECT_EQ((*project)->config().name, "up");
}

TEST(ProjectOpen, MistypedOrRepeatedSectionsAreErrorsNamingTheLine) {
  const std::string root = MakeTempDir();
  WriteFile(root, "watershed.yml", "name: x\npipelins: {}\n");
  auto typo = Project::Open(root);
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(MessageOf(typo.status()).find("watershed.yml:2"), std::string::npos) << typo.status();
  EXPECT_NE(MessageOf(typo.status()).find("did you mean 'pipelines'"), std::string::npos)
      << typo.status();
  WriteFile(root, "watershed.yml", "name: x\npipelines: {}\nlimits: {}\npipelines: {}\n");
  auto twice = Project::Open(root);
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(MessageOf(twice.status()).find("'pipelines' is given twice"), std::string::npos)
      << twice.status();
}

TEST(ProjectOpen, SaysHowToCreateOneWhenThereIsNone) {
  const std::string dir = MakeTempDir();
  auto given = Project::Open(dir);
  ASSERT_FALSE(given.ok());
  EXPECT_EQ(given.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(MessageOf(given.status()).find("watershed init"), std::string::npos);
  EXPECT_NE(MessageOf(given.status()).find(fs::path(dir).filename().string()), std::string::npos);

  InDirectory cd(dir);
  auto searched = Project::Open("");
  if (searched.ok()) GTEST_SKIP() << "a watershed.yml above the temp dir: " << (*searched)->root();
  EXPECT_NE(MessageOf(searched.status()).find("--project DIR"), std::string::npos);
}

TEST(ProjectConfig, ResolvesPathsAgainstTheProjectFolder) {
  const std::string root = MakeTempDir();
  WriteFile(root, "watershed.yml",
            "name: paths\n"
            "storage:\n"
            "  lake: data/lake\n"
            "  catalog: /tmp/elsewhere/../catalog.db\n");
  auto project = Project::Open(root);
  ASSERT_TRUE(project.ok()) << project.status();
  const ProjectConfig& c = (*project)->config();
  EXPECT_EQ(c.lake_path, (fs::path(root) / "data/lake").lexically_normal().string());
  EXPECT_EQ(c.catalog_path, "/tmp/catalog.db");
  EXPECT_EQ((*project)->storage().Describe(), c.lake_path);
}

TEST(ProjectConfig, DefaultsWithoutAStorageSection) {
  const std::string root = MakeTempDir();
  WriteFile(root, "watershed.yml", "version: 1\n");
  auto project = Project::Open(root);
  ASSERT_TRUE(project.ok()) << project.status();
  const ProjectConfig& c = (*project)->config();
  EXPECT_EQ(c.name, fs::path(root).filename().string());
  EXPECT_EQ(c.lake_path, (fs::path(root) / "lake").lexically_normal().string());
  EXPECT_EQ(c.catalog_path, (fs::path(root) / ".watershed/catalog.db").lexically_normal().string());
  EXPECT_TRUE(c.tables.empty());
  EXPECT_TRUE(c.sql_sandbox) << "user SQL is sandboxed unless the project says otherwise";
}

TEST(ProjectConfig, SqlSandboxOptOutAndItsErrors) {
  const std::string root = MakeTempDir();
  WriteFile(root, "watershed.yml", "sql: {sandbox: false}\n");
  auto off = Project::Open(root);
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE((*off)->config().sql_sandbox);
  WriteFile(root, "watershed.yml", "sql:\n  sandbox: true\n");
  auto on = Project::Open(root);
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_TRUE((*on)->config().sql_sandbox);
  for (const char* bad : {"sql: {sandbox: maybe}\n", "sql:\n  sandbox: [a]\n", "sql: off\n"}) {
    WriteFile(root, "watershed.yml", bad);
    auto r = Project::Open(root);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(MessageOf(r.status()).find("watershed.yml:"), std::string::npos) << r.status();
    EXPECT_NE(MessageOf(r.status()).find("sql"), std::string::npos) << r.status();
  }
}

TEST(ProjectConfig, TableSettingsAndDefaultsForUnlistedTables) {
  const std::string root = MakeTempDir();
  WriteFile(root, "watershed.yml",
            "tables:\n"
            "  crunchbase.organizations: {contract: freeze, partition_by: country}\n"
            "  crunchbase.people: {contract: discard_row}\n"
            "pipelines: {daily: {tasks: {a: {type: noop}}}}\n");
  auto project = Project::Open(root);
  ASSERT_TRUE(project.ok()) << project.status();
  const Project& p = **project;
  EXPECT_EQ(p.TableConfigFor("crunchbase.organizations").contract, normalize::Contract::kFreeze);
  EXPECT_EQ(p.TableConfigFor("crunchbase.organizations").partition_by, "country");
  EXPECT_EQ(p.TableConfigFor("crunchbase.people").contract, normalize::Contract::kDiscardRow);
  EXPECT_EQ(p.TableConfigFor("crunchbase.people").partition_by, "ingest_date");
  EXPECT_EQ(p.TableConfigFor("other.table").contract, normalize::Contract::kEvolve);
  EXPECT_EQ(p.TableConfigFor("other.table").partition_by, "ingest_date");
  // Sections of other modules stay readable as they were written.
  EXPECT_TRUE(p.config().raw["pipelines"]["daily"]["tasks"]["a"].IsMap());
}

TEST(ProjectConfig, ErrorsNameTheFileAndTheSetting) {
  const std::string root = MakeTempDir();
  WriteFile(root, "watershed.yml", "tables:\n  a.b: {contract: sometimes}\n");
  auto bad_contract = Project::Open(root);
  ASSERT_FALSE(bad_contract.ok());
  EXPECT_NE(MessageOf(bad_contract.status()).find("watershed.yml"), std::string::npos);
  EXPECT_NE(MessageOf(bad_contract.status()).find("tables.a.b"), std::string::npos)
      << bad_contract.status();

  WriteFile(root, "watershed.yml", "storage: {lake: s3://Not_A_Bucket/lake}\n");
  auto s3 = Project::Open(root);
  EXPECT_EQ(s3.status().code(), absl::StatusCode::kInvalidArgument) << s3.status();
  EXPECT_NE(MessageOf(s3.status()).find("s3://Not_A_Bucket/lake"), std::string::npos)
      << s3.status();
  EXPECT_NE(MessageOf(s3.status()).find("storage.lake"), std::string::npos) << s3.status();

  WriteFile(root, "watershed.yml", "name: [unclosed\n");
  auto syntax = Project::Open(root);
  ASSERT_FALSE(syntax.ok());
  EXPECT_NE(MessageOf(syntax.status()).find("watershed.yml"), std::string::npos) << syntax.status();
}

TEST(ProjectCatalog, OpensOnFirstUseCreatingItsFolder) {
  const std::string root = MakeTempDir();
  ASSERT_TRUE(Project::Init(root, "c").ok());
  auto project = Project::Open(root);
  ASSERT_TRUE(project.ok());
  EXPECT_FALSE(fs::exists(root + "/.watershed/catalog.db")) << "nothing is opened by Open";
  auto catalog = (*project)->catalog();
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  EXPECT_TRUE(fs::exists(root + "/.watershed/catalog.db"));
  EXPECT_EQ(*(*project)->catalog(), *catalog) << "one catalog per project";
  EXPECT_EQ(*(*catalog)->LatestSnapshot(), 0);
}

}  // namespace
}  // namespace watershed::project
