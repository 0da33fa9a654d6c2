#include "function/sdk/response.h"

#include <google/protobuf/unknown_field_set.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "function/sdk/fields.h"
#include "function/sdk/strings.h"
#include "function/sdk/struct_wire.h"

namespace platform::fn::sdk {
namespace {

void StartFrom(pb::RunFunctionRequest& req, absl::Duration ttl, pb::RunFunctionResponse& rsp) {
  // Absent meta (crossplane render up to v2.1) reads as an empty tag.
  rsp.mutable_meta()->set_tag(std::move(*req.mutable_meta()->mutable_tag()));
  auto* d = rsp.mutable_meta()->mutable_ttl();
  d->set_seconds(absl::ToInt64Seconds(ttl));
  d->set_nanos(static_cast<int>(absl::ToInt64Nanoseconds(ttl % absl::Seconds(1))));
  rsp.mutable_desired()->Swap(req.mutable_desired());
  if (req.has_context()) rsp.mutable_context()->Swap(req.mutable_context());
}

// The path of `key` below `base` as error messages show it: a key that
// holds '.', '[' or ']' is bracketed, as ToStruct renders keys below it.
std::string ChildPath(std::string_view base, std::string_view key) {
  if (key.find_first_of(".[]") != std::string_view::npos) return sdk::Cat(base, "[", key, "]");
  return sdk::Cat(base, ".", key);
}

bool IsPascalCase(std::string_view s) {
  if (s.empty() || !absl::ascii_isupper(static_cast<unsigned char>(s.front()))) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Crossplane's rules for a condition a function sets.
absl::Status CheckCondition(std::string_view type, std::string_view reason) {
  if (IsReservedConditionType(type)) {
    return absl::InvalidArgumentError(
        sdk::Cat("condition type ", type, " is reserved for Crossplane"));
  }
  if (!IsPascalCase(type)) {
    return absl::InvalidArgumentError(sdk::Cat("condition type \"", type, "\" must be PascalCase"));
  }
  if (!IsPascalCase(reason)) {
    return absl::InvalidArgumentError(
        sdk::Cat("condition reason \"", reason, "\" must be non-empty PascalCase"));
  }
  return absl::OkStatus();
}

}  // namespace

bool IsReservedConditionType(std::string_view type) {
  return type == "Ready" || type == "Synced" || type == "Healthy" || type == "Responsive";
}

Response::Response(pb::RunFunctionRequest& req, absl::Duration ttl) : req_(&req), ttl_(ttl) {}

DesiredResource& Response::SetDesired(const std::string& name, Json object, pb::Ready ready) {
  if (object.is_object()) object.erase("status");
  DesiredResource& d = desired_[name];
  d.object = std::move(object);
  d.ready = ready;
  return d;
}

DesiredResource* Response::Desired(std::string_view name) {
  auto it = desired_.find(name);
  return it == desired_.end() ? nullptr : &it->second;
}

absl::Status Response::SetCompositeStatus(std::string_view path, Json value) {
  return SetPath(composite_status_, path, std::move(value));
}

void Response::SetConnectionDetail(const std::string& key, std::string value) {
  connection_details_[key] = std::move(value);
}

void Response::AddResult(pb::Severity severity, std::string_view reason, std::string message,
                         pb::Target target) {
  pb::Result* r = rsp_.add_results();
  r->set_severity(severity);
  r->set_message(ValidUtf8(std::move(message)));
  if (!reason.empty()) r->set_reason(ValidUtf8(std::string(reason)));
  r->set_target(target);
}

bool Response::HasFatal() const {
  for (const pb::Result& r : rsp_.results()) {
    if (r.severity() == pb::SEVERITY_FATAL) return true;
  }
  return false;
}

absl::Status Response::SetCondition(std::string_view type, pb::Status status,
                                    std::string_view reason, std::string_view message,
                                    pb::Target target) {
  if (absl::Status s = CheckCondition(type, reason); !s.ok()) return s;
  pb::Condition* c = nullptr;
  for (pb::Condition& existing : *rsp_.mutable_conditions()) {
    if (existing.type() == type) c = &existing;
  }
  if (c == nullptr) c = rsp_.add_conditions();
  c->set_type(std::string(type));
  c->set_status(status);
  c->set_reason(std::string(reason));
  if (message.empty()) {
    c->clear_message();
  } else {
    c->set_message(ValidUtf8(std::string(message)));
  }
  c->set_target(target);
  return absl::OkStatus();
}

void Response::RequireResources(const std::string& key, pb::ResourceSelector selector) {
  if (req_->meta().capabilities().empty()) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    (*rsp_.mutable_requirements()->mutable_extra_resources())[key] = selector;
#pragma GCC diagnostic pop
  }
  (*rsp_.mutable_requirements()->mutable_resources())[key] = std::move(selector);
}

void Response::RequireSchema(const std::string& key, std::string api_version, std::string kind) {
  pb::SchemaSelector& s = (*rsp_.mutable_requirements()->mutable_schemas())[key];
  s.set_api_version(std::move(api_version));
  s.set_kind(std::move(kind));
}

void Response::SetContext(const std::string& key, Json value) { context_[key] = std::move(value); }

absl::StatusOr<pb::RunFunctionResponse> Response::Finish() && {
  // Convert everything this step adds before touching the request, so that a
  // conversion error leaves the request's desired state intact for the FATAL
  // response the caller then builds.
  std::vector<std::pair<std::string, pb::Resource>> resources;
  resources.reserve(desired_.size());
  for (auto& [name, d] : desired_) {
    pb::Resource r;
    const std::string path = sdk::Cat("desired.resources[", name, "]");
    if (encode_for_wire_) {
      std::string bytes;
      if (absl::Status s = EncodeStruct(d.object, path, &bytes); !s.ok()) return s;
      *r.GetReflection()->MutableUnknownFields(&r)->AddLengthDelimited(
          pb::Resource::kResourceFieldNumber) = std::move(bytes);
    } else if (absl::Status s = ToStruct(d.object, path, r.mutable_resource()); !s.ok()) {
      return s;
    }
    r.set_ready(d.ready);
    resources.emplace_back(name, std::move(r));
  }
  google::protobuf::Struct status;
  for (auto it = composite_status_.begin(); it != composite_status_.end(); ++it) {
    absl::Status s = ToValue(it.value(), ChildPath("desired.composite.status", it.key()),
                             &(*status.mutable_fields())[it.key()]);
    if (!s.ok()) return s;
  }
  google::protobuf::Struct context;
  for (auto& [k, v] : context_) {
    absl::Status s = ToValue(v, ChildPath("context", k), &(*context.mutable_fields())[k]);
    if (!s.ok()) return s;
  }

  StartFrom(*req_, ttl_, rsp_);
  pb::State* desired = rsp_.mutable_desired();
  for (auto& [name, r] : resources) (*desired->mutable_resources())[name] = std::move(r);

  if (!composite_status_.empty() || composite_ready_ || !connection_details_.empty()) {
    pb::Resource* xr = desired->mutable_composite();
    if (!composite_status_.empty()) {
      // Top-level status fields set here replace the same fields from earlier
      // steps; the others are kept.
      google::protobuf::Value& current = (*xr->mutable_resource()->mutable_fields())["status"];
      auto* fields = current.mutable_struct_value()->mutable_fields();
      for (auto& [k, v] : *status.mutable_fields()) (*fields)[k] = std::move(v);
    }
    if (composite_ready_) xr->set_ready(*composite_ready_);
    for (auto& [k, v] : connection_details_) (*xr->mutable_connection_details())[k] = v;
  }
  if (!context_.empty()) {
    auto* fields = rsp_.mutable_context()->mutable_fields();
    for (auto& [k, v] : *context.mutable_fields()) (*fields)[k] = std::move(v);
  }
  return std::move(rsp_);
}

pb::RunFunctionResponse Response::FatalOnly(pb::RunFunctionRequest& req, absl::Duration ttl,
                                            std::string message) {
  pb::RunFunctionResponse rsp;
  StartFrom(req, ttl, rsp);
  pb::Result* r = rsp.add_results();
  r->set_severity(pb::SEVERITY_FATAL);
  r->set_message(ValidUtf8(std::move(message)));
  r->set_reason("ComposeResources");
  r->set_target(pb::TARGET_COMPOSITE);
  return rsp;
}

pb::RunFunctionResponse Response::FatalOnly(pb::RunFunctionRequest& req, absl::Duration ttl,
                                            std::string message, pb::Condition condition) {
  if (absl::Status s = CheckCondition(condition.type(), condition.reason()); !s.ok()) {
    Append(message, " (condition left out: ", std::string(s.message()), ")");
    return FatalOnly(req, ttl, std::move(message));
  }
  pb::RunFunctionResponse rsp = FatalOnly(req, ttl, std::move(message));
  condition.set_message(ValidUtf8(std::move(*condition.mutable_message())));
  *rsp.add_conditions() = std::move(condition);
  return rsp;
}

}  // namespace platform::fn::sdk
