// The request the benchmark sends: what Crossplane sends this function for an
// XEnvironment that is up and running, after an earlier pipeline step has
// composed its network.
//
// The observed state holds the XR and `resources` composed AWS managed
// resources (VPC, internet gateway, subnets, route tables and their
// associations, routes, Elastic IPs, NAT gateways, security groups and their
// rules), each as the provider reports it: metadata with owner references and
// annotations, spec.forProvider, status.atProvider and Ready and Synced
// conditions. The desired state holds the same resources as the earlier step
// asked for them, so the function has to pass them through. meta.tag and the
// pipeline context are set.
#ifndef PLATFORM_BENCH_REQUEST_H_
#define PLATFORM_BENCH_REQUEST_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "function/sdk/proto.h"

namespace platform::fn::bench {

// What every correct response to the request must carry.
struct Expected {
  std::string tag;
  // A request read from a file (--request, for any function): only no
  // FATAL result, the tag echoed and at least this many desired composed
  // resources are checked.
  int min_desired = -1;
  // The earlier step's desired composed resources. Each must be in the
  // response: passed through, or replaced ("vpc") by the function's own.
  std::vector<std::string> desired_names;
  // The observed VPC's id, which the function publishes as status.vpcId.
  std::string vpc_id;
  // A context key the earlier step set; it must pass through.
  std::string context_key;
};

struct BenchRequest {
  pb::RunFunctionRequest request;
  Expected expected;
};

// Builds the request with `resources` (at least 1) composed resources. The
// first is always the VPC.
BenchRequest MakeRequest(int resources);

// The request in `path`, a RunFunctionRequest in protobuf's JSON mapping
// (what scripts/bench-peers.sh writes for both servers), whose responses must
// carry at least `min_desired` desired composed resources. meta.tag is set
// when the file has none.
absl::StatusOr<BenchRequest> ReadRequest(const std::string& path, int min_desired);

// Checks one response against `expected`; nullopt when it is correct, else
// what is wrong.
std::optional<std::string> CheckResponse(const pb::RunFunctionResponse& rsp,
                                         const Expected& expected);

}  // namespace platform::fn::bench

#endif  // PLATFORM_BENCH_REQUEST_H_
