// The webhook's own certificates: a CA that signs a serving certificate for
// the Service's DNS names (and, in tests, 127.0.0.1), made with OpenSSL and
// kept as PEM. CertManager (cert_manager.h) stores them in a Secret and
// renews them; this file only makes and reads them.
#ifndef PLATFORM_ADMISSION_CERTS_H_
#define PLATFORM_ADMISSION_CERTS_H_

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace platform::admission {

// A certificate and its private key, PEM.
struct KeyPair {
  std::string cert_pem;
  std::string key_pem;
};

// A self-signed CA (basicConstraints CA:TRUE, keyUsage keyCertSign, cRLSign)
// named `common_name`, valid from a minute before `now` for `validity`.
// ECDSA P-256 keys.
absl::StatusOr<KeyPair> MakeCa(const std::string& common_name,
                               std::chrono::system_clock::time_point now,
                               std::chrono::seconds validity);

// A serving certificate signed by `ca` for `hosts` (DNS names, or IP
// addresses such as 127.0.0.1, which become IP SANs), the first of them as
// common name; extendedKeyUsage serverAuth; valid from a minute before `now`
// for `validity`, but never past the CA's own expiry. InvalidArgument when
// `hosts` is empty or `ca` cannot be read.
absl::StatusOr<KeyPair> IssueServing(const KeyPair& ca, const std::vector<std::string>& hosts,
                                     std::chrono::system_clock::time_point now,
                                     std::chrono::seconds validity);

// What a PEM certificate says about itself.
struct CertInfo {
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::time_point not_after;
  std::vector<std::string> hosts;  // DNS and IP SANs, in order
  bool is_ca = false;
};

// Reads the first certificate of `pem`; InvalidArgument when there is none.
absl::StatusOr<CertInfo> ReadCert(const std::string& pem);

// True when `leaf_pem` is signed by `ca_pem`'s key and `key_pem` is the
// private key of `leaf_pem`.
bool Verifies(const std::string& ca_pem, const std::string& leaf_pem, const std::string& key_pem);

}  // namespace platform::admission

#endif  // PLATFORM_ADMISSION_CERTS_H_
