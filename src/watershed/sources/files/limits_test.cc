// sources/files/limits_test.cc — the input limits (limits.h): records and fields over the limits
// come back as bad records with their position (and the records around them intact), a CSV
// header with too many columns fails the file, decompression bombs stop the file, the limits
// are read from watershed.yml, and memory stays bounded (peak RSS from /proc/self/status) when
// one field is far larger than every limit.
#include "watershed/sources/files/limits.h"

#include <zlib.h>

#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "watershed/base/config.h"
#include "watershed/sources/files/record_reader.h"
#include "watershed/sources/files/test_util.h"

namespace watershed::sources {
namespace {

using testing_util::Gzip;
using testing_util::MakeTempDir;
using testing_util::WriteFile;
using testing_util::Zstd;

struct Rec {
  std::string raw;
  std::string error;
  uint64_t line = 0;
  uint64_t offset = 0;
  size_t fields = 0;
};

StatusOr<std::vector<Rec>> ReadAll(const std::string& data, const std::string& name,
                                   FileFormat format, const InputLimits& limits) {
  WS_ASSIGN_OR_RETURN(auto input, ByteInput::FromString(data, name));
  WS_ASSIGN_OR_RETURN(auto reader, RecordReader::Create(std::move(input), format, limits));
  std::vector<Rec> out;
  Record r;
  while (true) {
    WS_ASSIGN_OR_RETURN(bool more, reader->Next(&r));
    if (!more) return out;
    out.push_back({std::string(r.raw), r.error, r.line, r.byte_offset, r.fields.size()});
  }
}

InputLimits Small() {
  InputLimits l;
  l.max_record_bytes = 100;
  l.max_field_bytes = 40;
  l.max_columns = 5;
  return l;
}

TEST(InputLimitsTest, NdjsonRecordOverTheLimitIsBadAndSkipped) {
  const std::string big = "{\"a\":[" + std::string(1000, '1') + "]}";
  const std::string data = "{\"id\":1}\n" + big + "\n{\"id\":3}\n";
  auto recs = ReadAll(data, "x.ndjson", FileFormat::kNdjson, Small());
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_EQ(recs->size(), 3u);
  EXPECT_EQ((*recs)[0].error, "");
  EXPECT_EQ((*recs)[2].raw, "{\"id\":3}");
  EXPECT_EQ((*recs)[2].line, 3u);
  const Rec& bad = (*recs)[1];
  EXPECT_EQ(bad.line, 2u);
  EXPECT_EQ(bad.offset, 9u);
  EXPECT_NE(bad.error.find("record of 1008 bytes"), std::string::npos) << bad.error;
  EXPECT_NE(bad.error.find("limits.max_record_mb (--max-record-mb)"), std::string::npos);
  EXPECT_EQ(bad.raw, big);  // shorter than the preview: kept whole
}

TEST(InputLimitsTest, NdjsonLineLongerThanTheReadChunkIsSkippedWithAPreview) {
  InputLimits l;
  l.max_record_bytes = 1 << 20;
  l.max_field_bytes = 0;
  const std::string big = "{\"a\":\"" + std::string(9 << 20, 'x') + "\"}";
  const std::string data = "{\"id\":1}\n" + big + "\n{\"id\":3}\n";
  auto recs = ReadAll(data, "x.ndjson", FileFormat::kNdjson, l);
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_EQ(recs->size(), 3u);
  EXPECT_EQ((*recs)[1].raw, big.substr(0, kOversizePreviewBytes));
  EXPECT_NE((*recs)[1].error.find(StrCat("record of ", big.size(), " bytes")), std::string::npos)
      << (*recs)[1].error;
  EXPECT_EQ((*recs)[2].raw, "{\"id\":3}");
  EXPECT_EQ((*recs)[2].line, 3u);
  EXPECT_EQ((*recs)[2].offset, 9 + big.size() + 1);
}

TEST(InputLimitsTest, JsonElementOverTheLimitIsBadAndTheArrayGoesOn) {
  InputLimits l;
  l.max_record_bytes = 1 << 20;
  l.max_field_bytes = 0;
  const std::string big = "{\"a\":\"" + std::string(9 << 20, 'x') + "\"}";
  const std::string data = "[{\"id\":1},\n" + big + ",\n{\"id\":3}]";
  auto recs = ReadAll(data, "x.json", FileFormat::kJson, l);
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_EQ(recs->size(), 3u);
  EXPECT_EQ((*recs)[0].raw, "{\"id\":1}");
  EXPECT_EQ((*recs)[1].offset, 11u);
  EXPECT_EQ((*recs)[1].line, 2u);
  EXPECT_NE((*recs)[1].error.find("max_record_mb"), std::string::npos) << (*recs)[1].error;
  EXPECT_EQ((*recs)[2].raw, "{\"id\":3}");
  EXPECT_EQ((*recs)[2].error, "");
  EXPECT_EQ((*recs)[2].line, 3u);
}

TEST(InputLimitsTest, CsvRowOverTheLimitIsSkippedUpToItsEndOutsideQuotes) {
  InputLimits l;
  l.max_record_bytes = 1 << 20;
  l.max_field_bytes = 0;
  // The long field holds newlines inside quotes: the row ends at the first newline after it.
  std::string longfield =
      "\"" + std::string(5 << 20, 'x') + "\n" + std::string(5 << 20, 'y') + "\"\"q\"\"" + "\"";
  const std::string data = "a,b\n1,2\n3," + longfield + "\n5,6\n";
  auto recs = ReadAll(data, "x.csv", FileFormat::kCsv, l);
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_EQ(recs->size(), 3u);
  EXPECT_EQ((*recs)[0].raw, "1,2");
  EXPECT_EQ((*recs)[1].line, 3u);
  EXPECT_EQ((*recs)[1].offset, 8u);
  EXPECT_NE((*recs)[1].error.find("max_record_mb"), std::string::npos);
  EXPECT_EQ((*recs)[2].raw, "5,6");
  EXPECT_EQ((*recs)[2].line, 5u);  // the skipped row spans lines 3 and 4
  EXPECT_EQ((*recs)[2].error, "");
}

TEST(InputLimitsTest, FieldOverTheLimitIsABadRecordNamingItsPosition) {
  const std::string long_value(50, 'v');
  auto recs = ReadAll("{\"id\":1,\"s\":\"" + long_value + "\"}\n{\"n\":" + std::string(45, '7') +
                          "}\n{\"short\":\"ok\"}\n",
                      "x.ndjson", FileFormat::kNdjson, Small());
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_EQ(recs->size(), 3u);
  EXPECT_EQ((*recs)[0].error,
            "field of 52 bytes at byte 12 of the record is over limits.max_field_mb "
            "(--max-field-mb) = 40 bytes; raise the limit if such fields are genuine");
  EXPECT_NE((*recs)[1].error.find("field of 45 bytes at byte 5"), std::string::npos)
      << (*recs)[1].error;
  EXPECT_EQ((*recs)[2].error, "");

  auto csv = ReadAll("a,b\n1," + long_value + "\n2,3\n", "x.csv", FileFormat::kCsv, Small());
  ASSERT_TRUE(csv.ok()) << csv.status();
  ASSERT_EQ(csv->size(), 2u);
  EXPECT_NE((*csv)[0].error.find("field of 50 bytes at byte 2"), std::string::npos)
      << (*csv)[0].error;
  EXPECT_EQ((*csv)[1].error, "");
}

TEST(InputLimitsTest, CsvHeaderWithTooManyColumnsFailsTheFile) {
  auto recs = ReadAll("a,b,c,d,e,f\n1,2,3,4,5,6\n", "wide.csv", FileFormat::kCsv, Small());
  ASSERT_FALSE(recs.ok());
  EXPECT_EQ(recs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MessageOf(recs.status()),
            "reading wide.csv: header row (line 1) has 6 columns, over limits.max_columns "
            "(--max-columns) = 5; raise the limit if the file is genuine");
  // At the limit it loads.
  EXPECT_TRUE(ReadAll("a,b,c,d,e\n1,2,3,4,5\n", "ok.csv", FileFormat::kCsv, Small()).ok());
}

TEST(InputLimitsTest, DecompressedBytesOverTheLimitStopTheFile) {
  std::string data;
  for (int i = 0; i < 20000; ++i) data += "{\"id\":" + std::to_string(i) + "}\n";
  InputLimits l;
  l.max_decompressed_bytes = 100000;
  const std::string dir = MakeTempDir();
  for (const std::string& compressed : {Gzip(dir, data), Zstd(data)}) {
    auto recs = ReadAll(compressed, "bomb.ndjson.gz", FileFormat::kNdjson, l);
    ASSERT_FALSE(recs.ok());
    EXPECT_EQ(recs.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(MessageOf(recs.status()).find("reading bomb.ndjson.gz:"), std::string::npos);
    EXPECT_NE(MessageOf(recs.status()).find("limits.max_decompressed_mb (--max-decompressed-mb)"),
              std::string::npos)
        << recs.status();
    EXPECT_NE(MessageOf(recs.status()).find("at compressed byte"), std::string::npos);
  }
  // The same data under the limit reads whole; a plain file is not "decompressed".
  l.max_decompressed_bytes = data.size();
  auto ok = ReadAll(Gzip(dir, data), "ok.ndjson.gz", FileFormat::kNdjson, l);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->size(), 20000u);
  l.max_decompressed_bytes = 10;
  EXPECT_TRUE(ReadAll(data, "plain.ndjson", FileFormat::kNdjson, l).ok());
}

// A gzip member of `head`, then `n` bytes of `fill`, then `tail`, made chunk by chunk (the
// inflated text never exists in memory).
std::string GzipRepeated(const std::string& head, char fill, size_t n, const std::string& tail) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out;
  std::vector<unsigned char> buf(1 << 16);
  auto feed = [&](const std::string& in, int flush) {
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    do {
      zs.next_out = buf.data();
      zs.avail_out = static_cast<uInt>(buf.size());
      deflate(&zs, flush);
      out.append(reinterpret_cast<char*>(buf.data()), buf.size() - zs.avail_out);
    } while (zs.avail_out == 0);
  };
  feed(head, Z_NO_FLUSH);
  const std::string chunk(1 << 20, fill);
  for (size_t done = 0; done < n; done += chunk.size()) {
    feed(chunk.substr(0, std::min(chunk.size(), n - done)), Z_NO_FLUSH);
  }
  feed(tail, Z_FINISH);
  deflateEnd(&zs);
  return out;
}

TEST(InputLimitsTest, DecompressionRatioOverTheLimitStopsTheFile) {
  // 96 MiB of one byte: about 1000:1, past the ratio check's 64 MiB floor.
  const std::string bomb = GzipRepeated("{\"a\":\"", 'a', size_t{96} << 20, "\"}\n");
  InputLimits l;
  l.max_record_bytes = 0;
  l.max_field_bytes = 0;
  auto recs = ReadAll(bomb, "bomb.ndjson.gz", FileFormat::kNdjson, l);
  ASSERT_FALSE(recs.ok());
  EXPECT_NE(MessageOf(recs.status()).find("likely a decompression bomb"), std::string::npos)
      << recs.status();
  EXPECT_NE(MessageOf(recs.status()).find("limits.max_decompression_ratio"), std::string::npos);
  l.max_decompression_ratio = 0;  // unlimited: the one record comes through
  auto whole = ReadAll(bomb, "bomb.ndjson.gz", FileFormat::kNdjson, l);
  ASSERT_TRUE(whole.ok()) << whole.status();
  ASSERT_EQ(whole->size(), 1u);
  EXPECT_EQ(whole->front().raw.size(), (size_t{96} << 20) + 8);
}

// Peak resident memory in KiB since the last ResetPeakRss(), from /proc/self/status.
int64_t PeakRssKib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}
bool ResetPeakRss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return out.good();
}

