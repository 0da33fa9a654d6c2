// CIDR arithmetic, the subnet layout and the zone table.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "function/network/cidr.h"
#include "function/network/layout.h"
#include "function/network/zones.h"
#include "function/testing/proto_test_util.h"

namespace platform::fn::network {
namespace {

using ::platform::fn::testing::CaseName;

struct ParseCase {
  std::string name;
  std::string text;
  std::string want;  // canonical form, or "" when it must fail
  std::string error;
};

class CidrParseTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(CidrParseTest, Parses) {
  const ParseCase& c = GetParam();
  absl::StatusOr<Cidr> got = Cidr::Parse(c.text);
  if (c.want.empty()) {
    ASSERT_FALSE(got.ok()) << got->ToString();
    EXPECT_EQ(std::string(got.status().message()), c.error);
  } else {
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->ToString(), c.want);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CidrParseTest,
    ::testing::Values(
        ParseCase{"Slash16", "10.0.0.0/16", "10.0.0.0/16", ""},
        ParseCase{"Slash32", "192.168.1.7/32", "192.168.1.7/32", ""},
        ParseCase{"Slash0", "0.0.0.0/0", "0.0.0.0/0", ""},
        ParseCase{"HostBits", "10.0.1.0/16", "",
                  "\"10.0.1.0/16\" is not an IPv4 CIDR block: host bits are set; the block is "
                  "10.0.0.0/16"},
        ParseCase{"NoSlash", "10.0.0.0", "",
                  "\"10.0.0.0\" is not an IPv4 CIDR block: expected a.b.c.d/n"},
        ParseCase{"OctetTooBig", "10.256.0.0/16", "",
                  "\"10.256.0.0/16\" is not an IPv4 CIDR block: each number must be 0 to 255"},
        ParseCase{"ThreeOctets", "10.0.0/16", "",
                  "\"10.0.0/16\" is not an IPv4 CIDR block: expected four dotted numbers"},
        ParseCase{"FiveOctets", "10.0.0.0.0/16", "",
                  "\"10.0.0.0.0/16\" is not an IPv4 CIDR block: each number must be 0 to 255"},
        ParseCase{"PrefixTooLong", "10.0.0.0/33", "",
                  "\"10.0.0.0/33\" is not an IPv4 CIDR block: the prefix length must be 0 to "
                  "32"},
        ParseCase{"EmptyPrefix", "10.0.0.0/", "",
                  "\"10.0.0.0/\" is not an IPv4 CIDR block: the prefix length must be 0 to 32"},
        ParseCase{"Letters", "ten.0.0.0/8", "",
                  "\"ten.0.0.0/8\" is not an IPv4 CIDR block: each number must be 0 to 255"},
        ParseCase{"Empty", "", "", "\"\" is not an IPv4 CIDR block: expected a.b.c.d/n"}),
    CaseName<ParseCase>);

TEST(Cidr, SubnetMatchesTerraformCidrsubnet) {
  const Cidr vpc = *Cidr::Parse("10.0.0.0/16");
  EXPECT_EQ(vpc.Subnet(4, 0)->ToString(), "10.0.0.0/20");
  EXPECT_EQ(vpc.Subnet(4, 15)->ToString(), "10.0.240.0/20");
  EXPECT_EQ(vpc.Subnet(8, 2)->ToString(), "10.0.2.0/24");
  EXPECT_EQ(vpc.Subnet(16, 65535)->ToString(), "10.0.255.255/32");
  EXPECT_FALSE(vpc.Subnet(4, 16).ok());
  EXPECT_FALSE(vpc.Subnet(17, 0).ok());
  EXPECT_FALSE(vpc.Subnet(-1, 0).ok());
}

TEST(Cidr, ContainsAndOverlaps) {
  const Cidr vpc = *Cidr::Parse("10.0.0.0/16");
  const Cidr inside = *Cidr::Parse("10.0.8.0/21");
  const Cidr outside = *Cidr::Parse("10.1.0.0/24");
  const Cidr wider = *Cidr::Parse("10.0.0.0/8");
  EXPECT_TRUE(vpc.Contains(inside));
  EXPECT_FALSE(inside.Contains(vpc));
  EXPECT_FALSE(vpc.Contains(outside));
  EXPECT_TRUE(vpc.Overlaps(inside));
  EXPECT_TRUE(inside.Overlaps(vpc));
  EXPECT_TRUE(wider.Overlaps(vpc));
  EXPECT_FALSE(vpc.Overlaps(outside));
  EXPECT_FALSE(Cidr::Parse("10.0.0.0/24")->Overlaps(*Cidr::Parse("10.0.1.0/24")));
}

struct LayoutCase {
  std::string name;
  std::string vpc;
  Tier tier;
  int slot;
  std::string want;
};

class LayoutTest : public ::testing::TestWithParam<LayoutCase> {};

TEST_P(LayoutTest, Plans) {
  const LayoutCase& c = GetParam();
  absl::StatusOr<Cidr> got = SubnetFor(*Cidr::Parse(c.vpc), c.tier, c.slot);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->ToString(), c.want);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, LayoutTest,
    ::testing::Values(LayoutCase{"Private16A", "10.0.0.0/16", Tier::kPrivate, 0, "10.0.0.0/20"},
                      LayoutCase{"Private16C", "10.0.0.0/16", Tier::kPrivate, 2, "10.0.32.0/20"},
                      LayoutCase{"Private16H", "10.0.0.0/16", Tier::kPrivate, 7, "10.0.112.0/20"},
                      LayoutCase{"Public16A", "10.0.0.0/16", Tier::kPublic, 0, "10.0.128.0/21"},
                      LayoutCase{"Public16F", "10.0.0.0/16", Tier::kPublic, 5, "10.0.168.0/21"},
                      LayoutCase{"Database16A", "10.0.0.0/16", Tier::kDatabase, 0, "10.0.192.0/21"},
                      LayoutCase{"Database16H", "10.0.0.0/16", Tier::kDatabase, 7, "10.0.248.0/21"},
                      LayoutCase{"Private20B", "10.1.0.0/20", Tier::kPrivate, 1, "10.1.1.0/24"},
                      LayoutCase{"Public20A", "10.1.0.0/20", Tier::kPublic, 0, "10.1.8.0/25"},
                      LayoutCase{"Database20C", "10.1.0.0/20", Tier::kDatabase, 2, "10.1.13.0/25"}),
    CaseName<LayoutCase>);

TEST(Layout, EverySubnetIsInsideTheVpcAndNoTwoOverlap) {
  for (const char* text : {"10.0.0.0/16", "172.16.0.0/18", "192.168.0.0/20"}) {
    const Cidr vpc = *Cidr::Parse(text);
    std::vector<Cidr> all;
    for (Tier tier : kTiers) {
      for (int slot = 0; slot < kZoneSlots; ++slot) {
        absl::StatusOr<Cidr> c = SubnetFor(vpc, tier, slot);
        ASSERT_TRUE(c.ok()) << c.status();
        EXPECT_TRUE(vpc.Contains(*c)) << c->ToString() << " in " << text;
        for (const Cidr& other : all) {
          EXPECT_FALSE(c->Overlaps(other)) << c->ToString() << " vs " << other.ToString();
        }
        all.push_back(*c);
      }
    }
  }
}

TEST(Layout, SlotOutOfRangeIsAnError) {
  const Cidr vpc = *Cidr::Parse("10.0.0.0/16");
  EXPECT_FALSE(SubnetFor(vpc, Tier::kPublic, 8).ok());
  EXPECT_FALSE(SubnetFor(vpc, Tier::kPublic, -1).ok());
}

TEST(Zones, KnownAndUnknownRegions) {
  EXPECT_EQ(ZoneLetters("eu-west-1"), (std::vector<std::string_view>{"a", "b", "c"}));
  EXPECT_EQ(ZoneLetters("ap-northeast-1"), (std::vector<std::string_view>{"a", "c", "d"}));
  EXPECT_EQ(ZoneLetters("us-east-1").size(), 6u);
  EXPECT_TRUE(ZoneLetters("mars-north-1").empty());
  const std::vector<std::string_view> regions = KnownRegions();
  EXPECT_TRUE(std::is_sorted(regions.begin(), regions.end()));
  for (std::string_view r : regions) {
    EXPECT_LE(ZoneLetters(r).size(), static_cast<std::size_t>(kZoneSlots)) << r;
  }
}

}  // namespace
}  // namespace platform::fn::network
