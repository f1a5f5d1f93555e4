// sources/files/input_test.cc — ByteInput: plain, gzip and zstd files, stdin, sniffing by magic
// bytes, and the errors for missing, corrupt and truncated inputs.
#include "watershed/sources/files/input.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"
#include "watershed/sources/files/test_util.h"

namespace watershed::sources {
namespace {

using testing_util::Gzip;
using testing_util::MakeTempDir;
using testing_util::WriteFile;
using testing_util::Zstd;

// Reads everything, `step` bytes per call.
StatusOr<std::string> ReadAll(ByteInput& input, size_t step = 1 << 16) {
  std::string out;
  std::string buf(step, '\0');
  while (true) {
    WS_ASSIGN_OR_RETURN(size_t n, input.Read(buf.data(), buf.size()));
    if (n == 0) return out;
    out.append(buf.data(), n);
  }
}

// Text that compresses well but is not trivially repetitive.
std::string SampleText(size_t lines) {
  std::string s;
  for (size_t i = 0; i < lines; ++i) {
    s += "{\"id\":" + std::to_string(i) + ",\"name\":\"row " + std::to_string(i * 7919 % 10007) +
         "\"}\n";
  }
  return s;
}

class ByteInputTest : public ::testing::Test {
 protected:
  std::string dir_ = MakeTempDir();
};

TEST_F(ByteInputTest, PlainFile) {
  const std::string text = SampleText(1000);
  const std::string path = WriteFile(dir_, "plain.ndjson", text);
  auto input = ByteInput::Open(path);
  ASSERT_TRUE(input.ok()) << input.status();
  EXPECT_EQ((*input)->compression(), Compression::kNone);
  EXPECT_EQ((*input)->name(), path);
  auto got = ReadAll(**input, 1000);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, text);
  EXPECT_EQ((*input)->compressed_bytes_read(), text.size());
  // End of input stays end of input.
  char c;
  EXPECT_EQ(*(*input)->Read(&c, 1), 0u);
}

TEST_F(ByteInputTest, EmptyAndTinyFiles) {
  auto empty = ByteInput::Open(WriteFile(dir_, "empty.gz", ""));
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ((*empty)->compression(), Compression::kNone);  // no magic bytes: plain
  EXPECT_EQ(*ReadAll(**empty), "");

  auto one = ByteInput::Open(WriteFile(dir_, "one", "\x1f"));
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ((*one)->compression(), Compression::kNone);
  EXPECT_EQ(*ReadAll(**one), "\x1f");
}

TEST_F(ByteInputTest, GzipDetectedByMagicNotExtension) {
  const std::string text = SampleText(200000);  // several MiB, many zlib input refills
  const std::string gz = Gzip(dir_, text);
  const std::string path = WriteFile(dir_, "misnamed.txt", gz);
  auto input = ByteInput::Open(path);
  ASSERT_TRUE(input.ok()) << input.status();
  EXPECT_EQ((*input)->compression(), Compression::kGzip);
  auto got = ReadAll(**input);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->size(), text.size());
  EXPECT_EQ(*got, text);
  EXPECT_EQ((*input)->compressed_bytes_read(), gz.size());
}

TEST_F(ByteInputTest, GzipSmallReadsAndConcatenatedMembers) {
  const std::string a = SampleText(3000);
  const std::string b = SampleText(10);
  const std::string path =
      WriteFile(dir_, "two.gz", Gzip(dir_, a) + Gzip(dir_, "") + Gzip(dir_, b));
  auto input = ByteInput::Open(path);
  ASSERT_TRUE(input.ok()) << input.status();
  auto got = ReadAll(**input, 7);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, a + b);
}

TEST_F(ByteInputTest, ZstdMultipleFrames) {
  const std::string a = SampleText(100000);
  const std::string b = SampleText(5);
  const std::string zst = Zstd(a) + Zstd(b);
  const std::string path = WriteFile(dir_, "data.ndjson.zst", zst);
  auto input = ByteInput::Open(path);
  ASSERT_TRUE(input.ok()) << input.status();
  EXPECT_EQ((*input)->compression(), Compression::kZstd);
  auto got = ReadAll(**input, 4099);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, a + b);
  EXPECT_EQ((*input)->compressed_bytes_read(), zst.size());
}

