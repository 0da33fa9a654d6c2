#include "provider/common/redact.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace provider {
namespace {

bool Has(const std::vector<std::string>& values, const std::string& v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

TEST(Redact, LongValuesEverywhereLongestFirst) {
  EXPECT_EQ(Redact("token=hunter22 and hunter22x", {"hunter22", "hunter22x"}), "token=*** and ***");
  EXPECT_EQ(Redact("no secret here", {}), "no secret here");
  EXPECT_EQ(Redact("empty", {""}), "empty");
}

// A short secret is hidden where it stands alone, not inside other words.
TEST(Redact, ShortValuesAsWholeWordsOnly) {
  EXPECT_EQ(Redact("pin 42 rejected; port 4242 open", {"42"}), "pin *** rejected; port 4242 open");
  EXPECT_EQ(Redact("a abc abcd abcdef", {"abc", "abcd", "abcdef"}), "a *** *** ***");
  EXPECT_EQ(Redact("\"ab\" in main.tf", {"ab"}), "\"***\" in main.tf");
  EXPECT_EQ(Redact("x=ab", {"ab"}), "x=***");
  EXPECT_EQ(Redact("ab_c abc", {"ab"}), "ab_c abc");
  // No letter or digit: nothing to hide, everything to garble.
  EXPECT_EQ(Redact("a = b", {"="}), "a = b");
}

TEST(Redact, OnlyTheGivenValues) {
  // A non-secret word that is part of a file name stays as it is.
  EXPECT_EQ(Redact("Error in main.tf line 3: bad token s3cr3t-v4lue", {"s3cr3t-v4lue"}),
            "Error in main.tf line 3: bad token ***");
}

TEST(SecretFileValues, AwsSharedCredentials) {
  const std::string ini =
      "[default]\n"
      "aws_access_key_id = AKIAEXAMPLEKEY123\n"
      "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n"
      "# a comment\n"
      "[other]\n"
      "aws_session_token = \"FwoGZXIvYXdzEXAMPLE\"\n";
  const auto values = SecretFileValues(ini);
  EXPECT_TRUE(Has(values, ini));
  EXPECT_TRUE(Has(values, "AKIAEXAMPLEKEY123"));
  EXPECT_TRUE(Has(values, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"));
  EXPECT_TRUE(Has(values, "FwoGZXIvYXdzEXAMPLE"));
  EXPECT_FALSE(Has(values, "[default]"));
  EXPECT_FALSE(Has(values, "# a comment"));
  // One key alone in a message is hidden, not only the whole file.
  EXPECT_EQ(Redact("InvalidClientTokenId: AKIAEXAMPLEKEY123 is not valid", values),
            "InvalidClientTokenId: *** is not valid");
}

TEST(SecretFileValues, JsonServiceAccountKey) {
  const std::string json = R"({
  "type": "service_account",
  "private_key_id": "0123456789abcdef0123",
  "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n",
  "client_email": "bot@project.iam.gserviceaccount.com",
  "nested": {"list": ["inner-secret-1"]},
  "port": 5432
})";
  const auto values = SecretFileValues(json);
  EXPECT_TRUE(Has(values, "0123456789abcdef0123"));
  EXPECT_TRUE(Has(values, "bot@project.iam.gserviceaccount.com"));
  EXPECT_TRUE(Has(values, "inner-secret-1"));
  EXPECT_TRUE(Has(values, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"));
  EXPECT_EQ(Redact("key line MIIEvQIBADANBgkqhkiG9w0BAQEFAASC leaked", values),
            "key line *** leaked");
}

TEST(SecretFileValues, EnvFilesAndUrls) {
  const std::string env =
      "export API_TOKEN='tok-123456'\n"
      "DB_PASSWORD=\"p4ss w0rd\"\n"
      "https://bot:s3cret%40token@git.example.com\n";
  const auto values = SecretFileValues(env);
  EXPECT_TRUE(Has(values, "tok-123456"));
  EXPECT_TRUE(Has(values, "p4ss w0rd"));
  EXPECT_TRUE(Has(values, "s3cret%40token"));
  EXPECT_TRUE(Has(values, "s3cret@token"));
  EXPECT_TRUE(Has(values, "bot:s3cret%40token"));
  EXPECT_EQ(Redact("auth failed for s3cret@token", values), "auth failed for ***");
}

TEST(SecretFileValues, PemKeyLines) {
  const std::string pem =
      "-----BEGIN OPENSSH PRIVATE KEY-----\n"
      "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
      "QyNTUxOQAAACDx==\n"
      "-----END OPENSSH PRIVATE KEY-----";
  const auto values = SecretFileValues(pem);
  EXPECT_TRUE(
      Has(values, "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"));
  EXPECT_TRUE(Has(values, "QyNTUxOQAAACDx=="));
  EXPECT_EQ(Redact("a = b", values), "a = b");
}

TEST(RedactUrls, UserInfo) {
  EXPECT_EQ(RedactUrls("fatal: https://bot:tok@h/x failed"), "fatal: https://***@h/x failed");
}

}  // namespace
}  // namespace provider
