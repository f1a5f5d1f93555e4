// sources/files/record_reader_test.cc — RecordReader over NDJSON, JSON and CSV files: record
// boundaries, exact lines and byte offsets, bad records reported (not lost), compressed inputs,
// format resolution, and inputs larger than the read chunk.
// Over 600 lines on purpose: every splitter fault with its exact position, one case each.
#include "watershed/sources/files/record_reader.h"

#include <fcntl.h>
#include <simdjson.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "watershed/sources/files/test_util.h"

namespace watershed::sources {
namespace {

using testing_util::Gzip;
using testing_util::MakeTempDir;
using testing_util::WriteFile;
using testing_util::Zstd;

// An owned copy of a Record, for comparing after the reader moved on.
struct Rec {
  std::string json;
  std::vector<std::string> fields;
  std::vector<bool> quoted;
  uint64_t line = 0;
  uint64_t offset = 0;
  std::string error;
  std::string raw;
};

Rec Copy(const Record& r) {
  return Rec{std::string(r.json),
             std::vector<std::string>(r.fields.begin(), r.fields.end()),
             r.quoted,
             r.line,
             r.byte_offset,
             r.error,
             std::string(r.raw)};
}

StatusOr<std::vector<Rec>> ReadAll(RecordReader& reader) {
  std::vector<Rec> out;
  Record r;
  while (true) {
    WS_ASSIGN_OR_RETURN(bool more, reader.Next(&r));
    if (!more) return out;
    if (!r.json.empty()) {
      // The padding promise: these bytes must be readable (ASan checks this run).
      volatile char sink = 0;
      for (size_t i = 0; i < kJsonPadding; ++i) sink = sink ^ r.json.data()[r.json.size() + i];
      (void)sink;
    }
    out.push_back(Copy(r));
  }
}

class RecordReaderTest : public ::testing::Test {
 protected:
  // Writes `bytes` as `name` and reads all records with `format`.
  std::vector<Rec> ReadFile(const std::string& name, const std::string& bytes,
                            FileFormat format = FileFormat::kAuto,
                            FileFormat expect_format = FileFormat::kAuto) {
    auto reader = RecordReader::Open(WriteFile(dir_, name, bytes), format);
    EXPECT_TRUE(reader.ok()) << reader.status();
    if (!reader.ok()) return {};
    if (expect_format != FileFormat::kAuto) {
      EXPECT_EQ(FileFormatName((*reader)->format()), std::string(FileFormatName(expect_format)));
    }
    auto records = ReadAll(**reader);
    EXPECT_TRUE(records.ok()) << records.status();
    header_ = (*reader)->csv_header();
    return records.ok() ? *records : std::vector<Rec>{};
  }

