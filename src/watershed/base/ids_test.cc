#include "watershed/base/ids.h"

#include <cctype>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/civil_time.h"
#include "gtest/gtest.h"

namespace watershed {
namespace {

// True when `text` has the shape of `shape`: '9' stands for a decimal digit, 'x' for a
// lowercase hex digit, every other character for itself.
bool HasShape(std::string_view text, std::string_view shape) {
  if (text.size() != shape.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool digit = c >= '0' && c <= '9';
    if (shape[i] == '9'   ? !digit
        : shape[i] == 'x' ? !(digit || (c >= 'a' && c <= 'f'))
                          : c != shape[i]) {
      return false;
    }
  }
  return true;
}

TEST(NewUuidTest, IsAVersion4UuidAndDiffersEachTime) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string u = NewUuid();
    ASSERT_EQ(u.size(), 36u) << u;
    for (size_t j = 0; j < u.size(); ++j) {
      const bool dash = j == 8 || j == 13 || j == 18 || j == 23;
      EXPECT_TRUE(dash ? u[j] == '-'
                       : std::isxdigit(static_cast<unsigned char>(u[j])) && !std::isupper(u[j]))
          << u;
    }
    EXPECT_EQ(u[14], '4') << u;                                          // version 4
    EXPECT_NE(std::string("89ab").find(u[19]), std::string::npos) << u;  // variant 10xx
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(NewIdTest, HasPrefixUtcTimeAndSixHexChars) {
  FakeClock clock(absl::FromCivil(absl::CivilSecond(2026, 11, 24, 4, 15, 0), absl::UTCTimeZone()));
  std::string id = NewId("load", clock);
  EXPECT_EQ(id.substr(0, 22), "load_20261124T041500Z_");
  EXPECT_TRUE(HasShape(id, "load_99999999T999999Z_xxxxxx")) << id;
}

TEST(NewIdTest, EmptyPrefixOmitsTheSeparator) {
  FakeClock clock(absl::FromUnixSeconds(0));
  std::string id = NewId("", clock);
  EXPECT_EQ(id.substr(0, 17), "19700101T000000Z_");
  EXPECT_TRUE(HasShape(id, "99999999T999999Z_xxxxxx")) << id;
}

TEST(NewIdTest, RealClockFormat) {
  std::string id = NewId("run");
  EXPECT_TRUE(HasShape(id, "run_99999999T999999Z_xxxxxx")) << id;
  EXPECT_FALSE(HasShape("run_2026112xT041500Z_3f9a1c", "run_99999999T999999Z_xxxxxx"));
  EXPECT_FALSE(HasShape("run_20261124T041500Z_3F9A1C", "run_99999999T999999Z_xxxxxx"));
}

TEST(NewIdTest, IdsSortByTime) {
  FakeClock clock(absl::FromUnixSeconds(1700000000));
  std::string first = NewId("job", clock);
  clock.Advance(absl::Seconds(1));
  std::string second = NewId("job", clock);
  EXPECT_LT(first, second);
}

TEST(NewIdTest, NoRepeatsWithinOneSecondAcrossThreads) {
  FakeClock clock(absl::FromUnixSeconds(1700000000));
  constexpr int kThreads = 8;
  constexpr int kPerThread = 5000;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) ids[t].push_back(NewId("x", clock));
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> unique;
  for (const auto& list : ids) unique.insert(list.begin(), list.end());
  EXPECT_EQ(unique.size(), static_cast<size_t>(kThreads * kPerThread));
}

// These golden values pin the on-disk hash. If this test fails, Fingerprint64 changed: revert
// it. Values stored in catalogs and lakes depend on it.
TEST(Fingerprint64Test, GoldenValuesNeverChange) {
  EXPECT_EQ(Fingerprint64(""), 0xf8827fc074c0fa0aULL);
  EXPECT_EQ(Fingerprint64("a"), 0x8d06b9c3b533bc79ULL);
  EXPECT_EQ(Fingerprint64("watershed"), 0x5a3db93dfe8fe1e9ULL);
  EXPECT_EQ(Fingerprint64("9fe491b2-b6a1-5c87-0f4d-226dd0cc97a9"), 0xe018ff7ca23857f5ULL);
}

TEST(Fingerprint64Test, DeterministicAndSensitiveToEveryByteAndLength) {
  EXPECT_EQ(Fingerprint64("hello world"), Fingerprint64(std::string("hello world")));
  EXPECT_NE(Fingerprint64("a"), Fingerprint64(std::string("a\0", 2)));
  EXPECT_NE(Fingerprint64(""), Fingerprint64(std::string("\0", 1)));
  EXPECT_NE(Fingerprint64("12345678"), Fingerprint64(std::string("12345678\0", 9)));
  std::string base(37, 'x');
  std::set<uint64_t> seen{Fingerprint64(base)};
  for (size_t i = 0; i < base.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = base;
      flipped[i] = static_cast<char>(flipped[i] ^ (1 << bit));
      seen.insert(Fingerprint64(flipped));
    }
  }
  EXPECT_EQ(seen.size(), 1 + base.size() * 8);
}

TEST(Fingerprint64Test, NoCollisionsOnManySimilarKeys) {
  std::set<uint64_t> seen;
  constexpr int kKeys = 200000;
  for (int i = 0; i < kKeys; ++i) seen.insert(Fingerprint64("org-" + std::to_string(i)));
  EXPECT_EQ(seen.size(), static_cast<size_t>(kKeys));
}

TEST(Fingerprint64Test, LowBitsAreWellSpread) {
  // Bucketing by the low bits (partition buckets) must be roughly uniform.
  constexpr int kBuckets = 16;
  constexpr int kKeys = 160000;
  int counts[kBuckets] = {};
  for (int i = 0; i < kKeys; ++i) ++counts[Fingerprint64(std::to_string(i)) % kBuckets];
  for (int count : counts) {
    EXPECT_GT(count, kKeys / kBuckets * 9 / 10);
    EXPECT_LT(count, kKeys / kBuckets * 11 / 10);
  }
}

TEST(Sha256HexTest, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex(std::string("\0", 1)),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
}

}  // namespace
}  // namespace watershed
