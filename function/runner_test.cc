// The Runner with small renderers defined here: dispatch by kind, the
// protocol obligations on every path, and that every error, malformed input
// or exception ends as exactly one FATAL result rather than a crash.
#include "function/runner.h"

#include <gmock/gmock.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "function/policy/policy.h"
#include "function/registry.h"
#include "function/sdk/request.h"
#include "function/sdk/response.h"
#include "function/sdk/status_macros.h"
#include "function/sdk/strings.h"
#include "function/sdk/struct_json.h"
#include "function/testing/proto_test_util.h"

namespace platform::fn {
namespace {

using ::platform::fn::testing::CaseName;
using ::platform::fn::testing::EqualsProto;
using ::platform::fn::testing::FromJson;
using ::platform::fn::testing::WireBytes;

using sdk::Json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

int CountSeverity(const pb::RunFunctionResponse& rsp, pb::Severity severity) {
  int n = 0;
  for (const pb::Result& r : rsp.results()) n += r.severity() == severity ? 1 : 0;
  return n;
}

// --- Test renderers -----------------------------------------------------------

class LambdaRenderer : public Renderer {
 public:
  using Fn = std::function<absl::Status(const sdk::Request&, sdk::Response&)>;
  explicit LambdaRenderer(Fn fn) : fn_(std::move(fn)) {}
  absl::Status Render(const sdk::Request& req, sdk::Response& rsp) const override {
    return fn_(req, rsp);
  }

 private:
  Fn fn_;
};

// Composes one bucket; announces it only until it is observed, marks it
// ready once observed Ready, and publishes its id in the XR's status.
absl::Status RenderBucket(const sdk::Request& req, sdk::Response& rsp) {
  const sdk::Fields xr = req.Composite();
  PLATFORM_ASSIGN_OR_RETURN(auto name, xr.String("metadata.name"));
  PLATFORM_ASSIGN_OR_RETURN(auto size, xr.Int("spec.size", 1));
  rsp.SetDesired("bucket",
                 Json{{"apiVersion", "s3.example.org/v1"},
                      {"kind", "Bucket"},
                      {"spec", {{"size", size}, {"owner", name}}}},
                 req.ObservedReady("bucket") ? pb::READY_TRUE : pb::READY_UNSPECIFIED);
  if (const sdk::Observed* o = req.ObservedResource("bucket")) {
    PLATFORM_ASSIGN_OR_RETURN(auto id, sdk::Fields(o->object).String("status.atProvider.id", ""));
    if (!id.empty()) PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("bucketId", id));
  } else {
    rsp.Normal("Created", sdk::Cat("creating a bucket of size ", size));
  }
  return absl::OkStatus();
}

// Copies the XR's spec into a composed resource.
absl::Status RenderEcho(const sdk::Request& req, sdk::Response& rsp) {
  const Json& xr = req.ObservedComposite();
  rsp.SetDesired("echo", Json{{"apiVersion", "example.org/v1"},
                              {"kind", "Echo"},
                              {"spec", xr.contains("spec") ? xr.at("spec") : Json::object()}});
  return absl::OkStatus();
}

Registry BuildTestRegistry() {
  Registry registry;
  Registry* r = &registry;
  {
    r->Add("XBucket", std::make_unique<LambdaRenderer>(RenderBucket));
    r->Add("XEcho", std::make_unique<LambdaRenderer>(RenderEcho));
    r->Add("XError", std::make_unique<LambdaRenderer>(
                         [](const sdk::Request&, sdk::Response& rsp) -> absl::Status {
                           rsp.SetDesired("half", Json{{"kind", "Half"}});
                           rsp.Normal("Created", "creating half of it");
                           return absl::InvalidArgumentError("spec.size: must be positive");
                         }));
    r->Add("XHugeError", std::make_unique<LambdaRenderer>([](const sdk::Request&,
                                                             sdk::Response&) -> absl::Status {
             return absl::InvalidArgumentError("spec.x: bad value " + std::string(8 << 20, 'e'));
           }));
    r->Add("XBigInt", std::make_unique<LambdaRenderer>([](const sdk::Request&,
                                                          sdk::Response& rsp) -> absl::Status {
             rsp.SetDesired("big", Json{{"spec", {{"x", sdk::kMaxExactInteger + 1}}}});
             rsp.Normal("Created", "creating big");
             return absl::OkStatus();
           }));
    r->Add("XThrow", std::make_unique<LambdaRenderer>(
                         [](const sdk::Request&, sdk::Response&) -> absl::Status {
                           throw std::runtime_error("renderer exploded");
                         }));
    r->Add("XThrowAfterWork", std::make_unique<LambdaRenderer>(
                                  [](const sdk::Request&, sdk::Response& rsp) -> absl::Status {
                                    rsp.SetDesired("partial", Json{{"kind", "Partial"}});
                                    EXPECT_TRUE(rsp.SetCompositeStatus("partial", true).ok());
                                    rsp.SetContext("partial", true);
                                    rsp.Normal("Created", "creating partial");
                                    throw std::logic_error("half way");
                                  }));
    r->Add("XThrowInt", std::make_unique<LambdaRenderer>(
                            [](const sdk::Request&, sdk::Response&) -> absl::Status { throw 42; }));
    r->Add("XBadAlloc", std::make_unique<LambdaRenderer>(
                            [](const sdk::Request&, sdk::Response&) -> absl::Status {
                              throw std::bad_alloc();
                            }));
  }
  return registry;
}

const Registry& TestRegistry() {
  static const Registry registry = BuildTestRegistry();
  return registry;
}

constexpr char kAllKinds[] =
    "XBadAlloc, XBigInt, XBucket, XEcho, XError, XHugeError, XThrow, XThrowAfterWork, XThrowInt";

// --- Pieces of requests and responses -----------------------------------------

std::string Observed(const std::string& xr, const std::string& resources = "") {
  std::string out = R"("observed": {"composite": {"resource": )" + xr + "}";
  if (!resources.empty()) out += R"(, "resources": )" + resources;
  return out + "}";
}

std::string Xr(const std::string& kind, const std::string& spec = "{}") {
  return R"({"apiVersion": "example.org/v1", "kind": ")" + kind +
         R"(", "metadata": {"name": "t"}, "spec": )" + spec + "}";
}

