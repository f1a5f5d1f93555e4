// sources/files/record_reader.h — splits a (decompressed) byte stream into records: NDJSON lines,
// elements of a JSON array or a sequence of JSON values, or CSV rows.
//
// Owns: format resolution (by extension, else by sniffing), record boundaries, line numbers and
// byte offsets, and the few faults only a splitter can see (truncated JSON, junk between JSON
// values, ragged CSV rows, bad UTF-8 in CSV, unterminated quotes) — reported per record in
// Record::error so the caller quarantines the record and goes on. Streaming with bounded memory:
// the longest record plus a fixed ~4 MiB chunk (the buffer grows for long records).
// Does not belong here: parsing or validating JSON (the normalizer runs simdjson over
// Record::json), typing CSV fields, decompression (input.h).
// Thread safety: none. One reader is used by one thread at a time; distinct readers are
// independent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/sources/files/input.h"
#include "watershed/sources/files/limits.h"

namespace watershed::sources {

enum class FileFormat { kAuto, kNdjson, kJson, kCsv };

// Parses "ndjson"/"jsonl", "json", "csv", "auto" (case-insensitive); the error lists the names.
StatusOr<FileFormat> ParseFileFormat(std::string_view name);
// "auto", "ndjson", "json" or "csv".
const char* FileFormatName(FileFormat format);

// Readable bytes guaranteed after the end of Record::json (>= simdjson::SIMDJSON_PADDING), so
// that simdjson can parse a record in place.
inline constexpr size_t kJsonPadding = 64;

// How many leading bytes of a record over max_record_bytes are kept in Record::raw.
inline constexpr size_t kOversizePreviewBytes = 4096;

struct Record {
  // kNdjson / kJson: one record's JSON text (not validated). At least kJsonPadding readable
  // bytes follow json.data() + json.size(). Empty for kCsv.
  std::string_view json;
  // kCsv: the row's fields, unquoted ("" -> "). Empty for JSON formats.
  std::vector<std::string_view> fields;
  // kCsv: whether each field was quoted (tells an empty "" field from an empty unquoted one).
  std::vector<bool> quoted;
  // 1-based line of the decompressed input where the record starts.
  uint64_t line = 0;
  // 0-based byte offset in the decompressed input where the record starts.
  uint64_t byte_offset = 0;
  // Non-empty when the reader itself found the record bad; the caller quarantines `raw` and
  // goes on. Messages: "truncated JSON: unterminated value at end of input", "truncated JSON:
  // top-level array not closed at end of input" (raw empty), "unexpected 'x': not the start of
  // a JSON value", "unexpected data after the end of the top-level JSON array", "ragged row: 5
  // fields, header has 4", "invalid UTF-8 at byte N of the row" (N 0-based within raw),
  // "unterminated quoted field" (raw runs to the end of input), "record of N bytes is over
  // limits.max_record_mb (--max-record-mb) = M bytes ..." (raw: its first
  // kOversizePreviewBytes), "field of N bytes at byte K of the record is over
  // limits.max_field_mb (--max-field-mb) = M bytes ...".
  std::string error;
  // The record's bytes as in the input, without the line terminator (the quarantine keeps it).
  std::string_view raw;
};

class RecordReader {
 public:
  // Opens `path` ("-" is stdin). kAuto resolves by extension after stripping .gz/.zst
  // (.ndjson/.jsonl -> kNdjson, .json -> kJson, .csv -> kCsv); for stdin or another extension
  // it sniffs the first non-whitespace byte: '[' or '{' -> kJson, else kCsv. For kCsv the header
  // row is read here; a header that cannot be read (bad UTF-8, unterminated quote) is a
  // kInvalidArgument error naming the file, and so is a header of more than
  // limits.max_columns columns. `limits` also go to the input's decoder (input.h).
  static StatusOr<std::unique_ptr<RecordReader>> Open(const std::string& path, FileFormat format,
                                                      const InputLimits& limits = {});

  // The same over an already open input (stdin, an upload); kAuto uses input->name()'s extension.
  static StatusOr<std::unique_ptr<RecordReader>> Create(std::unique_ptr<ByteInput> input,
                                                        FileFormat format,
                                                        const InputLimits& limits = {});

  virtual ~RecordReader() = default;

  // The next record into *out; its views stay valid until the next call. Returns false at the
  // end of input (at once for an empty input). A non-OK status means an I/O or decompression
  // error and is terminal; bad records come back as records with `error` set.
  virtual StatusOr<bool> Next(Record* out) = 0;

  // kCsv: the header row's names (empty for an empty file). Empty for other formats.
  virtual const std::vector<std::string>& csv_header() const = 0;
  // The resolved format (never kAuto).
  virtual FileFormat format() const = 0;
  // Input bytes consumed so far (compressed bytes if compressed), for progress.
  virtual uint64_t bytes_read() const = 0;
  // The input's name: the path, or "<stdin>".
  virtual const std::string& name() const = 0;
};

}  // namespace watershed::sources