TEST(InputLimitsTest, OneHugeFieldInASmallGzipKeepsMemoryBounded) {
  // The reproduction, scaled: one 256 MiB field in a ~0.25 MB .gz, between two good records.
  const size_t field = size_t{256} << 20;
  const std::string gz = GzipRepeated("{\"id\":1}\n{\"big\":\"", 'x', field, "\"}\n{\"id\":3}\n");
  ASSERT_LT(gz.size(), size_t{2} << 20);
  InputLimits l;  // defaults for the field and record; no ratio or size stop, to read it all
  l.max_record_bytes = 8 * kMiB;
  l.max_decompression_ratio = 0;
  l.max_decompressed_bytes = 0;
  ASSERT_TRUE(ResetPeakRss()) << "cannot reset VmHWM via /proc/self/clear_refs";
  const int64_t before = PeakRssKib();
  auto recs = ReadAll(gz, "huge.ndjson.gz", FileFormat::kNdjson, l);
  const int64_t peak = PeakRssKib();
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_EQ(recs->size(), 3u);
  EXPECT_EQ((*recs)[0].raw, "{\"id\":1}");
  EXPECT_NE((*recs)[1].error.find(StrCat("record of ", field + 10, " bytes")), std::string::npos)
      << (*recs)[1].error;
  EXPECT_EQ((*recs)[1].line, 2u);
  EXPECT_EQ((*recs)[1].offset, 9u);
  EXPECT_EQ((*recs)[2].raw, "{\"id\":3}");
  // The window holds at most about twice the record limit plus a chunk: far below 256 MiB.
  EXPECT_LT(peak - before, 64 * 1024) << "peak RSS grew by " << (peak - before) << " KiB";

  // With the default limits the same file stops as a decompression bomb, memory bounded too.
  ASSERT_TRUE(ResetPeakRss());
  const int64_t before2 = PeakRssKib();
  auto stopped = ReadAll(gz, "huge.ndjson.gz", FileFormat::kNdjson, InputLimits{});
  ASSERT_FALSE(stopped.ok());
  EXPECT_NE(MessageOf(stopped.status()).find("decompression bomb"), std::string::npos)
      << stopped.status();
  EXPECT_LT(PeakRssKib() - before2, 400 * 1024);
}

