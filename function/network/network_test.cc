// CIDR arithmetic, the subnet layout and the zone table.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
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
  EXPECT_EQ(FindRegion("mars-north-1"), nullptr);
  EXPECT_EQ(FindRegion("eu-west-1x"), nullptr);
  const std::vector<std::string_view> regions = KnownRegions();
  EXPECT_TRUE(std::is_sorted(regions.begin(), regions.end()));
  for (std::string_view r : regions) {
    EXPECT_LE(ZoneLetters(r).size(), static_cast<std::size_t>(kZoneSlots)) << r;
  }
}

// Every letter of every region the table knew before it knew AZ IDs, at the
// slot it had then: a letter whose slot moved would renumber the subnets of
// live environments, which replaces them. Only ever add to this list.
TEST(Zones, TheSlotsOfLettersNeverMove) {
  const std::vector<std::pair<std::string_view, std::vector<std::string_view>>> kLettersOnlyTable =
      {
          {"af-south-1", {"a", "b", "c"}},     {"ap-east-1", {"a", "b", "c"}},
          {"ap-northeast-1", {"a", "c", "d"}}, {"ap-northeast-2", {"a", "b", "c", "d"}},
          {"ap-northeast-3", {"a", "b", "c"}}, {"ap-south-1", {"a", "b", "c"}},
          {"ap-south-2", {"a", "b", "c"}},     {"ap-southeast-1", {"a", "b", "c"}},
          {"ap-southeast-2", {"a", "b", "c"}}, {"ap-southeast-3", {"a", "b", "c"}},
          {"ap-southeast-4", {"a", "b", "c"}}, {"ca-central-1", {"a", "b", "d"}},
          {"ca-west-1", {"a", "b", "c"}},      {"eu-central-1", {"a", "b", "c"}},
          {"eu-central-2", {"a", "b", "c"}},   {"eu-north-1", {"a", "b", "c"}},
          {"eu-south-1", {"a", "b", "c"}},     {"eu-south-2", {"a", "b", "c"}},
          {"eu-west-1", {"a", "b", "c"}},      {"eu-west-2", {"a", "b", "c"}},
          {"eu-west-3", {"a", "b", "c"}},      {"il-central-1", {"a", "b", "c"}},
          {"me-central-1", {"a", "b", "c"}},   {"me-south-1", {"a", "b", "c"}},
          {"sa-east-1", {"a", "b", "c"}},      {"us-east-1", {"a", "b", "c", "d", "e", "f"}},
          {"us-east-2", {"a", "b", "c"}},      {"us-west-1", {"a", "b", "c"}},
          {"us-west-2", {"a", "b", "c", "d"}},
      };
  EXPECT_EQ(kLettersOnlyTable.size(), 29u);
  for (const auto& [region, letters] : kLettersOnlyTable) {
    SCOPED_TRACE(region);
    const RegionZones* r = FindRegion(region);
    ASSERT_NE(r, nullptr);
    ASSERT_GE(r->letters.size(), letters.size());
    for (std::size_t slot = 0; slot < letters.size(); ++slot) {
      EXPECT_EQ(r->LetterSlot(letters[slot]), static_cast<int>(slot)) << letters[slot];
    }
  }
}

// The AZ ID prefix AWS derives from a region's name: "euw1" of eu-west-1,
// "apne1" of ap-northeast-1, "mxc1" of mx-central-1.
std::string IdPrefix(std::string_view region) {
  const std::size_t first = region.find('-');
  const std::size_t last = region.rfind('-');
  const std::string_view direction = region.substr(first + 1, last - first - 1);
  std::string prefix(region.substr(0, first));
  // Each direction word by its initial: northeast -> ne, central -> c.
  std::size_t i = 0;
  while (i < direction.size()) {
    bool matched = false;
    for (std::string_view word : {"north", "south", "east", "west", "central"}) {
      if (direction.substr(i, word.size()) == word) {
        prefix += word.front();
        i += word.size();
        matched = true;
        break;
      }
    }
    if (!matched) return "?";
  }
  return prefix + std::string(region.substr(last + 1));
}

