// Names derived for AWS from Kubernetes names: valid names come back
// unchanged, others are derived the same way every time.
#include "function/compose/aws_names.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "function/compose/ids.h"
#include "function/sdk/strings.h"
#include "function/testing/proto_test_util.h"

namespace platform::fn::compose {
namespace {

using ::platform::fn::testing::CaseName;

struct NameCase {
  std::string name;
  std::string (*derive)(std::string_view);
  std::string in;
  std::string want;
};

void PrintTo(const NameCase& c, std::ostream* os) { *os << c.name; }

class AwsNamesTest : public ::testing::TestWithParam<NameCase> {};

TEST_P(AwsNamesTest, Derives) {
  const NameCase& c = GetParam();
  const std::string got = c.derive(c.in);
  EXPECT_EQ(got, c.want);
  // The same every time, and a derived name derives to itself.
  EXPECT_EQ(c.derive(c.in), got);
  EXPECT_EQ(c.derive(got), got);
}

const std::string k250 = std::string(250, 'a');
const std::string k120 = std::string(120, 'c');
const std::string k70 = std::string(70, 'd');

INSTANTIATE_TEST_SUITE_P(
    AwsNames, AwsNamesTest,
    ::testing::Values(
        // EC2 security group names.
        NameCase{"SecurityGroupUnchanged", SecurityGroupName, "payments-dev-baseline",
                 "payments-dev-baseline"},
        NameCase{"SecurityGroupStartingWithSg", SecurityGroupName, "sg-payments-baseline",
                 "platform_sg-payments-baseline"},
        NameCase{"SecurityGroupStartingWithUpperSg", SecurityGroupName, "SG-x", "platform_SG-x"},
        NameCase{"SecurityGroupSgInside", SecurityGroupName, "my-sg-baseline", "my-sg-baseline"},
        NameCase{"SecurityGroupJustSg", SecurityGroupName, "sg", "sg"},
        NameCase{"SecurityGroupOf255", SecurityGroupName, std::string(255, 'e'),
                 std::string(255, 'e')},
        NameCase{"SecurityGroupTooLong", SecurityGroupName, k250 + "-baseline",
                 std::string(246, 'a') + "-" + ShortHash(k250 + "-baseline")},
        NameCase{"SecurityGroupTooLongOnceSgIsPrefixed", SecurityGroupName,
                 "sg-" + std::string(250, 'b'),
                 "platform_sg-" + std::string(234, 'b') + "-" +
                     ShortHash("platform_sg-" + std::string(250, 'b'))},
        // RDS identifiers.
        NameCase{"RdsUnchanged", RdsIdentifier, "payments-db", "payments-db"},
        NameCase{"RdsNamespacedXr", RdsIdentifier, "team-web-payments-db", "team-web-payments-db"},
        NameCase{"RdsDotsAndDoubleHyphens", RdsIdentifier, "orders.eu--west", "orders-eu-west"},
        NameCase{"RdsDigitFirst", RdsIdentifier, "2024-orders", "db-2024-orders"},
        NameCase{"RdsHyphenLast", RdsIdentifier, "orders.", "orders"},
        NameCase{"RdsOf60", RdsIdentifier, std::string(60, 'f'), std::string(60, 'f')},
        NameCase{"RdsTooLong", RdsIdentifier, k70, std::string(51, 'd') + "-" + ShortHash(k70)},
        // Shortened where a hyphen falls: never two hyphens in a row.
        NameCase{"RdsTooLongCutAtAHyphen", RdsIdentifier, std::string(50, 'g') + "-" + k70,
                 std::string(50, 'g') + "-" + ShortHash(std::string(50, 'g') + "-" + k70)},
        // EKS cluster names.
        NameCase{"EksUnchanged", EksClusterName, "team-web-payments", "team-web-payments"},
        NameCase{"EksOf100", EksClusterName, std::string(100, 'h'), std::string(100, 'h')},
        NameCase{"EksNamespaceAndNameTooLong", EksClusterName,
                 std::string(63, 'n') + "-" + std::string(40, 'x'),
                 std::string(63, 'n') + "-" + std::string(27, 'x') + "-" +
                     ShortHash(std::string(63, 'n') + "-" + std::string(40, 'x'))},
        NameCase{"EksDots", EksClusterName, "apps.eu", "apps-eu"},
        NameCase{"EksTooLong", EksClusterName, k120, std::string(91, 'c') + "-" + ShortHash(k120)}),
    CaseName<NameCase>);

struct SnapshotCase {
  std::string name;
  std::string identifier;
  std::string incarnation;
  std::string want;
};

void PrintTo(const SnapshotCase& c, std::ostream* os) { *os << c.name; }

class FinalSnapshotTest : public ::testing::TestWithParam<SnapshotCase> {};

// RDS's rules for snapshot identifiers.
bool IsSnapshotIdentifier(const std::string& s) {
  if (s.empty() || s.size() > 255 || !(s[0] >= 'a' && s[0] <= 'z') || s.back() == '-') {
    return false;
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    if (c == '-' && i > 0 && s[i - 1] == '-') return false;
  }
  return true;
}

TEST_P(FinalSnapshotTest, IsUniquePerIncarnationAndOneRdsTakes) {
  const SnapshotCase& c = GetParam();
  const std::string got = FinalSnapshotIdentifier(c.identifier, c.incarnation);
  EXPECT_EQ(got, c.want);
  EXPECT_TRUE(IsSnapshotIdentifier(got)) << got;
  EXPECT_EQ(FinalSnapshotIdentifier(c.identifier, c.incarnation), got);
}

const std::string kUid = "3f1c2a9e-7b4d-4e2a-9c1f-0a1b2c3d4e5f";
const std::string k60 = std::string(60, 'i');

INSTANTIATE_TEST_SUITE_P(
    AwsNames, FinalSnapshotTest,
    ::testing::Values(SnapshotCase{"WithTheUid", "payments-db", kUid, "payments-db-final-" + kUid},
                      // Without a uid (an XR rendered from a file): the name alone, as before.
                      SnapshotCase{"WithoutAUid", "payments-db", "", "payments-db-final"},
                      // The longest identifier and a uid: 60 + 7 + 36 characters.
                      SnapshotCase{"LongestIdentifier", k60, kUid, k60 + "-final-" + kUid},
                      SnapshotCase{"UpperCaseUid", "payments-db", "3F1C2A9E-7B4D",
                                   "payments-db-final-3f1c2a9e-7b4d"},
                      SnapshotCase{"OddCharactersNeverTwoHyphens", "payments-db", "-a__b.-c-",
                                   "payments-db-final-a-b-c"},
                      SnapshotCase{"UidOfHyphensOnly", "payments-db", "--", "payments-db-final"},
                      // 255 exactly is kept; one more is shortened with a hash.
                      SnapshotCase{"Of255", k60, std::string(255 - 67, 'u'),
                                   k60 + "-final-" + std::string(255 - 67, 'u')},
                      SnapshotCase{"Of256", k60, std::string(256 - 67, 'u'),
                                   k60 + "-final-" + std::string(255 - 67 - 9, 'u') + "-" +
                                       ShortHash(k60 + "-final-" + std::string(256 - 67, 'u'))},
                      // Shortened where a hyphen falls: never a hyphen before the hash's.
                      SnapshotCase{
                          "Of256CutAtAHyphen", k60, std::string(178, 'u') + "-vvvvvvvvvv",
                          k60 + "-final-" + std::string(178, 'u') + "-" +
                              ShortHash(k60 + "-final-" + std::string(178, 'u') + "-vvvvvvvvvv")}),
    CaseName<SnapshotCase>);

TEST(AwsNames, EveryIncarnationHasItsOwnFinalSnapshot) {
  EXPECT_NE(FinalSnapshotIdentifier("payments-db", kUid),
            FinalSnapshotIdentifier("payments-db", "9d8e7f60-1a2b-4c3d-8e9f-001122334455"));
}

TEST(AwsNames, ShortenKeepsShortNames) {
  EXPECT_EQ(Shorten("abc", 10), "abc");
  EXPECT_EQ(Shorten("abcdefghij", 10), "abcdefghij");
  EXPECT_EQ(Shorten("abcdefghijk", 10), sdk::Cat("a-", ShortHash("abcdefghijk")));
  // No hyphen is left before the hash.
  EXPECT_EQ(Shorten("a-cdefghijklm", 11), sdk::Cat("a-", ShortHash("a-cdefghijklm")));
}

TEST(AwsNames, NamesThatShareAPrefixStayApart) {
  EXPECT_NE(RdsIdentifier(k70 + "-one"), RdsIdentifier(k70 + "-two"));
  EXPECT_NE(EksClusterName(k120 + "a"), EksClusterName(k120 + "b"));
  EXPECT_LE(RdsIdentifier(k70 + "-one").size(), 60u);
}

}  // namespace
}  // namespace platform::fn::compose
