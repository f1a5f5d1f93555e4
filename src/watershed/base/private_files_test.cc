// Tests owner-only creation under a umask that would otherwise leave files world-readable, and
// one that would leave them unusable: the modes must be exact either way.
#include "watershed/base/private_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "watershed/base/test_util.h"

namespace watershed {
namespace {

unsigned ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// Sets the umask for one test and puts the old one back.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

TEST(PrivateFilesTest, FoldersAndFilesAreOwnerOnlyWhateverTheUmask) {
  for (mode_t mask : {mode_t{022}, mode_t{0}, mode_t{077}}) {
    ScopedUmask umask(mask);
    const std::string root = testing_util::MakeTempDir();
    const std::string file = root + "/state/logs/run_1/task.1.log";
    StatusOr<int> fd = OpenPrivateFile(file, O_WRONLY | O_TRUNC);
    ASSERT_TRUE(fd.ok()) << fd.status();
    ::close(*fd);
    EXPECT_EQ(ModeOf(file), 0600u) << "umask " << mask;
    EXPECT_EQ(ModeOf(root + "/state/logs/run_1"), 0700u);
    EXPECT_EQ(ModeOf(root + "/state/logs"), 0700u);
    EXPECT_EQ(ModeOf(root + "/state"), 0700u);
  }
}

TEST(PrivateFilesTest, ExistingFilesAreNarrowedExistingFoldersKept) {
  const std::string root = testing_util::MakeTempDir();
  const std::string dir = root + "/mine";
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
  const std::string file = dir + "/catalog.db";
  int wide = ::open(file.c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(wide, 0);
  ::fchmod(wide, 0644);
  ::close(wide);
  StatusOr<int> fd = OpenPrivateFile(file, O_RDWR);
  ASSERT_TRUE(fd.ok()) << fd.status();
  ::close(*fd);
  EXPECT_EQ(ModeOf(file), 0600u);
  EXPECT_EQ(ModeOf(dir), 0755u);  // not ours to change
}

TEST(PrivateFilesTest, MakeFilePrivateNarrowsByName) {
  const std::string root = testing_util::MakeTempDir();
  const std::string file = testing_util::WriteFile(root, "catalog.db", "x");
  ASSERT_EQ(::chmod(file.c_str(), 0644), 0);
  ASSERT_TRUE(MakeFilePrivate(file).ok());
  EXPECT_EQ(ModeOf(file), 0600u);
  EXPECT_EQ(MakeFilePrivate(root + "/missing").code(), absl::StatusCode::kNotFound);
}

TEST(PrivateFilesTest, ExclusiveCreateAndErrorsNameThePath) {
  const std::string root = testing_util::MakeTempDir();
  const std::string file = root + "/segment";
  StatusOr<int> first = OpenPrivateFile(file, O_RDWR | O_EXCL);
  ASSERT_TRUE(first.ok()) << first.status();
  ::close(*first);
  StatusOr<int> again = OpenPrivateFile(file, O_RDWR | O_EXCL);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  // A file where a folder should be.
  Status blocked = MakePrivateDirs(file + "/sub");
  EXPECT_EQ(blocked.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(std::string(MessageOf(blocked)).find(file), std::string::npos) << blocked;
  EXPECT_TRUE(MakePrivateDirs("").ok());
}

}  // namespace
}  // namespace watershed
