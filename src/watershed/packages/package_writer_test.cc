// packages/package_writer_test.cc — what a load package holds (responses verbatim, one line
// each, in zstd parts under raw/<source>/load-<id>/), the manifest, a new part after every seal,
// and idempotence (sealing or finishing again adds nothing).
#include "watershed/packages/package_writer.h"

#include <zstd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "gtest/gtest.h"
#include "watershed/base/strings.h"
#include "watershed/base/test_util.h"

namespace watershed::packages {
namespace {

namespace fs = std::filesystem;
using testing_util::ReadFileBytes;

// Decompresses a whole zstd file (frames without a content size, as streaming writes them).
std::string Unzstd(const std::string& path) {
  const std::string in = ReadFileBytes(path);
  ZSTD_DCtx* d = ZSTD_createDCtx();
  std::string out, buf(ZSTD_DStreamOutSize(), '\0');
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  while (input.pos < input.size) {
    ZSTD_outBuffer o{buf.data(), buf.size(), 0};
    const size_t rc = ZSTD_decompressStream(d, &o, &input);
    EXPECT_FALSE(ZSTD_isError(rc)) << path << ": " << ZSTD_getErrorName(rc);
    if (ZSTD_isError(rc)) break;
    out.append(buf.data(), o.pos);
  }
  ZSTD_freeDCtx(d);
  return out;
}

class Package : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing_util::MakeTempDir();
    storage_ = std::make_unique<lake::LocalStorage>(root_);
  }
  std::vector<std::string> Parts(const std::string& folder) {
    std::vector<std::string> parts;
    auto files = storage_->List(folder);
    EXPECT_TRUE(files.ok()) << files.status();
    for (const auto& f : *files) {
      if (f.key.ends_with(".ndjson.zst")) parts.push_back(f.key);
    }
    std::sort(parts.begin(), parts.end());
    return parts;
  }
  nlohmann::json Manifest(const std::string& folder) {
    return nlohmann::json::parse(ReadFileBytes(root_ + "/" + folder + "/manifest.json"));
  }
  std::string root_;
  std::unique_ptr<lake::Storage> storage_;
};