  std::string dir_ = MakeTempDir();
  std::vector<std::string> header_;
};

// ----------------------------------------------------------------------------------------------
// Format names and resolution.

TEST(ParseFileFormatTest, NamesAndError) {
  EXPECT_EQ(*ParseFileFormat("ndjson"), FileFormat::kNdjson);
  EXPECT_EQ(*ParseFileFormat("JSONL"), FileFormat::kNdjson);
  EXPECT_EQ(*ParseFileFormat("json"), FileFormat::kJson);
  EXPECT_EQ(*ParseFileFormat("csv"), FileFormat::kCsv);
  EXPECT_EQ(*ParseFileFormat("auto"), FileFormat::kAuto);
  auto bad = ParseFileFormat("xml");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(),
            "unknown file format \"xml\" (valid: auto, ndjson, jsonl, json, csv)");
}

TEST_F(RecordReaderTest, MissingFile) {
  const std::string path = dir_ + "/missing.ndjson";
  auto reader = RecordReader::Open(path, FileFormat::kAuto);
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(reader.status().message(), "file not found: " + path + " (check the path)");
}

TEST_F(RecordReaderTest, EmptyFilesOfEveryFormat) {
  EXPECT_TRUE(ReadFile("e.ndjson", "", FileFormat::kAuto, FileFormat::kNdjson).empty());
  EXPECT_TRUE(ReadFile("e.json", "", FileFormat::kAuto, FileFormat::kJson).empty());
  EXPECT_TRUE(ReadFile("e.csv", "", FileFormat::kAuto, FileFormat::kCsv).empty());
  EXPECT_TRUE(header_.empty());
  EXPECT_TRUE(ReadFile("e.ndjson.gz", Gzip(dir_, "")).empty());
  EXPECT_TRUE(ReadFile("e.json.zst", Zstd("")).empty());
  EXPECT_TRUE(ReadFile("ws.json", " \n\n\t ").empty());
  EXPECT_TRUE(ReadFile("ws.ndjson", "\n\n  \r\n").empty());
  EXPECT_TRUE(ReadFile("ws.csv", "\n\r\n\n").empty());
  EXPECT_TRUE(header_.empty());
}

TEST_F(RecordReaderTest, FormatByExtensionAfterCompressionSuffix) {
  // The same bytes are NDJSON by .jsonl and a JSON value sequence by .json.
  const std::string text = "{\"a\":1}\n{\"b\":2}\n";
  EXPECT_EQ(ReadFile("x.JSONL", text, FileFormat::kAuto, FileFormat::kNdjson).size(), 2u);
  EXPECT_EQ(ReadFile("x.json.gz", Gzip(dir_, text), FileFormat::kAuto, FileFormat::kJson).size(),
            2u);
  EXPECT_EQ(ReadFile("x.ndjson.zst", Zstd(text), FileFormat::kAuto, FileFormat::kNdjson).size(),
            2u);
  // An explicit format wins over the extension.
  EXPECT_EQ(ReadFile("x.csv", text, FileFormat::kNdjson, FileFormat::kNdjson).size(), 2u);
}

TEST_F(RecordReaderTest, SniffsUnknownExtensionsThroughCompression) {
  // gzip-compressed CSV named .bin: decompressed by magic bytes, then sniffed as CSV.
  auto csv = ReadFile("data.bin", Gzip(dir_, "a,b\n1,2\n"), FileFormat::kAuto, FileFormat::kCsv);
  ASSERT_EQ(csv.size(), 1u);
  EXPECT_EQ(header_, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(csv[0].fields, (std::vector<std::string>{"1", "2"}));
  // zstd-compressed JSON array named .txt, with leading whitespace.
  auto json =
      ReadFile("data.txt", Zstd("\n  [{\"a\":1}, 2]"), FileFormat::kAuto, FileFormat::kJson);
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[0].json, "{\"a\":1}");
  EXPECT_EQ(json[0].line, 2u);
  EXPECT_EQ(json[0].offset, 4u);
  EXPECT_EQ(json[1].json, "2");
  // A gzip file named .ndjson is still gzip.
  auto nd = ReadFile("plain_named.ndjson", Gzip(dir_, "{\"x\":1}\n"));
  ASSERT_EQ(nd.size(), 1u);
  EXPECT_EQ(nd[0].json, "{\"x\":1}");
}

TEST_F(RecordReaderTest, StdinIsSniffed) {
  const std::string path = WriteFile(dir_, "in.zst", Zstd("{\"a\":1}\n{\"a\":2}\n"));
  int saved = ::dup(STDIN_FILENO);
  int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::dup2(fd, STDIN_FILENO), STDIN_FILENO);
  ::close(fd);
  auto reader = RecordReader::Open("-", FileFormat::kAuto);
  std::vector<Rec> records;
  if (reader.ok()) {
    EXPECT_EQ((*reader)->name(), "<stdin>");
    EXPECT_EQ((*reader)->format(), FileFormat::kJson);
    records = ReadAll(**reader).value_or(std::vector<Rec>{});
    reader->reset();
  }
  ASSERT_EQ(::dup2(saved, STDIN_FILENO), STDIN_FILENO);
  ::close(saved);
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].json, "{\"a\":2}");
  EXPECT_EQ(records[1].line, 2u);
  EXPECT_EQ(records[1].offset, 8u);
}

