#include "admission/cluster_state.h"

#include <utility>

#include "spdlog/spdlog.h"

namespace platform::admission {
namespace {

const kube::Resource kEnvironmentConfigs{"apiextensions.crossplane.io", "v1beta1",
                                         "environmentconfigs", "EnvironmentConfig", false};
const kube::Resource kNamespaces{"", "v1", "namespaces", "Namespace", false};

std::string VersionOf(const Json& object) {
  const auto m = object.find("metadata");
  if (m == object.end() || !m->is_object()) return "";
  return m->value("resourceVersion", "");
}

}  // namespace

ClusterState::ClusterState(kube::Client& client, std::string policy_name)
    : policy_name_(std::move(policy_name)) {
  if (!policy_name_.empty()) {
    kube::Informer::Handlers handlers;
    handlers.on_upsert = [this](const Json& o) {
      if (kube::KeyOf(o).name == policy_name_) {
        spdlog::info("policy: EnvironmentConfig {} at resourceVersion {} applies", policy_name_,
                     VersionOf(o));
      }
    };
    handlers.on_delete = [this](const Json& o) {
      if (kube::KeyOf(o).name == policy_name_) {
        spdlog::warn(
            "policy: EnvironmentConfig {} was deleted; the step input's policy and the "
            "built-in defaults apply",
            policy_name_);
      }
    };
    policies_ =
        std::make_unique<kube::Informer>(client, kEnvironmentConfigs, "", "", std::move(handlers));
  }
  namespaces_ =
      std::make_unique<kube::Informer>(client, kNamespaces, "", "", kube::Informer::Handlers{});
}

ClusterState::~ClusterState() { Stop(); }

void ClusterState::Start() {
  if (policies_) policies_->Start();
  namespaces_->Start();
}

void ClusterState::Stop() {
  if (policies_) policies_->Stop();
  namespaces_->Stop();
}

bool ClusterState::Ready() const {
  return (!policies_ || policies_->HasSynced()) && namespaces_->HasSynced();
}

std::optional<Json> ClusterState::Policy() const {
  if (!policies_) return std::nullopt;
  return policies_->Get(kube::ObjectKey{"", policy_name_});
}

std::optional<Json> ClusterState::Namespace(const std::string& name) const {
  return namespaces_->Get(kube::ObjectKey{"", name});
}

}  // namespace platform::admission