TEST(InputLimitsTest, ReadFromWatershedYmlAndFlags) {
  auto node = ParseYaml(
      "limits:\n  max_record_mb: 2\n  max_field_mb: 0.5\n  max_columns: 50\n"
      "  max_decompressed_mb: 0\n  max_decompression_ratio: 1000\n",
      "watershed.yml");
  ASSERT_TRUE(node.ok()) << node.status();
  InputLimits l;
  ASSERT_TRUE(ApplyLimitsConfig((*node)["limits"], "watershed.yml", &l).ok());
  EXPECT_EQ(l.max_record_bytes, 2 * kMiB);
  EXPECT_EQ(l.max_field_bytes, kMiB / 2);
  EXPECT_EQ(l.max_columns, 50u);
  EXPECT_EQ(l.max_decompressed_bytes, 0u);
  EXPECT_EQ(l.max_decompression_ratio, 1000);

  LimitOverrides o;
  o.max_record_mb = 8;
  o.max_columns = 7;
  ASSERT_TRUE(ApplyLimitOverrides(o, &l).ok());
  EXPECT_EQ(l.max_record_bytes, 8 * kMiB);
  EXPECT_EQ(l.max_columns, 7u);
  EXPECT_EQ(l.max_field_bytes, kMiB / 2);  // untouched

  auto bad = ParseYaml("limits: {max_rows: 3}\n", "watershed.yml");
  ASSERT_TRUE(bad.ok());
  Status s = ApplyLimitsConfig((*bad)["limits"], "watershed.yml", &l);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(MessageOf(s).find("unknown setting limits.max_rows"), std::string::npos) << s;
  auto negative = ParseYaml("limits: {max_field_mb: -1}\n", "watershed.yml");
  ASSERT_TRUE(negative.ok());
  EXPECT_FALSE(ApplyLimitsConfig((*negative)["limits"], "watershed.yml", &l).ok());
  o.max_field_mb = -2;
  EXPECT_FALSE(ApplyLimitOverrides(o, &l).ok());
}

}  // namespace
}  // namespace watershed::sources
