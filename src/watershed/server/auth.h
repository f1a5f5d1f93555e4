// server/auth.h — checking the bearer token of an ingest request.
//
// Owns: reading an `Authorization` header (scheme `Bearer`, any letter case, RFC 9110 11.1)
// and comparing its token with the server's in constant time whatever either length is: both
// are hashed (SHA-256) and the digests compared with CRYPTO_memcmp, so neither the time nor the
// early exit of a comparison tells an attacker how much of a guess was right, or how long the
// token is. Does not belong here: where the token comes from (WATERSHED_TOKEN, the CLI), what
// a refusal answers (server.cc), auditing refusals (audit/audit_log.h).
// Thread safety: a BearerAuth is immutable after construction; Check may run on any thread.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace watershed::server {

class BearerAuth {
 public:
  explicit BearerAuth(std::string_view token);

  enum class Result {
    kOk,
    kMissing,    // no Authorization header (or an empty one)
    kNotBearer,  // another scheme (Basic, ...) or no token after it
    kWrongToken,
  };
  // `header`: the value of the request's Authorization header ("" when absent).
  Result Check(std::string_view header) const;

 private:
  std::array<unsigned char, 32> digest_;
};

// The token of a `Bearer <token>` header value: kOk with `token` set, or why there is none
// (kMissing, kNotBearer).
BearerAuth::Result BearerToken(std::string_view header, std::string_view* token);

}  // namespace watershed::server