TEST_F(RecordReaderTest, CreateFromInputInMemory) {
  auto input = ByteInput::FromString("x,y\n1,2\n", "upload.csv");
  ASSERT_TRUE(input.ok());
  auto reader = RecordReader::Create(std::move(*input), FileFormat::kAuto);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->format(), FileFormat::kCsv);
  EXPECT_EQ((*reader)->name(), "upload.csv");
  auto records = ReadAll(**reader);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].fields, (std::vector<std::string>{"1", "2"}));
}

// ----------------------------------------------------------------------------------------------
// NDJSON.

TEST_F(RecordReaderTest, NdjsonBlankLinesCrlfAndNoFinalNewline) {
  //              0         8 9   13        22
  std::string text = "{\"a\":1}\n\n \t \n{\"b\":2}\r\n{\"c\":\"x y\"}";
  auto r = ReadFile("t.ndjson", text, FileFormat::kAuto, FileFormat::kNdjson);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].json, "{\"a\":1}");
  EXPECT_EQ(r[0].line, 1u);
  EXPECT_EQ(r[0].offset, 0u);
  EXPECT_EQ(r[1].json, "{\"b\":2}");  // "\r" stripped
  EXPECT_EQ(r[1].raw, "{\"b\":2}");
  EXPECT_EQ(r[1].line, 4u);
  EXPECT_EQ(r[1].offset, 13u);
  EXPECT_EQ(r[2].json, "{\"c\":\"x y\"}");  // final line without "\n"
  EXPECT_EQ(r[2].line, 5u);
  EXPECT_EQ(r[2].offset, 22u);
  for (const Rec& rec : r) EXPECT_EQ(rec.error, "");
}

TEST_F(RecordReaderTest, NdjsonLinesAreNotValidatedHere) {
  auto r = ReadFile("bad.ndjson", "{\"a\":\n not json\n{\"b\":2}\n");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].json, "{\"a\":");
  EXPECT_EQ(r[1].json, " not json");
  EXPECT_EQ(r[1].line, 2u);
  EXPECT_EQ(r[1].offset, 6u);
  EXPECT_EQ(r[1].error, "");  // the normalizer reports it, with this line and offset
}

TEST_F(RecordReaderTest, NdjsonRecordsParseInPlaceWithSimdjson) {
  const std::string path = WriteFile(dir_, "p.ndjson", "{\"n\":41}\n{\"n\":42}");
  auto reader = RecordReader::Open(path, FileFormat::kAuto);
  ASSERT_TRUE(reader.ok());
  simdjson::ondemand::parser parser;
  Record rec;
  int64_t sum = 0;
  while (*(*reader)->Next(&rec)) {
    auto doc = parser.iterate(rec.json.data(), rec.json.size(), rec.json.size() + kJsonPadding);
    int64_t n = 0;
    ASSERT_EQ(doc["n"].get_int64().get(n), simdjson::SUCCESS);
    sum += n;
  }
  EXPECT_EQ(sum, 83);
}

TEST_F(RecordReaderTest, NdjsonFiftyMegabyteLine) {
  const std::string big = "{\"k\":\"" + std::string(50 << 20, 'x') + "\"}";
  const std::string text = "{\"a\":1}\n" + big + "\n{\"b\":2}\n";
  auto r = ReadFile("big.ndjson", text);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[1].json.size(), big.size());
  EXPECT_TRUE(r[1].json == big);
  EXPECT_EQ(r[1].line, 2u);
  EXPECT_EQ(r[1].offset, 8u);
  EXPECT_EQ(r[2].json, "{\"b\":2}");
  EXPECT_EQ(r[2].line, 3u);
  EXPECT_EQ(r[2].offset, 8u + big.size() + 1);
}