// What an earlier pipeline step left: the renderers here never touch it.
constexpr char kEarlierDesired[] = R"json("desired": {
  "composite": {"resource": {"apiVersion": "example.org/v1", "kind": "XBucket",
                             "status": {"earlier": true}},
                "connectionDetails": {"k": "dg=="}},
  "resources": {
    "other": {"resource": {"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"annotations": {"crossplane.io/external-name": "x"}},
                           "data": {"k": "v", "n": "1"}, "list": [1, 2.5, null, {"a": []}]},
              "connectionDetails": {"secret": "c2VjcmV0"},
              "ready": "READY_TRUE"}
  }})json";

constexpr char kContext[] =
    R"("context": {"apiextensions.crossplane.io/environment": {"region": "eu-west-1"}})";

std::string FatalResults(const std::string& message) {
  return R"("results": [{"severity": "SEVERITY_FATAL", "message": )" + Json(message).dump() +
         R"(, "reason": "ComposeResources", "target": "TARGET_COMPOSITE"}])";
}

// A response that only passes the earlier step's state through with a FATAL.
std::string FatalPassThrough(const std::string& message) {
  return std::string(R"({"meta": {"tag": "t", "ttl": "60s"}, )") + kEarlierDesired + ", " +
         kContext + ", " + FatalResults(message) + "}";
}

std::string WithEarlierState(const std::string& observed) {
  return std::string(R"({"meta": {"tag": "t"}, )") + observed + ", " + kEarlierDesired + ", " +
         kContext + "}";
}

// --- Whole request -> whole response ----------------------------------------------

struct RunCase {
  std::string name;
  std::string request;
  std::string want;
};

// Failure messages name the case rather than dumping its bytes.
void PrintTo(const RunCase& c, std::ostream* os) { *os << c.name; }

class RunnerTest : public ::testing::TestWithParam<RunCase> {};

TEST_P(RunnerTest, Run) {
  const RunCase& c = GetParam();
  pb::RunFunctionRequest req = FromJson<pb::RunFunctionRequest>(c.request);
  const Runner runner(TestRegistry());
  const pb::RunFunctionResponse got = runner.Run(req);
  EXPECT_TRUE(EqualsProto(FromJson<pb::RunFunctionResponse>(c.want), got));
  EXPECT_FALSE(got.has_requirements());
  EXPECT_LE(CountSeverity(got, pb::SEVERITY_FATAL), 1);
}

