// The XEnvironment renderer through the Runner and the builtin registry, as
// Crossplane calls it: whole requests in, whole responses compared.
#include "function/renderers/xenvironment.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "function/registry.h"
#include "function/renderers/scope.h"
#include "function/runner.h"
#include "function/sdk/struct_json.h"
#include "function/testing/proto_test_util.h"

namespace platform::fn::renderers {
namespace {

using ::platform::fn::testing::CaseName;
using ::platform::fn::testing::EqualsProto;
using ::platform::fn::testing::FromJson;
using ::platform::fn::testing::WireBytes;

using sdk::Json;

// --- Builders for requests and expected responses ---------------------------------
//
// Requests and responses are written as JSON (the proto3 JSON mapping) and
// assembled from these pieces so each case shows only what it varies.

Json Xr(const Json& parameters, const std::string& ns = "") {
  Json xr = {
      {"apiVersion",
       ns.empty() ? "platform.terraforming.io/v1alpha1" : "platform.m.terraforming.io/v1alpha1"},
      {"kind", "XEnvironment"},
      {"metadata", {{"name", "payments-dev"}}},
      {"spec", {{"parameters", parameters}}},
  };
  if (!ns.empty()) xr["metadata"]["namespace"] = ns;
  return xr;
}

Json DevParams() { return {{"environment", "dev"}, {"region", "eu-west-1"}, {"team", "payments"}}; }

// A request: the XR, optional observed composed resources, and optionally the
// state an earlier pipeline step left.
std::string Request(const Json& xr, const Json& observed_resources = nullptr,
                    const Json& desired = nullptr, const Json& context = nullptr) {
  Json req = {{"meta",
               {{"tag", "tag-1"},
                {"capabilities", {"CAPABILITY_CAPABILITIES", "CAPABILITY_REQUIRED_RESOURCES"}}}},
              {"observed", {{"composite", {{"resource", xr}}}}}};
  if (!observed_resources.is_null()) req["observed"]["resources"] = observed_resources;
  if (!desired.is_null()) req["desired"] = desired;
  if (!context.is_null()) req["context"] = context;
  return req.dump();
}

Json Tags(const std::string& env, const std::string& team = "payments",
          const std::string& name = "payments-dev") {
  return {{"Name", name},
          {"platform.terraforming.io/environment", env},
          {"platform.terraforming.io/team", team}};
}

// The desired VPC resource (the protocol's Resource message).
Json Vpc(const std::string& cidr, const Json& tags, const std::string& ns = "",
         const std::string& ready = "", const std::string& region = "eu-west-1") {
  Json metadata = Json::object();
  if (!ns.empty()) metadata["namespace"] = ns;
  Json r = {
      {"resource",
       {{"apiVersion", ns.empty() ? "ec2.aws.upbound.io/v1beta1" : "ec2.aws.m.upbound.io/v1beta1"},
        {"kind", "VPC"},
        {"metadata", metadata},
        {"spec",
         {{"forProvider",
           {{"region", region},
            {"cidrBlock", cidr},
            {"enableDnsSupport", true},
            {"enableDnsHostnames", true},
            {"tags", tags}}}}}}},
  };
  if (!ready.empty()) r["ready"] = ready;
  return r;
}

Json Creating(const std::string& cidr, const std::string& region = "eu-west-1") {
  return Json::array({{{"severity", "SEVERITY_NORMAL"},
                       {"reason", "ComposeResources"},
                       {"message", "creating VPC " + cidr + " in " + region},
                       {"target", "TARGET_COMPOSITE"}}});
}

Json Fatal(const std::string& message) {
  return Json::array({{{"severity", "SEVERITY_FATAL"},
                       {"reason", "ComposeResources"},
                       {"message", message},
                       {"target", "TARGET_COMPOSITE"}}});
}

// An expected response: meta is always the echoed tag and the default TTL.
std::string Response(const Json& desired, const Json& results = nullptr,
                     const Json& context = nullptr) {
  Json rsp = {{"meta", {{"tag", "tag-1"}, {"ttl", "60s"}}}, {"desired", desired}};
  if (!results.is_null()) rsp["results"] = results;
  if (!context.is_null()) rsp["context"] = context;
  return rsp.dump();
}

// An observed VPC as the provider reports it.
Json ObservedVpc(const std::string& ready_status, const std::string& id) {
  Json status = {{"conditions",
                  {{{"type", "Synced"}, {"status", "True"}, {"reason", "ReconcileSuccess"}},
                   {{"type", "Ready"}, {"status", ready_status}, {"reason", "Available"}}}}};
  if (!id.empty()) status["atProvider"] = {{"id", id}, {"cidrBlock", "10.10.0.0/16"}};
  return {{"vpc",
           {{"resource",
             {{"apiVersion", "ec2.aws.upbound.io/v1beta1"},
              {"kind", "VPC"},
              {"metadata",
               {{"name", "payments-dev-x7k2p"},
                {"annotations", {{"crossplane.io/composition-resource-name", "vpc"}}}}},
              {"spec", {{"forProvider", {{"cidrBlock", "10.10.0.0/16"}}}}},
              {"status", status}}}}}};
}

// What an earlier pipeline step left behind.
Json EarlierDesired() {
  return {{"composite",
           {{"resource",
             {{"apiVersion", "platform.terraforming.io/v1alpha1"},
              {"kind", "XEnvironment"},
              {"status", {{"dnsZone", "payments.example.com"}}}}}}},
          {"resources",
           {{"zone",
             {{"resource",
               {{"apiVersion", "route53.aws.upbound.io/v1beta1"},
                {"kind", "Zone"},
                {"spec", {{"forProvider", {{"name", "payments.example.com"}}}}}}},
              {"ready", "READY_TRUE"}}}}}};
}

Json EarlierContext() {
  return {{"apiextensions.crossplane.io/environment", {{"accountId", "123456789012"}}}};
}

Json With(Json base, const Json& patch) {
  base.merge_patch(patch);
  return base;
}

// --- The table ----------------------------------------------------------------------

struct Case {
  std::string name;
  std::string request;
  std::string want;
};

// Failure messages name the case rather than dumping its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class XEnvironmentTest : public ::testing::TestWithParam<Case> {};

TEST_P(XEnvironmentTest, Renders) {
  const Case& c = GetParam();
  pb::RunFunctionRequest req = FromJson<pb::RunFunctionRequest>(c.request);
  const Registry registry = BuiltinRegistry();
  const pb::RunFunctionResponse got = Runner(registry).Run(req);
  EXPECT_TRUE(EqualsProto(FromJson<pb::RunFunctionResponse>(c.want), got));
  EXPECT_FALSE(got.has_requirements());
}

std::vector<Case> Cases() {
  std::vector<Case> cases = {
      {"ClusterScopedDev", Request(Xr(DevParams())),
       Response({{"resources", {{"vpc", Vpc("10.10.0.0/16", Tags("dev"))}}}},
                Creating("10.10.0.0/16"))},
      {"NamespacedUsesMGroupAndNamespace", Request(Xr(DevParams(), "team-payments")),
       Response({{"resources", {{"vpc", Vpc("10.10.0.0/16", Tags("dev"), "team-payments")}}}},
                Creating("10.10.0.0/16"))},
      {"ExplicitVpcCidr", Request(Xr(With(DevParams(), {{"vpcCidr", "172.16.0.0/20"}}))),
       Response({{"resources", {{"vpc", Vpc("172.16.0.0/20", Tags("dev"))}}}},
                Creating("172.16.0.0/20"))},
      {"CostCenterTag", Request(Xr(With(DevParams(), {{"costCenter", "cc-1234"}}))),
       Response({{"resources",
                  {{"vpc", Vpc("10.10.0.0/16",
                               With(Tags("dev"),
                                    {{"platform.terraforming.io/cost-center", "cc-1234"}}))}}}},
                Creating("10.10.0.0/16"))},
      {"EmptyCostCenterNotTagged", Request(Xr(With(DevParams(), {{"costCenter", ""}}))),
       Response({{"resources", {{"vpc", Vpc("10.10.0.0/16", Tags("dev"))}}}},
                Creating("10.10.0.0/16"))},
      {"PlatformTagsOverrideUserTags",
       Request(Xr(With(DevParams(), {{"costCenter", "cc-1"},
                                     {"tags",
                                      {{"Name", "mine"},
                                       {"Owner", "alice"},
                                       {"platform.terraforming.io/team", "someone-else"},
                                       {"platform.terraforming.io/environment", "prod"},
                                       {"platform.terraforming.io/cost-center", "cc-9"}}}}))),
       Response({{"resources",
                  {{"vpc",
                    Vpc("10.10.0.0/16",
                        With(Tags("dev"), {{"Owner", "alice"},
                                           {"platform.terraforming.io/cost-center", "cc-1"}}))}}}},
                Creating("10.10.0.0/16"))},
      {"UserTagsKeptWhenNoClash",
       Request(Xr(With(DevParams(), {{"tags", {{"app.kubernetes.io/part-of", "payments"}}}}))),
       Response({{"resources",
                  {{"vpc", Vpc("10.10.0.0/16",
                               With(Tags("dev"), {{"app.kubernetes.io/part-of", "payments"}}))}}}},
                Creating("10.10.0.0/16"))},
      {"OtherRegion", Request(Xr(With(DevParams(), {{"region", "us-east-1"}}))),
       Response({{"resources", {{"vpc", Vpc("10.10.0.0/16", Tags("dev"), "", "", "us-east-1")}}}},
                Creating("10.10.0.0/16", "us-east-1"))},
      // Observed state.
      {"ObservedVpcReady", Request(Xr(DevParams()), ObservedVpc("True", "vpc-0abc")),
       Response({{"composite", {{"resource", {{"status", {{"vpcId", "vpc-0abc"}}}}}}},
                 {"resources", {{"vpc", Vpc("10.10.0.0/16", Tags("dev"), "", "READY_TRUE")}}}})},
      {"ObservedVpcNotReadyYetHasId", Request(Xr(DevParams()), ObservedVpc("False", "vpc-0abc")),
       Response({{"composite", {{"resource", {{"status", {{"vpcId", "vpc-0abc"}}}}}}},
                 {"resources", {{"vpc", Vpc("10.10.0.0/16", Tags("dev"))}}}})},
      {"ObservedVpcWithoutIdOrReady", Request(Xr(DevParams()), ObservedVpc("Unknown", "")),
       Response({{"resources", {{"vpc", Vpc("10.10.0.0/16", Tags("dev"))}}}})},
      {"ObservedVpcNamespaced",
       Request(Xr(DevParams(), "team-payments"), ObservedVpc("True", "vpc-0abc")),
       Response({{"composite", {{"resource", {{"status", {{"vpcId", "vpc-0abc"}}}}}}},
                 {"resources",
                  {{"vpc", Vpc("10.10.0.0/16", Tags("dev"), "team-payments", "READY_TRUE")}}}})},
      // Pass-through of what earlier steps set.
      {"EarlierStepsStateKept",
       Request(Xr(DevParams()), ObservedVpc("True", "vpc-0abc"), EarlierDesired(),
               EarlierContext()),
       Response({{"composite",
                  {{"resource",
                    {{"apiVersion", "platform.terraforming.io/v1alpha1"},
                     {"kind", "XEnvironment"},
                     {"status", {{"dnsZone", "payments.example.com"}, {"vpcId", "vpc-0abc"}}}}}}},
                 {"resources",
                  {{"vpc", Vpc("10.10.0.0/16", Tags("dev"), "", "READY_TRUE")},
                   {"zone", EarlierDesired()["resources"]["zone"]}}}},
                nullptr, EarlierContext())},
      // Errors: one FATAL, the earlier state passed through untouched.
      {"MissingRegion",
       Request(Xr({{"environment", "dev"}, {"team", "payments"}}), nullptr, EarlierDesired(),
               EarlierContext()),
       Response(EarlierDesired(), Fatal("spec.parameters.region: required"), EarlierContext())},
      {"RegionWrongType", Request(Xr(With(DevParams(), {{"region", 42}}))),
       Response(Json::object(), Fatal("spec.parameters.region: must be a string, not an integer"))},
      {"MissingTeam", Request(Xr({{"environment", "dev"}, {"region", "eu-west-1"}})),
       Response(Json::object(), Fatal("spec.parameters.team: required"))},
      {"MissingEnvironment", Request(Xr({{"region", "eu-west-1"}, {"team", "payments"}})),
       Response(Json::object(), Fatal("spec.parameters.environment: required"))},
      {"BadEnvironment",
       Request(Xr(With(DevParams(), {{"environment", "staging"}})), nullptr, EarlierDesired()),
       Response(EarlierDesired(),
                Fatal("spec.parameters.environment: must be one of dev, test, sandbox, prod, "
                      "not \"staging\""))},
      {"MissingParameters",
       Request({{"apiVersion", "platform.terraforming.io/v1alpha1"},
                {"kind", "XEnvironment"},
                {"metadata", {{"name", "payments-dev"}}},
                {"spec", Json::object()}}),
       Response(Json::object(), Fatal("spec.parameters: required"))},
      {"MissingName",
       Request({{"apiVersion", "platform.terraforming.io/v1alpha1"},
                {"kind", "XEnvironment"},
                {"spec", {{"parameters", DevParams()}}}}),
       Response(Json::object(), Fatal("metadata.name: required"))},
      {"TagValueWrongType", Request(Xr(With(DevParams(), {{"tags", {{"Count", 3}}}}))),
       Response(Json::object(),
                Fatal("spec.parameters.tags[Count]: must be a string, not an integer"))},
      {"TagsWrongType", Request(Xr(With(DevParams(), {{"tags", Json::array({"a"})}}))),
       Response(Json::object(), Fatal("spec.parameters.tags: must be an object, not a list"))},
      {"VpcCidrWrongType", Request(Xr(With(DevParams(), {{"vpcCidr", true}}))),
       Response(Json::object(), Fatal("spec.parameters.vpcCidr: must be a string, not a boolean"))},
      {"ObservedVpcIdWrongType",
       Request(Xr(DevParams()),
               With(ObservedVpc("True", ""),
                    {{"vpc", {{"resource", {{"status", {{"atProvider", {{"id", 7}}}}}}}}}})),
       Response(
           Json::object(),
           Fatal(
               "observed.resources[vpc].status.atProvider.id: must be a string, not an integer"))},
  };
  // Every class and its default CIDR.
  for (const auto& [cls, cidr] :
       std::vector<std::pair<std::string, std::string>>{{"dev", "10.10.0.0/16"},
                                                        {"test", "10.20.0.0/16"},
                                                        {"sandbox", "10.30.0.0/16"},
                                                        {"prod", "10.0.0.0/16"}}) {
    cases.push_back({"DefaultCidr_" + cls, Request(Xr(With(DevParams(), {{"environment", cls}}))),
                     Response({{"resources", {{"vpc", Vpc(cidr, Tags(cls))}}}}, Creating(cidr))});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(XEnvironment, XEnvironmentTest, ::testing::ValuesIn(Cases()),
                         CaseName<Case>);

// --- Single properties ---------------------------------------------------------------

pb::RunFunctionResponse RunBuiltin(const std::string& request) {
  pb::RunFunctionRequest req = FromJson<pb::RunFunctionRequest>(request);
  const Registry registry = BuiltinRegistry();
  return Runner(registry).Run(req);
}

int CountSeverity(const pb::RunFunctionResponse& rsp, pb::Severity severity) {
  int n = 0;
  for (const pb::Result& r : rsp.results()) n += r.severity() == severity ? 1 : 0;
  return n;
}

TEST(XEnvironmentResults, NormalOnlyUntilTheVpcIsObserved) {
  const pb::RunFunctionResponse first = RunBuiltin(Request(Xr(DevParams())));
  EXPECT_EQ(CountSeverity(first, pb::SEVERITY_NORMAL), 1);

  for (const char* ready : {"True", "False", "Unknown"}) {
    SCOPED_TRACE(ready);
    const pb::RunFunctionResponse later =
        RunBuiltin(Request(Xr(DevParams()), ObservedVpc(ready, "")));
    EXPECT_EQ(later.results_size(), 0) << later.DebugString();
  }
}

TEST(XEnvironmentResults, DesiredVpcNeverCarriesStatus) {
  // The observed VPC has a status; the desired one must not copy it.
  const pb::RunFunctionResponse rsp =
      RunBuiltin(Request(Xr(DevParams()), ObservedVpc("True", "vpc-0abc")));
  ASSERT_EQ(rsp.desired().resources().count("vpc"), 1u);
  EXPECT_EQ(rsp.desired().resources().at("vpc").resource().fields().count("status"), 0u);
  EXPECT_EQ(rsp.desired().resources().at("vpc").resource().fields().count("metadata"), 1u);
  // Composite gets status only.
  const auto& xr = rsp.desired().composite().resource().fields();
  ASSERT_EQ(xr.size(), 1u);
  EXPECT_EQ(xr.count("status"), 1u);
}

TEST(XEnvironmentRegistry, BuiltinRegistersXEnvironment) {
  const Registry registry = BuiltinRegistry();
  EXPECT_NE(registry.Find("XEnvironment"), nullptr);
  EXPECT_EQ(registry.Find("Environment"), nullptr);
  EXPECT_THAT(registry.Kinds(), ::testing::Contains("XEnvironment"));
}

TEST(XEnvironmentScope, ApiVersionsAndMetadata) {
  const Json cluster = {{"metadata", {{"name", "a"}}}};
  const Json namespaced = {{"metadata", {{"name", "a"}, {"namespace", "team-a"}}}};
  const Json empty_ns = {{"metadata", {{"name", "a"}, {"namespace", ""}}}};

  const Scope c = ScopeOf(sdk::Fields(cluster));
  EXPECT_FALSE(c.namespaced);
  EXPECT_EQ(c.AwsApiVersion("ec2"), "ec2.aws.upbound.io/v1beta1");
  EXPECT_EQ(c.AwsApiVersion("iam", "v1beta2"), "iam.aws.upbound.io/v1beta2");
  EXPECT_EQ(c.Metadata().dump(), "{}");

  const Scope n = ScopeOf(sdk::Fields(namespaced));
  EXPECT_TRUE(n.namespaced);
  EXPECT_EQ(n.AwsApiVersion("ec2"), "ec2.aws.m.upbound.io/v1beta1");
  EXPECT_EQ(n.Metadata().dump(), R"({"namespace":"team-a"})");

  EXPECT_FALSE(ScopeOf(sdk::Fields(empty_ns)).namespaced);
}

}  // namespace
}  // namespace platform::fn::renderers
