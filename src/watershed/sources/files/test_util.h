// sources/files/test_util.h — helpers for this folder's tests only: making gzip / zstd bytes
// with the real libraries (scratch folders and files come from base/test_util.h).
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
#include "watershed/base/test_util.h"

namespace watershed::sources::testing_util {

using ::watershed::testing_util::MakeTempDir;
using ::watershed::testing_util::ReadFileBytes;
using ::watershed::testing_util::WriteFile;

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