INSTANTIATE_TEST_SUITE_P(
    Runner, RunnerTest,
    ::testing::Values(
        RunCase{"AbsentMeta", "{" + Observed(Xr("XBucket", R"({"size": 2})")) + "}",
                R"({"meta": {"ttl": "60s"},
                    "desired": {"resources": {"bucket": {"resource": {
                      "apiVersion": "s3.example.org/v1", "kind": "Bucket",
                      "spec": {"size": 2, "owner": "t"}}}}},
                    "results": [{"severity": "SEVERITY_NORMAL", "reason": "Created",
                                 "message": "creating a bucket of size 2",
                                 "target": "TARGET_COMPOSITE"}]})"},
        RunCase{"FirstStepNoDesiredNoContext",
                R"({"meta": {"tag": "first"}, )" + Observed(Xr("XBucket")) + "}",
                R"({"meta": {"tag": "first", "ttl": "60s"},
                    "desired": {"resources": {"bucket": {"resource": {
                      "apiVersion": "s3.example.org/v1", "kind": "Bucket",
                      "spec": {"size": 1, "owner": "t"}}}}},
                    "results": [{"severity": "SEVERITY_NORMAL", "reason": "Created",
                                 "message": "creating a bucket of size 1",
                                 "target": "TARGET_COMPOSITE"}]})"},
        RunCase{"FirstStepStatusCreatesDesiredXr",
                R"({"meta": {"tag": "first"}, )" +
                    Observed(Xr("XBucket"), R"({"bucket": {"resource": {
                      "apiVersion": "s3.example.org/v1", "kind": "Bucket",
                      "status": {"atProvider": {"id": "b-1"}}}}})") +
                    R"(, "context": {}})",
                R"({"meta": {"tag": "first", "ttl": "60s"},
                    "desired": {
                      "composite": {"resource": {"status": {"bucketId": "b-1"}}},
                      "resources": {"bucket": {"resource": {
                        "apiVersion": "s3.example.org/v1", "kind": "Bucket",
                        "spec": {"size": 1, "owner": "t"}}}}},
                    "context": {}})"},
        RunCase{"SteadyStateNoResults",
                WithEarlierState(Observed(Xr("XBucket", R"({"size": 3})"), R"({"bucket": {
                  "resource": {"apiVersion": "s3.example.org/v1", "kind": "Bucket",
                               "spec": {"size": 3, "owner": "t"},
                               "status": {"atProvider": {"id": "b-1"},
                                          "conditions": [{"type": "Synced", "status": "True"},
                                                         {"type": "Ready", "status": "True"}]}}}})")),
                std::string(R"json({"meta": {"tag": "t", "ttl": "60s"},
                  "desired": {
                    "composite": {"resource": {"apiVersion": "example.org/v1", "kind": "XBucket",
                                               "status": {"earlier": true, "bucketId": "b-1"}},
                                  "connectionDetails": {"k": "dg=="}},
                    "resources": {
                      "other": {"resource": {"apiVersion": "v1", "kind": "ConfigMap",
                                             "metadata": {"annotations": {
                                               "crossplane.io/external-name": "x"}},
                                             "data": {"k": "v", "n": "1"},
                                             "list": [1, 2.5, null, {"a": []}]},
                                "connectionDetails": {"secret": "c2VjcmV0"},
                                "ready": "READY_TRUE"},
                      "bucket": {"resource": {"apiVersion": "s3.example.org/v1", "kind": "Bucket",
                                              "spec": {"size": 3, "owner": "t"}},
                                 "ready": "READY_TRUE"}}},
                  )json") +
                    kContext + "}"},
        RunCase{"UnknownKind", WithEarlierState(Observed(Xr("XNobody"))),
                FatalPassThrough(std::string("no renderer for XR kind XNobody (example.org/v1); "
                                             "this function renders ") +
                                 kAllKinds)},
        RunCase{"KindMatchIsExact", WithEarlierState(Observed(Xr("xbucket"))),
                FatalPassThrough(std::string("no renderer for XR kind xbucket (example.org/v1); "
                                             "this function renders ") +
                                 kAllKinds)},
        RunCase{"NoObservedXr", R"({"meta": {"tag": "t"}})",
                R"({"meta": {"tag": "t", "ttl": "60s"}, "desired": {}, )" +
                    FatalResults("observed.composite.resource.apiVersion: required") + "}"},
        RunCase{"MissingApiVersion",
                WithEarlierState(Observed(R"({"kind": "XBucket", "metadata": {"name": "t"}})")),
                FatalPassThrough("observed.composite.resource.apiVersion: required")},
        RunCase{"MissingKind",
                WithEarlierState(
                    Observed(R"({"apiVersion": "example.org/v1", "metadata": {"name": "t"}})")),
                FatalPassThrough("observed.composite.resource.kind: required")},
        RunCase{"NullKind",
                WithEarlierState(Observed(R"({"apiVersion": "example.org/v1", "kind": null})")),
                FatalPassThrough("observed.composite.resource.kind: required")},
        RunCase{
            "KindWrongType",
            WithEarlierState(Observed(R"({"apiVersion": "example.org/v1", "kind": 7})")),
            FatalPassThrough("observed.composite.resource.kind: must be a string, not an integer")},
        RunCase{"ApiVersionWrongType",
                WithEarlierState(Observed(R"({"apiVersion": ["v1"], "kind": "XBucket"})")),
                FatalPassThrough(
                    "observed.composite.resource.apiVersion: must be a string, not a list")},
        RunCase{"MetadataWrongType",
                WithEarlierState(Observed(
                    R"({"apiVersion": "example.org/v1", "kind": "XBucket", "metadata": "t"})")),
                FatalPassThrough("metadata: must be an object, not a string")},
        RunCase{"SpecWrongType", WithEarlierState(Observed(Xr("XBucket", R"("big")"))),
                FatalPassThrough("spec: must be an object, not a string")},
        RunCase{"SpecFieldWrongType",
                WithEarlierState(Observed(Xr("XBucket", R"({"size": "big"})"))),
                FatalPassThrough("spec.size: must be an integer, not a string")},
        RunCase{"SpecFieldFraction", WithEarlierState(Observed(Xr("XBucket", R"({"size": 2.5})"))),
                FatalPassThrough("spec.size: must be a whole number")},
        RunCase{"RendererErrorDropsItsWork", WithEarlierState(Observed(Xr("XError"))),
                FatalPassThrough("spec.size: must be positive")},
        RunCase{"ConversionErrorInFinish", WithEarlierState(Observed(Xr("XBigInt"))),
                FatalPassThrough("desired.resources[big].spec.x: integer 9007199254740993 is "
                                 "beyond 2^53 and cannot be sent exactly; use a string")},
        RunCase{"ThrowsStdException", WithEarlierState(Observed(Xr("XThrow"))),
                FatalPassThrough("internal error rendering XThrow t: renderer exploded")},
        RunCase{"ThrowsAfterWork", WithEarlierState(Observed(Xr("XThrowAfterWork"))),
                FatalPassThrough("internal error rendering XThrowAfterWork t: half way")},
        RunCase{"ThrowsBadAlloc", WithEarlierState(Observed(Xr("XBadAlloc"))),
                FatalPassThrough("internal error rendering XBadAlloc t: std::bad_alloc")},
        RunCase{"ThrowsNonStdException", WithEarlierState(Observed(Xr("XThrowInt"))),
                FatalPassThrough("internal error rendering XThrowInt t: unknown exception")},
        RunCase{"ThrowNamesNamespacedXr",
                WithEarlierState(Observed(
                    R"({"apiVersion": "example.org/v1", "kind": "XThrow",
                        "metadata": {"name": "t", "namespace": "team-a"}})")),
                FatalPassThrough("internal error rendering XThrow team-a/t: renderer exploded")}),
    CaseName<RunCase>);

// --- Single behaviours ---------------------------------------------------------

