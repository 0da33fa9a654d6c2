#include "admission/cert_manager.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "provider/kube/config.h"
#include "spdlog/spdlog.h"

namespace platform::admission {
namespace {

const kube::Resource kSecrets{"", "v1", "secrets", "Secret", true};
const kube::Resource kValidating{"admissionregistration.k8s.io", "v1",
                                 "validatingwebhookconfigurations",
                                 "ValidatingWebhookConfiguration", false};
const kube::Resource kMutating{"admissionregistration.k8s.io", "v1",
                               "mutatingwebhookconfigurations", "MutatingWebhookConfiguration",
                               false};

constexpr const char* kCaCert = "ca.crt";
constexpr const char* kCaKey = "ca.key";
constexpr const char* kTlsCert = "tls.crt";
constexpr const char* kTlsKey = "tls.key";
constexpr int kAttempts = 5;

// The PEM certificates of a bundle, in order.
std::vector<std::string> SplitPem(const std::string& bundle) {
  static constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
  std::vector<std::string> out;
  std::size_t start = bundle.find("-----BEGIN CERTIFICATE-----");
  while (start != std::string::npos) {
    const std::size_t end = bundle.find(kEnd, start);
    if (end == std::string::npos) break;
    out.push_back(bundle.substr(start, end + kEnd.size() - start) + "\n");
    start = bundle.find("-----BEGIN CERTIFICATE-----", end);
  }
  return out;
}

std::string SecretValue(const kube::Json& secret, const char* key) {
  const auto data = secret.find("data");
  if (data == secret.end() || !data->is_object()) return "";
  const auto it = data->find(key);
  if (it == data->end() || !it->is_string()) return "";
  absl::StatusOr<std::string> decoded = kube::Base64Decode(it->get<std::string>());
  return decoded.ok() ? *decoded : "";
}

bool SameHosts(std::vector<std::string> a, std::vector<std::string> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

}  // namespace

CertManager::CertManager(kube::Client& client, CertManagerOptions options, const kube::Clock& clock)
    : client_(client), options_(std::move(options)), clock_(clock) {}

absl::StatusOr<Certificates> CertManager::Reconcile() {
  if (options_.external) return ReadExternal();
  absl::StatusOr<Certificates> certs = ReconcileSecret();
  if (!certs.ok()) return certs.status();
  if (absl::Status s = PublishBundle(certs->ca_bundle, certs->configurations_missing); !s.ok()) {
    return s;
  }
  return certs;
}

absl::StatusOr<Certificates> CertManager::ReadExternal() {
  const std::string where = absl::StrCat("secret ", options_.ns, "/", options_.secret);
  absl::StatusOr<kube::Json> secret =
      client_.Get(kSecrets, kube::ObjectKey{options_.ns, options_.secret});
  if (kube::IsNotFound(secret.status())) {
    return absl::UnavailableError(
        absl::StrCat(where, " does not exist yet; its issuer (cert-manager) makes it"));
  }
  if (!secret.ok()) {
    return absl::Status(secret.status().code(),
                        absl::StrCat(where, ": ", secret.status().message()));
  }
  Certificates certs;
  certs.serving = {SecretValue(*secret, kTlsCert), SecretValue(*secret, kTlsKey)};
  certs.ca_bundle = SecretValue(*secret, kCaCert);
  absl::StatusOr<CertInfo> info = ReadCert(certs.serving.cert_pem);
  if (!info.ok() || certs.serving.key_pem.empty()) {
    return absl::UnavailableError(
        absl::StrCat(where, " holds no readable tls.crt and tls.key yet"));
  }
  if (info->not_after <= clock_.Now()) {
    return absl::UnavailableError(absl::StrCat(where,
                                               ": its certificate has expired; its "
                                               "issuer has not renewed it"));
  }
  return certs;
}

absl::StatusOr<Certificates> CertManager::ReconcileSecret() {
  const std::string where = absl::StrCat("secret ", options_.ns, "/", options_.secret);
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const kube::Time now = clock_.Now();
    absl::StatusOr<kube::Json> got =
        client_.Get(kSecrets, kube::ObjectKey{options_.ns, options_.secret});
    kube::Json secret;
    if (got.ok()) {
      secret = *std::move(got);
    } else if (!kube::IsNotFound(got.status())) {
      return absl::Status(got.status().code(), absl::StrCat(where, ": ", got.status().message()));
    }
    Certificates certs;
    std::vector<std::string> cas = SplitPem(SecretValue(secret, kCaCert));
    KeyPair ca{cas.empty() ? "" : cas.front(), SecretValue(secret, kCaKey)};
    certs.serving = {SecretValue(secret, kTlsCert), SecretValue(secret, kTlsKey)};

    // The CA: kept while readable and not due for renewal.
    absl::StatusOr<CertInfo> ca_info = ReadCert(ca.cert_pem);
    // A CA signs itself: that also checks the key is its own.
    const bool ca_ok = ca_info.ok() && ca_info->is_ca &&
                       Verifies(ca.cert_pem, ca.cert_pem, ca.key_pem) &&
                       ca_info->not_after > now + options_.renew_before;
    if (!ca_ok) {
      absl::StatusOr<KeyPair> made = MakeCa("platform-admission-ca", now, options_.ca_validity);
      if (!made.ok()) return made.status();
      spdlog::info("certificates: {} a CA for {}, valid until +{}s",
                   ca_info.ok() ? "renewing" : "making", where, options_.ca_validity.count());
      ca = *std::move(made);
      cas.insert(cas.begin(), ca.cert_pem);
      certs.renewed = true;
    }
    // The bundle: the current CA and those still valid (the previous one).
    for (const std::string& pem : cas) {
      absl::StatusOr<CertInfo> info = ReadCert(pem);
      if (info.ok() && info->not_after > now) certs.ca_bundle += pem;
    }

    absl::StatusOr<CertInfo> tls_info = ReadCert(certs.serving.cert_pem);
    const bool tls_ok = !certs.renewed && tls_info.ok() &&
                        Verifies(ca.cert_pem, certs.serving.cert_pem, certs.serving.key_pem) &&
                        SameHosts(tls_info->hosts, options_.hosts) &&
                        tls_info->not_after > now + options_.renew_before;
    if (!tls_ok) {
      absl::StatusOr<KeyPair> issued =
          IssueServing(ca, options_.hosts, now, options_.serving_validity);
      if (!issued.ok()) return issued.status();
      spdlog::info("certificates: issuing the serving certificate for {} in {}",
                   absl::StrJoin(options_.hosts, ", "), where);
      certs.serving = *std::move(issued);
      certs.renewed = true;
    }
    if (!certs.renewed && SecretValue(secret, kCaCert) == certs.ca_bundle) return certs;

    kube::Json data = {{kCaCert, absl::Base64Escape(certs.ca_bundle)},
                       {kCaKey, absl::Base64Escape(ca.key_pem)},
                       {kTlsCert, absl::Base64Escape(certs.serving.cert_pem)},
                       {kTlsKey, absl::Base64Escape(certs.serving.key_pem)}};
    absl::StatusOr<kube::Json> written;
    if (secret.is_null()) {
      written = client_.Create(kSecrets, {{"apiVersion", "v1"},
                                          {"kind", "Secret"},
                                          {"metadata",
                                           {{"name", options_.secret},
                                            {"namespace", options_.ns},
                                            {"labels",
                                             {{"app.kubernetes.io/name", "platform-admission"},
                                              {"app.kubernetes.io/component", "certificates"}}}}},
                                          {"type", "Opaque"},
                                          {"data", std::move(data)}});
    } else {
      secret["data"] = std::move(data);  // keeps metadata.resourceVersion: a stale copy conflicts
      written = client_.Update(kSecrets, secret);
    }
    if (written.ok()) return certs;
    if (kube::IsAlreadyExists(written.status()) || kube::IsConflict(written.status())) {
      // Another replica wrote first: read its certificates.
      continue;
    }
    return absl::Status(written.status().code(),
                        absl::StrCat(where, ": ", written.status().message()));
  }
  return absl::AbortedError(
      absl::StrCat(where, ": changed by others ", kAttempts, " times in a row; will try again"));
}

absl::Status CertManager::PublishBundle(const std::string& ca_bundle, bool& missing) {
  const std::string encoded = absl::Base64Escape(ca_bundle);
  for (const auto& [resource, names] :
       {std::pair<const kube::Resource*, const std::vector<std::string>*>{
            &kValidating, &options_.validating_configurations},
        {&kMutating, &options_.mutating_configurations}}) {
    for (const std::string& name : *names) {
      const std::string where = absl::StrCat(resource->kind, " ", name);
      for (int attempt = 0;; ++attempt) {
        absl::StatusOr<kube::Json> config = client_.Get(*resource, kube::ObjectKey{"", name});
        if (kube::IsNotFound(config.status())) {
          spdlog::warn("certificates: {} does not exist yet; its caBundle is set once it does",
                       where);
          missing = true;
          break;
        }
        if (!config.ok()) {
          return absl::Status(config.status().code(),
                              absl::StrCat(where, ": ", config.status().message()));
        }
        kube::Json patch = kube::Json::array();
        patch.push_back({{"op", "test"},
                         {"path", "/metadata/resourceVersion"},
                         {"value", (*config)["metadata"].value("resourceVersion", "")}});
        const kube::Json& webhooks = (*config).value("webhooks", kube::Json::array());
        for (std::size_t i = 0; i < webhooks.size(); ++i) {
          const kube::Json& client_config = webhooks[i].value("clientConfig", kube::Json::object());
          if (client_config.value("caBundle", "") == encoded) continue;
          patch.push_back({{"op", client_config.contains("caBundle") ? "replace" : "add"},
                           {"path", absl::StrCat("/webhooks/", i, "/clientConfig/caBundle")},
                           {"value", encoded}});
        }
        if (patch.size() == 1) break;  // already current
        absl::StatusOr<kube::Json> patched =
            client_.Patch(*resource, kube::ObjectKey{"", name}, kube::PatchType::kJson, patch, {});
        if (patched.ok()) {
          spdlog::info("certificates: {} trusts the current CA bundle", where);
          break;
        }
        // The test op fails (422) or the write conflicts when someone else
        // changed the configuration meanwhile: read it again.
        if (attempt + 1 < kAttempts) continue;
        return absl::Status(patched.status().code(),
                            absl::StrCat(where, ": ", patched.status().message()));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace platform::admission
