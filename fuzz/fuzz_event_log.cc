// fuzz/fuzz_event_log.cc — the durable event log's crash recovery over any segment bytes: Open
// either recovers (cutting a torn tail) or fails with kDataLoss naming the file and byte; every
// event it then reports is readable.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "fuzz/fuzz_util.h"
#include "watershed/sources/events/log.h"

// With WS_FUZZ_SEED_OUT=FILE, writes a valid segment of a few entries to FILE (the seed corpus:
// checksummed entries are hard to find from nothing) and exits.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  using namespace watershed;
  const char* out = std::getenv("WS_FUZZ_SEED_OUT");
  if (out == nullptr) return 0;
  const std::string dir = fuzz::ScratchDir() + "/seed";
  {
    sources::LogOptions options;
    options.sync = sources::LogOptions::Sync::kEveryAppend;
    auto log = sources::EventLog::Open(dir, options);
    if (!log.ok()) std::exit(1);
    (*log)->Append({"{\"a\":1}", "{\"b\":[1,2]}"}, "key-1").IgnoreError();
    (*log)->Append({"x"}, "").IgnoreError();
    (*log)->Append({"{\"c\":\"d\"}"}, "key-2").IgnoreError();
  }
  std::error_code ec;
  std::filesystem::copy_file(dir + "/00000000000000000000.log", out,
                             std::filesystem::copy_options::overwrite_existing, ec);
  std::exit(ec ? 1 : 0);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace watershed;
  namespace fs = std::filesystem;
  const std::string dir = fuzz::ScratchDir() + "/log";
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  fuzz::WriteFile(dir + "/00000000000000000000.log", data, size);
  sources::LogOptions options;
  options.sync = sources::LogOptions::Sync::kEveryAppend;
  auto log = sources::EventLog::Open(dir, options);
  if (!log.ok()) return 0;
  std::string buffer;
  std::vector<sources::LoggedEvent> events;
  uint64_t offset = (*log)->start_offset();
  for (int i = 0; i < 1000 && offset < (*log)->durable_offset(); ++i) {
    if (!(*log)->Read(offset, 1000, 1 << 20, &buffer, &events).ok() || events.empty()) break;
    offset += events.size();
  }
  return 0;
}
