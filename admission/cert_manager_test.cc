#include "admission/cert_manager.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/escaping.h"
#include "provider/testing/fake_client.h"
#include "provider/testing/fake_clock.h"

namespace platform::admission {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

const kube::Resource kSecrets{"", "v1", "secrets", "Secret", true};
const kube::Resource kValidating{"admissionregistration.k8s.io", "v1",
                                 "validatingwebhookconfigurations",
                                 "ValidatingWebhookConfiguration", false};
const kube::Resource kMutating{"admissionregistration.k8s.io", "v1",
                               "mutatingwebhookconfigurations", "MutatingWebhookConfiguration",
                               false};

CertManagerOptions Options() {
  CertManagerOptions o;
  o.ns = "crossplane-system";
  o.secret = "platform-admission-tls";
  o.hosts = {"platform-admission.crossplane-system.svc", "127.0.0.1"};
  o.validating_configurations = {"platform-admission"};
  o.mutating_configurations = {"platform-admission"};
  o.ca_validity = hours(24 * 365);
  o.serving_validity = hours(24 * 30);
  o.renew_before = hours(24 * 7);
  return o;
}

kube::Json Configuration(const std::string& kind, int webhooks) {
  kube::Json c = {{"apiVersion", "admissionregistration.k8s.io/v1"},
                  {"kind", kind},
                  {"metadata", {{"name", "platform-admission"}}},
                  {"webhooks", kube::Json::array()}};
  for (int i = 0; i < webhooks; ++i) {
    c["webhooks"].push_back({{"name", "w" + std::to_string(i) + ".platform.terraforming.io"},
                             {"clientConfig", {{"service", {{"name", "platform-admission"}}}}}});
  }
  return c;
}

std::string Stored(kube::testing::FakeClient& client, const char* key) {
  const kube::Json secret = *client.Get(kSecrets, {"crossplane-system", "platform-admission-tls"});
  std::string out;
  EXPECT_TRUE(absl::Base64Unescape(secret["data"][key].get<std::string>(), &out));
  return out;
}

std::string CaBundleOf(kube::testing::FakeClient& client, const kube::Resource& r, int i) {
  const kube::Json c = *client.Get(r, {"", "platform-admission"});
  std::string out;
  EXPECT_TRUE(absl::Base64Unescape(
      c["webhooks"][i]["clientConfig"].value("caBundle", std::string()), &out));
  return out;
}

class CertManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        client_.Create(kValidating, Configuration("ValidatingWebhookConfiguration", 1)).ok());
    ASSERT_TRUE(client_.Create(kMutating, Configuration("MutatingWebhookConfiguration", 2)).ok());
  }
  kube::testing::FakeClient client_;
  kube::testing::FakeClock clock_;
};

TEST_F(CertManagerTest, MakesTheCaAndServingCertificateAndPublishesTheCa) {
  CertManager m(client_, Options(), clock_);
  absl::StatusOr<Certificates> c = m.Reconcile();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->renewed);
  EXPECT_TRUE(Verifies(c->ca_bundle, c->serving.cert_pem, c->serving.key_pem));
  absl::StatusOr<CertInfo> info = ReadCert(c->serving.cert_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->hosts, Options().hosts);
  // Stored, and trusted by every webhook of both configurations.
  EXPECT_EQ(Stored(client_, "tls.crt"), c->serving.cert_pem);
  EXPECT_EQ(Stored(client_, "ca.crt"), c->ca_bundle);
  EXPECT_EQ(CaBundleOf(client_, kValidating, 0), c->ca_bundle);
  EXPECT_EQ(CaBundleOf(client_, kMutating, 0), c->ca_bundle);
  EXPECT_EQ(CaBundleOf(client_, kMutating, 1), c->ca_bundle);
}

TEST_F(CertManagerTest, KeepsWhatIsValidAndWritesNothing) {
  CertManager m(client_, Options(), clock_);
  const Certificates first = *m.Reconcile();
  const std::string version = (*client_.Get(
      kSecrets, {"crossplane-system", "platform-admission-tls"}))["metadata"]["resourceVersion"];
  clock_.now += hours(24);
  const Certificates again = *m.Reconcile();
  EXPECT_FALSE(again.renewed);
  EXPECT_EQ(again.serving.cert_pem, first.serving.cert_pem);
  EXPECT_EQ((*client_.Get(kSecrets, {"crossplane-system",
                                     "platform-admission-tls"}))["metadata"]["resourceVersion"],
            version);
  // A second replica reads the same certificates.
  CertManager other(client_, Options(), clock_);
  EXPECT_EQ(other.Reconcile()->serving.cert_pem, first.serving.cert_pem);
}

TEST_F(CertManagerTest, RenewsTheServingCertificateBeforeItExpires) {
  CertManager m(client_, Options(), clock_);
  const Certificates first = *m.Reconcile();
  clock_.now += hours(24 * 24);  // 6 days left of 30: within renew_before
  const Certificates renewed = *m.Reconcile();
  EXPECT_TRUE(renewed.renewed);
  EXPECT_NE(renewed.serving.cert_pem, first.serving.cert_pem);
  EXPECT_EQ(renewed.ca_bundle, first.ca_bundle);  // same CA: nothing to republish
  EXPECT_TRUE(Verifies(first.ca_bundle, renewed.serving.cert_pem, renewed.serving.key_pem));
  EXPECT_EQ(Stored(client_, "tls.crt"), renewed.serving.cert_pem);
}

