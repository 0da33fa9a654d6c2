#include "provider/common/sigv4.h"

#include <gtest/gtest.h>

#include <string>

#include "provider/common/crypto.h"

namespace provider {
namespace {

// The examples of AWS's S3 documentation ("Authenticating Requests: Using
// the Authorization Header", examples of signature calculations): the same
// keys, requests and time, and the signatures AWS gives for them.
const SigV4Credentials kExample{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                ""};
const auto kTime = std::chrono::system_clock::from_time_t(1369353600);  // 2013-05-24T00:00:00Z
const std::string kEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string Signature(const SigV4Signed& s) {
  return s.authorization.substr(s.authorization.rfind('=') + 1);
}

TEST(SigV4, GetObjectWithARange) {
  SigV4Request r;
  r.method = "GET";
  r.path = "/test.txt";
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"}};
  r.payload_sha256 = kEmpty;
  const SigV4Signed s = SignV4(r, kExample, "us-east-1", "s3", kTime);
  EXPECT_EQ(s.amz_date, "20130524T000000Z");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
      << s.canonical_request;
}

TEST(SigV4, PutObjectWithAnEncodedNameAndExtraHeaders) {
  SigV4Request r;
  r.method = "PUT";
  r.path = "/test$file.text";
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
               {"x-amz-storage-class", "REDUCED_REDUNDANCY"}};
  r.payload_sha256 = Sha256Hex("Welcome to Amazon S3.");
  EXPECT_EQ(r.payload_sha256, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  const SigV4Signed s = SignV4(r, kExample, "us-east-1", "s3", kTime);
  EXPECT_NE(s.canonical_request.find("\n/test%24file.text\n"), std::string::npos);
  EXPECT_EQ(Signature(s), "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
      << s.canonical_request;
}

TEST(SigV4, QueryParametersAreSortedAndEncoded) {
  SigV4Request r;
  r.method = "GET";
  r.path = "/";
  r.query = {{"prefix", "J"}, {"max-keys", "2"}};
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"}};
  r.payload_sha256 = kEmpty;
  const SigV4Signed s = SignV4(r, kExample, "us-east-1", "s3", kTime);
  EXPECT_NE(s.canonical_request.find("\nmax-keys=2&prefix=J\n"), std::string::npos);
  EXPECT_EQ(Signature(s), "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
      << s.canonical_request;

  SigV4Request lifecycle = r;
  lifecycle.query = {{"lifecycle", ""}};
  EXPECT_EQ(Signature(SignV4(lifecycle, kExample, "us-east-1", "s3", kTime)),
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4, ASessionTokenIsSigned) {
  SigV4Request r;
  r.method = "GET";
  r.path = "/k";
  r.headers = {{"host", "h"}};
  r.payload_sha256 = "UNSIGNED-PAYLOAD";
  SigV4Credentials with_token = kExample;
  with_token.session_token = "token";
  const SigV4Signed s = SignV4(r, with_token, "eu-west-1", "s3", kTime);
  EXPECT_NE(s.authorization.find("SignedHeaders=host;x-amz-content-sha256;x-amz-date;"
                                 "x-amz-security-token,"),
            std::string::npos);
  EXPECT_NE(Signature(s), Signature(SignV4(r, kExample, "eu-west-1", "s3", kTime)));
}

TEST(SigV4, UriEncodeKeepsUnreservedCharacters) {
  EXPECT_EQ(UriEncode("a b/c~d_e.f-g", true), "a%20b/c~d_e.f-g");
  EXPECT_EQ(UriEncode("a b/c", false), "a%20b%2Fc");
  EXPECT_EQ(UriEncode("é", false), "%C3%A9");
}

}  // namespace
}  // namespace provider
