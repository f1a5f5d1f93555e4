// iceberg/avro.h — Avro's binary encoding and its object container file (Avro 1.11
// specification), written by hand because Iceberg's manifests need the `field-id` attributes
// that Debian's libavro drops from the header schema (MACHINE-NOTES 2026-12-02).
//
// Owns: AvroEncoder (zigzag varint int/long, bool, double, string, bytes, union branch, array
// blocks) and AvroContainer (magic, file metadata with avro.schema and avro.codec "null", a
// 16-byte sync marker, one block holding every record). Does not own: what the records mean
// (iceberg/manifest.h) or reading Avro back (tests decode with python3-avro).
// Thread safety: an AvroEncoder is one caller's; AvroContainer is a pure function.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace watershed::iceberg {

// Appends Avro binary encodings to a buffer. A record is its fields in schema order; an
// optional field (union ["null", T]) is Union(0) or Union(1) then T.
class AvroEncoder {
 public:
  void Bool(bool v) { out_.push_back(v ? 1 : 0); }
  void Int(int32_t v) { Long(v); }
  void Long(int64_t v);
  void Double(double v);
  void String(std::string_view s) { Bytes(s); }
  void Bytes(std::string_view b);
  void Union(int branch) { Long(branch); }
  // An array of `n` items: ArrayStart(n), the items, ArrayEnd() (n may be 0).
  void ArrayStart(int64_t n) {
    if (n > 0) Long(n);
  }
  void ArrayEnd() { Long(0); }

  const std::string& data() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// A whole object container file: `schema_json` as avro.schema, `metadata` as more file
// metadata (Iceberg's "schema", "partition-spec", ...), `records` (each one encoded record) in
// one uncompressed block, `sync` (16 bytes; a random one makes files differ) after it.
std::string AvroContainer(std::string_view schema_json,
                          const std::vector<std::pair<std::string, std::string>>& metadata,
                          const std::vector<std::string>& records, std::string_view sync);

// 16 random bytes for AvroContainer's sync marker.
std::string NewSyncMarker();

}  // namespace watershed::iceberg