TEST(RunnerPassThrough, UntouchedDesiredResourcesAreByteIdentical) {
  pb::RunFunctionRequest req =
      FromJson<pb::RunFunctionRequest>(WithEarlierState(Observed(Xr("XBucket"))));
  const std::string other = WireBytes(req.desired().resources().at("other"));
  const std::string composite = WireBytes(req.desired().composite());
  const std::string context = WireBytes(req.context());

  const pb::RunFunctionResponse rsp = Runner(TestRegistry()).Run(req);
  ASSERT_EQ(CountSeverity(rsp, pb::SEVERITY_FATAL), 0) << rsp.DebugString();
  ASSERT_EQ(rsp.desired().resources().count("other"), 1u);
  EXPECT_EQ(WireBytes(rsp.desired().resources().at("other")), other);
  EXPECT_EQ(WireBytes(rsp.desired().composite()), composite);
  EXPECT_EQ(WireBytes(rsp.context()), context);
  EXPECT_EQ(rsp.desired().resources().count("bucket"), 1u);
}

TEST(RunnerOptions, Ttl) {
  const Runner runner(TestRegistry(), RunnerOptions{absl::Seconds(15)});
  pb::RunFunctionRequest ok = FromJson<pb::RunFunctionRequest>("{" + Observed(Xr("XBucket")) + "}");
  EXPECT_EQ(runner.Run(ok).meta().ttl().seconds(), 15);
  pb::RunFunctionRequest bad = FromJson<pb::RunFunctionRequest>("{" + Observed(Xr("XNo")) + "}");
  const pb::RunFunctionResponse rsp = runner.Run(bad);
  EXPECT_EQ(rsp.meta().ttl().seconds(), 15);
  EXPECT_EQ(CountSeverity(rsp, pb::SEVERITY_FATAL), 1);
}

TEST(RunnerOptions, InputResponseTtlOverridesTheDefault) {
  const Runner runner(TestRegistry(), RunnerOptions{absl::Seconds(15)});
  pb::RunFunctionRequest req = FromJson<pb::RunFunctionRequest>(
      R"({"input": {"apiVersion": "platform.fn.terraforming.io/v1beta1", "kind": "Input",
          "responseTTL": "2m30s"}, )" +
      Observed(Xr("XBucket")) + "}");
  const pb::RunFunctionResponse rsp = runner.Run(req);
  EXPECT_EQ(CountSeverity(rsp, pb::SEVERITY_FATAL), 0);
  EXPECT_EQ(rsp.meta().ttl().seconds(), 150);
}

struct BadTtlCase {
  std::string name;
  std::string value;  // JSON
  std::string message;
};

class RunnerBadTtlTest : public ::testing::TestWithParam<BadTtlCase> {};

TEST_P(RunnerBadTtlTest, IsFatalNamingTheField) {
  const Runner runner(TestRegistry(), RunnerOptions{absl::Seconds(15)});
  pb::RunFunctionRequest req =
      FromJson<pb::RunFunctionRequest>(R"({"meta": {"tag": "t"}, "input": {"responseTTL": )" +
                                       GetParam().value + "}, " + Observed(Xr("XBucket")) + "}");
  const pb::RunFunctionResponse rsp = runner.Run(req);
  ASSERT_EQ(rsp.results_size(), 1);
  EXPECT_EQ(rsp.results(0).severity(), pb::SEVERITY_FATAL);
  EXPECT_EQ(rsp.results(0).message(), GetParam().message);
  EXPECT_EQ(rsp.meta().tag(), "t");
  EXPECT_EQ(rsp.meta().ttl().seconds(), 15);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RunnerBadTtlTest,
    ::testing::Values(
        BadTtlCase{
            "NotADuration", R"("soon")",
            R"(input.responseTTL: must be a duration between 1s and 24h such as 60s, not "soon")"},
        BadTtlCase{
            "Negative", R"("-5s")",
            R"(input.responseTTL: must be a duration between 1s and 24h such as 60s, not "-5s")"},
        BadTtlCase{
            "SubSecond", R"("500ms")",
            R"(input.responseTTL: must be a duration between 1s and 24h such as 60s, not "500ms")"},
        BadTtlCase{
            "SubNanosecond", R"("0.25ns")",
            R"(input.responseTTL: must be a duration between 1s and 24h such as 60s, not "0.25ns")"},
        BadTtlCase{
            "TooLong", R"("25h")",
            R"(input.responseTTL: must be a duration between 1s and 24h such as 60s, not "25h")"},
        BadTtlCase{"Number", "60", "input.responseTTL: must be a string, not an integer"}),
    CaseName<BadTtlCase>);

TEST(RunnerUnknownKind, EmptyRegistrySaysSo) {
  const Registry registry;
  pb::RunFunctionRequest req = FromJson<pb::RunFunctionRequest>(
      "{" + Observed(R"({"apiVersion": "other.org/v2", "kind": "XBeta"})") + "}");
  const pb::RunFunctionResponse rsp = Runner(registry).Run(req);
  ASSERT_EQ(rsp.results_size(), 1);
  EXPECT_EQ(rsp.results(0).message(),
            "no renderer for XR kind XBeta (other.org/v2); this function renders no kinds");
}

