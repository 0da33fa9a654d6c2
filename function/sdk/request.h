// Read access to one RunFunctionRequest.
//
// Objects are converted from Struct to JSON on first use and cached, so each
// piece of the request is converted at most once per call, and pieces a
// renderer never reads are never converted at all.
#ifndef PLATFORM_FUNCTION_SDK_REQUEST_H_
#define PLATFORM_FUNCTION_SDK_REQUEST_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "function/sdk/fields.h"
#include "function/sdk/proto.h"
#include "function/sdk/struct_json.h"

namespace platform::fn::sdk {

// The observed state of one object: its JSON and its connection details.
struct Observed {
  Json object;
  const google::protobuf::Map<std::string, std::string>* connection_details = nullptr;
};

class Request {
 public:
  // `req` must outlive this view. The Response built for the same call may
  // move the desired state and context out of it; this view does not read
  // those after that.
  explicit Request(const pb::RunFunctionRequest& req);

  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

  const pb::RunFunctionRequest& proto() const { return *req_; }

  // The request's tag; empty when meta is absent.
  const std::string& Tag() const { return req_->meta().tag(); }

  // Crossplane from v2.2 on advertises what it supports; older versions send
  // no capabilities at all, which AdvertisesCapabilities() reports as false.
  bool AdvertisesCapabilities() const;
  bool HasCapability(pb::Capability capability) const;

  // The observed XR. An empty object when the request carries none.
  const Json& ObservedComposite() const;
  Fields Composite() const { return Fields(ObservedComposite()); }
  const google::protobuf::Map<std::string, std::string>& CompositeConnectionDetails() const {
    return req_->observed().composite().connection_details();
  }

  // True when the observed XR carries condition `type` with this status
  // ("True", "False", "Unknown"), reason and message: what an earlier call
  // set is still there, so there is nothing new to say.
  bool CompositeHasCondition(std::string_view type, std::string_view status,
                             std::string_view reason, std::string_view message) const;

  // An observed composed resource by composition resource name; nullptr when
  // Crossplane has not created it yet.
  const Observed* ObservedResource(std::string_view name) const;
  std::vector<std::string> ObservedResourceNames() const;

  // True when the observed resource has a Ready condition with status True.
  bool ObservedReady(std::string_view name) const;

  // Answers to resource requirements (required_resources, falling back to the
  // deprecated extra_resources). nullopt: Crossplane has not resolved the key
  // yet; an empty vector: resolved, nothing matched.
  std::optional<std::vector<Json>> RequiredResources(std::string_view key) const;

  // A credential's data by name; nullopt when the step has no such
  // credential.
  std::optional<std::map<std::string, std::string>> Credential(std::string_view name) const;

  // The step's input and the pipeline context; empty objects when absent.
  const Json& Input() const;
  const Json& Context() const;

 private:
  const pb::RunFunctionRequest* req_;
  mutable std::optional<Json> composite_;
  mutable std::map<std::string, Observed, std::less<>> observed_;
  mutable std::optional<Json> input_;
  mutable std::optional<Json> context_;
};

// True when `object` has status.conditions[type=Ready].status == "True".
bool HasReadyCondition(const Json& object);

}  // namespace platform::fn::sdk

#endif  // PLATFORM_FUNCTION_SDK_REQUEST_H_
