#include "admission/evaluator.h"

#include <gtest/gtest.h>

#include <string>

#include "admission/step_input.h"
#include "function/renderers/builtin.h"
#include "function/testing/render_test_util.h"

namespace platform::admission {
namespace {

const fn::Registry& TheRegistry() {
  static const fn::Registry* const registry = new fn::Registry(fn::BuiltinRegistry());
  return *registry;
}

// An app team's Environment claim (examples/xenvironment/claim.yaml).
Json Claim(const std::string& environment = "dev", const std::string& team = "payments") {
  Json claim = {
      {"apiVersion", "platform.terraforming.io/v1alpha1"},
      {"kind", "Environment"},
      {"metadata", {{"name", "payments-dev"}, {"namespace", "team-payments"}}},
      {"spec",
       {{"parameters",
         {{"environment", environment}, {"region", "eu-west-1"}, {"costCenter", "cc-1234"}}}}}};
  if (!team.empty()) claim["spec"]["parameters"]["team"] = team;
  return claim;
}

Review ReviewOf(const Json& object, const std::string& operation = "CREATE") {
  Review r;
  r.uid = "u-1";
  const std::string api_version = object.value("apiVersion", "");
  r.group = api_version.substr(0, api_version.find('/'));
  r.version = api_version.substr(api_version.find('/') + 1);
  r.kind = object.value("kind", "");
  r.operation = operation;
  r.ns = object["metadata"].value("namespace", "");
  r.name = object["metadata"].value("name", "");
  r.object = object;
  return r;
}

// The policy EnvironmentConfig: only team web may make anything, and only
// dev networks.
Json WebOnlyPolicy() {
  return {
      {"apiVersion", "apiextensions.crossplane.io/v1beta1"},
      {"kind", "EnvironmentConfig"},
      {"metadata", {{"name", "platform-policy"}}},
      {"data",
       {{"policy",
         {{"authorization", {{{"name", "web-dev"}, {"teams", {"web"}}, {"classes", {"dev"}}}}}}}}}};
}

Json Namespace(const Json& labels) {
  return {{"apiVersion", "v1"},
          {"kind", "Namespace"},
          {"metadata", {{"name", "team-payments"}, {"labels", labels}}}};
}

// The function's own FATAL message for the XR of `review`, as Crossplane
// would call it with the same input and policy.
std::string FunctionsMessage(const Review& review, const Json& policy) {
  fn::testing::Call call;
  call.xr = Evaluator::CompositeOf(review);
  call.input = DefaultStepInput();
  call.required = {{"platform-policy", policy.is_null() ? Json::array() : Json::array({policy})}};
  const fn::pb::RunFunctionResponse rsp = fn::testing::RunProto(call);
  for (const fn::pb::Result& r : rsp.results()) {
    if (r.severity() == fn::pb::SEVERITY_FATAL) return r.message();
  }
  return "";
}

TEST(Evaluator, NamesThePolicyTheStepInputNames) {
  EXPECT_EQ(Evaluator(TheRegistry(), DefaultStepInput()).policy_name(), "platform-policy");
  EXPECT_EQ(Evaluator(TheRegistry(), Json::object()).policy_name(), "");
}

TEST(Evaluator, AClaimBecomesTheXrCrossplaneMakesOfIt) {
  const Json xr = Evaluator::CompositeOf(ReviewOf(Claim()));
  EXPECT_EQ(xr["apiVersion"], "platform.terraforming.io/v1alpha1");
  EXPECT_EQ(xr["kind"], "XEnvironment");
  EXPECT_EQ(xr["metadata"]["labels"]["crossplane.io/claim-name"], "payments-dev");
  EXPECT_EQ(xr["metadata"]["labels"]["crossplane.io/claim-namespace"], "team-payments");
  EXPECT_EQ(xr["spec"], Claim()["spec"]);
  // An XR is judged as it is.
  Json namespaced = Claim();
  namespaced["apiVersion"] = "platform.m.terraforming.io/v1alpha1";
  namespaced["kind"] = "XEnvironment";
  EXPECT_EQ(Evaluator::CompositeOf(ReviewOf(namespaced)), namespaced);
}

TEST(Evaluator, RefusesWhatTheFunctionDeniesWithItsWords) {
  const Evaluator e(TheRegistry(), DefaultStepInput());
  const Json policy = WebOnlyPolicy();
  const Review review = ReviewOf(Claim());
  const Decision d = e.Validate(review, ClusterView{&policy, nullptr});
  ASSERT_FALSE(d.allowed);
  EXPECT_EQ(d.code, 403);
  EXPECT_EQ(d.reason, "Forbidden");
  const std::string function = FunctionsMessage(review, policy);
  ASSERT_FALSE(function.empty());
  EXPECT_EQ(d.message, function);
  EXPECT_NE(d.message.find("no rule matches team \"payments\""), std::string::npos) << d.message;
}

TEST(Evaluator, RefusesAViolationNamingTheFieldAndTheRule) {
  const Evaluator e(TheRegistry(), DefaultStepInput());
  Json claim = Claim();
  claim["spec"]["parameters"]["zoneCount"] = 5;  // dev allows 2
  const Review review = ReviewOf(claim);
  const Decision d = e.Validate(review, ClusterView{});
  ASSERT_FALSE(d.allowed);
  EXPECT_EQ(d.code, 422);
  EXPECT_EQ(d.reason, "Invalid");
  EXPECT_EQ(d.message, FunctionsMessage(review, nullptr));
  EXPECT_NE(d.message.find("spec.parameters.zoneCount"), std::string::npos) << d.message;
}

TEST(Evaluator, AllowsWhatTheFunctionComposes) {
  const Evaluator e(TheRegistry(), DefaultStepInput());
  Json policy = WebOnlyPolicy();
  policy["data"]["policy"]["authorization"].push_back(
      {{"name", "payments-dev"}, {"teams", {"payments"}}, {"classes", {"dev"}}});
  const Decision d = e.Validate(ReviewOf(Claim()), ClusterView{&policy, nullptr});
  EXPECT_TRUE(d.allowed) << d.message;
  EXPECT_TRUE(d.warnings.empty());
  // Without the policy the defaults apply, and the function's warning says so.
  const Decision defaults = e.Validate(ReviewOf(Claim()), ClusterView{});
  EXPECT_TRUE(defaults.allowed) << defaults.message;
  ASSERT_EQ(defaults.warnings.size(), 1u);
  EXPECT_NE(defaults.warnings[0].find("EnvironmentConfig \"platform-policy\""), std::string::npos)
      << defaults.warnings[0];
}

TEST(Evaluator, AnUpdateIsJudgedAsACreate) {
  const Evaluator e(TheRegistry(), DefaultStepInput());
  const Json policy = WebOnlyPolicy();
  EXPECT_FALSE(e.Validate(ReviewOf(Claim(), "UPDATE"), ClusterView{&policy, nullptr}).allowed);
  EXPECT_TRUE(e.Validate(ReviewOf(Claim(), "DELETE"), ClusterView{&policy, nullptr}).allowed);
}

TEST(Evaluator, LeavesOtherKindsAlone) {
  const Evaluator e(TheRegistry(), DefaultStepInput());
  const Json policy = WebOnlyPolicy();
  Json config_map = {{"apiVersion", "v1"},
                     {"kind", "ConfigMap"},
                     {"metadata", {{"name", "x"}, {"namespace", "team-payments"}}}};
  EXPECT_FALSE(e.IsPlatformKind(ReviewOf(config_map)));
  EXPECT_TRUE(e.Validate(ReviewOf(config_map), ClusterView{&policy, nullptr}).allowed);
  EXPECT_TRUE(e.IsPlatformKind(ReviewOf(Claim())));
}

TEST(Evaluator, AClusterThatNeedsItsNetworkPassesUntilCrossplaneComposesIt) {
  // The function asks for the XEnvironment and composes nothing without it:
  // nothing to refuse at admission. (What it can judge without, it does: a
  // Private endpoint with no management path is refused.)
  const Evaluator e(TheRegistry(), DefaultStepInput());
  const Json cluster = {{"apiVersion", "platform.terraforming.io/v1alpha1"},
                        {"kind", "Cluster"},
                        {"metadata", {{"name", "payments"}, {"namespace", "team-payments"}}},
                        {"spec",
                         {{"parameters",
                           {{"environment", "dev"},
                            {"region", "eu-west-1"},
                            {"team", "payments"},
                            {"endpointAccess", "PublicAndPrivate"},
                            {"nodePools", {{{"name", "general"}, {"instanceType", "m6i.large"}}}},
                            {"network", {{"environment", "payments-net"}}}}}}}};
  const Decision d = e.Validate(ReviewOf(cluster), ClusterView{});
  EXPECT_TRUE(d.allowed) << d.message;
  Json private_endpoint = cluster;
  private_endpoint["spec"]["parameters"].erase("endpointAccess");
  EXPECT_NE(e.Validate(ReviewOf(private_endpoint), ClusterView{}).message.find("managementPath"),
            std::string::npos);
}

TEST(Evaluator, DefaultsTheTeamFromTheNamespacesLabel) {
  const Evaluator e(TheRegistry(), DefaultStepInput());
  const Json ns = Namespace({{"platform.terraforming.io/team", "payments"}});
  const Decision d = e.Mutate(ReviewOf(Claim("dev", "")), ClusterView{nullptr, &ns});
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.patch, Json::parse(R"([{"op": "add", "path": "/spec/parameters/team",
                                     "value": "payments"}])"));
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_EQ(d.warnings[0],
            "spec.parameters.team: set to \"payments\" from label platform.terraforming.io/team "
            "of namespace team-payments");

