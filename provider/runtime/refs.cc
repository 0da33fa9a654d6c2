#include "provider/runtime/refs.h"

#include <stdexcept>

#include "provider/kube/resources.h"
#include "provider/runtime/connection.h"
#include "provider/runtime/duration.h"

namespace runtime {

kube::Json ObjectAt(const kube::Json& j, const std::string& key) {
  if (!j.is_object()) return kube::Json::object();
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : kube::Json::object();
}

kube::Json ArrayAt(const kube::Json& j, const std::string& key) {
  if (!j.is_object()) return kube::Json::array();
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? *it : kube::Json::array();
}

std::string StringAt(const kube::Json& j, const std::string& key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

absl::StatusOr<std::string> ReadKey(kube::Client& client, bool secret, const kube::Json& ref,
                                    const std::string& forced_ns, const std::string& field) {
  const std::string name = StringAt(ref, "name");
  const std::string key = StringAt(ref, "key");
  const std::string ns = forced_ns.empty() ? StringAt(ref, "namespace") : forced_ns;
  if (name.empty()) return absl::InvalidArgumentError(field + ".name is required");
  if (key.empty()) return absl::InvalidArgumentError(field + ".key is required");
  if (ns.empty()) return absl::InvalidArgumentError(field + ".namespace is required");
  const std::string kind = secret ? "Secret" : "ConfigMap";
  const absl::StatusOr<kube::Json> got =
      client.Get(secret ? kube::kSecrets : kube::kConfigMaps, {ns, name});
  if (!got.ok()) {
    // The code stays the API's (NotFound, PermissionDenied, ...); the
    // message names the field.
    return absl::Status(got.status().code(),
                        field + ": cannot read " + kind + " " + ns + "/" + name + ": " +
                            (kube::IsNotFound(got.status()) ? std::string("not found")
                                                            : std::string(got.status().message())));
  }
  const kube::Json& object = *got;
  const kube::Json data = ObjectAt(object, "data");
  if (data.contains(key) && data[key].is_string()) {
    const std::string value = data[key].get<std::string>();
    return secret ? runtime::Base64Decode(value) : value;
  }
  const kube::Json binary = ObjectAt(object, "binaryData");
  if (!secret && binary.contains(key) && binary[key].is_string()) {
    return runtime::Base64Decode(binary[key].get<std::string>());
  }
  return absl::NotFoundError(field + ": " + kind + " " + ns + "/" + name + " has no key \"" + key +
                             "\"");
}

void CollectValues(const kube::Json& j, std::vector<std::string>& out) {
  if (j.is_string()) {
    out.push_back(j.get<std::string>());
  } else if (j.is_number()) {
    out.push_back(j.dump());
  } else if (j.is_structured()) {
    for (const auto& v : j) CollectValues(v, out);
  }
}

absl::StatusOr<std::string> ReadVarFile(kube::Client& client, const kube::Json& entry,
                                        const std::string& forced_ns, const std::string& field) {
  const std::string source = StringAt(entry, "source");
  if (source == "SecretKey") {
    return ReadKey(client, true, ObjectAt(entry, "secretKeyRef"), forced_ns,
                   field + ".secretKeyRef");
  }
  if (source == "ConfigMapKey") {
    return ReadKey(client, false, ObjectAt(entry, "configMapKeyRef"), forced_ns,
                   field + ".configMapKeyRef");
  }
  return absl::InvalidArgumentError(field + ".source: \"" + source +
                                    "\" is not SecretKey or ConfigMapKey");
}

absl::StatusOr<std::chrono::milliseconds> TimeoutField(const kube::Json& for_provider,
                                                       std::chrono::milliseconds fallback) {
  const std::string text = StringAt(for_provider, "timeout");
  if (text.empty()) return fallback;
  const absl::StatusOr<std::chrono::milliseconds> parsed = ParseDuration(text);
  if (!parsed.ok() || parsed->count() <= 0) {
    return absl::InvalidArgumentError("spec.forProvider.timeout: \"" + text +
                                      "\" is not a duration like 10m");
  }
  return *parsed;
}

}  // namespace runtime
