// sources/files/record_reader.cc — the three record splitters (NDJSON, JSON, CSV) over a sliding
// byte window, and format resolution.
//
// Owns: record boundaries, line/offset bookkeeping, splitter-level faults (see the header).
// Does not belong here: JSON parsing, field typing, decompression. Thread safety: none.
// Over 600 lines on purpose: the three splitters share one sliding window and its position
// bookkeeping; apart, each would need a copy of it. Splitting per format is the next step if
// a fourth format arrives.
#include "watershed/sources/files/record_reader.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <tuple>
#include <utility>

#include "watershed/base/strings.h"

namespace watershed::sources {

static_assert(kJsonPadding >= simdjson::SIMDJSON_PADDING);

StatusOr<FileFormat> ParseFileFormat(std::string_view name) {
  const std::string lower = ToLower(name);
  if (lower == "ndjson" || lower == "jsonl") return FileFormat::kNdjson;
  if (lower == "json") return FileFormat::kJson;
  if (lower == "csv") return FileFormat::kCsv;
  if (lower == "auto") return FileFormat::kAuto;
  return absl::InvalidArgumentError(StrCat("unknown file format \"", std::string(name),
                                           "\" (valid: auto, ndjson, jsonl, json, csv)"));
}

const char* FileFormatName(FileFormat format) {
  switch (format) {
    case FileFormat::kAuto:
      return "auto";
    case FileFormat::kNdjson:
      return "ndjson";
    case FileFormat::kJson:
      return "json";
    case FileFormat::kCsv:
      return "csv";
  }
  return "unknown";
}

namespace {

constexpr size_t kChunk = size_t{4} << 20;

bool IsJsonSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// A sliding window over the decompressed input: [begin, end) is unread data. Positions that the
// splitters keep are relative to begin, so they survive Fill() (which may move or reallocate the
// bytes). At least kJsonPadding allocated, initialized bytes always follow end.
class Window {
 public:
  explicit Window(std::unique_ptr<ByteInput> input) : input_(std::move(input)) {}

  const char* data() const { return buf_.get() + begin_; }
  size_t size() const { return end_ - begin_; }
  bool eof() const { return eof_; }
  // Absolute offset (in the decompressed input) of data()[0].
  uint64_t offset() const { return offset_; }
  ByteInput& input() const { return *input_; }

  void Consume(size_t n) {
    begin_ += n;
    offset_ += n;
  }

  // Appends up to `want` more bytes (fewer only at end of input, which sets eof()). An input
  // error after some bytes arrived is held back until those bytes are used, so the records
  // before a corrupt spot still come out.
  Status Fill(size_t want) {
    if (eof_) return Status();
    if (!held_error_.ok()) return held_error_;
    const size_t pending = end_ - begin_;
    if (cap_ - kJsonPadding - end_ < want) {
      const size_t needed = pending + want + kJsonPadding;
      if (needed <= cap_) {
        std::memmove(buf_.get(), buf_.get() + begin_, pending);
      } else {
        const size_t new_cap = std::max(needed, cap_ * 2);
        auto bigger = std::make_unique<char[]>(new_cap);  // zeroed: the padding is initialized
        if (pending > 0) std::memcpy(bigger.get(), buf_.get() + begin_, pending);
        buf_ = std::move(bigger);
        cap_ = new_cap;
      }
      begin_ = 0;
      end_ = pending;
    }
    size_t got_total = 0;
    while (got_total < want) {
      StatusOr<size_t> read = input_->Read(buf_.get() + end_, want - got_total);
      if (!read.ok()) {
        if (got_total == 0) return read.status();
        held_error_ = read.status();
        break;
      }
      const size_t got = *read;
      if (got == 0) {
        eof_ = true;
        break;
      }
      end_ += got;
      got_total += got;
    }
    // The bytes after end_ may hold stale data from earlier fills; that is fine for padding.
    return Status();
  }

