// iceberg/avro.cc — see avro.h.
#include "watershed/iceberg/avro.h"

#include <cstring>
#include <random>

namespace watershed::iceberg {

void AvroEncoder::Long(int64_t v) {
  // Zigzag, then 7 bits at a time, low first, high bit = more.
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (z >= 0x80) {
    out_.push_back(static_cast<char>((z & 0x7f) | 0x80));
    z >>= 7;
  }
  out_.push_back(static_cast<char>(z));
}

void AvroEncoder::Double(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
}

void AvroEncoder::Bytes(std::string_view b) {
  Long(static_cast<int64_t>(b.size()));
  out_.append(b);
}

std::string AvroContainer(std::string_view schema_json,
                          const std::vector<std::pair<std::string, std::string>>& metadata,
                          const std::vector<std::string>& records, std::string_view sync) {
  AvroEncoder e;
  // The file metadata: a map<bytes>, one block.
  e.ArrayStart(static_cast<int64_t>(metadata.size()) + 2);
  e.String("avro.schema");
  e.Bytes(schema_json);
  e.String("avro.codec");
  e.Bytes("null");
  for (const auto& [key, value] : metadata) {
    e.String(key);
    e.Bytes(value);
  }
  e.ArrayEnd();
  std::string file = "Obj\x01";
  file += e.Take();
  file.append(sync);
  if (records.empty()) return file;
  size_t size = 0;
  for (const std::string& r : records) size += r.size();
  AvroEncoder block;
  block.Long(static_cast<int64_t>(records.size()));
  block.Long(static_cast<int64_t>(size));
  file += block.Take();
  for (const std::string& r : records) file += r;
  file.append(sync);
  return file;
}

std::string NewSyncMarker() {
  std::random_device rd;
  std::string sync(16, '\0');
  for (char& c : sync) c = static_cast<char>(rd() & 0xff);
  return sync;
}

}  // namespace watershed::iceberg