// Many records across several 4 MiB chunks: every line and offset exact, the same plain, gzip
// and zstd; bytes_read() ends at the file size.
TEST_F(RecordReaderTest, NdjsonAcrossChunksPlainGzipZstd) {
  std::string text;
  std::vector<uint64_t> offsets;
  for (int i = 0; i < 200000; ++i) {
    offsets.push_back(text.size());
    text += "{\"id\":" + std::to_string(i) + ",\"pad\":\"" + std::string(i % 50, 'p') + "\"}\n";
  }
  ASSERT_GT(text.size(), size_t{8} << 20);
  const std::vector<std::pair<std::string, std::string>> files = {
      {"many.ndjson", text}, {"many.ndjson.gz", Gzip(dir_, text)}, {"many.ndjson.zst", Zstd(text)}};
  for (const auto& [name, bytes] : files) {
    SCOPED_TRACE(name);
    auto reader = RecordReader::Open(WriteFile(dir_, name, bytes), FileFormat::kAuto);
    ASSERT_TRUE(reader.ok()) << reader.status();
    Record rec;
    size_t i = 0;
    while (*(*reader)->Next(&rec)) {
      ASSERT_LT(i, offsets.size());
      ASSERT_EQ(rec.line, i + 1);
      ASSERT_EQ(rec.byte_offset, offsets[i]);
      ASSERT_EQ(rec.json, std::string_view(text).substr(offsets[i], rec.json.size()));
      ++i;
    }
    EXPECT_EQ(i, offsets.size());
    EXPECT_EQ((*reader)->bytes_read(), bytes.size());
  }
}

TEST_F(RecordReaderTest, TruncatedGzipIsATerminalErrorAfterTheGoodRecords) {
  std::string text;
  for (int i = 0; i < 600000; ++i) text += "{\"id\":" + std::to_string(i) + "}\n";
  const std::string gz = Gzip(dir_, text);
  const std::string path = WriteFile(dir_, "cut.ndjson.gz", gz.substr(0, gz.size() / 2));
  auto reader = RecordReader::Open(path, FileFormat::kAuto);
  ASSERT_TRUE(reader.ok()) << reader.status();
  Record rec;
  uint64_t good = 0;
  StatusOr<bool> more = true;
  while ((more = (*reader)->Next(&rec)).ok() && *more) ++good;
  EXPECT_GT(good, 0u);
  EXPECT_LT(good, 600000u);
  EXPECT_EQ(more.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(more.status().message().rfind("reading " + path + ": truncated gzip stream", 0), 0u)
      << more.status();
}

// ----------------------------------------------------------------------------------------------
// JSON.

TEST_F(RecordReaderTest, JsonArrayWithTrickyStrings) {
  const std::string text =
      "[\n"
      "  {\"a\":\"x]}\\\"[{\", \"b\":[1,{\"c\":\"\\\\\"}]},\n"
      "  42 , \"str\\\"]\",\n"
      "  null,[\"[\"],\n"
      "  -1.5e3\n"
      "]\n";
  auto r = ReadFile("a.json", text, FileFormat::kAuto, FileFormat::kJson);
  ASSERT_EQ(r.size(), 6u);
  EXPECT_EQ(r[0].json, "{\"a\":\"x]}\\\"[{\", \"b\":[1,{\"c\":\"\\\\\"}]}");
  EXPECT_EQ(r[0].line, 2u);
  EXPECT_EQ(r[0].offset, 4u);
  EXPECT_EQ(r[1].json, "42");
  EXPECT_EQ(r[1].line, 3u);
  EXPECT_EQ(r[1].offset, 43u);
  EXPECT_EQ(r[2].json, "\"str\\\"]\"");
  EXPECT_EQ(r[2].offset, 48u);
  EXPECT_EQ(r[3].json, "null");
  EXPECT_EQ(r[3].line, 4u);
  EXPECT_EQ(r[4].json, "[\"[\"]");
  EXPECT_EQ(r[5].json, "-1.5e3");
  EXPECT_EQ(r[5].line, 5u);
  for (const Rec& rec : r) EXPECT_EQ(rec.error, "");
}

TEST_F(RecordReaderTest, JsonSinglePrettyPrintedObject) {
  const std::string obj = "{\n  \"a\": 1,\n  \"b\": {\"c\": [1, 2]},\n  \"d\": \"}\\n{\"\n}";
  auto r = ReadFile("one.json", "\xEF\xBB\xBF" + obj + "\n", FileFormat::kAuto, FileFormat::kJson);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].json, obj);
  EXPECT_EQ(r[0].line, 1u);
  EXPECT_EQ(r[0].offset, 3u);  // after the byte order mark
  EXPECT_EQ(r[0].error, "");
}