TEST(Zones, TableFacts) {
  const std::vector<std::string_view> regions = KnownRegions();
  for (std::string_view added :
       {"ap-east-2", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "mx-central-1"}) {
    EXPECT_NE(std::find(regions.begin(), regions.end(), added), regions.end()) << added;
  }
  std::vector<std::string_view> varying;
  for (std::string_view name : regions) {
    SCOPED_TRACE(name);
    const RegionZones& r = *FindRegion(name);
    EXPECT_EQ(r.region, name);
    // Two zones at least, so a cluster or database can span two; at most
    // six, the most an environment may ask for.
    EXPECT_GE(r.zones_per_account, 2);
    EXPECT_LE(r.zones_per_account, 6);
    EXPECT_EQ(r.zone_ids.size(), static_cast<std::size_t>(r.zones_per_account));
    // Where the letters vary, an account sees fewer than the table lists;
    // elsewhere every letter is one zone.
    if (r.letters_vary) {
      varying.push_back(name);
      EXPECT_GT(r.letters.size(), r.zone_ids.size());
    } else {
      EXPECT_EQ(r.letters.size(), r.zone_ids.size());
    }
    EXPECT_LE(r.letters.size(), static_cast<std::size_t>(kZoneSlots));
    for (std::size_t i = 0; i < r.letters.size(); ++i) {
      const std::string_view l = r.letters[i];
      EXPECT_TRUE(l.size() == 1 && l[0] >= 'a' && l[0] <= 'z') << l;
      EXPECT_EQ(r.LetterSlot(l), static_cast<int>(i)) << l << " is listed twice";
    }
    int previous = -1;
    for (std::string_view id : r.zone_ids) {
      SCOPED_TRACE(id);
      EXPECT_TRUE(r.HasZoneId(id));
      EXPECT_EQ(id.substr(0, id.find('-')), IdPrefix(name));
      const int slot = ZoneIdSlot(id);
      EXPECT_GE(slot, 0);
      EXPECT_LT(slot, kZoneSlots);
      // In number order, none twice.
      EXPECT_GT(slot, previous);
      previous = slot;
    }
  }
  EXPECT_EQ(varying, (std::vector<std::string_view>{"us-west-1"}));
}

TEST(Zones, KnownZoneIds) {
  const std::vector<std::pair<std::string_view, std::vector<std::string_view>>> kIds = {
      {"eu-west-1", {"euw1-az1", "euw1-az2", "euw1-az3"}},
      {"us-east-1", {"use1-az1", "use1-az2", "use1-az3", "use1-az4", "use1-az5", "use1-az6"}},
      {"ap-northeast-1", {"apne1-az1", "apne1-az2", "apne1-az4"}},
      {"ca-central-1", {"cac1-az1", "cac1-az2", "cac1-az4"}},
      {"us-west-1", {"usw1-az1", "usw1-az3"}},
      {"mx-central-1", {"mxc1-az1", "mxc1-az2", "mxc1-az3"}},
  };
  for (const auto& [region, ids] : kIds) {
    EXPECT_EQ(FindRegion(region)->zone_ids, ids) << region;
  }
  const RegionZones& usw1 = *FindRegion("us-west-1");
  EXPECT_TRUE(usw1.letters_vary);
  EXPECT_EQ(usw1.zones_per_account, 2);
  EXPECT_FALSE(usw1.HasZoneId("usw1-az2"));
  EXPECT_EQ(usw1.LetterSlot("d"), -1);
}

TEST(Zones, ZoneIdSlots) {
  EXPECT_EQ(ZoneIdSlot("use1-az1"), 0);
  EXPECT_EQ(ZoneIdSlot("apne1-az4"), 3);
  EXPECT_EQ(ZoneIdSlot("usw1-az3"), 2);
  EXPECT_EQ(ZoneIdSlot("use1-az12"), 11);
  for (std::string_view bad : {"", "use1", "use1-az", "use1-az0", "use1-az01", "use1-az1x",
                               "use1-azz", "-az1", "az1", "use1-az123", "use1-az-1"}) {
    EXPECT_EQ(ZoneIdSlot(bad), -1) << bad;
  }
}

TEST(Zones, ZoneKeys) {
  EXPECT_EQ(Zone::Letter("a", 0).Key(), "a");
  EXPECT_EQ(Zone::Id("use1-az4", 3).Key(), "az4");
  EXPECT_EQ(Zone::Id("apne1-az1", 0).Key(), "az1");
  EXPECT_EQ(Zone::Id("use1-az4", 3).by, Zone::By::kId);
  EXPECT_EQ(Zone::Letter("d", 2).by, Zone::By::kLetter);
}

}  // namespace
}  // namespace platform::fn::network
