// Helpers for renderer tests: one RunFunction call through the Runner with
// the built-in renderers, described as JSON (the XR, observed resources,
// step input, answered requirements, earlier steps' state and context).
#ifndef PLATFORM_FUNCTION_TESTING_RENDER_TEST_UTIL_H_
#define PLATFORM_FUNCTION_TESTING_RENDER_TEST_UTIL_H_

#include "function/registry.h"
#include "function/renderers/builtin.h"
#include "function/runner.h"
#include "function/sdk/deferred.h"
#include "function/sdk/proto.h"
#include "function/sdk/struct_json.h"
#include "function/testing/proto_test_util.h"

namespace platform::fn::testing {

struct Call {
  sdk::Json xr;
  // Observed composed resources by composition resource name.
  sdk::Json observed = sdk::Json::object();
  // The step input; none when null.
  sdk::Json input = nullptr;
  // Answers to requirements: key -> list of objects (an empty list: asked,
  // nothing found). None when null.
  sdk::Json required = nullptr;
  // What earlier steps left (proto JSON of State) and the context.
  sdk::Json desired = nullptr;
  sdk::Json context = nullptr;
};

// The request for `c`, with tag "tag-1" and the capabilities Crossplane v2.2
// advertises for required resources.
inline pb::RunFunctionRequest RequestOf(const Call& c) {
  sdk::Json req = {
      {"meta",
       {{"tag", "tag-1"},
        {"capabilities", {"CAPABILITY_CAPABILITIES", "CAPABILITY_REQUIRED_RESOURCES"}}}},
      {"observed", {{"composite", {{"resource", c.xr}}}}}};
  for (auto it = c.observed.begin(); it != c.observed.end(); ++it) {
    req["observed"]["resources"][it.key()] = {{"resource", it.value()}};
  }
  if (!c.input.is_null()) req["input"] = c.input;
  if (!c.required.is_null()) {
    for (auto it = c.required.begin(); it != c.required.end(); ++it) {
      sdk::Json items = sdk::Json::array();
      for (const sdk::Json& o : it.value()) items.push_back({{"resource", o}});
      req["requiredResources"][it.key()] = {{"items", items}};
    }
  }
  if (!c.desired.is_null()) req["desired"] = c.desired;
  if (!c.context.is_null()) req["context"] = c.context;
  return FromJson<pb::RunFunctionRequest>(req.dump());
}

// Runs `c` through the Runner with BuiltinRegistry(). Every call also runs
// the way the server does (the observed and required bodies deferred,
// RunnerOptions::encode_for_wire) and checks that what it sends decodes to
// exactly this response.
inline pb::RunFunctionResponse RunProto(const Call& c) {
  static const Registry* const registry = new Registry(BuiltinRegistry());
  pb::RunFunctionRequest req = RequestOf(c);
  // As the server decodes it: observed and required bodies deferred.
  std::string request_wire = WireBytes(req);
  const int deferred = sdk::DeferResourceBodies(request_wire);
  EXPECT_TRUE(deferred > 0 || !req.observed().has_composite()) << "nothing deferred";
  pb::RunFunctionRequest for_wire;
  EXPECT_TRUE(for_wire.ParseFromString(request_wire));
  pb::RunFunctionResponse rsp = Runner(*registry).Run(req);
  RunnerOptions server;
  server.encode_for_wire = true;
  pb::RunFunctionResponse sent;
  EXPECT_TRUE(sent.ParseFromString(WireBytes(Runner(*registry, server).Run(for_wire))));
  EXPECT_EQ(WireBytes(sent), WireBytes(rsp)) << "the response encoded for the wire differs";
  return rsp;
}

// The step input with a `policy` object.
inline sdk::Json PolicyInput(const sdk::Json& policy) {
  return {
      {"apiVersion", "platform.fn.terraforming.io/v1beta1"}, {"kind", "Input"}, {"policy", policy}};
}

// What an XEnvironment in eu-west-1 (zones a and b) publishes in its status
// once its network is up, with VPC block `vpc_cidr`.
inline sdk::Json PublishedNetwork(const std::string& vpc_cidr) {
  return {{"vpcId", "vpc-0env"},
          {"vpcCidr", vpc_cidr},
          {"availabilityZones", {"eu-west-1a", "eu-west-1b"}},
          {"privateSubnetIds", {"subnet-0p1", "subnet-0p2"}},
          {"publicSubnetIds", {"subnet-0u1", "subnet-0u2"}},
          {"databaseSubnetIds", {"subnet-0db1", "subnet-0db2"}},
          {"securityGroupIds", {{"baseline", "sg-0baseline"}}}};
}

// The XEnvironment a cluster's or database's `network.environment:
// payments-net` names, as Crossplane returns it for the requirement: the XR
// of claim team-payments/payments-net, class `cls` in `region`, with `status`
// (none when null).
inline sdk::Json ObservedEnvironment(const std::string& cls, const std::string& region,
                                     sdk::Json status) {
  sdk::Json env = {{"apiVersion", "platform.terraforming.io/v1alpha1"},
                   {"kind", "XEnvironment"},
                   {"metadata",
                    {{"name", "payments-net-x7k2p"},
                     {"labels",
                      {{"crossplane.io/claim-name", "payments-net"},
                       {"crossplane.io/claim-namespace", "team-payments"}}}}},
                   {"spec", {{"parameters", {{"environment", cls}, {"region", region}}}}}};
  if (!status.is_null()) env["status"] = std::move(status);
  return env;
}

}  // namespace platform::fn::testing

#endif  // PLATFORM_FUNCTION_TESTING_RENDER_TEST_UTIL_H_