TEST_F(RecordReaderTest, JsonConcatenatedValues) {
  auto r = ReadFile("seq.json", "{\"a\":1}{\"b\":2}\n{\"c\":\n3} \"s\" 7\n{\"d\":4},{\"e\":5}");
  ASSERT_EQ(r.size(), 7u);
  EXPECT_EQ(r[0].json, "{\"a\":1}");
  EXPECT_EQ(r[1].json, "{\"b\":2}");
  EXPECT_EQ(r[1].line, 1u);
  EXPECT_EQ(r[1].offset, 7u);
  EXPECT_EQ(r[2].json, "{\"c\":\n3}");
  EXPECT_EQ(r[2].line, 2u);
  EXPECT_EQ(r[3].json, "\"s\"");
  EXPECT_EQ(r[3].line, 3u);
  EXPECT_EQ(r[4].json, "7");
  EXPECT_EQ(r[5].json, "{\"d\":4}");
  EXPECT_EQ(r[5].line, 4u);
  EXPECT_EQ(r[6].json, "{\"e\":5}");  // a comma between top-level values is tolerated
  EXPECT_EQ(r[6].offset, 38u);
  for (const Rec& rec : r) EXPECT_EQ(rec.error, "");
}

TEST_F(RecordReaderTest, JsonTruncatedArrayKeepsTheTail) {
  auto r = ReadFile("cut.json", "[{\"a\":1},\n {\"b\":[1,\"]\\\"\", 2");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].json, "{\"a\":1}");
  EXPECT_EQ(r[0].error, "");
  EXPECT_EQ(r[1].raw, "{\"b\":[1,\"]\\\"\", 2");
  EXPECT_EQ(r[1].line, 2u);
  EXPECT_EQ(r[1].offset, 11u);
  EXPECT_EQ(r[1].error, "truncated JSON: unterminated value at end of input");

  // An unterminated string at top level, and an object cut inside a string.
  auto s = ReadFile("cut2.json", "{\"a\":\"abc");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].raw, "{\"a\":\"abc");
  EXPECT_EQ(s[0].error, "truncated JSON: unterminated value at end of input");
}

TEST_F(RecordReaderTest, JsonArrayNotClosed) {
  auto r = ReadFile("open.json", "[{\"a\":1},\n{\"b\":2}\n");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[1].json, "{\"b\":2}");
  EXPECT_EQ(r[1].error, "");
  EXPECT_EQ(r[2].raw, "");
  EXPECT_EQ(r[2].line, 3u);
  EXPECT_EQ(r[2].offset, 18u);
  EXPECT_EQ(r[2].error, "truncated JSON: top-level array not closed at end of input");
}

