// The webhook's certificates, managed by the webhook itself: a CA and a
// serving certificate kept in a Secret, renewed before they expire, and the
// CA written into the caBundle of the webhook's own configurations so the
// API server trusts whatever is served. Every replica runs it; they agree
// through the Secret (created once, updated with its resourceVersion, so a
// replica that loses a race reads the winner's certificates).
//
// A renewed CA does not cut off the old one: the bundle holds the new CA and
// the previous one until that expires, so an API server with the old bundle
// and a replica with the new certificate still agree.
#ifndef PLATFORM_ADMISSION_CERT_MANAGER_H_
#define PLATFORM_ADMISSION_CERT_MANAGER_H_

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "admission/certs.h"
#include "provider/kube/client.h"
#include "provider/kube/clock.h"

namespace platform::admission {

struct CertManagerOptions {
  std::string ns;      // the Secret's namespace
  std::string secret;  // and name
  // Another issuer keeps the Secret (cert-manager: a kubernetes.io/tls
  // Secret with tls.crt, tls.key and ca.crt) and the caBundles
  // (cert-manager's CA injector): only read it, never write anything.
  bool external = false;
  // The serving certificate's names: the Service's DNS names (and, in
  // tests, 127.0.0.1).
  std::vector<std::string> hosts;
  // ValidatingWebhookConfigurations and MutatingWebhookConfigurations whose
  // webhooks' clientConfig.caBundle is kept equal to the CA bundle.
  std::vector<std::string> validating_configurations;
  std::vector<std::string> mutating_configurations;
  std::chrono::seconds ca_validity = std::chrono::hours(24 * 365 * 10);
  std::chrono::seconds serving_validity = std::chrono::hours(24 * 365);
  // A certificate this close to its expiry is renewed.
  std::chrono::seconds renew_before = std::chrono::hours(24 * 30);
};

// What to serve and what to trust.
struct Certificates {
  std::string ca_bundle;  // PEM: the current CA, then the previous one while valid
  KeyPair serving;
  bool renewed = false;  // this call made a new CA or serving certificate
  // A configuration to publish the bundle to does not exist yet.
  bool configurations_missing = false;
};

class CertManager {
 public:
  // `client` and `clock` must outlive this.
  CertManager(kube::Client& client, CertManagerOptions options, const kube::Clock& clock);

  // Reads the Secret; makes what is missing, unreadable, for other hosts or
  // due for renewal, and stores it; then makes every configuration's
  // caBundle the CA bundle. A configuration that does not exist yet is
  // skipped (the next call tries again). Errors name the object.
  // With `external`, only reads what the other issuer stored: Unavailable
  // until the Secret holds a serving certificate and its key.
  absl::StatusOr<Certificates> Reconcile();

 private:
  absl::StatusOr<Certificates> ReconcileSecret();
  absl::StatusOr<Certificates> ReadExternal();
  // Sets `missing` when a configuration does not exist yet.
  absl::Status PublishBundle(const std::string& ca_bundle, bool& missing);

  kube::Client& client_;
  CertManagerOptions options_;
  const kube::Clock& clock_;
};

}  // namespace platform::admission

#endif  // PLATFORM_ADMISSION_CERT_MANAGER_H_
