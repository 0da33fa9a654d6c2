#include "provider/runtime/providerconfig.h"

#include <stdexcept>

#include "common/status_macros.h"
#include "provider/runtime/conditions.h"
#include "provider/runtime/refs.h"

namespace runtime {
absl::StatusOr<kube::Json> ProviderConfigs::Resolve(const kube::Json& mr) const {
  kube::Json spec = mr.value("spec", kube::Json::object());
  if (!spec.is_object()) spec = kube::Json::object();
  kube::Json ref = spec.value("providerConfigRef", kube::Json::object());
  if (!ref.is_object()) ref = kube::Json::object();
  const std::string name = ref.value("name", "default");
  const kube::Resource* kind = &kinds_.provider_config;
  std::string ns;
  if (kinds_.modern) {
    const std::string k = ref.value("kind", "ClusterProviderConfig");
    if (k == "ClusterProviderConfig" && kinds_.cluster_provider_config) {
      kind = &*kinds_.cluster_provider_config;
    } else if (k == "ProviderConfig") {
      ns = mr["metadata"].value("namespace", "");
    } else {
      return absl::InvalidArgumentError("spec.providerConfigRef.kind: \"" + k +
                                        "\" is not a ProviderConfig kind of this provider");
    }
  }
  if (cache_ != nullptr && cache_->get) {
    if (std::optional<kube::Json> cached = cache_->get(*kind, {ns, name}))
      return *std::move(cached);
  }
  absl::StatusOr<kube::Json> pc = client_.Get(*kind, {ns, name});
  if (pc.ok()) return pc;
  const std::string what = kind->kind + " \"" + (ns.empty() ? name : ns + "/" + name) + "\"";
  if (kube::IsNotFound(pc.status())) {
    return absl::NotFoundError("cannot get " + what +
                               ": not found (spec.providerConfigRef names it)");
  }
  return absl::Status(pc.status().code(),
                      "cannot get " + what + ": " + std::string(pc.status().message()));
}

absl::Status ProviderConfigs::TrackUsage(const kube::Json& mr, const kube::Json& pc) const {
  const std::string uid = mr["metadata"].value("uid", "");
  const std::string ns = kinds_.modern ? mr["metadata"].value("namespace", "") : "";
  const std::string pc_name = pc["metadata"].value("name", "");
  kube::Json ref = {{"name", pc_name}};
  kube::Json labels = {{kProviderConfigLabel, pc_name}};
  if (kinds_.modern) {
    ref["kind"] = pc.value("kind", "");
    labels[kProviderConfigKindLabel] = pc.value("kind", "");
  }
  kube::Json usage = {{"apiVersion", kinds_.usage.ApiVersion()},
                      {"kind", kinds_.usage.kind},
                      {"metadata",
                       {{"name", uid},
                        {"labels", labels},
                        {"ownerReferences", kube::Json::array({kube::ControllerReference(mr)})}}},
                      {"providerConfigRef", ref},
                      {"resourceRef",
                       {{"apiVersion", mr.value("apiVersion", "")},
                        {"kind", mr.value("kind", "")},
                        {"name", mr["metadata"].value("name", "")}}}};
  if (!ns.empty()) usage["metadata"]["namespace"] = ns;
  auto current_enough = [&](const kube::Json& current) {
    return current.value("providerConfigRef", kube::Json()) == ref &&
           current["metadata"].value("labels", kube::Json()) == labels;
  };
  // Seen by the usages' watch as it should be: nothing to write.
  if (cache_ != nullptr && cache_->get) {
    if (const std::optional<kube::Json> cached = cache_->get(kinds_.usage, {ns, uid});
        cached && current_enough(*cached)) {
      return absl::OkStatus();
    }
  }
  const absl::StatusOr<kube::Json> got = client_.Get(kinds_.usage, {ns, uid});
  if (!got.ok()) {
    if (!kube::IsNotFound(got.status())) return got.status();
    const absl::Status created = client_.Create(kinds_.usage, usage).status();
    return kube::IsAlreadyExists(created) ? absl::OkStatus() : created;
  }
  const kube::Json& current = *got;
  if (current_enough(current)) return absl::OkStatus();
  usage["metadata"]["resourceVersion"] = current["metadata"].value("resourceVersion", "");
  return client_.Update(kinds_.usage, usage).status();
}

absl::Status ProviderConfigs::ReleaseUsage(const kube::Json& mr) const {
  const std::string uid = mr["metadata"].value("uid", "");
  const std::string ns = kinds_.modern ? mr["metadata"].value("namespace", "") : "";
  const absl::Status deleted = client_.Delete(kinds_.usage, {ns, uid});
  return kube::IsNotFound(deleted) ? absl::OkStatus() : deleted;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> CredentialFiles(
    kube::Client& client, const kube::Json& pc) {
  std::vector<std::pair<std::string, std::string>> files;
  const std::string pc_ns = pc["metadata"].value("namespace", "");
  const kube::Json credentials = ArrayAt(ObjectAt(pc, "spec"), "credentials");
  for (size_t i = 0; i < credentials.size(); ++i) {
    const kube::Json& c = credentials[i];
    const std::string field = "ProviderConfig spec.credentials[" + std::to_string(i) + "]";
    const std::string filename = StringAt(c, "filename");
    if (filename.empty() || filename.find('/') != std::string::npos || filename == "." ||
        filename == "..") {
      return absl::InvalidArgumentError(field + ".filename must be a plain file name");
    }
    const std::string source = c.value("source", "None");
    std::string content;
    if (source == "Secret") {
      ASSIGN_OR_RETURN(
          content, ReadKey(client, true, ObjectAt(c, "secretRef"), pc_ns, field + ".secretRef"));
    } else if (source == "Environment") {
      const std::string var = StringAt(ObjectAt(c, "env"), "name");
      const char* value = var.empty() ? nullptr : std::getenv(var.c_str());
      if (value == nullptr) {
        return absl::NotFoundError(field + ".env.name: the provider has no variable \"" + var +
                                   "\"");
      }
      content = value;
    } else if (source != "None") {
      return absl::InvalidArgumentError(field + ".source: \"" + source +
                                        "\" is not None, Secret or Environment");
    }
    files.emplace_back(filename, std::move(content));
  }
  return files;
}

absl::StatusOr<std::string> SshKnownHosts(kube::Client& client, const kube::Json& pc) {
  const std::string pc_ns = pc["metadata"].value("namespace", "");
  const kube::Json ssh = ObjectAt(ObjectAt(pc, "spec"), "ssh");
  std::string known_hosts;
  if (ssh.contains("knownHosts") && !ssh["knownHosts"].is_string()) {
    return absl::InvalidArgumentError("ProviderConfig spec.ssh.knownHosts must be a string");
  }
  known_hosts = StringAt(ssh, "knownHosts");
  if (ssh.contains("knownHostsSecretRef")) {
    ASSIGN_OR_RETURN(std::string from_secret,
                     ReadKey(client, true, ObjectAt(ssh, "knownHostsSecretRef"), pc_ns,
                             "ProviderConfig spec.ssh.knownHostsSecretRef"));
    if (!known_hosts.empty() && known_hosts.back() != '\n') known_hosts += '\n';
    known_hosts += from_secret;
  }
  if (!known_hosts.empty() && known_hosts.back() != '\n') known_hosts += '\n';
  return known_hosts;
}

void KeepForUsageCache(kube::Json& usage) {
  kube::Json kept = {{"metadata", kube::Json::object()}};
  for (const char* field : {"apiVersion", "kind", "providerConfigRef", "resourceRef"}) {
    if (auto it = usage.find(field); it != usage.end()) kept[field] = std::move(*it);
  }
  if (auto meta = usage.find("metadata"); meta != usage.end() && meta->is_object()) {
    for (const char* field : {"name", "namespace", "uid", "resourceVersion", "labels"}) {
      if (auto it = meta->find(field); it != meta->end()) kept["metadata"][field] = std::move(*it);
    }
  }
  usage = std::move(kept);
}

bool ProviderConfigReconciler::Reconcile(const kube::ObjectKey& key) {
  absl::StatusOr<kube::Json> got = client_.Get(config_, key);
  if (!got.ok()) return kube::IsNotFound(got.status());
  kube::Json pc = *std::move(got);
  // Any API error: retried.
  return Update(key, pc).ok();
}

absl::StatusOr<int64_t> ProviderConfigReconciler::CountUsers(const kube::ObjectKey& key,
                                                             bool live) const {
  // A namespaced ProviderConfig is used from its own namespace only.
  const std::string ns = config_.namespaced ? key.ns : "";
  if (!live && cache_.count) {
    const std::optional<int64_t> n = cache_.count(usage_, [&](const kube::Json& usage) {
      const kube::Json& meta = usage["metadata"];
      if (!ns.empty() && meta.value("namespace", "") != ns) return false;
      const kube::Json labels = meta.value("labels", kube::Json::object());
      if (!labels.is_object() || labels.value(kProviderConfigLabel, "") != key.name) return false;
      return !modern_ || labels.value(kProviderConfigKindLabel, "") == config_.kind;
    });
    if (n) return *n;
  }
  std::string selector = std::string(kProviderConfigLabel) + "=" + key.name;
  if (modern_) selector += std::string(",") + kProviderConfigKindLabel + "=" + config_.kind;
  kube::ListOptions opts;
  opts.label_selector = selector;
  ASSIGN_OR_RETURN(const kube::Json list, client_.List(usage_, ns, opts));
  return static_cast<int64_t>(list.value("items", kube::Json::array()).size());
}

absl::Status ProviderConfigReconciler::Update(const kube::ObjectKey& key, kube::Json& pc) {
  kube::Json& meta = pc["metadata"];
  const bool deleting = meta.contains("deletionTimestamp");
  ASSIGN_OR_RETURN(int64_t users, CountUsers(key, false));
  // The cache may not have seen a usage created a moment ago: the finalizer
  // goes only once the API server agrees that none is left.
  if (deleting && users == 0) {
    ASSIGN_OR_RETURN(users, CountUsers(key, true));
  }

  kube::Json finalizers = meta.value("finalizers", kube::Json::array());
  auto has_finalizer = [&] {
    for (const auto& f : finalizers) {
      if (f == kInUseFinalizer) return true;
    }
    return false;
  };
  if (deleting) {
    if (users > 0) {
      const std::string message = "Blocking deletion while usages still exist";
      const kube::Json before = GetCondition(pc, "Terminating");
      SetCondition(pc, {"Terminating", "True", "InUse", message}, clock_.Now());
      pc["status"]["users"] = users;
      if (before.value("reason", "") != "InUse") {
        events_.Warning(pc, "UsageAccounting", message + " (" + std::to_string(users) + " users)");
      }
      return client_.UpdateStatus(config_, pc).status();
    }
    if (has_finalizer()) {
      kube::Json kept = kube::Json::array();
      for (const auto& f : finalizers) {
        if (f != kInUseFinalizer) kept.push_back(f);
      }
      meta["finalizers"] = kept;
      return client_.Update(config_, pc).status();
    }
    return absl::OkStatus();
  }
  if (!has_finalizer()) {
    finalizers.push_back(kInUseFinalizer);
    meta["finalizers"] = finalizers;
    ASSIGN_OR_RETURN(const kube::Json updated, client_.Update(config_, pc));
    pc["metadata"] = updated["metadata"];
  }
  const kube::Json status = pc.value("status", kube::Json::object());
  if (status.value("users", int64_t{-1}) != users) {
    pc["status"]["users"] = users;
    return client_.UpdateStatus(config_, pc).status();
  }
  return absl::OkStatus();
}

}  // namespace runtime
