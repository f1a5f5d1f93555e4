// fuzz/fuzz_util.h — what the fuzz targets share: a scratch folder per process and writing a
// file into it. Each target is one LLVMFuzzerTestOneInput; see fuzz/README.md.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace watershed::fuzz {

// A folder of this process's own, created once, removed at exit.
inline const std::string& ScratchDir() {
  static const std::string* dir = [] {
    std::string templ =
        (std::filesystem::temp_directory_path() / "watershed-fuzz-XXXXXX").string();
    char* made = ::mkdtemp(templ.data());
    auto* path = new std::string(made != nullptr ? made : "/tmp");
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(ScratchDir(), ec);
    });
    return path;
  }();
  return *dir;
}

inline void WriteFile(const std::string& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

}  // namespace watershed::fuzz
