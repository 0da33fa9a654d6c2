// Builds one RunFunctionResponse.
//
// A response starts as the request's desired state and context, so that what
// earlier pipeline steps asked for passes through untouched unless a renderer
// replaces it. Everything a renderer adds is kept as JSON and converted to
// Struct once, in Finish(), which also moves the request's desired state and
// context into the response instead of copying them.
//
// The protocol's rules are enforced here rather than left to each renderer:
// the XR gets status only, composed resources never get status, reserved
// condition types are refused, and requirements are only set when a renderer
// asks for something.
#ifndef PLATFORM_FUNCTION_SDK_RESPONSE_H_
#define PLATFORM_FUNCTION_SDK_RESPONSE_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "function/sdk/proto.h"
#include "function/sdk/struct_json.h"

namespace platform::fn::sdk {

// A desired composed resource as a renderer builds it.
struct DesiredResource {
  Json object = Json::object();
  pb::Ready ready = pb::READY_UNSPECIFIED;
};

class Response {
 public:
  // `req` must outlive the response; Finish() moves its desired state and
  // context out.
  Response(pb::RunFunctionRequest& req, absl::Duration ttl);

  Response(const Response&) = delete;
  Response& operator=(const Response&) = delete;

  // Sets (replacing) a desired composed resource. Any `status` in `object`
  // is dropped: Crossplane owns composed resources' status.
  DesiredResource& SetDesired(const std::string& name, Json object,
                              pb::Ready ready = pb::READY_UNSPECIFIED);
  // A resource this response set; nullptr when none by that name.
  DesiredResource* Desired(std::string_view name);
  const std::map<std::string, DesiredResource, std::less<>>& desired() const { return desired_; }
  // The resources this response set, for passes over all of them (policies).
  std::map<std::string, DesiredResource, std::less<>>& mutable_desired() { return desired_; }

  // Sets a field under the XR's status, e.g. SetCompositeStatus("vpcId", id)
  // writes status.vpcId. Fields earlier steps set are kept.
  absl::Status SetCompositeStatus(std::string_view path, Json value);
  // Overrides the XR's readiness, which Crossplane otherwise derives from the
  // composed resources.
  void SetCompositeReady(pb::Ready ready) { composite_ready_ = ready; }
  // Connection details of the XR (published by Crossplane for legacy XRs).
  void SetConnectionDetail(const std::string& key, std::string value);

  // Results become events on the XR (and claim, with that target). FATAL
  // aborts the whole pipeline: use it for errors only.
  void AddResult(pb::Severity severity, std::string_view reason, std::string message,
                 pb::Target target = pb::TARGET_COMPOSITE);
  void Fatal(std::string message) {
    AddResult(pb::SEVERITY_FATAL, "ComposeResources", std::move(message));
  }
  void Warning(std::string_view reason, std::string message,
               pb::Target target = pb::TARGET_COMPOSITE) {
    AddResult(pb::SEVERITY_WARNING, reason, std::move(message), target);
  }
  void Normal(std::string_view reason, std::string message,
              pb::Target target = pb::TARGET_COMPOSITE) {
    AddResult(pb::SEVERITY_NORMAL, reason, std::move(message), target);
  }
  bool HasFatal() const;

  // A custom condition on the XR. Types must be PascalCase and not one of
  // Crossplane's own (Ready, Synced, Healthy, Responsive); reasons must be
  // PascalCase and non-empty.
  absl::Status SetCondition(std::string_view type, pb::Status status, std::string_view reason,
                            std::string_view message = {},
                            pb::Target target = pb::TARGET_COMPOSITE);

  // Asks Crossplane for resources or schemas; it calls again with them.
  // Resources go under requirements.resources; for a caller that advertises
  // no capabilities (Crossplane before v2.2, crossplane render v1.x) also
  // under the deprecated requirements.extra_resources, which is all v1.x
  // knows. Crossplane v2.0 and v2.1 then fetch the selector twice.
  void RequireResources(const std::string& key, pb::ResourceSelector selector);
  void RequireSchema(const std::string& key, std::string api_version, std::string kind);

  // Sets a key of the context handed to the next step.
  void SetContext(const std::string& key, Json value);

  // Finish() hands the resources this step sets over as Struct messages,
  // which is what callers in this process read. After this call it hands
  // them over encoded instead, for a response that is serialized and sent
  // without being read: each Resource then holds its Struct's bytes as an
  // unknown field with the number of `resource`, which serializes to the
  // same message on the wire (after `ready` rather than before it, an order
  // every protobuf decoder accepts) without building and freeing a Struct.
  void EncodeResourcesForWire() { encode_for_wire_ = true; }

  // Assembles the response. Errors name the field that could not be
  // converted (an integer beyond 2^53, for instance).
  absl::StatusOr<pb::RunFunctionResponse> Finish() &&;

  // A response that only passes the desired state and context through and
  // carries one FATAL result; for errors found before or during rendering.
  static pb::RunFunctionResponse FatalOnly(pb::RunFunctionRequest& req, absl::Duration ttl,
                                           std::string message);
  // The same, plus a condition saying why (a policy violation, say).
  // Crossplane sets a step's conditions even when the step is FATAL. A
  // condition that breaks SetCondition's rules is left out, and the FATAL
  // message says so.
  static pb::RunFunctionResponse FatalOnly(pb::RunFunctionRequest& req, absl::Duration ttl,
                                           std::string message, pb::Condition condition);

 private:
  pb::RunFunctionRequest* req_;
  absl::Duration ttl_;
  bool encode_for_wire_ = false;
  pb::RunFunctionResponse rsp_;
  std::map<std::string, DesiredResource, std::less<>> desired_;
  Json composite_status_ = Json::object();
  std::optional<pb::Ready> composite_ready_;
  std::map<std::string, std::string> connection_details_;
  std::map<std::string, Json> context_;
};

// True for the condition types Crossplane reserves for itself.
bool IsReservedConditionType(std::string_view type);

}  // namespace platform::fn::sdk

#endif  // PLATFORM_FUNCTION_SDK_RESPONSE_H_
