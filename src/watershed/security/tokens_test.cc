// security/tokens_test.cc — the token format, minting and every outcome of a check.
#include "watershed/security/tokens.h"

#include "gtest/gtest.h"

namespace watershed::security {
namespace {

constexpr char kKey[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

TEST(Tokens, AMintedTokenParsesAndChecksAndItsSecretIsNotInTheRecord) {
  auto m = MintToken("bob", 1000, 0, kKey);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE(m->token.starts_with("ws_"));
  EXPECT_EQ(m->token.size(), 3u + 12 + 1 + 43);
  auto p = ParseToken(m->token);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->id, m->record.id);
  EXPECT_EQ(m->record.principal, "bob");
  EXPECT_EQ(m->token.find(m->record.hash), std::string::npos);
  EXPECT_EQ(m->record.hash.find(p->secret), std::string::npos);
  EXPECT_EQ(CheckToken(&m->record, *p, kKey, 2000), TokenCheck::kOk);
  // Two tokens never share an id or a secret.
  auto other = MintToken("bob", 1000, 0, kKey);
  EXPECT_NE(other->record.id, m->record.id);
  EXPECT_NE(other->record.hash, m->record.hash);
}

TEST(Tokens, EveryWayATokenFailsIsNamed) {
  auto m = MintToken("svc", 1000, 5000, kKey);
  ASSERT_TRUE(m.ok());
  auto p = *ParseToken(m->token);
  EXPECT_EQ(CheckToken(nullptr, p, kKey, 2000), TokenCheck::kUnknown);
  EXPECT_EQ(CheckToken(&m->record, p, kKey, 5000), TokenCheck::kExpired);
  PresentedToken wrong = p;
  wrong.secret[0] = wrong.secret[0] == 'A' ? 'B' : 'A';
  EXPECT_EQ(CheckToken(&m->record, wrong, kKey, 2000), TokenCheck::kWrongSecret);
  // Another key (another project) does not accept it.
  EXPECT_EQ(CheckToken(&m->record, p, std::string(64, 'f'), 2000), TokenCheck::kWrongSecret);
  TokenRecord revoked = m->record;
  revoked.revoked_micros = 1500;
  EXPECT_EQ(CheckToken(&revoked, p, kKey, 2000), TokenCheck::kRevoked);
  for (const char* bad : {"", "ws_",
                          "wsx_abcdefabcdef_"
                          "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                          "ws_ABCDEFabcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                          "ws_abcdefabcdef-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                          "ws_abcdefabcdef_AAAA", "Bearer ws_x"}) {
    EXPECT_FALSE(ParseToken(bad)) << bad;
  }
  EXPECT_FALSE(MintToken("svc", 0, 0, "short").ok());
  EXPECT_EQ(TokenCheckMessage(TokenCheck::kRevoked), "token revoked");
}

}  // namespace
}  // namespace watershed::security
