// sources/files/test_util.h — helpers for this folder's tests only: a scratch directory, writing
// files, and making gzip / zstd bytes with the real libraries.
//
// Does not belong here: anything a non-test target links. Thread safety: none (tests only).
#pragma once

#include <stdlib.h>
#include <zlib.h>
#include <zstd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace watershed::sources::testing_util {

// A fresh directory under the test temp dir.
inline std::string MakeTempDir() {
  std::string pattern = ::testing::TempDir() + "ws_files_XXXXXX";
  char* dir = ::mkdtemp(pattern.data());
  EXPECT_NE(dir, nullptr);
  return pattern;
}

inline std::string WriteFile(const std::string& dir, const std::string& name,
                             const std::string& bytes) {
  std::string path = dir + "/" + name;
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  EXPECT_TRUE(out.good()) << path;
  return path;
}

inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One gzip member holding `data`, made with gzopen/gzwrite.
inline std::string Gzip(const std::string& dir, const std::string& data) {
  std::string path = dir + "/gzip_scratch.gz";
  gzFile f = gzopen(path.c_str(), "wb6");
  EXPECT_NE(f, nullptr);
  size_t done = 0;
  while (done < data.size()) {  // gzwrite takes an unsigned length
    unsigned n = static_cast<unsigned>(std::min<size_t>(data.size() - done, 1 << 30));
    EXPECT_EQ(gzwrite(f, data.data() + done, n), static_cast<int>(n));
    done += n;
  }
  EXPECT_EQ(gzclose(f), Z_OK);
  return ReadFileBytes(path);
}

// One zstd frame holding `data`.
inline std::string Zstd(const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

}  // namespace watershed::sources::testing_util