TEST(RunnerUnknownKind, ListsRegisteredKinds) {
  Registry registry;
  registry.Add("XZeta", std::make_unique<LambdaRenderer>(RenderEcho));
  registry.Add("XAlpha", std::make_unique<LambdaRenderer>(RenderEcho));
  EXPECT_THAT(registry.Kinds(), ElementsAre("XAlpha", "XZeta"));
  EXPECT_EQ(registry.Find("XBeta"), nullptr);
  EXPECT_NE(registry.Find("XZeta"), nullptr);

  pb::RunFunctionRequest req = FromJson<pb::RunFunctionRequest>(
      R"({"meta": {"tag": "t"}, )" +
      Observed(R"({"apiVersion": "other.org/v2", "kind": "XBeta"})") + "}");
  const pb::RunFunctionResponse rsp = Runner(registry).Run(req);
  ASSERT_EQ(rsp.results_size(), 1);
  EXPECT_EQ(rsp.results(0).severity(), pb::SEVERITY_FATAL);
  EXPECT_EQ(rsp.results(0).message(),
            "no renderer for XR kind XBeta (other.org/v2); this function renders XAlpha, XZeta");
}

// A renderer that records what the Request view shows it.
struct Seen {
  bool advertises = false;
  bool required_resources = false;
  bool credentials = false;
  std::string tag;
  std::optional<std::vector<Json>> resolved_empty;
  std::optional<std::vector<Json>> unresolved;
  std::optional<std::vector<Json>> found;
  std::optional<std::vector<Json>> legacy;
  std::optional<std::map<std::string, std::string>> credential;
  std::optional<std::map<std::string, std::string>> no_credential;
  Json input;
  Json context;
  std::vector<std::string> observed_names;
};

pb::RunFunctionResponse RunProbe(const std::string& request, Seen& seen) {
  Registry registry;
  registry.Add("XProbe", std::make_unique<LambdaRenderer>([&seen](const sdk::Request& req,
                                                                  sdk::Response&) -> absl::Status {
                 seen.advertises = req.AdvertisesCapabilities();
                 seen.required_resources = req.HasCapability(pb::CAPABILITY_REQUIRED_RESOURCES);
                 seen.credentials = req.HasCapability(pb::CAPABILITY_CREDENTIALS);
                 seen.tag = req.Tag();
                 seen.resolved_empty = req.RequiredResources("nothing-matched");
                 seen.unresolved = req.RequiredResources("not-asked-yet");
                 seen.found = req.RequiredResources("defaults");
                 seen.legacy = req.RequiredResources("legacy");
                 seen.credential = req.Credential("aws");
                 seen.no_credential = req.Credential("gcp");
                 seen.input = req.Input();
                 seen.context = req.Context();
                 seen.observed_names = req.ObservedResourceNames();
                 return absl::OkStatus();
               }));
  pb::RunFunctionRequest req = FromJson<pb::RunFunctionRequest>(request);
  return Runner(registry).Run(req);
}

const std::string kProbeXr = Observed(R"({"apiVersion": "example.org/v1", "kind": "XProbe"})");

TEST(RunnerRequestView, AbsentMetaContextInput) {
  Seen seen;
  const pb::RunFunctionResponse rsp = RunProbe("{" + kProbeXr + "}", seen);
  EXPECT_EQ(rsp.results_size(), 0) << rsp.DebugString();
  EXPECT_FALSE(seen.advertises);
  EXPECT_FALSE(seen.required_resources);
  EXPECT_EQ(seen.tag, "");
  EXPECT_EQ(seen.input, Json::object());
  EXPECT_EQ(seen.context, Json::object());
  EXPECT_FALSE(seen.unresolved.has_value());
  EXPECT_FALSE(seen.resolved_empty.has_value());
  EXPECT_FALSE(seen.credential.has_value());
  EXPECT_TRUE(seen.observed_names.empty());
  EXPECT_FALSE(rsp.has_context());
  EXPECT_FALSE(rsp.has_requirements());
}

TEST(RunnerRequestView, CapabilitiesAbsentFromMeta) {
  // A Crossplane before v2.2 sends meta with a tag and no capabilities.
  Seen seen;
  RunProbe(R"({"meta": {"tag": "abc"}, )" + kProbeXr + "}", seen);
  EXPECT_FALSE(seen.advertises);
  EXPECT_FALSE(seen.required_resources);
  EXPECT_EQ(seen.tag, "abc");
}

TEST(RunnerRequestView, CapabilitiesAdvertised) {
  Seen seen;
  RunProbe(R"({"meta": {"tag": "abc", "capabilities": ["CAPABILITY_CAPABILITIES",
                                                       "CAPABILITY_REQUIRED_RESOURCES"]}, )" +
               kProbeXr + "}",
           seen);
  EXPECT_TRUE(seen.advertises);
  EXPECT_TRUE(seen.required_resources);
  EXPECT_FALSE(seen.credentials);
}

