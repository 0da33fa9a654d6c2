// The request handler: one RunFunctionRequest in, one RunFunctionResponse out.
//
// It holds the protocol obligations that do not depend on the XR kind: echo
// the tag, set the TTL, pass the desired state and context through, dispatch
// to the renderer for the XR's kind, and turn every error, including an
// exception, into a FATAL result that names the problem. It never throws.
#ifndef PLATFORM_FUNCTION_RUNNER_H_
#define PLATFORM_FUNCTION_RUNNER_H_

#include "absl/time/time.h"
#include "function/registry.h"
#include "function/sdk/proto.h"

namespace platform::fn {

struct RunnerOptions {
  // How long Crossplane may cache a response before calling again.
  absl::Duration ttl = absl::Seconds(60);
  // The response is only serialized and sent (the server): composed
  // resources are encoded straight from JSON to their wire bytes instead of
  // built as Struct messages (sdk::Response::EncodeResourcesForWire).
  bool encode_for_wire = false;
};

class Runner {
 public:
  // `registry` must outlive the runner.
  explicit Runner(const Registry& registry, RunnerOptions options = {});

  // Handles one call. Moves the desired state and context out of `req`.
  // Safe to call from several threads at once.
  pb::RunFunctionResponse Run(pb::RunFunctionRequest& req) const noexcept;

 private:
  const Registry* registry_;
  RunnerOptions options_;
};

}  // namespace platform::fn

#endif  // PLATFORM_FUNCTION_RUNNER_H_
