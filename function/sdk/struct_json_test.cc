// Struct <-> JSON conversion: number typing at the 2^53 boundary, values JSON
// cannot carry, nesting, and error paths that name the offending field.
#include "function/sdk/struct_json.h"

#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "function/testing/proto_test_util.h"

namespace platform::fn::sdk {
namespace {

using ::platform::fn::testing::CaseName;
using ::platform::fn::testing::EqualsProto;
using ::platform::fn::testing::FromJson;
using ::platform::fn::testing::WireBytes;

using google::protobuf::Struct;
using google::protobuf::Value;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr std::int64_t k2p53 = kMaxExactInteger;  // 9007199254740992

Struct StructFromJson(const std::string& json) {
  Struct s;
  auto status = google::protobuf::util::JsonStringToMessage(json, &s);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
  return s;
}

Value NumberValue(double d) {
  Value v;
  v.set_number_value(d);
  return v;
}

// --- Struct -> JSON -----------------------------------------------------------

struct FromStructCase {
  std::string name;
  std::string struct_json;  // google.protobuf.Struct in proto3 JSON
  // The expected JSON, compared by dump(), which tells 3 from 3.0.
  std::string want;
};

// Failure messages name the case rather than dumping its bytes.
void PrintTo(const FromStructCase& c, std::ostream* os) { *os << c.name; }

class FromStructTest : public ::testing::TestWithParam<FromStructCase> {};

TEST_P(FromStructTest, Converts) {
  const FromStructCase& c = GetParam();
  const Json got = FromStruct(StructFromJson(c.struct_json));
  EXPECT_EQ(got.dump(), Json::parse(c.want).dump());
}

INSTANTIATE_TEST_SUITE_P(
    StructJson, FromStructTest,
    ::testing::Values(
        FromStructCase{"Empty", "{}", "{}"},
        FromStructCase{"IntegersStayIntegers", R"({"replicas": 3, "neg": -7, "zero": 0})",
                       R"({"neg": -7, "replicas": 3, "zero": 0})"},
        FromStructCase{"WholeDoubleBecomesInteger", R"({"port": 8080.0})", R"({"port": 8080})"},
        FromStructCase{"FractionStaysDouble", R"({"ratio": 0.5, "neg": -2.25})",
                       R"({"neg": -2.25, "ratio": 0.5})"},
        FromStructCase{"TwoToThe53IsInteger", R"({"max": 9007199254740992})",
                       R"({"max": 9007199254740992})"},
        FromStructCase{"MinusTwoToThe53IsInteger", R"({"min": -9007199254740992})",
                       R"({"min": -9007199254740992})"},
        FromStructCase{"HugeStaysDouble", R"({"big": 1e300})", R"({"big": 1e300})"},
        FromStructCase{"StringsBoolsNulls", R"({"s": "héllo", "t": true, "f": false, "n": null})",
                       R"({"f": false, "n": null, "s": "héllo", "t": true})"},
        FromStructCase{"NestedListsAndObjects",
                       R"({"a": [1, [2, {"b": true}], null, "s", 1.5], "o": {"p": {"q": 2}},
                           "e": [], "eo": {}})",
                       R"({"a": [1, [2, {"b": true}], null, "s", 1.5], "e": [], "eo": {},
                           "o": {"p": {"q": 2}}})"},
        FromStructCase{"DottedKeysAreKeys",
                       R"({"metadata": {"labels": {"app.kubernetes.io/name": "web"}}})",
                       R"({"metadata": {"labels": {"app.kubernetes.io/name": "web"}}})"}),
    CaseName<FromStructCase>);

