#include "provider/common/s3.h"

#include <gtest/gtest.h>

#include <string>

#include "provider/testing/s3_server.h"

namespace provider {
namespace {

TEST(ParseListObjects, ReadsKeysSizesAndTheNextPage) {
  const std::string xml = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount>
  <IsTruncated>true</IsTruncated>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <Contents><Key>p/a&amp;b</Key><Size>12</Size><ETag>"x"</ETag></Contents>
  <Contents><Key>p/c</Key><Size>0</Size></Contents>
</ListBucketResult>)";
  const absl::StatusOr<S3ListPage> page = ParseListObjects(xml);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "p/a&b");
  EXPECT_EQ(page->objects[0].size, 12);
  EXPECT_EQ(page->objects[1].key, "p/c");
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
}

TEST(ParseListObjects, RefusesWhatIsNotAListing) {
  EXPECT_EQ(ParseListObjects("<Error><Code>NoSuchBucket</Code></Error>").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseListObjects("<ListBucketResult>").status().code(),
            absl::StatusCode::kInvalidArgument);
}

S3Options OptionsFor(const testing::S3Server& server, const std::string& bucket) {
  S3Options o;
  o.endpoint = server.endpoint();
  o.bucket = bucket;
  o.credentials = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.timeout = std::chrono::milliseconds(20000);
  return o;
}

// Against a real S3-protocol server (moto) on loopback.
class S3ClientTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start()); }
  testing::S3Server server_;
};

TEST_F(S3ClientTest, PutsGetsListsAndDeletes) {
  S3Client s3(OptionsFor(server_, "backups"));
  ASSERT_TRUE(s3.CreateBucket().ok());
  ASSERT_TRUE(s3.CreateBucket().ok()) << "a bucket of ours that exists is fine";

  std::string binary(300, '\0');
  for (size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>(i * 7);
  ASSERT_TRUE(s3.Put("states/ns one/ws+1/0001.tfstate", binary, {{"Serial", "1"}}).ok());
  ASSERT_TRUE(s3.Put("states/ns one/ws+1/0002.tfstate", "two", {{"serial", "2"}}).ok());
  ASSERT_TRUE(s3.Put("other/x", "x", {{"empty", ""}, {"set", "1"}}).ok());
  const auto other = s3.Head("other/x");
  ASSERT_TRUE(other.ok() && other->has_value()) << other.status();
  EXPECT_EQ((**other).count("empty"), 0u) << "an empty value is not sent";
  EXPECT_EQ((**other).at("set"), "1");

  const absl::StatusOr<S3Got> got = s3.Get("states/ns one/ws+1/0001.tfstate");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->body, binary);
  EXPECT_EQ(got->metadata.at("serial"), "1");

  const auto head = s3.Head("states/ns one/ws+1/0002.tfstate");
  ASSERT_TRUE(head.ok()) << head.status();
  ASSERT_TRUE(head->has_value());
  EXPECT_EQ((**head).at("serial"), "2");
  const auto missing = s3.Head("states/none");
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_FALSE(missing->has_value());
  EXPECT_EQ(s3.Get("states/none").status().code(), absl::StatusCode::kNotFound);

  const absl::StatusOr<std::vector<S3Object>> listed = s3.List("states/ns one/");
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].key, "states/ns one/ws+1/0001.tfstate");
  EXPECT_EQ((*listed)[0].size, 300);
  EXPECT_EQ((*listed)[1].key, "states/ns one/ws+1/0002.tfstate");

  ASSERT_TRUE(s3.Delete("states/ns one/ws+1/0001.tfstate").ok());
  ASSERT_TRUE(s3.Delete("states/ns one/ws+1/0001.tfstate").ok()) << "gone already is fine";
  EXPECT_EQ(s3.List("states/").value().size(), 1u);
}

TEST_F(S3ClientTest, ListsEveryPage) {
  S3Client s3(OptionsFor(server_, "many"));
  ASSERT_TRUE(s3.CreateBucket().ok());
  // More than one page of 1,000 keys.
  for (int i = 0; i < 1005; ++i) ASSERT_TRUE(s3.Put("k/" + std::to_string(10000 + i), "").ok());
  const absl::StatusOr<std::vector<S3Object>> listed = s3.List("k/");
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->size(), 1005u);
  EXPECT_EQ(listed->back().key, "k/11004");
}

TEST_F(S3ClientTest, NamesTheBucketAndS3sCodeWhenRefused) {
  S3Client s3(OptionsFor(server_, "no-such-bucket"));
  const absl::Status put = s3.Put("k", "v");
  // Not NotFound: a missing bucket is no "nothing stored here".
  EXPECT_EQ(put.code(), absl::StatusCode::kFailedPrecondition) << put;
  EXPECT_EQ(s3.Get("k").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(put.message().find("s3://no-such-bucket/k"), std::string::npos) << put;
  EXPECT_NE(put.message().find("NoSuchBucket"), std::string::npos) << put;
}

// moto with authentication on computes each request's SigV4 signature
// itself and compares: every operation, keys and prefixes that need
// encoding, and the error a wrong secret gets.
TEST(S3ClientSigning, AServerThatChecksSignaturesAcceptsOursAndRefusesAWrongKey) {
  testing::S3Server server;
  ASSERT_TRUE(server.Start(/*authenticated=*/true));
  S3Options o = OptionsFor(server, "signed");
  o.credentials = {server.access_key(), server.secret_key(), ""};
  S3Client s3(o);
  ASSERT_TRUE(s3.CreateBucket().ok());
  const std::string key = "prod/namespaces/team a/net+1/L~x/000000000001.tfstate";
  ASSERT_TRUE(s3.Put(key, "sealed", {{"serial", "1"}, {"sha256", "abc"}}).ok());
  const absl::StatusOr<S3Got> got = s3.Get(key);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->body, "sealed");
  EXPECT_EQ(got->metadata.at("sha256"), "abc");
  const auto head = s3.Head(key);
  ASSERT_TRUE(head.ok() && head->has_value()) << head.status();
  const absl::StatusOr<std::vector<S3Object>> listed = s3.List("prod/namespaces/team a/");
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].key, key);
  ASSERT_TRUE(s3.Delete(key).ok());

  o.credentials.secret_access_key = "not-the-secret";
  const absl::Status refused = S3Client(o).Put("k", "v");
  EXPECT_EQ(refused.code(), absl::StatusCode::kPermissionDenied) << refused;
  EXPECT_NE(refused.message().find("SignatureDoesNotMatch"), std::string::npos) << refused;
}

TEST(S3Client, AServerThatIsDownIsUnavailable) {
  testing::S3Server down;  // never started
  S3Client s3(OptionsFor(down, "b"));
  const absl::Status put = s3.Put("k", "v");
  EXPECT_EQ(put.code(), absl::StatusCode::kUnavailable) << put;
  EXPECT_NE(put.message().find(down.endpoint()), std::string::npos) << put;
}

TEST(S3Client, RefusesAnEndpointThatIsNotHttp) {
  S3Options o;
  o.endpoint = "ftp://example.com";
  o.bucket = "b";
  EXPECT_EQ(S3Client(o).Put("k", "v").code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace provider