TEST_F(RecordReaderTest, JsonJunkBecomesErrorRecords) {
  // A missing comma is tolerated; junk between elements is a record with an error.
  auto r = ReadFile("junk.json", "[{\"a\":1} {\"b\":2}, xyz:, {\"c\":3}}, ,4]");
  ASSERT_EQ(r.size(), 6u);
  EXPECT_EQ(r[0].json, "{\"a\":1}");
  EXPECT_EQ(r[1].json, "{\"b\":2}");
  EXPECT_EQ(r[1].error, "");
  EXPECT_EQ(r[2].raw, "xyz:");
  EXPECT_EQ(r[2].offset, 18u);
  EXPECT_EQ(r[2].error, "unexpected 'x': not the start of a JSON value");
  EXPECT_EQ(r[3].json, "{\"c\":3}");
  EXPECT_EQ(r[3].error, "");
  EXPECT_EQ(r[4].raw, "}");
  EXPECT_EQ(r[4].error, "unexpected '}': not the start of a JSON value");
  EXPECT_EQ(r[5].json, "4");
  EXPECT_EQ(r[5].error, "");

  // After the top-level array: another array is streamed too; anything else is reported.
  auto after = ReadFile("after.json", "[1][2]\n{\"x\":1}");
  ASSERT_EQ(after.size(), 3u);
  EXPECT_EQ(after[0].json, "1");
  EXPECT_EQ(after[1].json, "2");
  EXPECT_EQ(after[1].error, "");
  EXPECT_EQ(after[2].raw, "{\"x\":1}");
  EXPECT_EQ(after[2].line, 2u);
  EXPECT_EQ(after[2].error, "unexpected data after the end of the top-level JSON array");
}

TEST_F(RecordReaderTest, JsonLargeArrayAcrossChunks) {
  // Elements straddle the 4 MiB chunk boundaries, and one element is 10 MiB by itself.
  std::string text = "[\n";
  std::vector<uint64_t> offsets;
  const std::string huge = "{\"big\":\"" + std::string(10 << 20, 'y') + "\\\"]}\"}";
  for (int i = 0; i < 100000; ++i) {
    if (i > 0) text += ",\n";
    offsets.push_back(text.size());
    if (i == 50000) {
      text += huge;
    } else {
      text += "{\"id\":" + std::to_string(i) + ",\"s\":\"a\\\"b]\"}";
    }
  }
  text += "\n]\n";
  auto reader =
      RecordReader::Open(WriteFile(dir_, "large.json.gz", Gzip(dir_, text)), FileFormat::kAuto);
  ASSERT_TRUE(reader.ok()) << reader.status();
  Record rec;
  size_t i = 0;
  while (*(*reader)->Next(&rec)) {
    ASSERT_LT(i, offsets.size());
    ASSERT_EQ(rec.error, "");
    ASSERT_EQ(rec.line, i + 2);
    ASSERT_EQ(rec.byte_offset, offsets[i]);
    if (i == 50000) {
      ASSERT_TRUE(rec.json == huge);
    } else {
      ASSERT_EQ(rec.json, "{\"id\":" + std::to_string(i) + ",\"s\":\"a\\\"b]\"}");
    }
    ++i;
  }
  EXPECT_EQ(i, offsets.size());
}

// ----------------------------------------------------------------------------------------------
// CSV.

TEST_F(RecordReaderTest, CsvQuoting) {
  const std::string text =
      "id,name,note\n"
      "1,\"Smith, J\",\"said \"\"hi\"\"\"\n"
      "2,,\"\"\n"
      "3,ab\"c\"d,\"x\"tail\n";
  auto r = ReadFile("q.csv", text, FileFormat::kAuto, FileFormat::kCsv);
  EXPECT_EQ(header_, (std::vector<std::string>{"id", "name", "note"}));
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].fields, (std::vector<std::string>{"1", "Smith, J", "said \"hi\""}));
  EXPECT_EQ(r[0].quoted, (std::vector<bool>{false, true, true}));
  EXPECT_EQ(r[0].raw, "1,\"Smith, J\",\"said \"\"hi\"\"\"");
  EXPECT_EQ(r[0].line, 2u);
  EXPECT_EQ(r[0].offset, 13u);
  EXPECT_EQ(r[0].json, "");
  EXPECT_EQ(r[1].fields, (std::vector<std::string>{"2", "", ""}));
  EXPECT_EQ(r[1].quoted, (std::vector<bool>{false, false, true}));
  EXPECT_EQ(r[1].line, 3u);
  EXPECT_EQ(r[1].offset, 40u);
  // A quote inside an unquoted field is literal; text after a closing quote is kept.
  EXPECT_EQ(r[2].fields, (std::vector<std::string>{"3", "ab\"c\"d", "xtail"}));
  EXPECT_EQ(r[2].quoted, (std::vector<bool>{false, false, true}));
  for (const Rec& rec : r) EXPECT_EQ(rec.error, "");
}