 private:
  std::unique_ptr<ByteInput> input_;
  std::unique_ptr<char[]> buf_ = std::make_unique<char[]>(kJsonPadding);
  size_t cap_ = kJsonPadding;
  size_t begin_ = 0;
  size_t end_ = 0;
  uint64_t offset_ = 0;
  bool eof_ = false;
  Status held_error_;
};

// Bytes that matter while scanning a value, by context.
enum : uint8_t { kInString = 1, kOutside = 2, kScalarEnd = 4 };
constexpr std::array<uint8_t, 256> MakeJsonTable() {
  std::array<uint8_t, 256> t{};
  for (unsigned char c : {'"', '\\', '\n'}) t[c] |= kInString;
  for (unsigned char c : {'"', '{', '}', '[', ']', '\n'}) t[c] |= kOutside;
  for (unsigned char c : {' ', '\t', '\r', '\n', ',', '"', '{', '}', '[', ']'}) t[c] |= kScalarEnd;
  return t;
}
constexpr std::array<uint8_t, 256> kJsonTable = MakeJsonTable();

// The longest JSON token (a string with its quotes, or a bare scalar) in `text`: {length, start}.
// Containers and whitespace do not count. Linear; used only for records longer than the field
// limit.
std::pair<size_t, size_t> LongestJsonToken(std::string_view text) {
  size_t best = 0, best_at = 0;
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const char c = text[i];
    if (c == '"') {
      size_t j = i + 1;
      while (j < n && text[j] != '"') j += text[j] == '\\' ? 2 : 1;
      j = std::min(j + 1, n);
      if (j - i > best) best = j - i, best_at = i;
      i = j;
    } else if (IsJsonSpace(c) || c == '{' || c == '}' || c == '[' || c == ']' || c == ',' ||
               c == ':') {
      ++i;
    } else {
      size_t j = i;
      while (j < n && !(kJsonTable[static_cast<uint8_t>(text[j])] & kScalarEnd) && text[j] != ':') {
        ++j;
      }
      j = std::max(j, i + 1);
      if (j - i > best) best = j - i, best_at = i;
      i = j;
    }
  }
  return {best, best_at};
}

class ReaderBase : public RecordReader {
 public:
  ReaderBase(Window window, FileFormat format, const InputLimits& limits)
      : window_(std::move(window)), format_(format), limits_(limits) {}

  const std::vector<std::string>& csv_header() const override { return header_; }
  FileFormat format() const override { return format_; }
  uint64_t bytes_read() const override { return window_.input().compressed_bytes_read(); }
  const std::string& name() const override { return window_.input().name(); }

 protected:
  static void Reset(Record* out) {
    out->json = {};
    out->raw = {};
    out->fields.clear();
    out->quoted.clear();
    out->error.clear();
  }

  bool OverRecordLimit(uint64_t n) const {
    return limits_.max_record_bytes > 0 && n > limits_.max_record_bytes;
  }

  // Starts keeping the first bytes of a record over the record limit.
  void KeepPreview(const char* b, size_t n) {
    preview_.assign(b, std::min(n, kOversizePreviewBytes));
  }

  // *out becomes the bad record of `total` bytes (over the record limit) whose first bytes
  // KeepPreview() kept.
  void EmitOversize(Record* out, uint64_t total, uint64_t line, uint64_t offset) {
    const size_t kept = preview_.size();
    preview_.resize(kept + kJsonPadding, ' ');
    out->raw = std::string_view(preview_.data(), kept);
    out->json = format_ == FileFormat::kCsv ? std::string_view() : out->raw;
    out->fields.clear();
    out->quoted.clear();
    out->line = line;
    out->byte_offset = offset;
    out->error = StrCat("record of ", total, " bytes is over ", LimitSettingName("max_record_mb"),
                        " = ", limits_.max_record_bytes, " bytes; skipped (its first ", kept,
                        " bytes are kept); raise the limit if such records are genuine");
  }

  // Checks a complete record against the record and field limits, setting out->error.
  void CheckLimits(Record* out) {
    if (!out->error.empty()) return;
    if (OverRecordLimit(out->raw.size())) {
      KeepPreview(out->raw.data(), out->raw.size());
      EmitOversize(out, out->raw.size(), out->line, out->byte_offset);
      return;
    }
    const uint64_t max_field = limits_.max_field_bytes;
    if (max_field == 0 || out->raw.size() <= max_field) return;  // no field can be longer
    size_t longest = 0, at = 0;
    if (format_ == FileFormat::kCsv) {
      for (const std::string_view f : out->fields) {
        if (f.size() > longest) {
          longest = f.size();
          // A field's bytes may be unescaped into scratch space; its position is then unknown.
          at = f.data() >= out->raw.data() && f.data() < out->raw.data() + out->raw.size()
                   ? static_cast<size_t>(f.data() - out->raw.data())
                   : 0;
        }
      }
    } else {
      std::tie(longest, at) = LongestJsonToken(out->raw);
    }
    if (longest > max_field) {
      out->error = StrCat("field of ", longest, " bytes at byte ", at, " of the record is over ",
                          LimitSettingName("max_field_mb"), " = ", max_field,
                          " bytes; raise the limit if such fields are genuine");
    }
  }

