// base/ids.h — identifiers and hashes: run/load/job ids, a stable 64-bit fingerprint, SHA-256.
//
// Owns: NewId (sortable, readable ids such as "load_20261124T041500Z_3f9a1c"), Fingerprint64 (a
// fast non-cryptographic hash whose values are stored on disk, so it never changes), and
// Sha256Hex (OpenSSL) for content addresses and hash chains.
// Does not belong here: UUID parsing, hash tables, keyed MACs or anything secret (security/).
// Thread safety: every function is thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "watershed/base/clock.h"

namespace watershed {

// Returns "<prefix>_<UTC time to the second, YYYYMMDDTHHMMSSZ>_<6 lowercase hex chars>", for
// example "load_20261124T041500Z_3f9a1c". Ids from one prefix sort by creation second. The hex
// part comes from a per-process random start stepped through a permutation of 2^24, so one
// process never repeats it within a second (up to 16.7M ids); across processes it is random
// (two processes creating ids in the same second collide with probability ~1/16.7M per pair).
// An empty prefix gives "<time>_<hex>".
std::string NewId(std::string_view prefix);
// The same, with the time taken from `clock` (for tests).
std::string NewId(std::string_view prefix, const Clock& clock);

// A fast, non-cryptographic 64-bit hash (multiply-xorshift over little-endian 8-byte words).
// STABLE: values are stored on disk (row ids, dedup keys, partition buckets), so the algorithm
// and its constants must never change; the golden values in ids_test.cc pin them. The result
// does not depend on the host's byte order. Not collision-resistant against an adversary: use
// Sha256Hex for that.
uint64_t Fingerprint64(std::string_view data);

// This machine's host name (recorded with runs and loads to tell a live owner from a dead one).
std::string ThisHost();
// Whether process `pid` on this host is alive (kill(pid, 0)); false for pid <= 0.
bool ProcessAlive(int64_t pid);

// A random (version 4) UUID in its 36-character text form.
std::string NewUuid();

// Lowercase hex SHA-256 of `data` (64 chars), computed with OpenSSL EVP.
std::string Sha256Hex(std::string_view data);

}  // namespace watershed