TEST(RunnerRequestView, RequiredResourcesCredentialsInputContext) {
  Seen seen;
  const pb::RunFunctionResponse rsp = RunProbe(R"json({
    "meta": {"tag": "t"},
    "observed": {"composite": {"resource": {"apiVersion": "example.org/v1", "kind": "XProbe"}},
                 "resources": {"b": {"resource": {"kind": "B"}}, "a": {"resource": {"kind": "A"}}}},
    "input": {"apiVersion": "fn.example.org/v1", "kind": "Input", "n": 2},
    "context": {"k": "v"},
    "requiredResources": {
      "nothing-matched": {},
      "defaults": {"items": [{"resource": {"apiVersion": "v1", "kind": "ConfigMap",
                                           "data": {"cidr": "10.0.0.0/8"}}}]}
    },
    "extraResources": {"legacy": {"items": [{"resource": {"kind": "Old"}}]}},
    "credentials": {"aws": {"credentialData": {"data": {"key": "c2VjcmV0"}}}}
  })json",
                                               seen);
  EXPECT_EQ(rsp.results_size(), 0) << rsp.DebugString();
  // Resolved but empty is an empty list, not "unresolved".
  ASSERT_TRUE(seen.resolved_empty.has_value());
  EXPECT_TRUE(seen.resolved_empty->empty());
  EXPECT_FALSE(seen.unresolved.has_value());
  ASSERT_TRUE(seen.found.has_value());
  ASSERT_EQ(seen.found->size(), 1u);
  EXPECT_EQ((*seen.found)[0].dump(),
            R"({"apiVersion":"v1","data":{"cidr":"10.0.0.0/8"},"kind":"ConfigMap"})");
  // The deprecated field still answers for Crossplane before v2.0.
  ASSERT_TRUE(seen.legacy.has_value());
  ASSERT_EQ(seen.legacy->size(), 1u);
  EXPECT_EQ((*seen.legacy)[0].dump(), R"({"kind":"Old"})");
  ASSERT_TRUE(seen.credential.has_value());
  EXPECT_EQ(seen.credential->at("key"), "secret");
  EXPECT_FALSE(seen.no_credential.has_value());
  EXPECT_EQ(seen.input.dump(), R"({"apiVersion":"fn.example.org/v1","kind":"Input","n":2})");
  EXPECT_EQ(seen.context.dump(), R"({"k":"v"})");
  EXPECT_THAT(seen.observed_names, ElementsAre("a", "b"));
  // The context still passes through.
  EXPECT_TRUE(EqualsProto(FromJson<google::protobuf::Struct>(R"({"k": "v"})"), rsp.context()));
}

// --- Malformed and hostile input --------------------------------------------------

// A Struct nested `depth` levels deep under key "d", with a leaf at the bottom.
google::protobuf::Struct Nested(int depth) {
  google::protobuf::Struct root;
  google::protobuf::Struct* cur = &root;
  for (int i = 0; i < depth; ++i) cur = (*cur->mutable_fields())["d"].mutable_struct_value();
  (*cur->mutable_fields())["leaf"].set_string_value("bottom");
  auto* list = (*cur->mutable_fields())["list"].mutable_list_value();
  list->add_values()->set_number_value(1);
  list->add_values()->set_number_value(0.5);
  return root;
}

TEST(RunnerMalformed, DeepNesting) {
  constexpr int kDepth = 90;
  pb::RunFunctionRequest req = FromJson<pb::RunFunctionRequest>(R"({"meta": {"tag": "deep"}, )" +
                                                                Observed(Xr("XEcho")) + "}");
  auto* xr = req.mutable_observed()->mutable_composite()->mutable_resource();
  *(*xr->mutable_fields())["spec"].mutable_struct_value() = Nested(kDepth);
  // An earlier step's deep resource and a deep context pass through too.
  *(*req.mutable_desired()->mutable_resources())["deep"].mutable_resource() = Nested(kDepth);
  *req.mutable_context() = Nested(kDepth);
  const pb::RunFunctionRequest original = req;

  const pb::RunFunctionResponse rsp = Runner(TestRegistry()).Run(req);
  ASSERT_EQ(rsp.results_size(), 0) << rsp.results(0).message();
  EXPECT_EQ(rsp.meta().tag(), "deep");
  ASSERT_EQ(rsp.desired().resources().count("echo"), 1u);
  EXPECT_TRUE(EqualsProto(
      original.observed().composite().resource().fields().at("spec").struct_value(),
      rsp.desired().resources().at("echo").resource().fields().at("spec").struct_value()));
  EXPECT_EQ(WireBytes(rsp.desired().resources().at("deep")),
            WireBytes(original.desired().resources().at("deep")));
  EXPECT_EQ(WireBytes(rsp.context()), WireBytes(original.context()));
}

TEST(RunnerMalformed, DeepNestingInAFieldTheRendererReads) {
  pb::RunFunctionRequest req =
      FromJson<pb::RunFunctionRequest>(WithEarlierState(Observed(Xr("XBucket"))));
  auto* spec =
      (*req.mutable_observed()->mutable_composite()->mutable_resource()->mutable_fields())["spec"]
          .mutable_struct_value();
  *(*spec->mutable_fields())["size"].mutable_struct_value() = Nested(90);
  const pb::RunFunctionResponse rsp = Runner(TestRegistry()).Run(req);
  EXPECT_TRUE(EqualsProto(FromJson<pb::RunFunctionResponse>(
                              FatalPassThrough("spec.size: must be an integer, not an object")),
                          rsp));
}

constexpr std::size_t k8MiB = std::size_t{8} << 20;

TEST(RunnerMalformed, HugeStringPassesThrough) {
  pb::RunFunctionRequest req = FromJson<pb::RunFunctionRequest>(R"({"meta": {"tag": "huge"}, )" +
                                                                Observed(Xr("XEcho")) + "}");
  auto* xr = req.mutable_observed()->mutable_composite()->mutable_resource();
  (*(*xr->mutable_fields())["spec"].mutable_struct_value()->mutable_fields())["payload"]
      .set_string_value(std::string(k8MiB, 'p'));
  (*(*req.mutable_desired()->mutable_resources())["blob"]
        .mutable_resource()
        ->mutable_fields())["data"]
      .set_string_value(std::string(k8MiB, 'b'));

  const pb::RunFunctionResponse rsp = Runner(TestRegistry()).Run(req);
  ASSERT_EQ(rsp.results_size(), 0) << rsp.results(0).message().substr(0, 200);
  EXPECT_EQ(rsp.desired()
                .resources()
                .at("echo")
                .resource()
                .fields()
                .at("spec")
                .struct_value()
                .fields()
                .at("payload")
                .string_value()
                .size(),
            k8MiB);
  EXPECT_EQ(rsp.desired().resources().at("blob").resource().fields().at("data").string_value(),
            std::string(k8MiB, 'b'));
}