TEST_F(CertManagerTest, ReissuesForOtherHosts) {
  const Certificates first = *CertManager(client_, Options(), clock_).Reconcile();
  CertManagerOptions moved = Options();
  moved.hosts = {"platform-admission.platform.svc"};
  const Certificates reissued = *CertManager(client_, moved, clock_).Reconcile();
  EXPECT_NE(reissued.serving.cert_pem, first.serving.cert_pem);
  EXPECT_EQ(ReadCert(reissued.serving.cert_pem)->hosts, moved.hosts);
}

TEST_F(CertManagerTest, ARenewedCaIsTrustedBesideThePreviousOne) {
  CertManager m(client_, Options(), clock_);
  const Certificates first = *m.Reconcile();
  clock_.now += hours(24 * 360);  // 5 days left of the CA's 365
  const Certificates renewed = *m.Reconcile();
  EXPECT_TRUE(renewed.renewed);
  // The new CA first, the previous one after it, until it expires.
  ASSERT_TRUE(renewed.ca_bundle.ends_with(first.ca_bundle));
  EXPECT_GT(renewed.ca_bundle.size(), first.ca_bundle.size());
  const std::string new_ca =
      renewed.ca_bundle.substr(0, renewed.ca_bundle.size() - first.ca_bundle.size());
  EXPECT_TRUE(Verifies(new_ca, renewed.serving.cert_pem, renewed.serving.key_pem));
  EXPECT_EQ(CaBundleOf(client_, kValidating, 0), renewed.ca_bundle);
  EXPECT_EQ(CaBundleOf(client_, kMutating, 1), renewed.ca_bundle);
  // Once the old CA has expired it leaves the bundle.
  clock_.now += hours(24 * 10);
  const Certificates later = *m.Reconcile();
  EXPECT_EQ(later.ca_bundle, new_ca);
  EXPECT_EQ(CaBundleOf(client_, kValidating, 0), new_ca);
}

TEST_F(CertManagerTest, AnUnreadableSecretIsReplaced) {
  kube::Json secret = {
      {"apiVersion", "v1"},
      {"kind", "Secret"},
      {"metadata", {{"name", "platform-admission-tls"}, {"namespace", "crossplane-system"}}},
      {"data", {{"ca.crt", absl::Base64Escape("not a certificate")}}}};
  ASSERT_TRUE(client_.Create(kSecrets, secret).ok());
  absl::StatusOr<Certificates> c = CertManager(client_, Options(), clock_).Reconcile();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(Verifies(c->ca_bundle, c->serving.cert_pem, c->serving.key_pem));
  EXPECT_EQ(Stored(client_, "ca.crt"), c->ca_bundle);
}

TEST_F(CertManagerTest, AMissingConfigurationIsSkippedUntilItExists) {
  ASSERT_TRUE(client_.Delete(kMutating, {"", "platform-admission"}).ok());
  CertManager m(client_, Options(), clock_);
  const Certificates c = *m.Reconcile();
  EXPECT_TRUE(c.configurations_missing);
  EXPECT_EQ(CaBundleOf(client_, kValidating, 0), c.ca_bundle);
  ASSERT_TRUE(client_.Create(kMutating, Configuration("MutatingWebhookConfiguration", 1)).ok());
  absl::StatusOr<Certificates> again = m.Reconcile();
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->configurations_missing);
  EXPECT_EQ(CaBundleOf(client_, kMutating, 0), c.ca_bundle);
}

// cert-manager keeps the Secret and the caBundles: the webhook only reads.
TEST_F(CertManagerTest, WithAnExternalIssuerItOnlyReads) {
  CertManagerOptions external = Options();
  external.external = true;
  CertManager m(client_, external, clock_);
  absl::StatusOr<Certificates> missing = m.Reconcile();
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(missing.status().message().find("does not exist yet"), std::string::npos);
  EXPECT_FALSE(client_.Get(kSecrets, {"crossplane-system", "platform-admission-tls"}).ok())
      << "it made the Secret itself";

  // What cert-manager writes: a kubernetes.io/tls Secret with ca.crt.
  const KeyPair ca = *MakeCa("cert-manager-ca", clock_.now, hours(24 * 90));
  const KeyPair serving = *IssueServing(ca, external.hosts, clock_.now, hours(24 * 30));
  ASSERT_TRUE(client_
                  .Create(kSecrets, {{"apiVersion", "v1"},
                                     {"kind", "Secret"},
                                     {"type", "kubernetes.io/tls"},
                                     {"metadata",
                                      {{"name", "platform-admission-tls"},
                                       {"namespace", "crossplane-system"}}},
                                     {"data",
                                      {{"tls.crt", absl::Base64Escape(serving.cert_pem)},
                                       {"tls.key", absl::Base64Escape(serving.key_pem)},
                                       {"ca.crt", absl::Base64Escape(ca.cert_pem)}}}})
                  .ok());
  absl::StatusOr<Certificates> c = m.Reconcile();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->serving.cert_pem, serving.cert_pem);
  EXPECT_EQ(c->ca_bundle, ca.cert_pem);
  // Nothing written: not the Secret, not the caBundles, even near expiry.
  clock_.now += hours(24 * 29);
  ASSERT_TRUE(m.Reconcile().ok());
  EXPECT_EQ(Stored(client_, "tls.crt"), serving.cert_pem);
  EXPECT_EQ(CaBundleOf(client_, kValidating, 0), "");
  // An expired certificate is refused, not served.
  clock_.now += hours(24 * 2);
  EXPECT_EQ(m.Reconcile().status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace platform::admission