  Window window_;
  FileFormat format_;
  InputLimits limits_;
  std::string preview_;  // the first bytes of a record over the record limit
  uint64_t line_ = 1;    // line of window_.data()[0] (NDJSON, CSV) or of the scan position (JSON)
  std::vector<std::string> header_;
};

// ---------------------------------------------------------------------------------------------
// NDJSON: one record per '\n'-terminated line.

class NdjsonReader : public ReaderBase {
 public:
  NdjsonReader(Window window, const InputLimits& limits)
      : ReaderBase(std::move(window), FileFormat::kNdjson, limits) {}

  StatusOr<bool> Next(Record* out) override {
    Reset(out);
    while (true) {
      const char* b = window_.data();
      const size_t n = window_.size();
      const void* nl = scan_ < n ? std::memchr(b + scan_, '\n', n - scan_) : nullptr;
      size_t len;
      size_t consume;
      if (nl != nullptr) {
        len = static_cast<const char*>(nl) - b;
        consume = len + 1;
      } else if (window_.eof()) {
        if (n == 0) return false;
        len = consume = n;
      } else if (OverRecordLimit(n)) {
        return SkipOversize(out);
      } else {
        scan_ = n;  // no newline so far: do not search these bytes again
        WS_RETURN_IF_ERROR(window_.Fill(kChunk));
        continue;
      }
      scan_ = 0;
      std::string_view text(b, len);
      const uint64_t line = line_++;
      const uint64_t offset = window_.offset();
      window_.Consume(consume);
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      if (std::all_of(text.begin(), text.end(), IsJsonSpace)) continue;
      out->json = out->raw = text;
      out->line = line;
      out->byte_offset = offset;
      CheckLimits(out);
      return true;
    }
  }

 private:
  // The line at the window's start is over the record limit: keeps its first bytes and drops
  // the rest up to the next newline without buffering it.
  StatusOr<bool> SkipOversize(Record* out) {
    const uint64_t line = line_++;
    const uint64_t offset = window_.offset();
    KeepPreview(window_.data(), window_.size());
    uint64_t total = 0;
    while (true) {
      const char* b = window_.data();
      const size_t n = window_.size();
      const void* nl = n > 0 ? std::memchr(b, '\n', n) : nullptr;
      if (nl != nullptr) {
        const size_t len = static_cast<const char*>(nl) - b;
        total += len;
        window_.Consume(len + 1);
        break;
      }
      total += n;
      window_.Consume(n);
      if (window_.eof()) break;
      WS_RETURN_IF_ERROR(window_.Fill(kChunk));
    }
    scan_ = 0;
    EmitOversize(out, total, line, offset);
    return true;
  }

  size_t scan_ = 0;  // bytes of the window already searched for '\n'
};

// ---------------------------------------------------------------------------------------------
// JSON: one top-level array streamed element by element, or a sequence of top-level values.

class JsonReader : public ReaderBase {
 public:
  JsonReader(Window window, const InputLimits& limits)
      : ReaderBase(std::move(window), FileFormat::kJson, limits) {}