  // Without spec.parameters, or without spec, the patch makes them.
  Json bare = Claim("dev", "");
  bare["spec"].erase("parameters");
  EXPECT_EQ(e.Mutate(ReviewOf(bare), ClusterView{nullptr, &ns}).patch[0]["path"],
            "/spec/parameters");
  bare.erase("spec");
  EXPECT_EQ(e.Mutate(ReviewOf(bare), ClusterView{nullptr, &ns}).patch[0]["path"], "/spec");
}

TEST(Evaluator, DefaultsTheClassFromTheNamespacesLabelToo) {
  const Evaluator e(TheRegistry(), DefaultStepInput());
  const Json ns = Namespace({{"platform.terraforming.io/team", "payments"},
                             {"platform.terraforming.io/environment", "test"}});
  Json claim = Claim("", "");
  claim["spec"]["parameters"].erase("environment");
  const Decision d = e.Mutate(ReviewOf(claim), ClusterView{nullptr, &ns});
  EXPECT_EQ(d.patch, Json::parse(R"([
      {"op": "add", "path": "/spec/parameters/environment", "value": "test"},
      {"op": "add", "path": "/spec/parameters/team", "value": "payments"}])"));
  ASSERT_EQ(d.warnings.size(), 2u);
  EXPECT_EQ(d.warnings[0],
            "spec.parameters.environment: set to \"test\" from label "
            "platform.terraforming.io/environment of namespace team-payments");
  // Both in one object when there is no spec.parameters yet.
  claim["spec"].erase("parameters");
  EXPECT_EQ(e.Mutate(ReviewOf(claim), ClusterView{nullptr, &ns}).patch,
            Json::parse(R"([{"op": "add", "path": "/spec/parameters",
                             "value": {"environment": "test", "team": "payments"}}])"));
  // A class of its own is kept.
  EXPECT_TRUE(e.Mutate(ReviewOf(Claim("prod", "web")), ClusterView{nullptr, &ns}).patch.empty());
}

