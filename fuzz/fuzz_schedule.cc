// fuzz/fuzz_schedule.cc — the cron / "every N" schedule parser and the duration parser over any
// text: a schedule that parses always has a next fire time after any instant.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "watershed/base/clock.h"
#include "watershed/orchestrate/cron.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace watershed;
  std::string text(reinterpret_cast<const char*>(data), size);
  ParseDuration(text).IgnoreError();
  auto schedule = orchestrate::Schedule::Parse(text);
  if (schedule.ok()) {
    const int64_t now = 1764633600;  // 2025-12-02T00:00:00Z
    const int64_t next = schedule->Next(now);
    if (next <= now) std::abort();  // the contract: strictly after
  }
  return 0;
}
