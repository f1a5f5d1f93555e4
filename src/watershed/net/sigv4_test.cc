// net/sigv4_test.cc — the signer against the worked examples of AWS's S3 SigV4 documentation.
#include "watershed/net/sigv4.h"

#include <gtest/gtest.h>

namespace watershed::net {
namespace {

const AwsCredentials kExampleKey{"AKIAIOSFODNN7EXAMPLE",
                                 "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
const absl::Time kExampleTime = absl::FromCivil(absl::CivilSecond(2013, 5, 24, 0, 0, 0),
                                                absl::UTCTimeZone());
constexpr char kEmptySha[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string Header(const HttpRequest& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

TEST(SigV4, GetObjectWithRangeMatchesTheDocumentedSignature) {
  HttpRequest r;
  r.method = "GET";
  r.url = "https://examplebucket.s3.amazonaws.com/test.txt";
  r.headers = {{"Range", "bytes=0-9"}};
  ASSERT_TRUE(SignV4(r, kExampleKey, "us-east-1", "s3", kExampleTime).ok());
  EXPECT_EQ(Header(r, "x-amz-date"), "20130524T000000Z");
  EXPECT_EQ(Header(r, "x-amz-content-sha256"), kEmptySha);
  EXPECT_EQ(Header(r, "Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4, ListObjectsSortsAndEncodesTheQuery) {
  // The documented GET Bucket (List Objects) example: ?max-keys=2&prefix=J.
  HttpRequest r;
  r.url = "https://examplebucket.s3.amazonaws.com/?prefix=J&max-keys=2";
  ASSERT_TRUE(SignV4(r, kExampleKey, "us-east-1", "s3", kExampleTime).ok());
  EXPECT_NE(Header(r, "Authorization")
                .find("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
            std::string::npos)
      << Header(r, "Authorization");
}

TEST(SigV4, SigningTwiceReplacesTheEarlierSignature) {
  HttpRequest r;
  r.url = "https://examplebucket.s3.amazonaws.com/test.txt";
  r.headers = {{"Range", "bytes=0-9"}};
  ASSERT_TRUE(SignV4(r, kExampleKey, "us-east-1", "s3", kExampleTime - absl::Hours(1)).ok());
  ASSERT_TRUE(SignV4(r, kExampleKey, "us-east-1", "s3", kExampleTime).ok());
  int authorizations = 0;
  for (const auto& [n, v] : r.headers) authorizations += n == "Authorization";
  EXPECT_EQ(authorizations, 1);
  EXPECT_NE(Header(r, "Authorization").find("f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd9"),
            std::string::npos);
}

TEST(SigV4, SessionTokenIsSignedAndUriEncodingFollowsAwsRules) {
  HttpRequest r;
  r.url = "http://127.0.0.1:9000/b/k";
  AwsCredentials with_token = kExampleKey;
  with_token.session_token = "tok";
  ASSERT_TRUE(SignV4(r, with_token, "eu-west-1", "s3", kExampleTime).ok());
  EXPECT_EQ(Header(r, "x-amz-security-token"), "tok");
  EXPECT_NE(Header(r, "Authorization").find("SignedHeaders=host;x-amz-content-sha256;x-amz-date;"
                                            "x-amz-security-token"),
            std::string::npos);
  EXPECT_EQ(AwsUriEncode("a b/c=d~e", false), "a%20b/c%3Dd~e");
  EXPECT_EQ(AwsUriEncode("a/b", true), "a%2Fb");
  HttpRequest bad;
  bad.url = "no-scheme";
  EXPECT_EQ(SignV4(bad, kExampleKey, "us-east-1", "s3", kExampleTime).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SignV4(r, AwsCredentials{}, "us-east-1", "s3", kExampleTime).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace watershed::net