  StatusOr<bool> Next(Record* out) override {
    Reset(out);
    while (true) {
      const char* b = window_.data();
      const size_t n = window_.size();
      if (kind_ != Kind::kNone) {
        if (!ScanValue(b, n)) {
          if (!window_.eof()) {
            if (skipped_ > 0 || OverRecordLimit(scan_ - value_start_)) {
              // Over the record limit: keep the first bytes, then drop what is scanned.
              if (skipped_ == 0) KeepPreview(b + value_start_, scan_ - value_start_);
              skipped_ += scan_ - value_start_;
              window_.Consume(scan_);
              scan_ = value_start_ = 0;
            }
            WS_RETURN_IF_ERROR(window_.Fill(kChunk));
            continue;
          }
          if (kind_ != Kind::kScalar) {  // a scalar simply ends at the end of input
            value_error_ = "truncated JSON: unterminated value at end of input";
            last_truncated_ = true;
          }
        }
        Emit(b, out);
        return true;
      }
      // Between values: skip whitespace (and tolerated commas), counting lines.
      while (scan_ < n) {
        const char c = b[scan_];
        if (c == '\n') {
          ++line_;
        } else if (!IsJsonSpace(c) && !(c == ',' && state_ != State::kStart)) {
          break;
        }
        ++scan_;
      }
      if (scan_ == n) {
        if (!window_.eof()) {
          window_.Consume(scan_);
          scan_ = 0;
          WS_RETURN_IF_ERROR(window_.Fill(kChunk));
          continue;
        }
        if (state_ == State::kArray && !last_truncated_) {
          state_ = State::kDone;  // report once
          out->json = out->raw = std::string_view(b + n, 0);
          out->line = line_;
          out->byte_offset = window_.offset() + n;
          out->error = "truncated JSON: top-level array not closed at end of input";
          return true;
        }
        return false;
      }
      const char c = b[scan_];
      switch (state_) {
        case State::kStart:
          if (c == '[') {
            state_ = State::kArray;
            ++scan_;
            continue;
          }
          state_ = State::kSequence;
          break;
        case State::kArray:
          if (c == ']') {
            state_ = State::kAfterArray;
            ++scan_;
            continue;
          }
          break;  // an element; a missing comma before it is tolerated
        case State::kAfterArray:
          if (c == '[') {  // concatenated arrays
            state_ = State::kArray;
            ++scan_;
            continue;
          }
          value_error_ = "unexpected data after the end of the top-level JSON array";
          break;
        case State::kSequence:
        case State::kDone:
          break;
      }
      StartValue(c);
    }
  }

 private:
  enum class State { kStart, kArray, kAfterArray, kSequence, kDone };
  enum class Kind { kNone, kContainer, kString, kScalar };

  void StartValue(char c) {
    value_start_ = scan_;
    value_line_ = line_;
    value_offset_ = window_.offset() + scan_;
    skipped_ = 0;
    stray_ = false;
    last_truncated_ = false;
    ++scan_;
    depth_ = 0;
    in_string_ = escape_ = false;
    if (c == '{' || c == '[') {
      kind_ = Kind::kContainer;
      depth_ = 1;
    } else if (c == '"') {
      kind_ = Kind::kString;
      in_string_ = true;
    } else {
      kind_ = Kind::kScalar;
      const bool starts_scalar =
          c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n';
      if (c == '}' || c == ']') {
        --scan_;  // a stray closer is junk of its own: one byte (advanced in ScanValue)
        stray_ = true;
      } else if (starts_scalar) {
        return;
      }
      if (value_error_.empty()) {
        value_error_ =
            StrCat("unexpected '", std::string(1, c), "': not the start of a JSON value");
      }
    }
  }

  // Advances scan_ through the current value; true when it is complete (scan_ just past it).
  bool ScanValue(const char* b, size_t n) {
    size_t i = scan_;
    if (kind_ == Kind::kScalar) {
      if (stray_) {  // a stray '}' or ']'
        stray_ = false;
        scan_ = i + 1;
        return true;
      }
      while (i < n && !(kJsonTable[static_cast<uint8_t>(b[i])] & kScalarEnd)) ++i;
      scan_ = i;
      return i < n;
    }
    while (i < n) {
      if (in_string_) {
        if (escape_) {
          escape_ = false;
          if (b[i] == '\n') ++line_;
          ++i;
          continue;
        }
        while (i < n && !(kJsonTable[static_cast<uint8_t>(b[i])] & kInString)) ++i;
        if (i == n) break;
        const char c = b[i++];
        if (c == '\\') {
          escape_ = true;
        } else if (c == '\n') {
          ++line_;
        } else {  // '"'
          in_string_ = false;
          if (depth_ == 0) {
            scan_ = i;
            return true;
          }
        }
        continue;
      }
      while (i < n && !(kJsonTable[static_cast<uint8_t>(b[i])] & kOutside)) ++i;
      if (i == n) break;
      switch (b[i++]) {
        case '"':
          in_string_ = true;
          break;
        case '{':
        case '[':
          ++depth_;
          break;
        case '}':
        case ']':
          if (--depth_ == 0) {
            scan_ = i;
            return true;
          }
          break;
        default:  // '\n'
          ++line_;
      }
    }
    scan_ = i;
    return false;
  }

