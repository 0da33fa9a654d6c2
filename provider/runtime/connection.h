// Connection details: the Secret a managed resource's
// spec.writeConnectionSecretToRef names, owned by the resource (so garbage
// collection removes it with the resource), typed
// connection.crossplane.io/v1alpha1, written only when its data changes.
// Publishing is additive: keys are added or overwritten, never removed.
#ifndef PROVIDER_RUNTIME_CONNECTION_H_
#define PROVIDER_RUNTIME_CONNECTION_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "provider/kube/client.h"

namespace runtime {

using ConnectionDetails = std::map<std::string, std::string>;

// Writes `details` (raw bytes) to the resource's connection Secret. A
// resource without spec.writeConnectionSecretToRef, or empty details, is a
// no-op. Returns true when the Secret was written. An API error is returned
// as it came; a Secret controlled by another object is FailedPrecondition
// (it is not ours to write; retrying does not help).
absl::StatusOr<bool> PublishConnectionDetails(kube::Client& client, const kube::Json& mr,
                                              const ConnectionDetails& details);

// Base64 for Secret data.
std::string Base64Encode(const std::string& raw);
std::string Base64Decode(const std::string& text);

}  // namespace runtime

#endif  // PROVIDER_RUNTIME_CONNECTION_H_
