// The Response builder and the protocol obligations it keeps: tag, TTL,
// pass-through of desired state and context, status rules, conditions,
// requirements only on demand, and FATAL-only responses.
#include "function/sdk/response.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <ostream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "function/sdk/request.h"
#include "function/sdk/strings.h"
#include "function/testing/proto_test_util.h"

namespace platform::fn::sdk {
namespace {

using ::platform::fn::testing::CaseName;
using ::platform::fn::testing::EqualsProto;
using ::platform::fn::testing::FromJson;
using ::platform::fn::testing::WireBytes;

using ::testing::HasSubstr;
using ::testing::StartsWith;

// A request as a later pipeline step sees it: an earlier step composed a
// bucket, set XR status and readiness, and wrote to the context.
constexpr char kLaterStep[] = R"json({
  "meta": {"tag": "t-123", "capabilities": ["CAPABILITY_CAPABILITIES"]},
  "observed": {"composite": {"resource": {
    "apiVersion": "example.org/v1", "kind": "XThing", "metadata": {"name": "x"},
    "spec": {"size": 3}}}},
  "desired": {
    "composite": {
      "resource": {"apiVersion": "example.org/v1", "kind": "XThing",
                   "status": {"earlier": "kept", "shared": "old"}},
      "connectionDetails": {"user": "YWRtaW4="},
      "ready": "READY_FALSE"
    },
    "resources": {
      "bucket": {"resource": {"apiVersion": "s3.example.org/v1", "kind": "Bucket",
                              "spec": {"size": 3}, "status": {"phase": "set by an earlier step"}},
                 "ready": "READY_TRUE"}
    }
  },
  "context": {"apiextensions.crossplane.io/environment": {"region": "eu-west-1"}, "n": 1}
})json";

// --- Whole responses ----------------------------------------------------------

struct BuildCase {
  std::string name;
  std::string request;
  std::function<void(Response&)> build;
  std::string want;
  absl::Duration ttl = absl::Seconds(60);
};

// Failure messages name the case rather than dumping its bytes.
void PrintTo(const BuildCase& c, std::ostream* os) { *os << c.name; }

class ResponseBuildTest : public ::testing::TestWithParam<BuildCase> {};

TEST_P(ResponseBuildTest, Builds) {
  const BuildCase& c = GetParam();
  pb::RunFunctionRequest req = FromJson<pb::RunFunctionRequest>(c.request);
  Response rsp(req, c.ttl);
  c.build(rsp);
  absl::StatusOr<pb::RunFunctionResponse> got = std::move(rsp).Finish();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(EqualsProto(FromJson<pb::RunFunctionResponse>(c.want), *got));
}

// As the server builds it: the resources encoded for the wire decode to the
// same response.
TEST_P(ResponseBuildTest, EncodedForTheWireDecodesToTheSame) {
  const BuildCase& c = GetParam();
  pb::RunFunctionRequest req = FromJson<pb::RunFunctionRequest>(c.request);
  Response rsp(req, c.ttl);
  rsp.EncodeResourcesForWire();
  c.build(rsp);
  absl::StatusOr<pb::RunFunctionResponse> got = std::move(rsp).Finish();
  ASSERT_TRUE(got.ok()) << got.status();
  pb::RunFunctionResponse sent;
  ASSERT_TRUE(sent.ParseFromString(WireBytes(*got)));
  EXPECT_TRUE(EqualsProto(FromJson<pb::RunFunctionResponse>(c.want), sent));
}

void Nothing(Response&) {}

