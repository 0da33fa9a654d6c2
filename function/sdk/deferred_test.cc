// Deferred resource bodies read exactly as their Structs, and a request that
// is not in the plain form is left as it is.
#include "function/sdk/deferred.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "function/testing/proto_test_util.h"

namespace platform::fn::sdk {
namespace {

using ::platform::fn::testing::WireBytes;

google::protobuf::Struct StructOf(const Json& j) {
  google::protobuf::Struct s;
  EXPECT_TRUE(ToStruct(j, "x", &s).ok());
  return s;
}

// Every kind of value, nested.
Json Varied() {
  return {{"apiVersion", "platform.terraforming.io/v1alpha1"},
          {"kind", "XCluster"},
          {"metadata", {{"name", "c-1"}, {"labels", Json::object()}}},
          {"spec",
           {{"replicas", 3},
            {"negative", -7},
            {"ratio", 1.5},
            {"huge", 1e300},
            {"exact", std::int64_t{1} << 53},
            {"enabled", true},
            {"disabled", false},
            {"nothing", nullptr},
            {"empty", ""},
            {"unicode", "z\xC3\xBCrich \xE2\x82\xAC \xF0\x9F\x9A\x80"},
            {"list", {1, "two", nullptr, Json::array(), {{"k", {true}}}}},
            {"none", Json::array()}}}};
}

// A request with each place a Resource can be: the observed XR and
// resources, required and (older) extra resources, and the desired state.
pb::RunFunctionRequest Request() {
  pb::RunFunctionRequest req;
  *req.mutable_observed()->mutable_composite()->mutable_resource() = StructOf(Varied());
  (*req.mutable_observed()->mutable_resources())["vpc"].mutable_resource()->MergeFrom(
      StructOf({{"kind", "VPC"}, {"status", {{"atProvider", {{"id", "vpc-1"}}}}}}));
  (*(*req.mutable_observed()->mutable_resources())["vpc"].mutable_connection_details())["a"] = "b";
  (*req.mutable_observed()->mutable_resources())["empty"].set_ready(pb::READY_TRUE);
  pb::Resources& env = (*req.mutable_required_resources())["env"];
  *env.add_items()->mutable_resource() = StructOf({{"kind", "XEnvironment"}});
  *env.add_items()->mutable_resource() = StructOf(Varied());
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  *(*req.mutable_extra_resources())["old"].add_items()->mutable_resource() =
      StructOf({{"kind", "Secret"}});
#pragma GCC diagnostic pop
  *req.mutable_desired()->mutable_composite()->mutable_resource() =
      StructOf({{"status", {{"a", 1}}}});
  *(*req.mutable_desired()->mutable_resources())["db"].mutable_resource() =
      StructOf({{"kind", "Instance"}});
  req.mutable_meta()->set_tag("t");
  return req;
}

// The request as the server parses it.
pb::RunFunctionRequest Deferred(const pb::RunFunctionRequest& req, int* count = nullptr) {
  std::string wire = WireBytes(req);
  const int n = DeferResourceBodies(wire);
  if (count != nullptr) *count = n;
  pb::RunFunctionRequest out;
  EXPECT_TRUE(out.ParseFromString(wire));
  return out;
}

TEST(Deferred, TheResourceHasNoFieldOfTheDeferredNumber) {
  EXPECT_EQ(pb::Resource::descriptor()->FindFieldByNumber(kDeferredResourceField), nullptr);
}

TEST(Deferred, ObservedAndRequiredBodiesReadAsTheirStructs) {
  const pb::RunFunctionRequest req = Request();
  int count = 0;
  const pb::RunFunctionRequest got = Deferred(req, &count);
  // The XR, two observed resources (one without a body), two required and
  // one extra.
  EXPECT_EQ(count, 5);
  EXPECT_FALSE(got.observed().composite().has_resource());
  EXPECT_EQ(ResourceJson(got.observed().composite()), Varied());
  EXPECT_EQ(ResourceJson(got.observed().composite()),
            FromStruct(req.observed().composite().resource()));
  for (const auto& [name, r] : req.observed().resources()) {
    const pb::Resource& g = got.observed().resources().at(name);
    EXPECT_FALSE(g.has_resource()) << name;
    EXPECT_EQ(ResourceJson(g), FromStruct(r.resource())) << name;
    EXPECT_EQ(g.ready(), r.ready()) << name;
    EXPECT_EQ(g.connection_details().size(), r.connection_details().size()) << name;
  }
  const auto& items = got.required_resources().at("env").items();
  ASSERT_EQ(items.size(), 2);
  EXPECT_EQ(ResourceJson(items[0]), Json({{"kind", "XEnvironment"}}));
  EXPECT_EQ(ResourceJson(items[1]), Varied());
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  EXPECT_EQ(ResourceJson(got.extra_resources().at("old").items(0)), Json({{"kind", "Secret"}}));
#pragma GCC diagnostic pop
  // What goes back to Crossplane is never touched.
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got.desired(), req.desired()));
  EXPECT_EQ(WireBytes(got.desired()), WireBytes(req.desired()));
  EXPECT_EQ(ResourceString(got.observed().composite(), "kind"), "XCluster");
  EXPECT_EQ(ResourceString(req.observed().composite(), "kind"), "XCluster");
  EXPECT_EQ(ResourceString(got.observed().composite(), "spec"), "");
  EXPECT_EQ(ResourceString(got.observed().composite(), "absent"), "");
}

