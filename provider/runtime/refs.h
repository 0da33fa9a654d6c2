// Reading what a managed resource or ProviderConfig refers to: keys of
// Secrets and ConfigMaps, and typed fields of JSON objects that may be
// missing or of another type, with errors naming the field.
#ifndef PROVIDER_RUNTIME_REFS_H_
#define PROVIDER_RUNTIME_REFS_H_

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "provider/kube/client.h"

namespace runtime {

// The member `key` of `j` when it is an object (an array, a string), else an
// empty one.
kube::Json ObjectAt(const kube::Json& j, const std::string& key);
kube::Json ArrayAt(const kube::Json& j, const std::string& key);
std::string StringAt(const kube::Json& j, const std::string& key);

// One key of a Secret (`secret`) or ConfigMap: `ref` is {name, key[,
// namespace]}; `forced_ns`, when set, is the namespace (a namespaced
// resource reads only its own). `field` names the reference in errors
// ("spec.forProvider.env[1].secretKeyRef"). InvalidArgument for an
// incomplete reference, NotFound for a missing object or key, the API's code
// when the object cannot be read; the message names the field.
absl::StatusOr<std::string> ReadKey(kube::Client& client, bool secret, const kube::Json& ref,
                                    const std::string& forced_ns, const std::string& field);

// The content of spec.forProvider.varFiles[i] (`entry`, named `field` in
// errors): {source: SecretKey, secretKeyRef} or {source: ConfigMapKey,
// configMapKeyRef}, read as ReadKey does. InvalidArgument for another source.
absl::StatusOr<std::string> ReadVarFile(kube::Client& client, const kube::Json& entry,
                                        const std::string& forced_ns, const std::string& field);

// spec.forProvider.timeout (a duration like "10m") of `for_provider`, or
// `fallback` when it is not set. InvalidArgument naming the field when it is
// not a positive duration.
absl::StatusOr<std::chrono::milliseconds> TimeoutField(const kube::Json& for_provider,
                                                       std::chrono::milliseconds fallback);

// Leaf values of a JSON document (strings, numbers), for redaction.
void CollectValues(const kube::Json& j, std::vector<std::string>& out);

}  // namespace runtime

#endif  // PROVIDER_RUNTIME_REFS_H_