INSTANTIATE_TEST_SUITE_P(
    Response, ResponseBuildTest,
    ::testing::Values(
        BuildCase{"TagEchoedTtlSet", R"({"meta": {"tag": "abc"}})", Nothing,
                  R"({"meta": {"tag": "abc", "ttl": "60s"}, "desired": {}})"},
        BuildCase{"AbsentMetaGivesEmptyTag", R"({})", Nothing,
                  R"({"meta": {"ttl": "60s"}, "desired": {}})"},
        BuildCase{"TtlWithFraction", R"({"meta": {"tag": "abc"}})", Nothing,
                  R"({"meta": {"tag": "abc", "ttl": "1.500s"}, "desired": {}})",
                  absl::Milliseconds(1500)},
        BuildCase{
            "AbsentContextStaysAbsent",
            R"({"meta": {"tag": "a"}, "desired": {"resources": {"r": {"resource": {"a": 1}}}}})",
            Nothing,
            R"({"meta": {"tag": "a", "ttl": "60s"},
                      "desired": {"resources": {"r": {"resource": {"a": 1}}}}})"},
        BuildCase{"EmptyContextPassesThrough", R"({"context": {}})", Nothing,
                  R"({"meta": {"ttl": "60s"}, "desired": {}, "context": {}})"},
        BuildCase{"DesiredAndContextPassThroughUntouched", kLaterStep, Nothing,
                  R"json({
                    "meta": {"tag": "t-123", "ttl": "60s"},
                    "desired": {
                      "composite": {
                        "resource": {"apiVersion": "example.org/v1", "kind": "XThing",
                                     "status": {"earlier": "kept", "shared": "old"}},
                        "connectionDetails": {"user": "YWRtaW4="},
                        "ready": "READY_FALSE"
                      },
                      "resources": {
                        "bucket": {"resource": {"apiVersion": "s3.example.org/v1", "kind": "Bucket",
                                                "spec": {"size": 3},
                                                "status": {"phase": "set by an earlier step"}},
                                   "ready": "READY_TRUE"}
                      }
                    },
                    "context": {"apiextensions.crossplane.io/environment": {"region": "eu-west-1"},
                                "n": 1}
                  })json"},
        BuildCase{"SetDesiredStripsStatusAndKeepsOthers", kLaterStep,
                  [](Response& r) {
                    r.SetDesired("queue", Json::parse(R"({"apiVersion": "sqs.example.org/v1",
                                                 "kind": "Queue", "spec": {"fifo": true},
                                                 "status": {"arn": "must not be sent"}})"),
                                 pb::READY_TRUE);
                  },
                  R"json({
                    "meta": {"tag": "t-123", "ttl": "60s"},
                    "desired": {
                      "composite": {
                        "resource": {"apiVersion": "example.org/v1", "kind": "XThing",
                                     "status": {"earlier": "kept", "shared": "old"}},
                        "connectionDetails": {"user": "YWRtaW4="},
                        "ready": "READY_FALSE"
                      },
                      "resources": {
                        "bucket": {"resource": {"apiVersion": "s3.example.org/v1", "kind": "Bucket",
                                                "spec": {"size": 3},
                                                "status": {"phase": "set by an earlier step"}},
                                   "ready": "READY_TRUE"},
                        "queue": {"resource": {"apiVersion": "sqs.example.org/v1", "kind": "Queue",
                                               "spec": {"fifo": true}},
                                  "ready": "READY_TRUE"}
                      }
                    },
                    "context": {"apiextensions.crossplane.io/environment": {"region": "eu-west-1"},
                                "n": 1}
                  })json"},
        BuildCase{"SetDesiredReplacesEarlierStepsResource", kLaterStep,
                  [](Response& r) {
                    r.SetDesired("bucket", Json::parse(R"({"apiVersion": "s3.example.org/v1",
                                                           "kind": "Bucket", "spec": {"size": 5}})"));
                  },
                  R"json({
                    "meta": {"tag": "t-123", "ttl": "60s"},
                    "desired": {
                      "composite": {
                        "resource": {"apiVersion": "example.org/v1", "kind": "XThing",
                                     "status": {"earlier": "kept", "shared": "old"}},
                        "connectionDetails": {"user": "YWRtaW4="},
                        "ready": "READY_FALSE"
                      },
                      "resources": {
                        "bucket": {"resource": {"apiVersion": "s3.example.org/v1", "kind": "Bucket",
                                                "spec": {"size": 5}}}
                      }
                    },
                    "context": {"apiextensions.crossplane.io/environment": {"region": "eu-west-1"},
                                "n": 1}
                  })json"},
        BuildCase{"CompositeStatusMergedWithEarlierSteps", kLaterStep,
                  [](Response& r) {
                    ASSERT_TRUE(r.SetCompositeStatus("vpcId", "vpc-1").ok());
                    ASSERT_TRUE(r.SetCompositeStatus("network.subnets[0]", "subnet-a").ok());
                    ASSERT_TRUE(r.SetCompositeStatus("shared", "new").ok());
                    r.SetCompositeReady(pb::READY_TRUE);
                    r.SetConnectionDetail("password", "s3cr3t");
                  },
                  R"json({
                    "meta": {"tag": "t-123", "ttl": "60s"},
                    "desired": {
                      "composite": {
                        "resource": {"apiVersion": "example.org/v1", "kind": "XThing",
                                     "status": {"earlier": "kept", "shared": "new",
                                                "vpcId": "vpc-1",
                                                "network": {"subnets": ["subnet-a"]}}},
                        "connectionDetails": {"user": "YWRtaW4=", "password": "czNjcjN0"},
                        "ready": "READY_TRUE"
                      },
                      "resources": {
                        "bucket": {"resource": {"apiVersion": "s3.example.org/v1", "kind": "Bucket",
                                                "spec": {"size": 3},
                                                "status": {"phase": "set by an earlier step"}},
                                   "ready": "READY_TRUE"}
                      }
                    },
                    "context": {"apiextensions.crossplane.io/environment": {"region": "eu-west-1"},
                                "n": 1}
                  })json"},
        BuildCase{"CompositeStatusOnFirstStep", R"({"meta": {"tag": "t"}})",
                  [](Response& r) {
                    ASSERT_TRUE(r.SetCompositeStatus("vpcId", "vpc-1").ok());
                    ASSERT_TRUE(r.SetCompositeStatus("count", 2).ok());
                  },
                  R"({"meta": {"tag": "t", "ttl": "60s"},
                      "desired": {"composite": {"resource": {"status": {"vpcId": "vpc-1",
                                                                         "count": 2}}}}})"},
        BuildCase{
            "CompositeReadyOnly", R"({})",
            [](Response& r) { r.SetCompositeReady(pb::READY_FALSE); },
            R"({"meta": {"ttl": "60s"}, "desired": {"composite": {"ready": "READY_FALSE"}}})"},
        BuildCase{"ContextKeysAddedAndReplaced", kLaterStep,
                  [](Response& r) {
                    r.SetContext("n", 2);
                    r.SetContext("platform.terraforming.io/vpc", Json{{"id", "vpc-1"}});
                  },
                  R"json({
                    "meta": {"tag": "t-123", "ttl": "60s"},
                    "desired": {
                      "composite": {
                        "resource": {"apiVersion": "example.org/v1", "kind": "XThing",
                                     "status": {"earlier": "kept", "shared": "old"}},
                        "connectionDetails": {"user": "YWRtaW4="},
                        "ready": "READY_FALSE"
                      },
                      "resources": {
                        "bucket": {"resource": {"apiVersion": "s3.example.org/v1", "kind": "Bucket",
                                                "spec": {"size": 3},
                                                "status": {"phase": "set by an earlier step"}},
                                   "ready": "READY_TRUE"}
                      }
                    },
                    "context": {"apiextensions.crossplane.io/environment": {"region": "eu-west-1"},
                                "n": 2, "platform.terraforming.io/vpc": {"id": "vpc-1"}}
                  })json"},
        BuildCase{"ContextCreatedWhenAbsent", R"({})", [](Response& r) { r.SetContext("k", "v"); },
                  R"({"meta": {"ttl": "60s"}, "desired": {}, "context": {"k": "v"}})"},
        BuildCase{"Results", R"({"meta": {"tag": "t"}})",
                  [](Response& r) {
                    r.Normal("Created", "created the VPC");
                    r.Warning("Deprecated", "field x is deprecated",
                              pb::TARGET_COMPOSITE_AND_CLAIM);
                    r.AddResult(pb::SEVERITY_NORMAL, "", "no reason");
                  },
                  R"({"meta": {"tag": "t", "ttl": "60s"}, "desired": {},
                      "results": [
                        {"severity": "SEVERITY_NORMAL", "reason": "Created",
                         "message": "created the VPC", "target": "TARGET_COMPOSITE"},
                        {"severity": "SEVERITY_WARNING", "reason": "Deprecated",
                         "message": "field x is deprecated",
                         "target": "TARGET_COMPOSITE_AND_CLAIM"},
                        {"severity": "SEVERITY_NORMAL", "message": "no reason",
                         "target": "TARGET_COMPOSITE"}]})"},
        BuildCase{
            "Conditions", R"({"meta": {"tag": "t"}})",
            [](Response& r) {
              ASSERT_TRUE(r.SetCondition("NetworkReady", pb::STATUS_CONDITION_FALSE, "Creating",
                                         "waiting for the VPC")
                              .ok());
              ASSERT_TRUE(r.SetCondition("PolicyApplied", pb::STATUS_CONDITION_TRUE, "Applied", "",
                                         pb::TARGET_COMPOSITE_AND_CLAIM)
                              .ok());
              // The same type again replaces, and an empty message clears.
              ASSERT_TRUE(
                  r.SetCondition("NetworkReady", pb::STATUS_CONDITION_TRUE, "Available").ok());
            },
            R"({"meta": {"tag": "t", "ttl": "60s"}, "desired": {},
                      "conditions": [
                        {"type": "NetworkReady", "status": "STATUS_CONDITION_TRUE",
                         "reason": "Available", "target": "TARGET_COMPOSITE"},
                        {"type": "PolicyApplied", "status": "STATUS_CONDITION_TRUE",
                         "reason": "Applied", "target": "TARGET_COMPOSITE_AND_CLAIM"}]})"},
        BuildCase{"RequireResources",
                  R"({"meta": {"tag": "t", "capabilities": ["CAPABILITY_CAPABILITIES",
                                                             "CAPABILITY_REQUIRED_RESOURCES"]}})",
                  [](Response& r) {
                    pb::ResourceSelector sel;
                    sel.set_api_version("v1");
                    sel.set_kind("ConfigMap");
                    sel.set_match_name("platform-defaults");
                    sel.set_namespace_("crossplane-system");
                    r.RequireResources("defaults", sel);
                  },
                  R"({"meta": {"tag": "t", "ttl": "60s"}, "desired": {},
                      "requirements": {"resources": {"defaults": {
                        "apiVersion": "v1", "kind": "ConfigMap", "matchName": "platform-defaults",
                        "namespace": "crossplane-system"}}}})"},
        // A caller that advertises no capabilities (before Crossplane v2.2)
        // may only know the deprecated field: both are set.
        BuildCase{"RequireResourcesFromAnOlderCaller", R"({"meta": {"tag": "t"}})",
                  [](Response& r) {
                    pb::ResourceSelector sel;
                    sel.set_api_version("v1");
                    sel.set_kind("ConfigMap");
                    sel.set_match_name("platform-defaults");
                    r.RequireResources("defaults", sel);
                  },
                  R"({"meta": {"tag": "t", "ttl": "60s"}, "desired": {},
                      "requirements": {
                        "resources": {"defaults": {
                          "apiVersion": "v1", "kind": "ConfigMap", "matchName": "platform-defaults"}},
                        "extraResources": {"defaults": {
                          "apiVersion": "v1", "kind": "ConfigMap", "matchName": "platform-defaults"}}}})"},
        BuildCase{"RequireSchema", R"({"meta": {"tag": "t"}})",
                  [](Response& r) { r.RequireSchema("vpc", "ec2.aws.upbound.io/v1beta1", "VPC"); },
                  R"({"meta": {"tag": "t", "ttl": "60s"}, "desired": {},
                      "requirements": {"schemas": {"vpc": {
                        "apiVersion": "ec2.aws.upbound.io/v1beta1", "kind": "VPC"}}}})"}),
    CaseName<BuildCase>);