TEST(Deferred, NumbersReadAsFromValueReadsThem) {
  pb::RunFunctionRequest req;
  auto& fields = *req.mutable_observed()->mutable_composite()->mutable_resource()->mutable_fields();
  const double numbers[] = {0.0,
                            -0.0,
                            1.0,
                            -1.0,
                            0.1,
                            9007199254740992.0,
                            9007199254740994.0,
                            -9007199254740994.0,
                            1e308,
                            std::numeric_limits<double>::denorm_min(),
                            std::numeric_limits<double>::quiet_NaN(),
                            std::numeric_limits<double>::infinity(),
                            -std::numeric_limits<double>::infinity()};
  int i = 0;
  for (double d : numbers) fields["n" + std::to_string(i++)].set_number_value(d);
  fields["null"].set_null_value(google::protobuf::NULL_VALUE);
  const pb::RunFunctionRequest got = Deferred(req);
  EXPECT_EQ(ResourceJson(got.observed().composite()),
            FromStruct(req.observed().composite().resource()));
  EXPECT_EQ(ResourceJson(got.observed().composite()).dump(),
            FromStruct(req.observed().composite().resource()).dump());
}

// A composite that comes twice is merged: later top-level keys replace
// earlier ones, as protobuf's map does.
TEST(Deferred, BodiesThatComeTwiceMergeAsProtobufMergesThem) {
  pb::RunFunctionRequest first;
  *first.mutable_observed()->mutable_composite()->mutable_resource() =
      StructOf({{"kind", "A"}, {"spec", {{"x", 1}, {"y", 2}}}, {"keep", true}});
  pb::RunFunctionRequest second;
  *second.mutable_observed()->mutable_composite()->mutable_resource() =
      StructOf({{"kind", "B"}, {"spec", {{"x", 3}}}});
  std::string wire = WireBytes(first) + WireBytes(second);
  pb::RunFunctionRequest merged;
  ASSERT_TRUE(merged.ParseFromString(wire));
  EXPECT_EQ(DeferResourceBodies(wire), 2);
  pb::RunFunctionRequest got;
  ASSERT_TRUE(got.ParseFromString(wire));
  EXPECT_EQ(ResourceJson(got.observed().composite()),
            FromStruct(merged.observed().composite().resource()));
  EXPECT_EQ(ResourceString(got.observed().composite(), "kind"), "B");
}

// Each case's request, serialized, is rewritten not at all.
void ExpectLeftAsItIs(std::string wire, const std::string& why) {
  const std::string before = wire;
  EXPECT_EQ(DeferResourceBodies(wire), 0) << why;
  EXPECT_EQ(wire, before) << why;
}

