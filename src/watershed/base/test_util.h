// base/test_util.h — helpers for tests only: scratch folders, file contents, test readers.
//
// Does not belong here: anything a non-test target links (this header includes GoogleTest).
// Thread safety: none (tests only).
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace watershed::testing_util {

// True (the test should skip) when Debian's python3-avro, the independent Avro reader of the
// Iceberg tests, is not installed; under CI=true its absence is a failure (scripts/setup
// installs it).
inline bool PythonAvroMissing() {
  if (std::system("/usr/bin/python3 -c 'import avro.datafile' 2>/dev/null") == 0) return false;
  const char* ci = std::getenv("CI");
  EXPECT_FALSE(ci != nullptr && std::string(ci) == "true")
      << "python3-avro is missing (scripts/setup installs it)";
  return true;
}

// A fresh folder under the test temp dir.
inline std::string MakeTempDir() {
  std::string pattern = ::testing::TempDir() + "ws_test_XXXXXX";
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

}  // namespace watershed::testing_util
