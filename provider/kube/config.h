// Where the API server is and how to authenticate to it: from a kubeconfig
// file, from the pod's service account (in-cluster), or whichever applies.
#ifndef PROVIDER_KUBE_CONFIG_H_
#define PROVIDER_KUBE_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"

namespace kube {

struct Config {
  std::string server;           // https://host:port
  std::string ca_pem;           // PEM of the CA bundle; "" = system roots
  std::string client_cert_pem;  // client certificate (mutual TLS)
  std::string client_key_pem;
  std::string token;       // bearer token
  std::string token_file;  // bearer token re-read from this file (rotated tokens)
  bool insecure = false;   // skip server certificate verification
  std::string ns;          // default namespace ("" when not set)
};

// Reads a kubeconfig: the named context, or its current-context. Relative
// file paths in it are relative to the kubeconfig's folder; *-data fields are
// base64. An error names the file and what is missing or wrong: NotFound or
// PermissionDenied when a file cannot be read, InvalidArgument otherwise.
absl::StatusOr<Config> ReadKubeconfig(const std::string& path, const std::string& context = "");

// The pod's service account: KUBERNETES_SERVICE_HOST/PORT, and the token
// (kept as token_file so it is re-read), ca.crt and namespace in `sa_dir`.
absl::StatusOr<Config> InClusterConfig(
    const std::string& sa_dir = "/var/run/secrets/kubernetes.io/serviceaccount");

// The flag's kubeconfig, else $KUBECONFIG (its first entry), else in-cluster
// when KUBERNETES_SERVICE_HOST is set, else ~/.kube/config.
absl::StatusOr<Config> ResolveConfig(const std::string& kubeconfig_flag);

// Standard base64 (padding optional, whitespace ignored); InvalidArgument
// when malformed.
absl::StatusOr<std::string> Base64Decode(const std::string& text);

}  // namespace kube

#endif  // PROVIDER_KUBE_CONFIG_H_