// --- Cat ---------------------------------------------------------------------------

// Text and integers take Cat's direct path; everything must read as fmt's
// "{}" writes it.
TEST(Cat, WritesEveryArgumentAsFmtDoes) {
  const std::string s = "subnet";
  const std::string_view v = "private";
  EXPECT_EQ(Cat(s, "-", v, '-', 3), "subnet-private-3");
  EXPECT_EQ(Cat(std::numeric_limits<std::int64_t>::min(), " ",
                std::numeric_limits<std::uint64_t>::max(), " ", -7, " ", 0u),
            fmt::format("{} {} {} {}", std::numeric_limits<std::int64_t>::min(),
                        std::numeric_limits<std::uint64_t>::max(), -7, 0u));
  EXPECT_EQ(Cat(true, false, 'x', 2.5), fmt::format("{}{}{}{}", true, false, 'x', 2.5));
  EXPECT_EQ(Cat(static_cast<unsigned char>(200), static_cast<std::int8_t>(-5)),
            fmt::format("{}{}", static_cast<unsigned char>(200), static_cast<std::int8_t>(-5)));
  EXPECT_EQ(Cat(), "");
  std::string out = "a";
  Append(out, "b", 1, std::string("c"));
  EXPECT_EQ(out, "ab1c");
}

// --- UTF-8 ------------------------------------------------------------------------

