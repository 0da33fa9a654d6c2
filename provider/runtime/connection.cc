#include "provider/runtime/connection.h"

#include "absl/strings/escaping.h"
#include "common/status_macros.h"
#include "provider/kube/resources.h"

namespace runtime {
std::string Base64Encode(const std::string& raw) { return absl::Base64Escape(raw); }

std::string Base64Decode(const std::string& text) {
  std::string out;
  if (!absl::Base64Unescape(text, &out)) return "";
  return out;
}

absl::StatusOr<bool> PublishConnectionDetails(kube::Client& client, const kube::Json& mr,
                                              const ConnectionDetails& details) {
  const kube::Json spec = mr.value("spec", kube::Json::object());
  if (details.empty() || !spec.is_object() || !spec.contains("writeConnectionSecretToRef") ||
      !spec["writeConnectionSecretToRef"].is_object()) {
    return false;
  }
  const kube::Json& ref = spec["writeConnectionSecretToRef"];
  const std::string name = ref.value("name", "");
  // Namespaced resources write into their own namespace.
  std::string ns = mr["metadata"].value("namespace", "");
  if (ns.empty()) ns = ref.value("namespace", "");
  if (name.empty() || ns.empty()) return false;

  kube::Json data = kube::Json::object();
  for (const auto& [k, v] : details) data[k] = Base64Encode(v);

  absl::StatusOr<kube::Json> got = client.Get(kube::kSecrets, {ns, name});
  if (!got.ok()) {
    if (!kube::IsNotFound(got.status())) return got.status();
    kube::Json secret = {
        {"apiVersion", "v1"},
        {"kind", "Secret"},
        {"type", "connection.crossplane.io/v1alpha1"},
        {"metadata",
         {{"name", name},
          {"namespace", ns},
          {"ownerReferences", kube::Json::array({kube::ControllerReference(mr)})}}},
        {"data", data}};
    RETURN_IF_ERROR(client.Create(kube::kSecrets, secret));
    return true;
  }
  kube::Json current = *std::move(got);
  // A Secret controlled by someone else is not ours to write.
  const std::string uid = mr["metadata"].value("uid", "");
  for (const auto& owner : current["metadata"].value("ownerReferences", kube::Json::array())) {
    if (owner.value("controller", false) && owner.value("uid", "") != uid) {
      return absl::FailedPreconditionError(
          "connection secret " + ns + "/" + name + " is controlled by another resource (" +
          owner.value("kind", "") + " " + owner.value("name", "") + ")");
    }
  }
  kube::Json merged = current.value("data", kube::Json::object());
  if (merged.is_null()) merged = kube::Json::object();
  bool changed = false;
  for (auto& [k, v] : data.items()) {
    if (!merged.contains(k) || merged[k] != v) {
      merged[k] = v;
      changed = true;
    }
  }
  if (!changed) return false;
  current["data"] = merged;
  RETURN_IF_ERROR(client.Update(kube::kSecrets, current));
  return true;
}

}  // namespace runtime