TEST(StructJsonFromValue, NumberTyping) {
  struct Case {
    std::string name;
    double in;
    bool want_integer;
  };
  const std::vector<Case> cases = {
      {"zero", 0.0, true},
      {"one", 1.0, true},
      {"minus one", -1.0, true},
      {"2^53", 9007199254740992.0, true},
      {"-2^53", -9007199254740992.0, true},
      // The next double above 2^53 is 2^53+2: integral, but not exact as an
      // integer any more, so it stays a double.
      {"2^53+2", 9007199254740994.0, false},
      {"-(2^53+2)", -9007199254740994.0, false},
      {"half", 0.5, false},
      {"1e300", 1e300, false},
      {"smallest subnormal", std::numeric_limits<double>::denorm_min(), false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Json got = FromValue(NumberValue(c.in));
    ASSERT_TRUE(got.is_number());
    EXPECT_EQ(got.is_number_integer(), c.want_integer);
    EXPECT_EQ(got.get<double>(), c.in);
    if (c.want_integer) {
      EXPECT_EQ(got.get<std::int64_t>(), static_cast<std::int64_t>(c.in));
    }
  }
}

TEST(StructJsonFromValue, NonFiniteBecomesNull) {
  const std::vector<double> values = {std::numeric_limits<double>::quiet_NaN(),
                                      std::numeric_limits<double>::infinity(),
                                      -std::numeric_limits<double>::infinity()};
  for (double d : values) {
    SCOPED_TRACE(d);
    EXPECT_TRUE(FromValue(NumberValue(d)).is_null());
  }

  // Inside objects and lists too, without disturbing their neighbours.
  Struct s;
  (*s.mutable_fields())["nan"].set_number_value(std::nan(""));
  (*s.mutable_fields())["ok"].set_number_value(2);
  auto* list = (*s.mutable_fields())["list"].mutable_list_value();
  list->add_values()->set_number_value(std::numeric_limits<double>::infinity());
  list->add_values()->set_string_value("x");
  EXPECT_EQ(FromStruct(s).dump(), R"({"list":[null,"x"],"nan":null,"ok":2})");
}

TEST(StructJsonFromValue, KindNotSetIsNull) {
  EXPECT_TRUE(FromValue(Value()).is_null());
  Struct s;
  (*s.mutable_fields())["unset"];
  EXPECT_EQ(FromStruct(s).dump(), R"({"unset":null})");
}

TEST(StructJsonFromValue, DeepNesting) {
  Struct root;
  Struct* cur = &root;
  for (int i = 0; i < 90; ++i) cur = (*cur->mutable_fields())["a"].mutable_struct_value();
  (*cur->mutable_fields())["leaf"].set_number_value(1);
  const Json got = FromStruct(root);
  const Json* j = &got;
  for (int i = 0; i < 90; ++i) {
    ASSERT_TRUE(j->is_object()) << "level " << i;
    j = &j->at("a");
  }
  EXPECT_EQ(j->dump(), R"({"leaf":1})");
}

// --- JSON -> Struct -----------------------------------------------------------

struct ToStructCase {
  std::string name;
  std::function<Json()> in;
  std::string path;
  std::string want_struct;  // proto3 JSON of the Struct; empty when an error is expected
  std::string want_error;   // the start of the error message
};

// Failure messages name the case rather than dumping its bytes.
void PrintTo(const ToStructCase& c, std::ostream* os) { *os << c.name; }

class ToStructTest : public ::testing::TestWithParam<ToStructCase> {};

TEST_P(ToStructTest, Converts) {
  const ToStructCase& c = GetParam();
  Struct got;
  const absl::Status s = ToStruct(c.in(), c.path, &got);
  if (!c.want_error.empty()) {
    ASSERT_FALSE(s.ok()) << "converted to " << got.DebugString();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.message()), StartsWith(c.want_error));
    return;
  }
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(EqualsProto(StructFromJson(c.want_struct), got));
}

Json Parse(const char* text) { return Json::parse(text); }

