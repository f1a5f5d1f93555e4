// base/ids.cc — id generation and hashing. See ids.h.
#include "watershed/base/ids.h"

#include <openssl/evp.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

#include "absl/time/time.h"

namespace watershed {
namespace {

constexpr uint64_t kMul0 = 0x9E3779B97F4A7C15ULL;  // 2^64 / golden ratio
constexpr uint64_t kMul1 = 0xD6E8FEB86659FD93ULL;
constexpr uint64_t kMul2 = 0xFF51AFD7ED558CCDULL;

// A bijective 64-bit mixer (xorshift-multiply, two rounds).
inline uint64_t Mix(uint64_t x) {
  x ^= x >> 32;
  x *= kMul1;
  x ^= x >> 29;
  x *= kMul2;
  x ^= x >> 32;
  return x;
}

// Reads up to 8 bytes as a little-endian integer, whatever the host order.
inline uint64_t LoadLittleEndian(const char* p, size_t n) {
  uint64_t v = 0;
  std::memcpy(&v, p, n);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

// The random part of NewId: a per-process random start and a random odd step modulo 2^24, so
// successive values visit all 2^24 residues before repeating.
uint32_t NextIdSuffix() {
  struct State {
    uint32_t start;
    uint32_t step;
  };
  static const State state = [] {
    std::random_device device;
    uint64_t bits = (static_cast<uint64_t>(device()) << 32) ^ device();
    bits = Mix(bits ^ static_cast<uint64_t>(absl::ToUnixNanos(absl::Now())));
    return State{static_cast<uint32_t>(bits & 0xFFFFFF),
                 static_cast<uint32_t>((bits >> 24) & 0xFFFFFF) | 1u};
  }();
  static std::atomic<uint32_t> counter{0};
  uint32_t n = counter.fetch_add(1, std::memory_order_relaxed);
  return (state.start + n * state.step) & 0xFFFFFF;
}

}  // namespace

std::string NewId(std::string_view prefix) { return NewId(prefix, *Clock::Real()); }

std::string NewId(std::string_view prefix, const Clock& clock) {
  std::string time = absl::FormatTime("%Y%m%dT%H%M%SZ", clock.Now(), absl::UTCTimeZone());
  char hex[7];
  static constexpr char kDigits[] = "0123456789abcdef";
  uint32_t suffix = NextIdSuffix();
  for (int i = 5; i >= 0; --i) {
    hex[i] = kDigits[suffix & 0xF];
    suffix >>= 4;
  }
  hex[6] = '\0';
  std::string id;
  id.reserve(prefix.size() + time.size() + 8);
  if (!prefix.empty()) {
    id.append(prefix);
    id.push_back('_');
  }
  id.append(time);
  id.push_back('_');
  id.append(hex, 6);
  return id;
}

uint64_t Fingerprint64(std::string_view data) {
  const char* p = data.data();
  size_t n = data.size();
  uint64_t h = Mix(static_cast<uint64_t>(n) * kMul0 + kMul1);
  while (n >= 8) {
    uint64_t word = LoadLittleEndian(p, 8);
    h = (h ^ Mix(word + kMul0)) * kMul1;
    h = std::rotl(h, 31);
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t word = LoadLittleEndian(p, n);
    h = (h ^ Mix(word ^ (static_cast<uint64_t>(n) << 59) ^ kMul2)) * kMul1;
  }
  return Mix(h);
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    return std::string();  // only on allocation failure inside OpenSSL
  }
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex(2 * length, '0');
  for (unsigned int i = 0; i < length; ++i) {
    hex[2 * i] = kDigits[digest[i] >> 4];
    hex[2 * i + 1] = kDigits[digest[i] & 0xF];
  }
  return hex;
}

std::string ThisHost() {
  char buf[256] = {0};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

bool ProcessAlive(int64_t pid) {
  if (pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace watershed

namespace watershed {

std::string NewUuid() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t hi = rng(), lo = rng();
  hi = (hi & ~uint64_t{0xF000}) | 0x4000;                    // version 4
  lo = (lo & ~(uint64_t{0xC} << 60)) | (uint64_t{8} << 60);  // variant 10
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFull));
  return buf;
}

}  // namespace watershed