  // Hands out [value_start_, scan_) and consumes it from the window.
  void Emit(const char* b, Record* out) {
    if (skipped_ > 0) {
      EmitOversize(out, skipped_ + (scan_ - value_start_), value_line_, value_offset_);
      skipped_ = 0;
    } else {
      out->json = out->raw = std::string_view(b + value_start_, scan_ - value_start_);
      out->line = value_line_;
      out->byte_offset = value_offset_;
      out->error = std::move(value_error_);
      CheckLimits(out);
    }
    value_error_.clear();
    window_.Consume(scan_);
    scan_ = 0;
    kind_ = Kind::kNone;
  }

  State state_ = State::kStart;
  Kind kind_ = Kind::kNone;
  size_t scan_ = 0;         // scan position, relative to the window
  size_t value_start_ = 0;  // start of the current value, relative to the window
  uint64_t value_line_ = 0;
  uint64_t value_offset_ = 0;  // absolute offset of the current value
  uint64_t skipped_ = 0;       // bytes of the current value dropped (over the record limit)
  bool stray_ = false;         // the current "value" is a stray '}' or ']'
  int64_t depth_ = 0;
  bool in_string_ = false;
  bool escape_ = false;
  bool last_truncated_ = false;
  std::string value_error_;
};

// ---------------------------------------------------------------------------------------------
// CSV (RFC 4180, ',' separator). A row is parsed from the start of the window; when it does not
// fit, the window grows (geometrically) and the row is parsed again, so the cost stays linear.

class CsvReader : public ReaderBase {
 public:
  CsvReader(Window window, const InputLimits& limits)
      : ReaderBase(std::move(window), FileFormat::kCsv, limits) {}

  // Reads the header row. An empty input has no header.
  Status ReadHeader() {
    Record header;
    WS_ASSIGN_OR_RETURN(bool got, NextRow(&header));
    if (!got) return Status();
    if (!header.error.empty()) {
      return absl::InvalidArgumentError(
          StrCat("reading ", name(), ": header row (line ", header.line, "): ", header.error));
    }
    if (limits_.max_columns > 0 && header.fields.size() > limits_.max_columns) {
      return absl::InvalidArgumentError(
          StrCat("reading ", name(), ": header row (line ", header.line, ") has ",
                 header.fields.size(), " columns, over ", LimitSettingName("max_columns"), " = ",
                 limits_.max_columns, "; raise the limit if the file is genuine"));
    }
    header_.assign(header.fields.begin(), header.fields.end());
    return Status();
  }

  StatusOr<bool> Next(Record* out) override {
    WS_ASSIGN_OR_RETURN(bool got, NextRow(out));
    if (got && out->error.empty() && out->fields.size() != header_.size()) {
      out->error =
          StrCat("ragged row: ", out->fields.size(), " fields, header has ", header_.size());
    }
    return got;
  }

 private:
  enum class Parse { kRow, kNeedMore };
  struct Span {
    bool in_scratch;
    size_t pos;
    size_t len;
  };

  StatusOr<bool> NextRow(Record* out) {
    Reset(out);
    while (true) {
      const char* b = window_.data();
      const size_t n = window_.size();
      // Skip empty lines.
      if (n > 0 && b[0] == '\n') {
        window_.Consume(1);
        ++line_;
        continue;
      }
      if (n > 0 && b[0] == '\r' && (n > 1 || window_.eof())) {
        if (n == 1 || b[1] == '\n') {
          window_.Consume(n == 1 ? 1 : 2);
          ++line_;
          continue;
        }
      }
      if (n == 0 && window_.eof()) return false;
      if (n < 2 && !window_.eof()) {  // too little to decide anything
        WS_RETURN_IF_ERROR(window_.Fill(kChunk));
        continue;
      }
      if (ParseRow(b, n, window_.eof(), out) == Parse::kNeedMore) {
        if (OverRecordLimit(n)) return SkipOversize(out);
        WS_RETURN_IF_ERROR(window_.Fill(std::max(kChunk, n)));
        continue;
      }
      CheckLimits(out);
      return true;
    }
  }

