// fuzz/fuzz_model.cc — a model's SQL template ({{ ref() }}, {{ source() }}, {{ config() }},
// {{ this }}) over any text: parsing fails with a message or compiles; never a crash.
#include <cstdint>
#include <string>

#include "watershed/transform/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace watershed;
  std::string sql(reinterpret_cast<const char*>(data), size);
  auto model = transform::ParseModel("mart", "model", "models/mart/model.sql", sql);
  if (model.ok()) {
    transform::Compile(*model);
    transform::Compile(*model, "");
  }
  return 0;
}
