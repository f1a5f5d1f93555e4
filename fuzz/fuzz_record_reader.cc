// fuzz/fuzz_record_reader.cc — the file record readers (NDJSON, JSON arrays and documents, CSV)
// over any bytes, compressed or not (gzip and zstd are sniffed from the first bytes). The first
// byte picks the format. Every input must end in records, bad records or a clean error: never a
// crash, a hang or unbounded memory.
#include <cstdint>
#include <string>

#include "watershed/sources/files/input.h"
#include "watershed/sources/files/record_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace watershed::sources;
  if (size == 0) return 0;
  const FileFormat formats[] = {FileFormat::kAuto, FileFormat::kNdjson, FileFormat::kJson,
                                FileFormat::kCsv};
  const FileFormat format = formats[data[0] % 4];
  auto input = ByteInput::FromString(std::string(reinterpret_cast<const char*>(data) + 1, size - 1),
                                     "fuzz.input");
  if (!input.ok()) return 0;
  auto reader = RecordReader::Create(std::move(*input), format);
  if (!reader.ok()) return 0;
  Record record;
  for (int i = 0; i < 100000; ++i) {
    auto more = (*reader)->Next(&record);
    if (!more.ok() || !*more) break;
  }
  return 0;
}