  // Parses the row at b[0]. On kRow fills *out and consumes the row from the window.
  Parse ParseRow(const char* b, size_t n, bool eof, Record* out) {
    spans_.clear();
    scratch_.clear();
    out->quoted.clear();
    uint64_t newlines = 0;  // inside quoted fields
    size_t line_end = 0;    // next '\n' at or after i (n if none); valid while i <= line_end
    bool line_end_known = false;
    size_t i = 0;
    while (true) {
      if (i < n && b[i] == '"') {
        const size_t content = i + 1;
        size_t seg = content;  // start of the not yet copied part (when unescaping)
        bool unescaped = false;
        size_t scratch_start = scratch_.size();
        size_t j = content;
        size_t close = content;  // the closing quote
        while (true) {
          const void* q = j < n ? std::memchr(b + j, '"', n - j) : nullptr;
          if (q == nullptr) {
            if (!eof) return Parse::kNeedMore;
            return Unterminated(b, n, out);
          }
          const size_t k = static_cast<const char*>(q) - b;
          if (k + 1 == n && !eof) return Parse::kNeedMore;  // "" split by the window end?
          if (k + 1 < n && b[k + 1] == '"') {
            scratch_.append(b + seg, k + 1 - seg);
            seg = j = k + 2;
            unescaped = true;
            continue;
          }
          newlines += std::count(b + content, b + k, '\n');
          if (unescaped) scratch_.append(b + seg, k - seg);
          close = k;
          i = k + 1;
          break;
        }
        // Text after the closing quote and before the delimiter is kept literally (lenient).
        if (i < n && b[i] != ',' && b[i] != '\n') {
          size_t d = i;
          while (d < n && b[d] != ',' && b[d] != '\n') ++d;
          if (d == n && !eof) return Parse::kNeedMore;
          size_t tail_end = d;
          if (tail_end > i && b[tail_end - 1] == '\r' && (d < n ? b[d] == '\n' : true)) --tail_end;
          if (tail_end > i) {
            if (!unescaped) {
              scratch_.append(b + content, close - content);
              unescaped = true;
            }
            scratch_.append(b + i, tail_end - i);
          }
          i = d;
        }
        if (unescaped) {
          spans_.push_back({true, scratch_start, scratch_.size() - scratch_start});
        } else {
          spans_.push_back({false, content, close - content});
        }
        out->quoted.push_back(true);
      } else {
        if (!line_end_known || line_end < i) {
          const void* nl = i < n ? std::memchr(b + i, '\n', n - i) : nullptr;
          if (nl == nullptr && !eof) return Parse::kNeedMore;
          line_end = nl != nullptr ? static_cast<const char*>(nl) - b : n;
          line_end_known = true;
        }
        const void* comma = std::memchr(b + i, ',', line_end - i);
        size_t d = comma != nullptr ? static_cast<const char*>(comma) - b : line_end;
        size_t field_end = d;
        if (d == line_end && field_end > i && b[field_end - 1] == '\r') --field_end;
        spans_.push_back({false, i, field_end - i});
        out->quoted.push_back(false);
        i = d;
      }
      if (i < n && b[i] == ',') {
        ++i;
        continue;
      }
      break;  // b[i] == '\n', or i == n at the end of input
    }
    size_t raw_len = i;
    if (raw_len > 0 && b[raw_len - 1] == '\r') --raw_len;
    const size_t consumed = i < n ? i + 1 : i;
    out->raw = std::string_view(b, raw_len);
    out->fields.resize(spans_.size());
    for (size_t f = 0; f < spans_.size(); ++f) {
      const Span& s = spans_[f];
      out->fields[f] = std::string_view((s.in_scratch ? scratch_.data() : b) + s.pos, s.len);
    }
    out->line = line_;
    out->byte_offset = window_.offset();
    line_ += newlines + (i < n ? 1 : 0);
    window_.Consume(consumed);
    if (!simdjson::validate_utf8(out->raw.data(), out->raw.size())) {
      out->error = StrCat("invalid UTF-8 at byte ", ValidUtf8Prefix(out->raw), " of the row");
    }
    return Parse::kRow;
  }