TEST_F(Package, HoldsEveryResponseVerbatimOneLineEach) {
  auto w = PackageWriter::Create(*storage_, "crunchbase", 42);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ((*w)->folder(), "raw/crunchbase/load-000042");
  // Bodies are kept exactly as received: spacing, key order and number spelling included.
  const std::string body1 =
      R"({ "count": 2,  "entities": [{"uuid": "a"}, {"uuid": "b"}], "x": 1.50 })";
  const std::string body2 = R"({"b":1,"a":"é"})";
  ASSERT_TRUE((*w)->Add("POST /v4/data/searches/organizations {\"limit\":2}", body1).ok());
  ASSERT_TRUE((*w)->Add("GET /v4/data/entities/organizations/a", body2).ok());
  ASSERT_TRUE((*w)->Finish().ok());

  const std::vector<std::string> parts = Parts((*w)->folder());
  ASSERT_EQ(parts, std::vector<std::string>{"raw/crunchbase/load-000042/part-00000.ndjson.zst"});
  const std::string ndjson = Unzstd(root_ + "/" + parts[0]);
  const std::vector<std::string> lines = Split(ndjson, '\n', false, true);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(ndjson.ends_with("}\n"));
  auto first = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(first["request"], "POST /v4/data/searches/organizations {\"limit\":2}");
  EXPECT_TRUE(first["received_at"].get<std::string>().ends_with("Z"));
  EXPECT_NE(lines[0].find(",\"body\":" + body1 + "}"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find(",\"body\":" + body2 + "}"), std::string::npos) << lines[1];
  EXPECT_EQ(nlohmann::json::parse(lines[1])["body"]["a"], "é");
}

TEST_F(Package, ManifestListsThePartsWithLinesAndUncompressedBytes) {
  auto w = PackageWriter::Create(*storage_, "crunchbase", 7);
  ASSERT_TRUE(w.ok());
  const PackageWriter& writer = **w;
  ASSERT_TRUE((*w)->Add("GET /1", R"({"n":1})").ok());
  ASSERT_TRUE((*w)->Add("GET /2", R"({"n":2})").ok());
  ASSERT_TRUE((*w)->Seal().ok());  // a checkpoint: the next response starts a new part
  EXPECT_FALSE(fs::exists(root_ + "/" + writer.folder() + "/manifest.json"))
      << "the manifest is written when the load ends";
  ASSERT_TRUE((*w)->Add("GET /3", R"({"n":3})").ok());
  ASSERT_TRUE((*w)->Finish().ok());

  const std::vector<std::string> parts = Parts(writer.folder());
  ASSERT_EQ(parts.size(), 2u);
  nlohmann::json m = Manifest(writer.folder());
  EXPECT_EQ(m["format"], 1);
  EXPECT_EQ(m["source"], "crunchbase");
  EXPECT_EQ(m["load_id"], 7);
  EXPECT_TRUE(m["sealed_at"].is_string());
  ASSERT_EQ(m["parts"].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(m["parts"][i]["key"], parts[i]);
    EXPECT_EQ(m["parts"][i]["bytes"], Unzstd(root_ + "/" + parts[i]).size()) << parts[i];
  }
  EXPECT_EQ(m["parts"][0]["lines"], 2);
  EXPECT_EQ(m["parts"][1]["lines"], 1);
}

TEST_F(Package, SealingOrFinishingAgainAddsNothing) {
  auto w = PackageWriter::Create(*storage_, "api", 1);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Seal().ok()) << "nothing added: no part";
  ASSERT_TRUE((*w)->Add("GET /a", "{}").ok());
  ASSERT_TRUE((*w)->Seal().ok());
  const std::string sealed = ReadFileBytes(root_ + "/" + (*w)->folder() + "/part-00000.ndjson.zst");
  ASSERT_TRUE((*w)->Seal().ok());
  ASSERT_TRUE((*w)->Finish().ok());
  ASSERT_TRUE((*w)->Finish().ok());

  EXPECT_EQ(Parts((*w)->folder()).size(), 1u) << "no empty parts";
  EXPECT_EQ(ReadFileBytes(root_ + "/" + (*w)->folder() + "/part-00000.ndjson.zst"), sealed)
      << "a sealed part is never modified";
  nlohmann::json m = Manifest((*w)->folder());
  ASSERT_EQ(m["parts"].size(), 1u);
  EXPECT_EQ(m["parts"][0]["lines"], 1);
}

TEST_F(Package, AnEmptyLoadStillGetsAManifest) {
  auto w = PackageWriter::Create(*storage_, "api", 3);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Finish().ok());
  nlohmann::json m = Manifest((*w)->folder());
  EXPECT_EQ(m["load_id"], 3);
  EXPECT_TRUE(m["parts"].empty());
  EXPECT_TRUE(Parts((*w)->folder()).empty());
}

TEST_F(Package, ALoadThatNeverFinishesKeepsItsSealedParts) {
  const std::string folder = "raw/api/load-000009";
  {
    auto w = PackageWriter::Create(*storage_, "api", 9);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Add("GET /a", R"({"a":1})").ok());
    ASSERT_TRUE((*w)->Seal().ok());
    ASSERT_TRUE((*w)->Add("GET /b", R"({"b":2})").ok());
  }  // destroyed without Finish, as a killed load would leave it
  EXPECT_FALSE(fs::exists(root_ + "/" + folder + "/manifest.json"));
  const std::vector<std::string> parts = Parts(folder);
  ASSERT_FALSE(parts.empty());
  const std::string first = Unzstd(root_ + "/" + parts[0]);
  EXPECT_NE(first.find(R"("body":{"a":1})"), std::string::npos) << first;
}

}  // namespace
}  // namespace watershed::packages