TEST(ValidUtf8, KeepsWellFormedTextAndReplacesTheRest) {
  EXPECT_EQ(ValidUtf8("plain"), "plain");
  EXPECT_EQ(ValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  // 0xff is no lead byte.
  EXPECT_EQ(ValidUtf8(std::string("a\xff") + "b"), std::string("a\xef\xbf\xbd") + "b");
  EXPECT_EQ(ValidUtf8("a\xe2\x82"), "a\xef\xbf\xbd\xef\xbf\xbd");  // cut short
  EXPECT_EQ(ValidUtf8("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");    // overlong
  EXPECT_EQ(ValidUtf8("\xed\xa0\x80"),
            "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");     // a surrogate
  EXPECT_EQ(ValidUtf8("\xf4\x90\x80\x80").size(), 12u);  // above U+10FFFF
}

// Text from bytes fields (connection details, Secret data) may be anything;
// a string field that is not UTF-8 makes the whole response undecodable.
TEST(ResponseObligations, ResultAndConditionMessagesAreAlwaysUtf8) {
  pb::RunFunctionRequest req = FromJson<pb::RunFunctionRequest>(R"({"meta": {"tag": "t"}})");
  Response rsp(req, absl::Seconds(60));
  rsp.Normal("Published", "endpoint db.\xcf\xd1\x8d.example");
  ASSERT_TRUE(rsp.SetCondition("Published", pb::STATUS_CONDITION_TRUE, "Done", "x\xff").ok());
  absl::StatusOr<pb::RunFunctionResponse> out = std::move(rsp).Finish();
  ASSERT_TRUE(out.ok()) << out.status();
  std::string wire;
  ASSERT_TRUE(out->SerializeToString(&wire));
  pb::RunFunctionResponse back;
  EXPECT_TRUE(back.ParseFromString(wire)) << "the response does not decode";
  EXPECT_EQ(out->results(0).message(), "endpoint db.\xef\xbf\xbd\xd1\x8d.example");
  EXPECT_EQ(out->conditions(0).message(), "x\xef\xbf\xbd");

  pb::RunFunctionResponse fatal = Response::FatalOnly(req, absl::Seconds(60), "bad \xff");
  EXPECT_EQ(fatal.results(0).message(), "bad \xef\xbf\xbd");
}

// --- Single obligations ---------------------------------------------------------

TEST(ResponseObligations, DesiredAndContextAreMovedNotCopied) {
  pb::RunFunctionRequest req = FromJson<pb::RunFunctionRequest>(kLaterStep);
  const pb::RunFunctionRequest original = req;
  absl::StatusOr<pb::RunFunctionResponse> rsp = Response(req, absl::Seconds(60)).Finish();
  ASSERT_TRUE(rsp.ok()) << rsp.status();
  EXPECT_TRUE(EqualsProto(original.desired(), rsp->desired()));
  EXPECT_TRUE(EqualsProto(original.context(), rsp->context()));
  EXPECT_EQ(rsp->meta().tag(), "t-123");
  // The request no longer holds them.
  EXPECT_EQ(req.desired().resources_size(), 0);
  EXPECT_FALSE(req.desired().has_composite());
  EXPECT_EQ(req.context().fields_size(), 0);
  // Observed state is left alone.
  EXPECT_TRUE(EqualsProto(original.observed(), req.observed()));
}

TEST(ResponseObligations, RequirementsAbsentUnlessAsked) {
  const std::vector<std::pair<std::string, std::function<void(Response&)>>> builds = {
      {"nothing", Nothing},
      {"desired, status, results, conditions, context",
       [](Response& r) {
         r.SetDesired("a", Json{{"spec", Json::object()}});
         ASSERT_TRUE(r.SetCompositeStatus("x", 1).ok());
         r.Normal("Created", "m");
         ASSERT_TRUE(r.SetCondition("NetworkReady", pb::STATUS_CONDITION_TRUE, "Ok").ok());
         r.SetContext("k", 1);
       }},
  };
  for (const auto& [name, build] : builds) {
    SCOPED_TRACE(name);
    pb::RunFunctionRequest req = FromJson<pb::RunFunctionRequest>(kLaterStep);
    Response r(req, absl::Seconds(60));
    build(r);
    absl::StatusOr<pb::RunFunctionResponse> rsp = std::move(r).Finish();
    ASSERT_TRUE(rsp.ok()) << rsp.status();
    EXPECT_FALSE(rsp->has_requirements());
  }

  pb::RunFunctionRequest req = FromJson<pb::RunFunctionRequest>(kLaterStep);
  EXPECT_FALSE(Response::FatalOnly(req, absl::Seconds(60), "boom").has_requirements());

  req = FromJson<pb::RunFunctionRequest>(kLaterStep);
  Response asks(req, absl::Seconds(60));
  asks.RequireSchema("s", "v1", "ConfigMap");
  absl::StatusOr<pb::RunFunctionResponse> rsp = std::move(asks).Finish();
  ASSERT_TRUE(rsp.ok());
  EXPECT_TRUE(rsp->has_requirements());
}

TEST(ResponseObligations, ReservedConditionTypesRefused) {
  for (const char* type : {"Ready", "Synced", "Healthy", "Responsive"}) {
    SCOPED_TRACE(type);
    EXPECT_TRUE(IsReservedConditionType(type));
    pb::RunFunctionRequest req;
    Response r(req, absl::Seconds(60));
    absl::Status s = r.SetCondition(type, pb::STATUS_CONDITION_TRUE, "Available");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(s.message()),
              std::string("condition type ") + type + " is reserved for Crossplane");
    absl::StatusOr<pb::RunFunctionResponse> rsp = std::move(r).Finish();
    ASSERT_TRUE(rsp.ok());
    EXPECT_EQ(rsp->conditions_size(), 0);
  }
  for (const char* type : {"ready", "NetworkReady", "SyncedUp", ""}) {
    EXPECT_FALSE(IsReservedConditionType(type)) << type;
  }
}

TEST(ResponseObligations, ConditionTypeAndReasonMustBePascalCase) {
  struct Case {
    std::string type;
    std::string reason;
    std::string want_error;  // empty: accepted
  };
  const std::vector<Case> cases = {
      {"NetworkReady", "Available", ""},
      {"A", "B", ""},
      {"Network2Ready", "Step3", ""},
      {"networkReady", "Available", R"(condition type "networkReady" must be PascalCase)"},
      {"Network-Ready", "Available", R"(condition type "Network-Ready" must be PascalCase)"},
      {"Network Ready", "Available", R"(condition type "Network Ready" must be PascalCase)"},
      {"Network_Ready", "Available", R"(condition type "Network_Ready" must be PascalCase)"},
      {"1Network", "Available", R"(condition type "1Network" must be PascalCase)"},
      {"", "Available", R"(condition type "" must be PascalCase)"},
      {"NetworkReady", "", R"(condition reason "" must be non-empty PascalCase)"},
      {"NetworkReady", "available", R"(condition reason "available" must be non-empty PascalCase)"},
      {"NetworkReady", "Not Available",
       R"(condition reason "Not Available" must be non-empty PascalCase)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.type + "/" + c.reason);
    pb::RunFunctionRequest req;
    Response r(req, absl::Seconds(60));
    absl::Status s = r.SetCondition(c.type, pb::STATUS_CONDITION_TRUE, c.reason);
    absl::StatusOr<pb::RunFunctionResponse> rsp = std::move(r).Finish();
    ASSERT_TRUE(rsp.ok());
    if (c.want_error.empty()) {
      EXPECT_TRUE(s.ok()) << s;
      ASSERT_EQ(rsp->conditions_size(), 1);
      EXPECT_EQ(rsp->conditions(0).type(), c.type);
      EXPECT_EQ(rsp->conditions(0).reason(), c.reason);
    } else {
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(std::string(s.message()), c.want_error);
      EXPECT_EQ(rsp->conditions_size(), 0);
    }
  }
}

TEST(ResponseObligations, HasFatalAndDesiredLookup) {
  pb::RunFunctionRequest req;
  Response r(req, absl::Seconds(60));
  EXPECT_FALSE(r.HasFatal());
  r.Normal("Created", "m");
  r.Warning("Odd", "m");
  EXPECT_FALSE(r.HasFatal());
  r.Fatal("broken");
  EXPECT_TRUE(r.HasFatal());

  EXPECT_EQ(r.Desired("vpc"), nullptr);
  r.SetDesired("vpc", Json{{"kind", "VPC"}, {"status", {{"id", "x"}}}}, pb::READY_TRUE);
  DesiredResource* d = r.Desired("vpc");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->object.dump(), R"({"kind":"VPC"})");
  EXPECT_EQ(d->ready, pb::READY_TRUE);
  EXPECT_EQ(r.desired().size(), 1u);
}

// --- Conversion errors in Finish -------------------------------------------------

struct FinishErrorCase {
  std::string name;
  std::function<void(Response&)> build;
  std::string want_error;  // the start of the message
};

// Failure messages name the case rather than dumping its bytes.
void PrintTo(const FinishErrorCase& c, std::ostream* os) { *os << c.name; }

class ResponseFinishErrorTest : public ::testing::TestWithParam<FinishErrorCase> {};

TEST_P(ResponseFinishErrorTest, LeavesRequestIntact) {
  const FinishErrorCase& c = GetParam();
  pb::RunFunctionRequest req = FromJson<pb::RunFunctionRequest>(kLaterStep);
  const pb::RunFunctionRequest original = req;
  Response r(req, absl::Seconds(60));
  c.build(r);
  absl::StatusOr<pb::RunFunctionResponse> rsp = std::move(r).Finish();
  ASSERT_FALSE(rsp.ok()) << rsp->DebugString();
  EXPECT_EQ(rsp.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(rsp.status().message()), StartsWith(c.want_error));
  // Nothing was moved out of the request: the caller's FATAL response can
  // still pass the tag, the desired state and the context through.
  EXPECT_TRUE(EqualsProto(original, req));

  pb::RunFunctionResponse fatal =
      Response::FatalOnly(req, absl::Seconds(60), std::string(rsp.status().message()));
  EXPECT_EQ(fatal.meta().tag(), "t-123");
  EXPECT_TRUE(EqualsProto(original.desired(), fatal.desired()));
  EXPECT_TRUE(EqualsProto(original.context(), fatal.context()));
}

// The same refusal, with the same message, when the resources are encoded
// for the wire.
TEST_P(ResponseFinishErrorTest, EncodedForTheWireRefusesTheSame) {
  const FinishErrorCase& c = GetParam();
  pb::RunFunctionRequest req = FromJson<pb::RunFunctionRequest>(kLaterStep);
  const pb::RunFunctionRequest original = req;
  Response r(req, absl::Seconds(60));
  r.EncodeResourcesForWire();
  c.build(r);
  absl::StatusOr<pb::RunFunctionResponse> rsp = std::move(r).Finish();
  ASSERT_FALSE(rsp.ok()) << rsp->DebugString();
  EXPECT_EQ(rsp.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(rsp.status().message()), StartsWith(c.want_error));
  EXPECT_TRUE(EqualsProto(original, req));
}

constexpr std::int64_t kTooBig = kMaxExactInteger + 1;

INSTANTIATE_TEST_SUITE_P(
    Response, ResponseFinishErrorTest,
    ::testing::Values(
        FinishErrorCase{"DesiredResourceInteger",
                        [](Response& r) {
                          r.SetDesired("ok", Json{{"spec", {{"a", 1}}}});
                          r.SetDesired("vpc", Json{{"spec", {{"x", kTooBig}}}});
                        },
                        "desired.resources[vpc].spec.x: integer 9007199254740993 is beyond 2^53"},
        FinishErrorCase{
            "DesiredResourceDottedKey",
            [](Response& r) {
              r.SetDesired("vpc", Json{{"metadata", {{"annotations", {{"a.b/c", kTooBig}}}}}});
            },
            "desired.resources[vpc].metadata.annotations[a.b/c]: integer"},
        FinishErrorCase{"DesiredResourceNotAnObject",
                        [](Response& r) { r.SetDesired("vpc", Json::array()); },
                        "desired.resources[vpc]: must be an object"},
        FinishErrorCase{"CompositeStatus",
                        [](Response& r) {
                          ASSERT_TRUE(r.SetCompositeStatus("ok", 1).ok());
                          ASSERT_TRUE(r.SetCompositeStatus("sizes[0]", kTooBig).ok());
                        },
                        "desired.composite.status.sizes[0]: integer 9007199254740993"},
        FinishErrorCase{
            "CompositeStatusDottedKey",
            [](Response& r) { ASSERT_TRUE(r.SetCompositeStatus("[a.b].c", kTooBig).ok()); },
            "desired.composite.status[a.b].c: integer"},
        FinishErrorCase{
            "CompositeStatusNaN",
            [](Response& r) { ASSERT_TRUE(r.SetCompositeStatus("ratio", std::nan("")).ok()); },
            "desired.composite.status.ratio: must be a finite number"},
        FinishErrorCase{"Context",
                        [](Response& r) {
                          r.SetContext("n", Json{{"big", kTooBig}});
                        },
                        "context.n.big: integer"},
        FinishErrorCase{"ContextDottedKey",
                        [](Response& r) { r.SetContext("platform.io/x", kTooBig); },
                        "context[platform.io/x]: integer"},
        FinishErrorCase{"AfterResultsAndConditions",
                        [](Response& r) {
                          r.Normal("Created", "m");
                          ASSERT_TRUE(
                              r.SetCondition("NetworkReady", pb::STATUS_CONDITION_TRUE, "Ok").ok());
                          r.RequireSchema("s", "v1", "ConfigMap");
                          r.SetDesired("vpc", Json{{"spec", {{"x", -kTooBig}}}});
                        },
                        "desired.resources[vpc].spec.x: integer -9007199254740993"}),
    CaseName<FinishErrorCase>);

TEST(ResponseCompositeStatus, BadPathRefused) {
  pb::RunFunctionRequest req;
  Response r(req, absl::Seconds(60));
  EXPECT_FALSE(r.SetCompositeStatus("", 1).ok());
  EXPECT_FALSE(r.SetCompositeStatus("a..b", 1).ok());
  ASSERT_TRUE(r.SetCompositeStatus("a", "s").ok());
  absl::Status s = r.SetCompositeStatus("a.b", 1);
  EXPECT_EQ(std::string(s.message()), R"(a.b: cannot set field "b" in a string)");
  s = r.SetCompositeStatus("list[1]", 1);
  EXPECT_THAT(std::string(s.message()), HasSubstr("past the end"));
  absl::StatusOr<pb::RunFunctionResponse> rsp = std::move(r).Finish();
  ASSERT_TRUE(rsp.ok());
  // The refused writes left nothing behind.
  EXPECT_TRUE(EqualsProto(
      FromJson<pb::RunFunctionResponse>(
          R"({"meta": {"ttl": "60s"}, "desired": {"composite": {"resource": {"status": {"a": "s"}}}}})"),
      *rsp));
}

// --- FatalOnly --------------------------------------------------------------------

TEST(ResponseFatalOnly, PassesThroughWithOneFatal) {
  pb::RunFunctionRequest req = FromJson<pb::RunFunctionRequest>(kLaterStep);
  pb::RunFunctionResponse got =
      Response::FatalOnly(req, absl::Seconds(30), "spec.parameters.region: required");
  EXPECT_TRUE(EqualsProto(FromJson<pb::RunFunctionResponse>(R"json({
    "meta": {"tag": "t-123", "ttl": "30s"},
    "desired": {
      "composite": {
        "resource": {"apiVersion": "example.org/v1", "kind": "XThing",
                     "status": {"earlier": "kept", "shared": "old"}},
        "connectionDetails": {"user": "YWRtaW4="},
        "ready": "READY_FALSE"
      },
      "resources": {
        "bucket": {"resource": {"apiVersion": "s3.example.org/v1", "kind": "Bucket",
                                "spec": {"size": 3}, "status": {"phase": "set by an earlier step"}},
                   "ready": "READY_TRUE"}
      }
    },
    "context": {"apiextensions.crossplane.io/environment": {"region": "eu-west-1"}, "n": 1},
    "results": [{"severity": "SEVERITY_FATAL", "message": "spec.parameters.region: required",
                 "reason": "ComposeResources", "target": "TARGET_COMPOSITE"}]
  })json"),
                          got));
}