  // The row at the window's start is over the record limit: keeps its first bytes and drops the
  // rest up to the end of the row (a newline outside quotes) without buffering it.
  StatusOr<bool> SkipOversize(Record* out) {
    const uint64_t line = line_;
    const uint64_t offset = window_.offset();
    KeepPreview(window_.data(), window_.size());
    uint64_t total = 0;
    bool in_quotes = false;
    while (true) {
      const char* b = window_.data();
      const size_t n = window_.size();
      size_t i = 0;
      bool row_end = false;
      for (; i < n; ++i) {
        if (b[i] == '"') {
          in_quotes = !in_quotes;  // "" inside a quoted field toggles twice
        } else if (b[i] == '\n') {
          ++line_;
          if (!in_quotes) {
            row_end = true;
            break;
          }
        }
      }
      total += i;
      window_.Consume(row_end ? i + 1 : i);
      if (row_end || window_.eof()) break;
      WS_RETURN_IF_ERROR(window_.Fill(kChunk));
    }
    if (total > 0 && preview_.size() >= total) preview_.resize(total);
    EmitOversize(out, total, line, offset);
    return true;
  }

  Parse Unterminated(const char* b, size_t n, Record* out) {
    out->fields.clear();
    out->quoted.clear();
    out->raw = std::string_view(b, n);
    out->line = line_;
    out->byte_offset = window_.offset();
    out->error = "unterminated quoted field";
    line_ += std::count(b, b + n, '\n');
    window_.Consume(n);
    return Parse::kRow;
  }

  std::vector<Span> spans_;
  std::string scratch_;
};

// ---------------------------------------------------------------------------------------------
// Format resolution.

FileFormat FormatFromExtension(std::string_view name) {
  const std::string lower = ToLower(name);
  std::string_view s = lower;
  for (std::string_view suffix : {".gz", ".gzip", ".zst", ".zstd"}) {
    if (s.ends_with(suffix)) {
      s.remove_suffix(suffix.size());
      break;
    }
  }
  if (s.ends_with(".ndjson") || s.ends_with(".jsonl")) return FileFormat::kNdjson;
  if (s.ends_with(".json")) return FileFormat::kJson;
  if (s.ends_with(".csv")) return FileFormat::kCsv;
  return FileFormat::kAuto;
}

}  // namespace

StatusOr<std::unique_ptr<RecordReader>> RecordReader::Open(const std::string& path,
                                                           FileFormat format,
                                                           const InputLimits& limits) {
  WS_ASSIGN_OR_RETURN(std::unique_ptr<ByteInput> input, ByteInput::Open(path));
  return Create(std::move(input), format, limits);
}

StatusOr<std::unique_ptr<RecordReader>> RecordReader::Create(std::unique_ptr<ByteInput> input,
                                                             FileFormat format,
                                                             const InputLimits& limits) {
  input->SetLimits(limits);
  if (format == FileFormat::kAuto) format = FormatFromExtension(input->name());
  Window window(std::move(input));
  WS_RETURN_IF_ERROR(window.Fill(kChunk));
  // A UTF-8 byte order mark is not data (offsets still count it).
  if (window.size() >= 3 && std::memcmp(window.data(), "\xEF\xBB\xBF", 3) == 0) {
    window.Consume(3);
  }
  if (format == FileFormat::kAuto) {
    size_t i = 0;
    while (true) {
      while (i < window.size() && IsJsonSpace(window.data()[i])) ++i;
      if (i < window.size() || window.eof()) break;
      WS_RETURN_IF_ERROR(window.Fill(kChunk));
    }
    const char c = i < window.size() ? window.data()[i] : '\0';
    format = (c == '[' || c == '{') ? FileFormat::kJson : FileFormat::kCsv;
  }
  switch (format) {
    case FileFormat::kNdjson:
      return std::unique_ptr<RecordReader>(
          std::make_unique<NdjsonReader>(std::move(window), limits));
    case FileFormat::kJson:
      return std::unique_ptr<RecordReader>(std::make_unique<JsonReader>(std::move(window), limits));
    case FileFormat::kCsv:
    case FileFormat::kAuto: {
      auto reader = std::make_unique<CsvReader>(std::move(window), limits);
      WS_RETURN_IF_ERROR(reader->ReadHeader());
      return std::unique_ptr<RecordReader>(std::move(reader));
    }
  }
  return absl::InternalError("unreachable");
}

}  // namespace watershed::sources