TEST_F(RecordReaderTest, CsvEmbeddedNewlinesCrlfAndEmptyLines) {
  const std::string text =
      "a,b\r\n"                   // line 1, offset 0
      "1,\"line1\r\nline2\"\r\n"  // lines 2-3, offset 5
      "\r\n"                      // line 4 (skipped), offset 23
      "\"x,\ny\",\"\"\r\n"        // lines 5-6, offset 25
      "3,last";                   // line 7, offset 36, no final newline
  auto r = ReadFile("nl.csv", text);
  EXPECT_EQ(header_, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].fields, (std::vector<std::string>{"1", "line1\r\nline2"}));
  EXPECT_EQ(r[0].raw, "1,\"line1\r\nline2\"");
  EXPECT_EQ(r[0].line, 2u);
  EXPECT_EQ(r[0].offset, 5u);
  EXPECT_EQ(r[1].fields, (std::vector<std::string>{"x,\ny", ""}));
  EXPECT_EQ(r[1].quoted, (std::vector<bool>{true, true}));
  EXPECT_EQ(r[1].line, 5u);
  EXPECT_EQ(r[1].offset, 25u);
  EXPECT_EQ(r[2].fields, (std::vector<std::string>{"3", "last"}));
  EXPECT_EQ(r[2].line, 7u);
  EXPECT_EQ(r[2].offset, 36u);
  for (const Rec& rec : r) EXPECT_EQ(rec.error, "");
}

TEST_F(RecordReaderTest, CsvBadRowsAreReportedNotLost) {
  const std::string text =
      "\xEF\xBB\xBFid,name\n"  // a byte order mark before the header
      "1,a,extra\n"
      "2\n"
      "3,caf\xE9\n"
      "4,ok\n"
      "5,\"open\n"
      "6,x\n";
  auto r = ReadFile("bad.csv", text);
  EXPECT_EQ(header_, (std::vector<std::string>{"id", "name"}));
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[0].error, "ragged row: 3 fields, header has 2");
  EXPECT_EQ(r[0].raw, "1,a,extra");
  EXPECT_EQ(r[0].line, 2u);
  EXPECT_EQ(r[0].offset, 11u);
  EXPECT_EQ(r[1].error, "ragged row: 1 fields, header has 2");
  EXPECT_EQ(r[1].raw, "2");
  EXPECT_EQ(r[2].error, "invalid UTF-8 at byte 5 of the row");
  EXPECT_EQ(r[2].raw, "3,caf\xE9");
  EXPECT_EQ(r[2].line, 4u);
  EXPECT_EQ(r[3].error, "");
  EXPECT_EQ(r[3].fields, (std::vector<std::string>{"4", "ok"}));
  EXPECT_EQ(r[4].error, "unterminated quoted field");
  EXPECT_EQ(r[4].raw, "5,\"open\n6,x\n");
  EXPECT_EQ(r[4].line, 6u);
  EXPECT_EQ(r[4].offset, 35u);
}

TEST_F(RecordReaderTest, CsvHeaderOnlyAndBadHeader) {
  EXPECT_TRUE(ReadFile("h.csv", "a,b\r\n").empty());
  EXPECT_EQ(header_, (std::vector<std::string>{"a", "b"}));

  const std::string path = WriteFile(dir_, "badhead.csv", "\n\"a,b\n1,2\n");
  auto reader = RecordReader::Open(path, FileFormat::kAuto);
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(reader.status().message(),
            "reading " + path + ": header row (line 2): unterminated quoted field");
}