INSTANTIATE_TEST_SUITE_P(
    StructJson, ToStructTest,
    ::testing::Values(
        ToStructCase{"Empty", [] { return Json::object(); }, "x", "{}", ""},
        ToStructCase{"Scalars",
                     [] {
                       return Parse(R"({"s": "v", "t": true, "n": null, "i": 3, "neg": -4,
                                        "d": 0.5})");
                     },
                     "x", R"({"s": "v", "t": true, "n": null, "i": 3, "neg": -4, "d": 0.5})", ""},
        ToStructCase{
            "Nested",
            [] { return Parse(R"({"a": [1, [2, {"b": [true, null]}]], "o": {"p": {}}})"); }, "x",
            R"({"a": [1, [2, {"b": [true, null]}]], "o": {"p": {}}})", ""},
        ToStructCase{"TwoToThe53Signed",
                     [] {
                       return Json{{"spec", {{"x", k2p53}}}};
                     },
                     "desired.resources[vpc]", R"({"spec": {"x": 9007199254740992}})", ""},
        ToStructCase{"MinusTwoToThe53",
                     [] {
                       return Json{{"spec", {{"x", -k2p53}}}};
                     },
                     "desired.resources[vpc]", R"({"spec": {"x": -9007199254740992}})", ""},
        ToStructCase{"TwoToThe53Unsigned",
                     [] {
                       return Json{{"spec", {{"x", std::uint64_t{1} << 53}}}};
                     },
                     "desired.resources[vpc]", R"({"spec": {"x": 9007199254740992}})", ""},
        ToStructCase{"TwoToThe53PlusOneSigned",
                     [] {
                       return Json{{"spec", {{"x", k2p53 + 1}}}};
                     },
                     "desired.resources[vpc]", "",
                     "desired.resources[vpc].spec.x: integer 9007199254740993 is beyond 2^53"},
        ToStructCase{"TwoToThe53PlusOneParsed",
                     // nlohmann parses a non-negative literal as unsigned.
                     [] { return Parse(R"({"spec": {"x": 9007199254740993}})"); },
                     "desired.resources[vpc]", "",
                     "desired.resources[vpc].spec.x: integer 9007199254740993 is beyond 2^53"},
        ToStructCase{"MinusTwoToThe53MinusOne",
                     [] {
                       return Json{{"spec", {{"x", -k2p53 - 1}}}};
                     },
                     "desired.resources[vpc]", "",
                     "desired.resources[vpc].spec.x: integer -9007199254740993 is beyond 2^53"},
        ToStructCase{"Int64Min",
                     [] {
                       return Json{{"x", std::numeric_limits<std::int64_t>::min()}};
                     },
                     "r", "", "r.x: integer -9223372036854775808 is beyond 2^53"},
        ToStructCase{"Uint64Max",
                     [] {
                       return Json{{"x", std::numeric_limits<std::uint64_t>::max()}};
                     },
                     "r", "", "r.x: integer 18446744073709551615 is beyond 2^53"},
        ToStructCase{"DoublesAreNotRangeChecked",
                     [] {
                       return Json{{"x", 1e300}, {"y", 9007199254740994.0}};
                     },
                     "r", R"({"x": 1e300, "y": 9007199254740994})", ""},
        ToStructCase{"NaNRefused",
                     [] {
                       return Json{{"spec", {{"ratio", std::nan("")}}}};
                     },
                     "r", "", "r.spec.ratio: must be a finite number"},
        ToStructCase{
            "InfinityRefused",
            [] {
              return Json{{"l", Json::array({1, std::numeric_limits<double>::infinity()})}};
            },
            "r", "", "r.l[1]: must be a finite number"},
        ToStructCase{"ErrorPathThroughLists",
                     [] {
                       Json j = Parse(R"({"spec": {"list": [1, {"y": 0}]}})");
                       j["spec"]["list"][1]["y"] = k2p53 + 1;
                       return j;
                     },
                     "desired.resources[vpc]", "",
                     "desired.resources[vpc].spec.list[1].y: integer"},
        ToStructCase{"ErrorPathThroughNestedLists",
                     [] {
                       Json j = Json::object();
                       j["m"] = Json::array({Json::array({0, Json::array({k2p53 + 1})})});
                       return j;
                     },
                     "x", "", "x.m[0][1][0]: integer"},
        ToStructCase{
            "DottedKeyInBrackets",
            [] {
              return Json{{"metadata", {{"labels", {{"app.kubernetes.io/big", k2p53 + 1}}}}}};
            },
            "desired.resources[vpc]", "",
            "desired.resources[vpc].metadata.labels[app.kubernetes.io/big]: integer"},
        ToStructCase{"BracketedKeyInBrackets",
                     [] {
                       return Json{{"a", {{"b[0]", k2p53 + 1}}}};
                     },
                     "x", "", "x.a[b[0]]: integer"},
        ToStructCase{"EmptyRootPath",
                     [] {
                       return Json{{"spec", {{"x", k2p53 + 1}}}};
                     },
                     "", "", "spec.x: integer"},
        ToStructCase{"EmptyRootPathDottedTopKey",
                     [] {
                       return Json{{"a.b", k2p53 + 1}};
                     },
                     "", "", "[a.b]: integer"},
        ToStructCase{"NotAnObject", [] { return Json::array({1}); }, "desired.resources[vpc]", "",
                     "desired.resources[vpc]: must be an object"},
        ToStructCase{"StringIsNotAnObject", [] { return Json("x"); }, "context", "",
                     "context: must be an object"},
        ToStructCase{"NullIsNotAnObject", [] { return Json(nullptr); }, "context", "",
                     "context: must be an object"},
        ToStructCase{"BinaryRefused",
                     [] {
                       return Json{{"b", Json::binary({1, 2, 3})}};
                     },
                     "x", "", "x.b: binary values cannot be sent in a Struct"}),
    CaseName<ToStructCase>);