// Replaces the first `from` in `wire` with `to` (of the same length).
std::string Replaced(std::string wire, const std::string& from, const std::string& to) {
  const std::size_t at = wire.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) wire.replace(at, from.size(), to);
  return wire;
}

TEST(Deferred, ARequestNotInThePlainFormIsLeftAsItIs) {
  pb::RunFunctionRequest req = Request();
  // A string that is not UTF-8: protobuf refuses the request, and still does.
  {
    const std::string wire = Replaced(WireBytes(req), "XEnvironment", "XEnvironmen\xFF");
    ExpectLeftAsItIs(wire, "invalid UTF-8");
    pb::RunFunctionRequest parsed;
    EXPECT_FALSE(parsed.ParseFromString(wire));
  }
  // A key that is not UTF-8.
  ExpectLeftAsItIs(Replaced(WireBytes(req), "atProvider", "atProvide\xC3"), "invalid key");
  // A Resource with a field 15 of its own.
  {
    pb::RunFunctionRequest odd = req;
    pb::Resource* xr = odd.mutable_observed()->mutable_composite();
    xr->GetReflection()->MutableUnknownFields(xr)->AddLengthDelimited(kDeferredResourceField, "");
    ExpectLeftAsItIs(WireBytes(odd), "field 15");
  }
  // A Value with two kinds (a string, then a number): hand-made.
  {
    pb::RunFunctionRequest odd;
    google::protobuf::Struct s;
    s.mutable_fields()->operator[]("k").set_string_value("v");
    std::string body = WireBytes(s);
    // entry = key "k", value {string "v"}; append number 0 to the value.
    body = Replaced(body, std::string("\x12\x03\x1a\x01v", 5),
                    std::string("\x12\x0c\x1a\x01v\x11\0\0\0\0\0\0\0\0", 14));
    body[1] = static_cast<char>(body.size() - 2);  // the entry's length
    *odd.mutable_observed()->mutable_composite()->mutable_resource() = StructOf({{"a", 1}});
    pb::Resource r;
    r.GetReflection()->MutableUnknownFields(&r)->AddLengthDelimited(1, body);
    (*odd.mutable_observed()->mutable_resources())["r"] = r;
    ExpectLeftAsItIs(WireBytes(odd), "two kinds");
  }
  // Deeper than kMaxDeferredDepth.
  {
    Json deep = 1;
    for (int i = 0; i <= kMaxDeferredDepth; ++i) deep = {{"d", deep}};
    pb::RunFunctionRequest odd = req;
    *(*odd.mutable_required_resources())["deep"].add_items()->mutable_resource() = StructOf(deep);
    ExpectLeftAsItIs(WireBytes(odd), "too deep");
    Json shallow = 1;
    for (int i = 0; i < kMaxDeferredDepth; ++i) shallow = {{"d", shallow}};
    *odd.mutable_required_resources()->at("deep").mutable_items(0)->mutable_resource() =
        StructOf(shallow);
    int count = 0;
    const pb::RunFunctionRequest got = Deferred(odd, &count);
    EXPECT_EQ(count, 6);
    EXPECT_EQ(ResourceJson(got.required_resources().at("deep").items(0)), shallow);
  }
  // Cut short anywhere: protobuf refuses it, or reads what is there; either
  // way nothing is rewritten that would read differently.
  const std::string whole = WireBytes(req);
  for (std::size_t n = 0; n < whole.size(); ++n) {
    std::string cut = whole.substr(0, n);
    pb::RunFunctionRequest plain;
    const bool parsed = plain.ParseFromString(cut);
    const int deferred = DeferResourceBodies(cut);
    pb::RunFunctionRequest got;
    ASSERT_EQ(got.ParseFromString(cut), parsed) << n;
    if (!parsed) continue;
    if (deferred == 0) {
      EXPECT_EQ(cut, whole.substr(0, n)) << n;
      continue;
    }
    EXPECT_EQ(ResourceJson(got.observed().composite()),
              FromStruct(plain.observed().composite().resource()))
        << n;
  }
}

}  // namespace
}  // namespace platform::fn::sdk
