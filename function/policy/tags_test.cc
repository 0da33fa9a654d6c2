// AWS's rules for tags: the one checker of keys and values, and the count of
// tags per resource once the platform's own are added.
#include "function/policy/tags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "function/policy/policy.h"
#include "function/sdk/response.h"
#include "function/sdk/strings.h"
#include "function/sdk/struct_json.h"
#include "function/testing/proto_test_util.h"

namespace platform::fn::policy {
namespace {

using ::platform::fn::testing::CaseName;
using sdk::Json;

std::string Repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// --- Keys and values --------------------------------------------------------------------

struct TagCase {
  std::string name;
  std::string key;
  std::string value;
  std::string want;  // empty: accepted; else the rule
};

void PrintTo(const TagCase& c, std::ostream* os) { *os << c.name; }

class PolicyTagTest : public ::testing::TestWithParam<TagCase> {};

TEST_P(PolicyTagTest, Check) {
  const TagCase& c = GetParam();
  EXPECT_EQ(CheckTag(c.key, c.value), c.want);
}

constexpr char kKeyChars[] =
    "a tag key may only hold letters, digits, spaces and _ . : / = + - @, not ";
constexpr char kValueChars[] =
    "a tag value may only hold letters, digits, spaces and _ . : / = + - @, not ";

INSTANTIATE_TEST_SUITE_P(
    Policy, PolicyTagTest,
    ::testing::Values(
        // Accepted.
        TagCase{"Plain", "Owner", "platform", ""},
        TagCase{"EveryAllowedPunctuation", "a_b.c:d/e=f+g-h@i", "x_y.z:1/2=3+4-5@6", ""},
        TagCase{"Spaces", "Cost center", "Team A", ""},
        TagCase{"KubernetesStyleKey", "k8s.io/cluster-autoscaler/enabled", "true", ""},
        TagCase{"EmptyValue", "flag", "", ""},
        TagCase{"UnicodeLetters", "Größe", "プロジェクト", ""},
        TagCase{"UnicodeDigits", "n", "١٢٣", ""},
        TagCase{"NoBreakSpaceIsASpace", "a\u00a0b", "c\u2003d", ""},
        TagCase{"KeyOf128Characters", std::string(128, 'k'), "v", ""},
        // 128 characters in 256 bytes: characters count, not bytes.
        TagCase{"KeyOf128TwoByteCharacters", Repeat("é", 128), "v", ""},
        TagCase{"ValueOf256Characters", "k", std::string(256, 'v'), ""},
        TagCase{"ValueOf256ThreeByteCharacters", "k", Repeat("ジ", 256), ""},
        TagCase{"AwsInsideAKey", "team-aws:x", "v", ""},
        // Keys.
        TagCase{"EmptyKey", "", "v", "a tag key must not be empty"},
        TagCase{"KeyOf129Characters", std::string(129, 'k'), "v",
                "a tag key must be at most 128 characters long, not 129"},
        TagCase{"KeyOf129TwoByteCharacters", Repeat("é", 129), "v",
                "a tag key must be at most 128 characters long, not 129"},
        TagCase{"KeyWithHash", "cost#center", "v", sdk::Cat(kKeyChars, "\"#\" (character 5)")},
        TagCase{"KeyWithComma", "a,b", "v", sdk::Cat(kKeyChars, "\",\" (character 2)")},
        TagCase{"KeyWithTab", "a\tb", "v", sdk::Cat(kKeyChars, "U+0009 (character 2)")},
        TagCase{"KeyWithEmoji", "ünicode😀", "v", sdk::Cat(kKeyChars, "U+1F600 (character 8)")},
        TagCase{"KeyWithCurrencySign", "€", "v", sdk::Cat(kKeyChars, "U+20AC (character 1)")},
        TagCase{"KeyNotUtf8", "a\xff", "v",
                sdk::Cat(kKeyChars, "bytes that are not UTF-8 (character 2)")},
        TagCase{"AwsPrefix", "aws:createdBy", "v", "keys starting with aws: are reserved by AWS"},
        TagCase{"AwsPrefixAnyCase", "AwS:x", "v", "keys starting with aws: are reserved by AWS"},
        // Values; the key is checked first.
        TagCase{"ValueOf257Characters", "k", std::string(257, 'v'),
                "a tag value must be at most 256 characters long, not 257"},
        TagCase{"ValueWithSemicolon", "k", "a;b", sdk::Cat(kValueChars, "\";\" (character 2)")},
        TagCase{"ValueWithNewline", "k", "line\nbreak",
                sdk::Cat(kValueChars, "U+000A (character 5)")},
        TagCase{"ValueWithAngleBracket", "k", "<b>", sdk::Cat(kValueChars, "\"<\" (character 1)")},
        TagCase{"KeyBeforeValue", "a#", "b#", sdk::Cat(kKeyChars, "\"#\" (character 2)")}),
    CaseName<TagCase>);

TEST(PolicyTags, Utf8Length) {
  EXPECT_EQ(Utf8Length(""), 0u);
  EXPECT_EQ(Utf8Length("abc"), 3u);
  EXPECT_EQ(Utf8Length("Größe"), 5u);
  EXPECT_EQ(Utf8Length("😀"), 1u);
}

// --- Tags per resource ---------------------------------------------------------------

// A subject whose mandated tags are 5: environment, team, cost center,
// managed-by, composite.
Subject Someone() {
  Subject s;
  s.xr_kind = "XEnvironment";
  s.xr_name = "env-1";
  s.team = "web";
  s.environment_class = "dev";
  s.region = "eu-west-1";
  s.cost_center = "cc-1";
  return s;
}

Json UserTags(int n) {
  Json tags = Json::object();
  for (int i = 0; i < n; ++i) tags[sdk::Cat("user-", i)] = "v";
  return tags;
}

TEST(PolicyTagCount, TheXrsAndTheMandatedTagsAlone) {
  const Policies p;
  EXPECT_TRUE(p.CheckTagCount(Someone(), UserTags(45), nullptr, "spec.parameters.tags").ok());
  const absl::Status s = p.CheckTagCount(Someone(), UserTags(46), nullptr, "spec.parameters.tags");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "spec.parameters.tags: 46 tags here and 5 mandated by the platform make 51 on every "
            "resource; AWS allows 50 per resource, so at most 45 can be set here");
  EXPECT_EQ(
      std::string(
          p.CheckTagCount(Someone(), UserTags(2000), nullptr, "spec.parameters.tags").message()),
      "spec.parameters.tags: 2000 tags here and 5 mandated by the platform make 2005 on every "
      "resource; AWS allows 50 per resource, so at most 45 can be set here");
}

TEST(PolicyTagCount, AKeyOfBothCountsOnce) {
  const Json input = {{"policy", {{"tags", {{"owner", "platform"}, {"compliance", "soc2"}}}}}};
  absl::StatusOr<Policies> p = Policies::Load(input, nullptr);
  ASSERT_TRUE(p.ok()) << p.status();
  // 7 mandated, and 45 of the XR's of which 2 are mandated too: 50.
  Json tags = UserTags(43);
  tags["owner"] = "me";
  tags["compliance"] = "none";
  EXPECT_TRUE(p->CheckTagCount(Someone(), tags, nullptr, "spec.parameters.tags").ok());
  tags["one-more"] = "v";
  EXPECT_EQ(
      std::string(p->CheckTagCount(Someone(), tags, nullptr, "spec.parameters.tags").message()),
      "spec.parameters.tags: 44 tags here (not counting 2 the platform mandates too) and 7 "
      "mandated by the platform make 51 on every resource; AWS allows 50 per resource, so at "
      "most 43 can be set here");
}

// The desired resources as ApplyMandatedTags leaves them.
absl::Status CountIn(const Policies& p, const Json& user_tags, const Json& desired) {
  pb::RunFunctionRequest req;
  sdk::Response rsp(req, absl::Seconds(60));
  for (auto it = desired.begin(); it != desired.end(); ++it) rsp.SetDesired(it.key(), it.value());
  p.ApplyMandatedTags(Someone(), rsp);
  return p.CheckTagCount(Someone(), user_tags, &rsp, "spec.parameters.tags");
}

Json Resource(std::string_view api_version, std::string_view kind, Json tags) {
  return {{"apiVersion", api_version},
          {"kind", kind},
          {"spec", {{"forProvider", {{"tags", std::move(tags)}}}}}};
}

TEST(PolicyTagCount, TheResourceWithTheMost) {
  const Policies p;
  Json user = UserTags(44);
  Json subnet_tags = user;
  subnet_tags["Name"] = "env-1-public-a";
  subnet_tags["platform.terraforming.io/tier"] = "public";
  Json vpc_tags = user;
  vpc_tags["Name"] = "env-1";
  const Json fits = {{"vpc", Resource("ec2.aws.upbound.io/v1beta1", "VPC", vpc_tags)}};
  EXPECT_TRUE(CountIn(p, user, fits).ok());

  Json desired = fits;
  desired["subnet-public-a"] = Resource("ec2.aws.m.upbound.io/v1beta1", "Subnet", subnet_tags);
  const absl::Status s = CountIn(p, user, desired);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "spec.parameters.tags: 44 tags here, 5 mandated by the platform and 2 of its own make "
            "51 on Subnet subnet-public-a; AWS allows 50 per resource, so at most 43 can be set "
            "here");
}

TEST(PolicyTagCount, OnlyTaggableAwsResourcesCount) {
  const Policies p;
  const Json user = UserTags(45);
  Json many = UserTags(60);
  const Json desired = {
      // Not tagged: ApplyMandatedTags leaves them alone, and AWS never sees
      // these tags.
      {"rta", Resource("ec2.aws.upbound.io/v1beta1", "RouteTableAssociation", many)},
      {"capi", Resource("infrastructure.cluster.x-k8s.io/v1beta2", "AWSCluster", many)},
      {"vpc", Resource("ec2.aws.upbound.io/v1beta1", "VPC", user)}};
  EXPECT_TRUE(CountIn(p, user, desired).ok());
}

}  // namespace
}  // namespace platform::fn::policy
