// The platform contract on its own, through a kind that exists only here:
// XQueue, one SQS queue. It is what docs/architecture.md shows a new kind to
// be: a params reader and a composer; everything else comes from
// PlatformRenderer.
#include "function/compose/platform.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "function/compose/aws_resources.h"
#include "function/registry.h"
#include "function/runner.h"
#include "function/sdk/status_macros.h"
#include "function/sdk/strings.h"
#include "function/testing/render_test_util.h"
#include "function/testing/rendered.h"

namespace platform::fn::compose {
namespace {

using TestCall = ::platform::fn::testing::Call;
using ::platform::fn::testing::PolicyInput;
using ::platform::fn::testing::Rendered;
using ::platform::fn::testing::RequestOf;
using ::platform::fn::testing::With;
using ::platform::fn::testing::XrOf;
using sdk::Json;
using ::testing::ElementsAre;

// --- The kind: one folder's worth -------------------------------------------------

struct QueueParams {
  std::string name;
  std::int64_t retention_seconds = 0;
  std::string environment;  // network.environment, or ""
};

class XQueue : public PlatformRenderer {
 public:
  XQueue() : PlatformRenderer({.noun = "queue", .plural = "queues"}) {}

 protected:
  absl::StatusOr<Composed> Compose(const Xr& xr, RenderContext& call) const override {
    QueueParams p;
    p.name = xr.subject.xr_name;
    PLATFORM_ASSIGN_OR_RETURN(p.retention_seconds, xr.params.Int("retentionSeconds", 345600));
    if (p.retention_seconds < 60) {
      return sdk::FieldError(sdk::JoinPath(xr.params.path(), "retentionSeconds"),
                             "must be at least 60");
    }
    PLATFORM_ASSIGN_OR_RETURN(p.environment, xr.params.String("network.environment", ""));
    if (!p.environment.empty()) {
      PLATFORM_ASSIGN_OR_RETURN(std::optional<EnvironmentNetwork> network,
                                call.Network(p.environment, {{.field = "vpcId"}}));
      if (!network) return Composed::WaitingForNetwork();
    }
    const Json tags = call.Tags();
    AwsResources aws(xr.scope, xr.subject.region, tags, call.composer());
    aws.Add("queue", {"sqs", "Queue", "v1beta1"},
            {{"name", p.name}, {"messageRetentionSeconds", p.retention_seconds}});
    Composed composed;
    composed.announcement = sdk::Cat("the queue ", p.name);
    return composed;
  }
};

// --- Calling it ----------------------------------------------------------------------

Rendered RunQueue(const TestCall& c) {
  static const Registry* const registry = [] {
    auto* r = new Registry();
    r->Add("XQueue", std::make_unique<XQueue>());
    return r;
  }();
  pb::RunFunctionRequest req = RequestOf(c);
  return Rendered(Runner(*registry).Run(req));
}

Json Params() { return {{"environment", "dev"}, {"region", "eu-west-1"}, {"team", "payments"}}; }
Json Xr(const Json& params) { return XrOf("XQueue", "orders", params, "", "team-payments"); }

const pb::Condition* Condition(const Rendered& r, std::string_view type) {
  for (const pb::Condition& c : r.proto().conditions()) {
    if (c.type() == type) return &c;
  }
  return nullptr;
}

// --- The contract ----------------------------------------------------------------------

TEST(PlatformContract, ANewKindIsAParamsReaderAndAComposer) {
  const Rendered r = RunQueue(TestCall{.xr = Xr(Params())});
  ASSERT_EQ(r.Fatal(), "");
  EXPECT_EQ(r.Get("queue", "apiVersion"), "sqs.aws.upbound.io/v1beta1");
  EXPECT_EQ(r.Get("queue", "spec.forProvider.region"), "eu-west-1");
  EXPECT_EQ(r.Get("queue", "metadata.labels[platform.terraforming.io/resource]"), "queue");
  // The mandated tags, without the kind asking for them.
  EXPECT_EQ(r.Get("queue", "spec.forProvider.tags[platform.terraforming.io/team]"), "payments");
  EXPECT_EQ(r.Get("queue", "spec.forProvider.tags[platform.terraforming.io/composite]"), "orders");
  // Not ready until observed Ready, explicitly.
  EXPECT_EQ(r.Ready("queue"), pb::READY_FALSE);
  // The policy conditions and the announcement of what is new.
  ASSERT_NE(Condition(r, "Authorized"), nullptr);
  EXPECT_EQ(Condition(r, "Authorized")->status(), pb::STATUS_CONDITION_TRUE);
  ASSERT_NE(Condition(r, "PolicyCompliant"), nullptr);
  EXPECT_EQ(Condition(r, "PolicyCompliant")->reason(), "Compliant");
  EXPECT_THAT(r.Normal(), ElementsAre("creating 1 resources for the queue orders"));
}

// The account, named on every AWS managed resource without the kind asking:
// the default ProviderConfig, or the one the policy maps the class to; a
// namespaced XR's resources name a ClusterProviderConfig.
TEST(PlatformContract, EveryManagedResourceNamesTheAccount) {
  EXPECT_EQ(RunQueue(TestCall{.xr = Xr(Params())}).Get("queue", "spec.providerConfigRef"),
            Json({{"name", "default"}}));
  const Json input =
      PolicyInput({{"classes", {{"dev", {{"account", {{"providerConfig", "dev"}}}}}}}});
  EXPECT_EQ(
      RunQueue(TestCall{.xr = Xr(Params()), .input = input}).Get("queue", "spec.providerConfigRef"),
      Json({{"name", "dev"}}));
  const Json namespaced = XrOf("XQueue", "orders", Params(), "team-payments");
  EXPECT_EQ(
      RunQueue(TestCall{.xr = namespaced, .input = input}).Get("queue", "spec.providerConfigRef"),
      Json({{"kind", "ClusterProviderConfig"}, {"name", "dev"}}));
}

// AWS's 50 tags per resource, the platform's own included: refused whole,
// nothing composed.
TEST(PlatformContract, MoreTagsThanAwsAllowsAreRefused) {
  Json tags = Json::object();
  for (int i = 0; i < 2000; ++i) tags[sdk::Cat("tag-", i)] = "v";
  const Rendered r = RunQueue(TestCall{.xr = Xr(With(Params(), {{"tags", tags}}))});
  EXPECT_EQ(r.Fatal(),
            "spec.parameters.tags: 2000 tags here and 4 mandated by the platform make 2004 on "
            "every resource; AWS allows 50 per resource, so at most 46 can be set here");
  EXPECT_EQ(r.proto().desired().resources_size(), 0);
}

TEST(PlatformContract, NothingNewIsNotAnnouncedAndObservedReadyIsReady) {
  const Json observed = {{"status", {{"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}};
  const Rendered r = RunQueue(TestCall{.xr = Xr(Params()), .observed = {{"queue", observed}}});
  ASSERT_EQ(r.Fatal(), "");
  EXPECT_EQ(r.Ready("queue"), pb::READY_TRUE);
  EXPECT_THAT(r.Normal(), ::testing::IsEmpty());
}

TEST(PlatformContract, ResourcesThatGoAreAnnounced) {
  const Rendered r = RunQueue(TestCall{
      .xr = Xr(Params()), .observed = {{"queue", Json::object()}, {"old", Json::object()}}});
  EXPECT_THAT(r.Normal(), ElementsAre(::testing::HasSubstr("old")));
}

TEST(PlatformContract, TheKindsOwnErrorsNameTheField) {
  const Rendered r = RunQueue(TestCall{.xr = Xr(With(Params(), {{"retentionSeconds", 5}}))});
  EXPECT_EQ(r.Fatal(), "spec.parameters.retentionSeconds: must be at least 60");
}

TEST(PlatformContract, TheRegionIsCheckedForEveryKind) {
  EXPECT_THAT(RunQueue(TestCall{.xr = Xr(With(Params(), {{"region", "mars-north-1"}}))}).Fatal(),
              ::testing::StartsWith("spec.parameters.region: unknown AWS region \"mars-north-1\""));
  const Json input = PolicyInput({{"classes", {{"dev", {{"allowedRegions", {"us-east-1"}}}}}}});
  const Rendered r = RunQueue(TestCall{.xr = Xr(Params()), .input = input});
  EXPECT_EQ(r.Fatal(), "spec.parameters.region: dev queues may only use us-east-1");
  ASSERT_NE(Condition(r, "PolicyCompliant"), nullptr);
  EXPECT_EQ(Condition(r, "PolicyCompliant")->status(), pb::STATUS_CONDITION_FALSE);
}

TEST(PlatformContract, AuthorizationComesBeforeTheKindReadsAnything) {
  const Json input = PolicyInput(
      {{"authorization", {{{"name", "web"}, {"teams", {"web"}}, {"classes", {"dev"}}}}}});
  const Rendered r =
      RunQueue(TestCall{.xr = Xr(With(Params(), {{"retentionSeconds", 5}})), .input = input});
  EXPECT_THAT(r.Fatal(), ::testing::StartsWith("team \"payments\" (namespace \"team-payments\") "
                                               "may not create dev XQueues"));
  EXPECT_EQ(r.proto().desired().resources_size(), 0);
}

TEST(PlatformContract, WaitingForTheNetworkComposesNothingAndSaysWhy) {
  const Rendered r =
      RunQueue(TestCall{.xr = Xr(With(Params(), {{"network", {{"environment", "payments"}}}}))});
  ASSERT_EQ(r.Fatal(), "");
  EXPECT_EQ(r.proto().desired().resources_size(), 0);
  EXPECT_EQ(r.CompositeReady(), pb::READY_FALSE);
  const pb::Condition* network = Condition(r, "NetworkReady");
  ASSERT_NE(network, nullptr);
  EXPECT_EQ(network->status(), pb::STATUS_CONDITION_FALSE);
  EXPECT_EQ(network->message(),
            "waiting for Crossplane to provide Environment claim \"payments\" in namespace "
            "\"team-payments\"");
  // The policy step is skipped while waiting.
  EXPECT_EQ(Condition(r, "PolicyCompliant"), nullptr);
}

TEST(PlatformContract, TheNetworkOnceKnownIsReady) {
  const Json environment = {
      {"apiVersion", "platform.terraforming.io/v1alpha1"},
      {"kind", "XEnvironment"},
      {"metadata", {{"name", "payments-x1"}}},
      {"spec", {{"parameters", {{"environment", "dev"}, {"region", "eu-west-1"}}}}},
      {"status", {{"vpcId", "vpc-0abc"}}}};
  const Rendered r =
      RunQueue(TestCall{.xr = Xr(With(Params(), {{"network", {{"environment", "payments"}}}})),
                        .required = {{"network-environment", Json::array({environment})}}});
  ASSERT_EQ(r.Fatal(), "");
  EXPECT_TRUE(r.Has("queue"));
  ASSERT_NE(Condition(r, "NetworkReady"), nullptr);
  EXPECT_EQ(Condition(r, "NetworkReady")->reason(), "NetworkFound");
}

}  // namespace
}  // namespace platform::fn::compose