TEST_F(ByteInputTest, TruncatedGzipNamesFileAndPosition) {
  const std::string gz = Gzip(dir_, SampleText(50000));
  const std::string cut = gz.substr(0, gz.size() / 2);
  const std::string path = WriteFile(dir_, "data.ndjson.gz", cut);
  auto input = ByteInput::Open(path);
  ASSERT_TRUE(input.ok()) << input.status();
  auto got = ReadAll(**input);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(got.status().message(),
            "reading " + path +
                ": truncated gzip stream: input ends inside a member at compressed byte " +
                std::to_string(cut.size()));
}

TEST_F(ByteInputTest, CorruptGzip) {
  // A valid gzip header with an invalid deflate block type (3) right after it.
  const std::string bad("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x07\x00\x00\x00", 14);
  const std::string path = WriteFile(dir_, "bad.gz", bad);
  auto input = ByteInput::Open(path);
  ASSERT_TRUE(input.ok()) << input.status();
  auto got = ReadAll(**input);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(got.status().message(),
            "reading " + path + ": corrupt gzip stream at compressed byte 11: invalid block type");
}

TEST_F(ByteInputTest, GzipTrailingGarbageIsAnError) {
  const std::string path =
      WriteFile(dir_, "trail.gz", Gzip(dir_, "hello\n") + std::string("not gzip at all"));
  auto input = ByteInput::Open(path);
  ASSERT_TRUE(input.ok()) << input.status();
  auto got = ReadAll(**input);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(got.status().message().find("corrupt gzip stream at compressed byte"),
            std::string::npos)
      << got.status();
}

TEST_F(ByteInputTest, TruncatedAndCorruptZstd) {
  const std::string zst = Zstd(SampleText(50000));
  const std::string cut = zst.substr(0, zst.size() - 10);
  const std::string path = WriteFile(dir_, "cut.zst", cut);
  auto input = ByteInput::Open(path);
  ASSERT_TRUE(input.ok()) << input.status();
  auto got = ReadAll(**input);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(got.status().message(),
            "reading " + path +
                ": truncated zstd stream: input ends inside a frame at compressed byte " +
                std::to_string(cut.size()));

  // Magic bytes followed by a frame header with the reserved bit set.
  const std::string bad_path =
      WriteFile(dir_, "bad.zst", std::string("\x28\xb5\x2f\xfd\x08\x00\x00\x00\x00\x00", 10));
  auto bad = ByteInput::Open(bad_path);
  ASSERT_TRUE(bad.ok()) << bad.status();
  auto bad_got = ReadAll(**bad);
  EXPECT_EQ(bad_got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(bad_got.status().message(),
            "reading " + bad_path +
                ": corrupt zstd stream at compressed byte 4: Unsupported frame parameter");
}

TEST_F(ByteInputTest, MissingFileAndDirectory) {
  const std::string path = dir_ + "/nope.ndjson";
  auto missing = ByteInput::Open(path);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "file not found: " + path + " (check the path)");

  auto dir = ByteInput::Open(dir_);
  EXPECT_EQ(dir.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(dir.status().message(), "opening " + dir_ + ": is a directory, not a file");
}

TEST_F(ByteInputTest, StdinIsSniffedToo) {
  const std::string text = SampleText(5000);
  const std::string path = WriteFile(dir_, "stdin.gz", Gzip(dir_, text));
  int saved = ::dup(STDIN_FILENO);
  int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::dup2(fd, STDIN_FILENO), STDIN_FILENO);
  ::close(fd);
  auto input = ByteInput::Open("-");
  std::string got;
  if (input.ok()) {
    EXPECT_EQ((*input)->name(), "<stdin>");
    EXPECT_EQ((*input)->compression(), Compression::kGzip);
    got = ReadAll(**input).value_or("<error>");
    input->reset();  // does not close fd 0
  }
  ASSERT_EQ(::dup2(saved, STDIN_FILENO), STDIN_FILENO);
  ::close(saved);
  ASSERT_TRUE(input.ok()) << input.status();
  EXPECT_EQ(got, text);
}

TEST_F(ByteInputTest, FromString) {
  const std::string text = SampleText(100);
  auto input = ByteInput::FromString(Zstd(text), "upload");
  ASSERT_TRUE(input.ok()) << input.status();
  EXPECT_EQ((*input)->name(), "upload");
  EXPECT_EQ((*input)->compression(), Compression::kZstd);
  EXPECT_EQ(*ReadAll(**input), text);
  EXPECT_STREQ(CompressionName(Compression::kZstd), "zstd");
}

}  // namespace
}  // namespace watershed::sources
