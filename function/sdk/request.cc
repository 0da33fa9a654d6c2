#include "function/sdk/request.h"

#include <algorithm>

#include "function/sdk/deferred.h"

namespace platform::fn::sdk {

Request::Request(const pb::RunFunctionRequest& req) : req_(&req) {}

bool Request::AdvertisesCapabilities() const { return HasCapability(pb::CAPABILITY_CAPABILITIES); }

bool Request::HasCapability(pb::Capability capability) const {
  const auto& caps = req_->meta().capabilities();
  return std::find(caps.begin(), caps.end(), capability) != caps.end();
}

const Json& Request::ObservedComposite() const {
  if (!composite_) composite_ = ResourceJson(req_->observed().composite());
  return *composite_;
}

bool Request::CompositeHasCondition(std::string_view type, std::string_view status,
                                    std::string_view reason, std::string_view message) const {
  const Json& xr = ObservedComposite();
  auto st = xr.find("status");
  if (st == xr.end() || !st->is_object()) return false;
  auto conditions = st->find("conditions");
  if (conditions == st->end() || !conditions->is_array()) return false;
  auto text = [](const Json& c, const char* key) -> std::string_view {
    auto it = c.find(key);
    return it != c.end() && it->is_string() ? std::string_view(it->get_ref<const std::string&>())
                                            : std::string_view();
  };
  for (const Json& c : *conditions) {
    if (!c.is_object() || text(c, "type") != type) continue;
    return text(c, "status") == status && text(c, "reason") == reason &&
           text(c, "message") == message;
  }
  return false;
}

const Observed* Request::ObservedResource(std::string_view name) const {
  if (auto it = observed_.find(name); it != observed_.end()) return &it->second;
  const auto& resources = req_->observed().resources();
  auto it = resources.find(std::string(name));
  if (it == resources.end()) return nullptr;
  Observed& o = observed_[std::string(name)];
  o.object = ResourceJson(it->second);
  o.connection_details = &it->second.connection_details();
  return &o;
}

std::vector<std::string> Request::ObservedResourceNames() const {
  std::vector<std::string> names;
  names.reserve(static_cast<std::size_t>(req_->observed().resources_size()));
  for (const auto& [name, unused] : req_->observed().resources()) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

bool Request::ObservedReady(std::string_view name) const {
  const Observed* o = ObservedResource(name);
  return o != nullptr && HasReadyCondition(o->object);
}

std::optional<std::vector<Json>> Request::RequiredResources(std::string_view key) const {
  const std::string k(key);
  const pb::Resources* found = nullptr;
  if (auto it = req_->required_resources().find(k); it != req_->required_resources().end()) {
    found = &it->second;
  } else {
    // Crossplane before v2.0 answers through the deprecated field.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    const auto& extra = req_->extra_resources();
#pragma GCC diagnostic pop
    if (auto old = extra.find(k); old != extra.end()) found = &old->second;
  }
  if (found == nullptr) return std::nullopt;
  std::vector<Json> out;
  out.reserve(static_cast<std::size_t>(found->items_size()));
  for (const pb::Resource& r : found->items()) out.push_back(ResourceJson(r));
  return out;
}

std::optional<std::map<std::string, std::string>> Request::Credential(std::string_view name) const {
  auto it = req_->credentials().find(std::string(name));
  if (it == req_->credentials().end()) return std::nullopt;
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : it->second.credential_data().data()) out.emplace(k, v);
  return out;
}

const Json& Request::Input() const {
  if (!input_) input_ = req_->has_input() ? FromStruct(req_->input()) : Json::object();
  return *input_;
}

const Json& Request::Context() const {
  if (!context_) context_ = req_->has_context() ? FromStruct(req_->context()) : Json::object();
  return *context_;
}

bool HasReadyCondition(const Json& object) {
  auto status = object.find("status");
  if (status == object.end() || !status->is_object()) return false;
  auto conditions = status->find("conditions");
  if (conditions == status->end() || !conditions->is_array()) return false;
  for (const Json& c : *conditions) {
    if (!c.is_object()) continue;
    auto type = c.find("type");
    auto st = c.find("status");
    if (type != c.end() && st != c.end() && *type == "Ready") return *st == "True";
  }
  return false;
}

}  // namespace platform::fn::sdk