TEST(ResponseFatalOnly, AbsentMetaAndState) {
  pb::RunFunctionRequest req;
  pb::RunFunctionResponse got = Response::FatalOnly(req, absl::Seconds(60), "boom");
  EXPECT_TRUE(EqualsProto(FromJson<pb::RunFunctionResponse>(R"({
    "meta": {"ttl": "60s"}, "desired": {},
    "results": [{"severity": "SEVERITY_FATAL", "message": "boom", "reason": "ComposeResources",
                 "target": "TARGET_COMPOSITE"}]})"),
                          got));
  EXPECT_FALSE(got.has_context());
  EXPECT_FALSE(got.has_requirements());
}

TEST(ResponseFatalOnly, WithCondition) {
  pb::RunFunctionRequest req = FromJson<pb::RunFunctionRequest>(R"({"meta": {"tag": "t"}})");
  pb::Condition c;
  c.set_type("Authorized");
  c.set_status(pb::STATUS_CONDITION_FALSE);
  c.set_reason("Denied");
  c.set_message("team web may not");
  c.set_target(pb::TARGET_COMPOSITE_AND_CLAIM);
  EXPECT_TRUE(EqualsProto(FromJson<pb::RunFunctionResponse>(R"({
    "meta": {"tag": "t", "ttl": "60s"}, "desired": {},
    "results": [{"severity": "SEVERITY_FATAL", "message": "team web may not",
                 "reason": "ComposeResources", "target": "TARGET_COMPOSITE"}],
    "conditions": [{"type": "Authorized", "status": "STATUS_CONDITION_FALSE", "reason": "Denied",
                    "message": "team web may not", "target": "TARGET_COMPOSITE_AND_CLAIM"}]})"),
                          Response::FatalOnly(req, absl::Seconds(60), "team web may not", c)));
}

TEST(ResponseFatalOnly, InvalidConditionLeftOut) {
  for (const auto& [type, reason, note] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"Synced", "Denied", "condition type Synced is reserved for Crossplane"},
           {"not-pascal", "Denied", "condition type \"not-pascal\" must be PascalCase"},
           {"Authorized", "", "condition reason \"\" must be non-empty PascalCase"}}) {
    SCOPED_TRACE(type);
    pb::RunFunctionRequest req;
    pb::Condition c;
    c.set_type(type);
    c.set_reason(reason);
    const pb::RunFunctionResponse got = Response::FatalOnly(req, absl::Seconds(60), "boom", c);
    EXPECT_EQ(got.conditions_size(), 0);
    ASSERT_EQ(got.results_size(), 1);
    EXPECT_EQ(got.results(0).message(), "boom (condition left out: " + note + ")");
  }
}

}  // namespace
}  // namespace platform::fn::sdk
