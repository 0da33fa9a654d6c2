// JSON straight to Struct wire bytes: the bytes are those of ToStruct and a
// deterministic serialization, and the refusals and their messages are
// ToStruct's.
#include "function/sdk/struct_wire.h"

#include <google/protobuf/struct.pb.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "function/testing/proto_test_util.h"

namespace platform::fn::sdk {
namespace {

using ::platform::fn::testing::WireBytes;

// What the Struct path sends for `in`.
std::string ViaStruct(const Json& in) {
  google::protobuf::Struct s;
  EXPECT_TRUE(ToStruct(in, "x", &s).ok());
  return WireBytes(s);
}

std::string Encoded(const Json& in) {
  std::string out;
  const absl::Status s = EncodeStruct(in, "x", &out);
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

TEST(EncodeStructTest, SameBytesAsStruct) {
  const std::vector<Json> cases = {
      Json::object(),
      {{"a", nullptr}},
      {{"t", true}, {"f", false}},
      {{"zero", 0}, {"neg", -1}, {"big", kMaxExactInteger}, {"small", -kMaxExactInteger}},
      {{"u", static_cast<std::uint64_t>(kMaxExactInteger)}},
      {{"pi", 3.25}, {"negzero", -0.0}, {"tiny", 5e-324}},
      {{"", ""}, {"empty", ""}, {"s", "text"}},
      {{"long", std::string(300, 'x')}, {std::string(200, 'k'), "v"}},
      {{"utf8", "caf\xc3\xa9 \xe2\x82\xac"}},
      {{"list", Json::array()}, {"obj", Json::object()}},
      {{"list", {1, "two", nullptr, true, {{"k", "v"}}, Json::array({Json::array()})}}},
      // Keys in an order a hash map would not keep; Struct sorts them.
      {{"zeta", 1}, {"alpha", 2}, {"Beta", 3}, {"a.b", 4}, {"a[0]", 5}, {"\xc3\xa9", 6}},
  };
  for (const Json& c : cases) {
    EXPECT_EQ(Encoded(c), ViaStruct(c)) << c.dump();
  }
}

TEST(EncodeStructTest, SameBytesForNestedObjectsOfEverySize) {
  // Sizes across the one-, two- and three-byte varint boundaries.
  for (std::size_t n : {0u, 1u, 100u, 127u, 128u, 200u, 16383u, 16384u, 70000u}) {
    Json in = {{"spec", {{"forProvider", {{"value", std::string(n, 'v')}, {"n", n}}}}},
               {"list", Json::array({{{"inner", std::string(n / 2, 'i')}}})}};
    EXPECT_EQ(Encoded(in), ViaStruct(in)) << n;
  }
}

TEST(EncodeStructTest, DecodesToTheSameStruct) {
  const Json in = {{"apiVersion", "ec2.aws.upbound.io/v1beta1"},
                   {"kind", "VPC"},
                   {"metadata", {{"labels", {{"platform.terraforming.io/resource", "vpc"}}}}},
                   {"spec", {{"forProvider", {{"cidrBlock", "10.0.0.0/16"}, {"count", 3}}}}}};
  google::protobuf::Struct decoded;
  ASSERT_TRUE(decoded.ParseFromString(Encoded(in)));
  EXPECT_EQ(FromStruct(decoded), in);
}

TEST(EncodeStructTest, AppendsToWhatIsThere) {
  std::string out = "prefix";
  ASSERT_TRUE(EncodeStruct({{"a", 1}}, "x", &out).ok());
  EXPECT_EQ(out, "prefix" + ViaStruct({{"a", 1}}));
}

// Every refusal: the same message as ToStruct, naming the field, and the
// output left as it was.
TEST(EncodeStructTest, RefusesWhatToStructRefusesWithTheSameMessage) {
  const std::vector<Json> cases = {
      {{"spec", {{"size", kMaxExactInteger + 1}}}},
      {{"spec", {{"list", {1, -kMaxExactInteger - 1}}}}},
      {{"u", std::numeric_limits<std::uint64_t>::max()}},
      {{"f", std::nan("")}},
      {{"f", {{"inf", std::numeric_limits<double>::infinity()}}}},
      {{"b", Json::binary({1, 2, 3})}},
      Json::array({1}),
      Json("text"),
  };
  for (const Json& c : cases) {
    google::protobuf::Struct unused;
    const absl::Status want = ToStruct(c, "desired.resources[vpc]", &unused);
    ASSERT_FALSE(want.ok()) << c.dump();
    std::string out = "kept";
    const absl::Status got = EncodeStruct(c, "desired.resources[vpc]", &out);
    EXPECT_EQ(got, want) << c.dump();
    EXPECT_EQ(out, "kept");
  }
}

TEST(EncodeStructTest, ErrorNamesTheField) {
  std::string out;
  const absl::Status s =
      EncodeStruct({{"spec", {{"forProvider", {{"port", kMaxExactInteger * 2}}}}}},
                   "desired.resources[db]", &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("desired.resources[db].spec.forProvider.port"), std::string::npos)
      << s;
}

}  // namespace
}  // namespace platform::fn::sdk