// Huge values from the request end up in FATAL messages cut to a size that
// fits an event and a condition; the response still passes everything through.
struct HugeCase {
  std::string name;
  std::function<void(google::protobuf::Struct& xr)> mutate;
  std::string want_prefix;
  std::size_t max_message;
};

// Failure messages name the case rather than dumping its bytes.
void PrintTo(const HugeCase& c, std::ostream* os) { *os << c.name; }

class RunnerHugeTest : public ::testing::TestWithParam<HugeCase> {};

TEST_P(RunnerHugeTest, FatalMessageIsBounded) {
  const HugeCase& c = GetParam();
  pb::RunFunctionRequest req =
      FromJson<pb::RunFunctionRequest>(WithEarlierState(Observed(Xr("XBucket"))));
  c.mutate(*req.mutable_observed()->mutable_composite()->mutable_resource());
  const pb::RunFunctionRequest original = req;

  const pb::RunFunctionResponse rsp = Runner(TestRegistry()).Run(req);
  ASSERT_EQ(rsp.results_size(), 1);
  const pb::Result& r = rsp.results(0);
  EXPECT_EQ(r.severity(), pb::SEVERITY_FATAL);
  EXPECT_THAT(r.message(), StartsWith(c.want_prefix));
  EXPECT_LE(r.message().size(), c.max_message);
  EXPECT_THAT(r.message(), HasSubstr("(truncated, "));
  EXPECT_EQ(rsp.meta().tag(), "t");
  EXPECT_TRUE(EqualsProto(original.desired(), rsp.desired()));
  EXPECT_TRUE(EqualsProto(original.context(), rsp.context()));
}

void SetField(google::protobuf::Struct& s, const std::string& key, std::string value) {
  (*s.mutable_fields())[key].set_string_value(std::move(value));
}

INSTANTIATE_TEST_SUITE_P(
    Runner, RunnerHugeTest,
    ::testing::Values(HugeCase{"Kind",
                               [](google::protobuf::Struct& xr) {
                                 SetField(xr, "kind", std::string(k8MiB, 'K'));
                               },
                               "no renderer for XR kind KKKK", 1024},
                      HugeCase{"ApiVersion",
                               [](google::protobuf::Struct& xr) {
                                 SetField(xr, "kind", "XNobody");
                                 SetField(xr, "apiVersion", std::string(k8MiB, 'v'));
                               },
                               "no renderer for XR kind XNobody (vvvv", 1024},
                      HugeCase{"NameInException",
                               [](google::protobuf::Struct& xr) {
                                 SetField(xr, "kind", "XThrow");
                                 auto* md =
                                     (*xr.mutable_fields())["metadata"].mutable_struct_value();
                                 SetField(*md, "name", std::string(k8MiB, 'n'));
                               },
                               "internal error rendering XThrow nnnn", 1024},
                      HugeCase{
                          "RendererError",
                          [](google::protobuf::Struct& xr) { SetField(xr, "kind", "XHugeError"); },
                          "spec.x: bad value eeee", 4200},
                      HugeCase{"MultiByteCharacters",
                               [](google::protobuf::Struct& xr) {
                                 std::string s;
                                 for (std::size_t i = 0; i < k8MiB / 3; ++i)
                                   s += "\xe2\x82\xac";  // the euro sign
                                 SetField(xr, "kind", s);
                               },
                               "no renderer for XR kind \xe2\x82\xac", 1024}),
    CaseName<HugeCase>);

// True when `s` is well-formed UTF-8 (no check for overlong forms needed here).
bool IsUtf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    if (c < 0x80) {
      n = 0;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n + 1;
  }
  return true;
}

TEST(RunnerMalformed, TruncationKeepsUtf8Valid) {
  ASSERT_TRUE(IsUtf8("a\xe2\x82\xac"));
  ASSERT_FALSE(IsUtf8("a\xe2\x82"));
  ASSERT_FALSE(IsUtf8("a\x82"));
  // Two- and three-byte characters, so that some cut lands inside one.
  for (const std::string unit : {"\xc3\xa9", "\xe2\x82\xac", "x\xe2\x82\xac"}) {
    SCOPED_TRACE(unit.size());
    pb::RunFunctionRequest req = FromJson<pb::RunFunctionRequest>("{" + Observed(Xr("X")) + "}");
    std::string kind;
    while (kind.size() < 1000) kind += unit;
    (*req.mutable_observed()->mutable_composite()->mutable_resource()->mutable_fields())["kind"]
        .set_string_value(kind);
    const pb::RunFunctionResponse rsp = Runner(TestRegistry()).Run(req);
    ASSERT_EQ(rsp.results_size(), 1);
    EXPECT_THAT(rsp.results(0).message(), HasSubstr("(truncated, "));
    EXPECT_TRUE(IsUtf8(rsp.results(0).message()));
    // Crossplane's decoder refuses a string field that is not UTF-8.
    std::string wire;
    ASSERT_TRUE(rsp.SerializeToString(&wire));
    pb::RunFunctionResponse back;
    EXPECT_TRUE(back.ParseFromString(wire));
  }
}

// --- Policy violations -------------------------------------------------------------

