#include "provider/runtime/providerconfig.h"

#include <stdexcept>

#include "provider/runtime/conditions.h"
#include "provider/runtime/refs.h"

namespace runtime {
kube::Json ProviderConfigs::Resolve(const kube::Json& mr) const {
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
      throw std::runtime_error("spec.providerConfigRef.kind: \"" + k +
                               "\" is not a ProviderConfig kind of this provider");
    }
  }
  try {
    return client_.Get(*kind, {ns, name});
  } catch (const kube::ApiError& e) {
    const std::string what = kind->kind + " \"" + (ns.empty() ? name : ns + "/" + name) + "\"";
    if (kube::IsNotFound(e)) {
      throw std::runtime_error("cannot get " + what +
                               ": not found (spec.providerConfigRef names it)");
    }
    throw std::runtime_error("cannot get " + what + ": " + e.what());
  }
}

void ProviderConfigs::TrackUsage(const kube::Json& mr, const kube::Json& pc) const {
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
  try {
    const kube::Json current = client_.Get(kinds_.usage, {ns, uid});
    if (current.value("providerConfigRef", kube::Json()) == ref &&
        current["metadata"].value("labels", kube::Json()) == labels) {
      return;
    }
    usage["metadata"]["resourceVersion"] = current["metadata"].value("resourceVersion", "");
    client_.Update(kinds_.usage, usage);
  } catch (const kube::ApiError& e) {
    if (!kube::IsNotFound(e)) throw;
    try {
      client_.Create(kinds_.usage, usage);
    } catch (const kube::ApiError& again) {
      if (!kube::IsAlreadyExists(again)) throw;
    }
  }
}

void ProviderConfigs::ReleaseUsage(const kube::Json& mr) const {
  const std::string uid = mr["metadata"].value("uid", "");
  const std::string ns = kinds_.modern ? mr["metadata"].value("namespace", "") : "";
  try {
    client_.Delete(kinds_.usage, {ns, uid});
  } catch (const kube::ApiError& e) {
    if (!kube::IsNotFound(e)) throw;
  }
}

std::vector<std::pair<std::string, std::string>> CredentialFiles(kube::Client& client,
                                                                 const kube::Json& pc) {
  std::vector<std::pair<std::string, std::string>> files;
  const std::string pc_ns = pc["metadata"].value("namespace", "");
  const kube::Json credentials = ArrayAt(ObjectAt(pc, "spec"), "credentials");
  for (size_t i = 0; i < credentials.size(); ++i) {
    const kube::Json& c = credentials[i];
    const std::string field = "ProviderConfig spec.credentials[" + std::to_string(i) + "]";
    const std::string filename = StringAt(c, "filename");
    if (filename.empty() || filename.find('/') != std::string::npos || filename == "." ||
        filename == "..") {
      throw std::runtime_error(field + ".filename must be a plain file name");
    }
    const std::string source = c.value("source", "None");
    std::string content;
    if (source == "Secret") {
      content = ReadKey(client, true, ObjectAt(c, "secretRef"), pc_ns, field + ".secretRef");
    } else if (source == "Environment") {
      const std::string var = StringAt(ObjectAt(c, "env"), "name");
      const char* value = var.empty() ? nullptr : std::getenv(var.c_str());
      if (value == nullptr) {
        throw std::runtime_error(field + ".env.name: the provider has no variable \"" + var + "\"");
      }
      content = value;
    } else if (source != "None") {
      throw std::runtime_error(field + ".source: \"" + source +
                               "\" is not None, Secret or Environment");
    }
    files.emplace_back(filename, std::move(content));
  }
  return files;
}

bool ProviderConfigReconciler::Reconcile(const kube::ObjectKey& key) {
  kube::Json pc;
  try {
    pc = client_.Get(config_, key);
  } catch (const kube::ApiError& e) {
    return kube::IsNotFound(e);
  }
  try {
    std::string selector = std::string(kProviderConfigLabel) + "=" + key.name;
    if (modern_) selector += std::string(",") + kProviderConfigKindLabel + "=" + config_.kind;
    // A namespaced ProviderConfig is used from its own namespace only.
    const std::string ns = config_.namespaced ? key.ns : "";
    kube::ListOptions opts;
    opts.label_selector = selector;
    const kube::Json list = client_.List(usage_, ns, opts);
    const int64_t users = static_cast<int64_t>(list.value("items", kube::Json::array()).size());

    kube::Json& meta = pc["metadata"];
    kube::Json finalizers = meta.value("finalizers", kube::Json::array());
    auto has_finalizer = [&] {
      for (const auto& f : finalizers) {
        if (f == kInUseFinalizer) return true;
      }
      return false;
    };
    if (meta.contains("deletionTimestamp")) {
      if (users > 0) {
        const std::string message = "Blocking deletion while usages still exist";
        const kube::Json before = GetCondition(pc, "Terminating");
        SetCondition(pc, {"Terminating", "True", "InUse", message}, clock_.Now());
        pc["status"]["users"] = users;
        if (before.value("reason", "") != "InUse") {
          events_.Warning(pc, "UsageAccounting",
                          message + " (" + std::to_string(users) + " users)");
        }
        client_.UpdateStatus(config_, pc);
        return true;
      }
      if (has_finalizer()) {
        kube::Json kept = kube::Json::array();
        for (const auto& f : finalizers) {
          if (f != kInUseFinalizer) kept.push_back(f);
        }
        meta["finalizers"] = kept;
        client_.Update(config_, pc);
      }
      return true;
    }
    if (!has_finalizer()) {
      finalizers.push_back(kInUseFinalizer);
      meta["finalizers"] = finalizers;
      const kube::Json updated = client_.Update(config_, pc);
      pc["metadata"] = updated["metadata"];
    }
    const kube::Json status = pc.value("status", kube::Json::object());
    if (status.value("users", int64_t{-1}) != users) {
      pc["status"]["users"] = users;
      client_.UpdateStatus(config_, pc);
    }
    return true;
  } catch (const kube::ApiError&) {
    return false;
  }
}

}  // namespace runtime
