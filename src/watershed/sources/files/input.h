// sources/files/input.h — a streaming byte input over a file, stdin or a buffer, decompressed.
//
// Owns: opening a path ("-" is stdin), detecting gzip / zstd by their magic bytes (never by the
// extension alone, so a misnamed file or a compressed stdin still works), streaming the
// decompressed bytes, and stopping a decompression bomb (InputLimits::max_decompressed_bytes and
// max_decompression_ratio, limits.h). Errors name the input and the compressed byte position.
// Does not belong here: splitting bytes into records (record_reader.h), any knowledge of formats.
// Thread safety: none. One ByteInput is used by one thread at a time; distinct instances are
// independent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "watershed/base/status.h"
#include "watershed/sources/files/limits.h"

namespace watershed::sources {

enum class Compression { kNone, kGzip, kZstd };

// "none", "gzip" or "zstd".
const char* CompressionName(Compression compression);

class ByteInput {
 public:
  // Opens `path` ("-" is stdin, named "<stdin>") and sniffs its first bytes for compression.
  // Errors: kNotFound "file not found: <path> (check the path)", kPermissionDenied,
  // kInvalidArgument for a directory.
  static StatusOr<std::unique_ptr<ByteInput>> Open(const std::string& path);

  // An input over bytes already in memory (an uploaded body, a test); sniffed the same way.
  static StatusOr<std::unique_ptr<ByteInput>> FromString(std::string data, std::string name);

  virtual ~ByteInput();
  ByteInput(const ByteInput&) = delete;
  ByteInput& operator=(const ByteInput&) = delete;

  // Reads up to `n` decompressed bytes into `buf`; returns how many, 0 only at end of input.
  // Errors are terminal: kDataLoss for a corrupt or truncated compressed stream ("reading
  // x.gz: corrupt gzip stream at compressed byte 1234: ..."), kInternal / kPermissionDenied for
  // I/O failures.
  virtual StatusOr<size_t> Read(char* buf, size_t n) = 0;

  // The decompression limits (only max_decompressed_bytes and max_decompression_ratio apply;
  // plain inputs ignore them). Past either, Read() fails with kInvalidArgument naming the file,
  // the compressed byte position and the setting to raise. Default: InputLimits{}.
  void SetLimits(const InputLimits& limits) { limits_ = limits; }

  // Decompressed bytes handed out so far.
  uint64_t bytes_out() const { return bytes_out_; }

  // Bytes taken from the underlying file so far (compressed bytes when compressed), for progress.
  uint64_t compressed_bytes_read() const;
  const std::string& name() const { return name_; }
  Compression compression() const { return compression_; }

  class Source;  // internal: where the raw bytes come from (a file descriptor or a buffer)

 protected:
  ByteInput(std::string name, Compression compression, std::unique_ptr<Source> source);

  // Errors "reading <name>: <message>" with `code`.
  Status Error(absl::StatusCode code, const std::string& message) const;
  // Counts `n` more decompressed bytes and checks them against the limits.
  Status CountDecompressed(size_t n, uint64_t compressed_position);

  std::string name_;
  Compression compression_;
  std::unique_ptr<Source> source_;
  InputLimits limits_;
  uint64_t bytes_out_ = 0;
};

}  // namespace watershed::sources