TEST(Evaluator, DefaultsNothingElse) {
  const Evaluator e(TheRegistry(), DefaultStepInput());
  const Json ns = Namespace({{"platform.terraforming.io/team", "payments"}});
  // A team of its own is kept.
  EXPECT_TRUE(e.Mutate(ReviewOf(Claim("dev", "web")), ClusterView{nullptr, &ns}).patch.empty());
  // No label, no namespace known, a cluster-scoped XR, another kind: nothing.
  const Json unlabelled = Namespace(Json::object());
  EXPECT_TRUE(
      e.Mutate(ReviewOf(Claim("dev", "")), ClusterView{nullptr, &unlabelled}).patch.empty());
  EXPECT_TRUE(e.Mutate(ReviewOf(Claim("dev", "")), ClusterView{}).patch.empty());
  Json xr = Claim("dev", "");
  xr["kind"] = "XEnvironment";
  xr["metadata"].erase("namespace");
  EXPECT_TRUE(e.Mutate(ReviewOf(xr), ClusterView{nullptr, &ns}).patch.empty());
  // The label is a flag: empty turns the defaulting off.
  const Evaluator off(TheRegistry(), DefaultStepInput(),
                      EvaluatorOptions{.team_label = "", .class_label = ""});
  EXPECT_TRUE(off.Mutate(ReviewOf(Claim("dev", "")), ClusterView{nullptr, &ns}).patch.empty());
}

}  // namespace
}  // namespace platform::admission