TEST(StructJsonToValue, ScalarsAndPaths) {
  Value v;
  ASSERT_TRUE(ToValue(Json(3), "context.k", &v).ok());
  EXPECT_TRUE(EqualsProto(NumberValue(3), v));

  ASSERT_TRUE(ToValue(Json(k2p53), "context.k", &v).ok());
  EXPECT_EQ(v.number_value(), 9007199254740992.0);

  absl::Status s = ToValue(Json(k2p53 + 1), "context.k", &v);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), StartsWith("context.k: integer 9007199254740993"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("use a string"));

  // A list at the root: the index follows the root path directly.
  s = ToValue(Json::array({0, k2p53 + 1}), "status.ids", &v);
  EXPECT_THAT(std::string(s.message()), StartsWith("status.ids[1]: integer"));
  s = ToValue(Json::array({0, k2p53 + 1}), "", &v);
  EXPECT_THAT(std::string(s.message()), StartsWith("[1]: integer"));

  ASSERT_TRUE(ToValue(Json(nullptr), "x", &v).ok());
  EXPECT_EQ(v.kind_case(), Value::kNullValue);
  ASSERT_TRUE(ToValue(Json("s"), "x", &v).ok());
  EXPECT_EQ(v.string_value(), "s");
  ASSERT_TRUE(ToValue(Json(false), "x", &v).ok());
  EXPECT_EQ(v.kind_case(), Value::kBoolValue);
  EXPECT_FALSE(v.bool_value());
}

TEST(StructJsonRoundTrip, KeepsTypesAndValues) {
  const Json in = Json::parse(R"({
    "apiVersion": "ec2.aws.upbound.io/v1beta1",
    "metadata": {"labels": {"app.kubernetes.io/name": "web"}, "generation": 7},
    "spec": {
      "forProvider": {"cidrBlock": "10.0.0.0/16", "enableDnsSupport": true, "tags": {}},
      "ints": [0, 1, -1, 9007199254740992, -9007199254740992],
      "doubles": [0.5, -0.25, 1e300, 9007199254740994.0],
      "nested": [[], [{}], [[null]]]
    }
  })");
  Struct s;
  ASSERT_TRUE(ToStruct(in, "x", &s).ok());
  const Json out = FromStruct(s);
  // dump() tells integers from doubles; nlohmann's == would not.
  EXPECT_EQ(out.dump(), in.dump());
}

TEST(StructJsonRoundTrip, DeepNesting) {
  Json in = Json::object();
  Json* cur = &in;
  for (int i = 0; i < 90; ++i) cur = &(*cur)["a"];
  *cur = Json::array({1, 2.5, "x"});
  Struct s;
  ASSERT_TRUE(ToStruct(in, "x", &s).ok());
  EXPECT_EQ(FromStruct(s).dump(), in.dump());

  // An error at the bottom names the whole path.
  *cur = Json::array({k2p53 + 1});
  absl::Status st = ToStruct(in, "r", &s);
  std::string want = "r";
  for (int i = 0; i < 90; ++i) want += ".a";
  want += "[0]: integer";
  EXPECT_THAT(std::string(st.message()), StartsWith(want));
}

}  // namespace
}  // namespace platform::fn::sdk
