// fuzz/fuzz_normalizer.cc — the normalizer over any JSON text: flattening, child tables, type
// inference and naming must never crash, whatever the keys (NUL, dots, slashes, huge, deep).
#include <cstdint>
#include <string>

#include "watershed/normalize/normalizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace watershed::normalize;
  NormalizerOptions options;
  options.root_table = "fuzz.records";
  options.load_number = 1;
  Normalizer normalizer(options, {});
  std::string json(reinterpret_cast<const char*>(data), size);
  // Several records per input: split on newlines like NDJSON.
  size_t start = 0;
  while (start <= json.size()) {
    size_t end = json.find('\n', start);
    if (end == std::string::npos) end = json.size();
    normalizer.AddJson(std::string_view(json).substr(start, end - start), /*padded=*/false)
        .IgnoreError();
    start = end + 1;
  }
  normalizer.Flush();
  normalizer.Schemas();
  return 0;
}