TEST_F(RecordReaderTest, CsvHugeQuotedFieldAcrossChunks) {
  std::string cell;
  for (int i = 0; i < 500000; ++i) cell += "line " + std::to_string(i) + " \"q\"\n";
  std::string escaped;
  for (char c : cell) {
    escaped += c;
    if (c == '"') escaped += '"';
  }
  ASSERT_GT(escaped.size(), size_t{8} << 20);
  const std::string text = "k,v\n1,\"" + escaped + "\"\n2,after\n";
  auto r = ReadFile("huge.csv.zst", Zstd(text));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].error, "");
  ASSERT_EQ(r[0].fields.size(), 2u);
  EXPECT_TRUE(r[0].fields[1] == cell);
  EXPECT_EQ(r[1].fields, (std::vector<std::string>{"2", "after"}));
  EXPECT_EQ(r[1].line, 2u + 500000u + 1u);
  EXPECT_EQ(r[1].offset, text.size() - 8);
}

// ----------------------------------------------------------------------------------------------
// Chunk boundaries. The reader fills its window 4 MiB at a time from a plain file, so absolute
// offsets that are multiples of 4 MiB are where a record is split between two reads. Each case
// puts a tricky record at every position from 12 bytes before to 4 bytes after that boundary.

constexpr size_t kReadChunk = size_t{4} << 20;  // record_reader.cc's kChunk

// A filler record of exactly `size` bytes including its line terminator.
std::string Filler(size_t size, bool csv) {
  if (csv) return "0," + std::string(size - 3, 'f') + "\n";
  return "{\"f\":\"" + std::string(size - 9, 'f') + "\"}\n";
}

TEST_F(RecordReaderTest, TrickyRecordsAtEveryPositionAroundTheChunkBoundary) {
  struct Case {
    std::string name;
    std::string tricky;  // followed by "\n" and a last record
    std::string expect;  // json, or the second CSV field
  };
  const std::vector<Case> cases = {
      {"a.ndjson", "{\"k\":\"v\"}\r", "{\"k\":\"v\"}"},
      {"b.json", "{\"k\":\"\\\"\\\\\"}", "{\"k\":\"\\\"\\\\\"}"},
      {"c.json", "[\"]\\\"\",{}]", "[\"]\\\"\",{}]"},
      {"d.csv", "1,\"q\"\"\"\"x\"\"\"\r", "q\"\"x\""},
      {"e.csv", "1,\"a\r\nb\",\"\"", "a\r\nb"},  // ragged: 3 fields
      {"f.csv", "1,plain\r", "plain"},
  };
  for (const Case& c : cases) {
    const bool csv = c.name.ends_with(".csv");
    const std::string head = csv ? "a,b\n" : "";
    for (size_t before = 0; before < 16; ++before) {
      SCOPED_TRACE(c.name + " starts " + std::to_string(12 - static_cast<int>(before)) +
                   " bytes before the boundary");
      const size_t tricky_at = kReadChunk - 12 + before;
      const std::string text = head + Filler(tricky_at - head.size(), csv) + c.tricky + "\n" +
                               (csv ? "9,end\n" : "{\"end\":1}\n");
      auto r = ReadFile(c.name, text);
      ASSERT_EQ(r.size(), 3u);
      EXPECT_EQ(r[1].offset, tricky_at);
      EXPECT_EQ(r[1].line, csv ? 3u : 2u);
      if (csv) {
        ASSERT_GE(r[1].fields.size(), 2u);
        EXPECT_EQ(r[1].fields[1], c.expect);
        EXPECT_EQ(r[1].error, c.name == "e.csv" ? "ragged row: 3 fields, header has 2" : "");
        EXPECT_EQ(r[2].fields, (std::vector<std::string>{"9", "end"}));
        EXPECT_EQ(r[2].line, c.name == "e.csv" ? 5u : 4u);
      } else {
        EXPECT_EQ(r[1].json, c.expect);
        EXPECT_EQ(r[1].error, "");
        EXPECT_EQ(r[2].json, "{\"end\":1}");
        EXPECT_EQ(r[2].line, 3u);
      }
    }
  }
}

}  // namespace
}  // namespace watershed::sources