// Renderers that fail with a policy violation after doing some work, which
// the FATAL response drops.
const Registry& ViolationRegistry() {
  static const Registry registry = [] {
    Registry r;
    auto violating = [](absl::Status violation) {
      return std::make_unique<LambdaRenderer>(
          [violation](const sdk::Request&, sdk::Response& rsp) -> absl::Status {
            rsp.SetDesired("half", Json{{"kind", "Half"}});
            EXPECT_TRUE(rsp.SetCondition("Other", pb::STATUS_CONDITION_TRUE, "Fine").ok());
            return violation;
          });
    };
    r.Add("XDenied", violating(policy::Violation(
                         absl::StatusCode::kPermissionDenied, policy::kConditionAuthorized,
                         policy::kReasonDenied,
                         "team \"web\" may not create prod XDenieds in us-east-1: rule \"web\" "
                         "allows classes dev in any region")));
    r.Add("XTooBig", violating(policy::FieldViolation("spec.parameters.zoneCount",
                                                      "dev allows at most 2 zones, not 3")));
    r.Add("XHugeViolation", violating(policy::FieldViolation(
                                "spec.parameters.x", "bad value " + std::string(1 << 20, 'e'))));
    r.Add("XReservedCondition", violating(policy::Violation(absl::StatusCode::kFailedPrecondition,
                                                            "Ready", "NotReady", "spec.x: nope")));
    r.Add("XPlainError", violating(absl::FailedPreconditionError("spec.x: not a violation")));
    return r;
  }();
  return registry;
}

std::string ConditionJson(const std::string& type, const std::string& reason,
                          const std::string& message) {
  return R"({"type": ")" + type + R"(", "status": "STATUS_CONDITION_FALSE", "reason": ")" + reason +
         R"(", "message": )" + Json(message).dump() +
         R"(, "target": "TARGET_COMPOSITE_AND_CLAIM"})";
}

// FatalPassThrough plus conditions.
std::string FatalWithConditions(const std::string& message, const std::string& conditions) {
  std::string out = FatalPassThrough(message);
  out.pop_back();
  return out + R"(, "conditions": [)" + conditions + "]}";
}

class RunnerPolicyViolationTest : public ::testing::TestWithParam<RunCase> {};

TEST_P(RunnerPolicyViolationTest, FatalWithCondition) {
  const RunCase& c = GetParam();
  pb::RunFunctionRequest req = FromJson<pb::RunFunctionRequest>(c.request);
  const pb::RunFunctionResponse got = Runner(ViolationRegistry()).Run(req);
  EXPECT_TRUE(EqualsProto(FromJson<pb::RunFunctionResponse>(c.want), got));
}

const std::string kDenied =
    "team \"web\" may not create prod XDenieds in us-east-1: rule \"web\" allows classes dev in "
    "any region";

INSTANTIATE_TEST_SUITE_P(
    Runner, RunnerPolicyViolationTest,
    ::testing::Values(
        RunCase{"Denied", WithEarlierState(Observed(Xr("XDenied"))),
                FatalWithConditions(kDenied, ConditionJson("Authorized", "Denied", kDenied))},
        RunCase{"LimitBroken", WithEarlierState(Observed(Xr("XTooBig"))),
                FatalWithConditions(
                    "spec.parameters.zoneCount: dev allows at most 2 zones, not 3",
                    ConditionJson("PolicyCompliant", "PolicyViolation",
                                  "spec.parameters.zoneCount: dev allows at most 2 zones, not 3"))},
        // Crossplane's own condition types cannot be set: the FATAL says why
        // the condition is missing.
        RunCase{"ReservedConditionTypeLeftOut",
                WithEarlierState(Observed(Xr("XReservedCondition"))),
                FatalPassThrough("spec.x: nope (condition left out: condition type Ready is "
                                 "reserved for Crossplane)")},
        RunCase{"PlainErrorHasNoCondition", WithEarlierState(Observed(Xr("XPlainError"))),
                FatalPassThrough("spec.x: not a violation")}),
    CaseName<RunCase>);

TEST(RunnerPolicyViolation, ConditionMessageIsBoundedLikeTheResult) {
  pb::RunFunctionRequest req =
      FromJson<pb::RunFunctionRequest>(WithEarlierState(Observed(Xr("XHugeViolation"))));
  const pb::RunFunctionResponse rsp = Runner(ViolationRegistry()).Run(req);
  ASSERT_EQ(rsp.results_size(), 1);
  ASSERT_EQ(rsp.conditions_size(), 1);
  const pb::Condition& c = rsp.conditions(0);
  EXPECT_EQ(c.type(), "PolicyCompliant");
  EXPECT_EQ(c.status(), pb::STATUS_CONDITION_FALSE);
  EXPECT_EQ(c.target(), pb::TARGET_COMPOSITE_AND_CLAIM);
  EXPECT_THAT(c.message(), StartsWith("spec.parameters.x: bad value eeee"));
  EXPECT_THAT(c.message(), HasSubstr("(truncated, "));
  EXPECT_LE(c.message().size(), 4200u);
  EXPECT_EQ(c.message(), rsp.results(0).message());
}

// --- Threads ------------------------------------------------------------------------

TEST(RunnerThreads, ConcurrentCallsAgree) {
  const Runner runner(TestRegistry());
  const std::string request = WithEarlierState(Observed(Xr("XBucket", R"({"size": 4})")));
  pb::RunFunctionRequest first = FromJson<pb::RunFunctionRequest>(request);
  const std::string want = WireBytes(runner.Run(first));

  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        pb::RunFunctionRequest req;
        if (!google::protobuf::util::JsonStringToMessage(request, &req).ok() ||
            WireBytes(runner.Run(req)) != want) {
          ++mismatches[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_THAT(mismatches, ElementsAre(0, 0, 0, 0));
}

}  // namespace
}  // namespace platform::fn
