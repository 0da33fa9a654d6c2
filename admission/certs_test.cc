#include "admission/certs.h"

#include <gtest/gtest.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace platform::admission {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::seconds;
using std::chrono::system_clock;
using namespace std::chrono_literals;

template <auto kFree>
struct Free {
  template <typename T>
  void operator()(T* p) const {
    kFree(p);
  }
};
using X509Ptr = std::unique_ptr<X509, Free<X509_free>>;
using BigNumPtr = std::unique_ptr<BIGNUM, Free<BN_free>>;
using BioPtr = std::unique_ptr<BIO, Free<BIO_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Free<GENERAL_NAMES_free>>;

::testing::AssertionResult HasText(std::string_view text, std::string_view part) {
  if (text.find(part) != std::string_view::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << part << "\" is not in:\n" << text;
}

// A fixed, whole-second instant, so that validity times compare exactly.
const system_clock::time_point kNow = std::chrono::sys_days{std::chrono::year{2030} / 1 / 15} + 9h;
constexpr seconds kYear = days(365);

X509Ptr Parse(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return nullptr;
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

std::string CommonName(const X509_NAME* name) {
  const int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return "";
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     static_cast<size_t>(ASN1_STRING_length(data)));
}

// -1 when the extension is absent, else whether it is critical.
int Critical(const X509* cert, int nid) {
  const int i = X509_get_ext_by_NID(cert, nid, -1);
  return i < 0 ? -1 : X509_EXTENSION_get_critical(X509_get_ext(cert, i));
}

// The SAN types (GEN_DNS, GEN_IPADD), in order.
std::vector<int> SanTypes(const X509* cert) {
  std::vector<int> types;
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    types.push_back(sk_GENERAL_NAME_value(names.get(), i)->type);
  }
  return types;
}

BigNumPtr Serial(const X509* cert) {
  return BigNumPtr(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
}

KeyPair MustCa(const std::string& name = "platform-admission-ca",
               system_clock::time_point now = kNow, seconds validity = 10 * kYear) {
  absl::StatusOr<KeyPair> ca = MakeCa(name, now, validity);
  EXPECT_TRUE(ca.ok()) << ca.status();
  return ca.ok() ? *ca : KeyPair{};
}

KeyPair MustServing(const KeyPair& ca,
                    const std::vector<std::string>& hosts = {"webhook.ns.svc", "127.0.0.1"},
                    system_clock::time_point now = kNow, seconds validity = kYear) {
  absl::StatusOr<KeyPair> leaf = IssueServing(ca, hosts, now, validity);
  EXPECT_TRUE(leaf.ok()) << leaf.status();
  return leaf.ok() ? *leaf : KeyPair{};
}

CertInfo MustRead(const std::string& pem) {
  absl::StatusOr<CertInfo> info = ReadCert(pem);
  EXPECT_TRUE(info.ok()) << info.status();
  return info.ok() ? *info : CertInfo{};
}

TEST(MakeCaTest, IsASelfSignedCaThatVerifiesItself) {
  const KeyPair ca = MustCa("my-ca");
  const CertInfo info = MustRead(ca.cert_pem);
  EXPECT_TRUE(info.is_ca);
  EXPECT_TRUE(info.hosts.empty());
  EXPECT_TRUE(Verifies(ca.cert_pem, ca.cert_pem, ca.key_pem));

  const X509Ptr cert = Parse(ca.cert_pem);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(CommonName(X509_get_subject_name(cert.get())), "my-ca");
  EXPECT_EQ(CommonName(X509_get_issuer_name(cert.get())), "my-ca");
  EXPECT_EQ(X509_check_issued(cert.get(), cert.get()), X509_V_OK);
}

TEST(MakeCaTest, HasTheCaExtensionsKeyAndSignature) {
  const KeyPair ca = MustCa();
  const X509Ptr cert = Parse(ca.cert_pem);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);
  EXPECT_EQ(Critical(cert.get(), NID_basic_constraints), 1);
  EXPECT_NE(X509_get_extension_flags(cert.get()) & EXFLAG_CA, 0u);
  EXPECT_EQ(Critical(cert.get(), NID_key_usage), 1);
  EXPECT_EQ(X509_get_key_usage(cert.get()), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_NE(X509_get0_subject_key_id(cert.get()), nullptr);
  EXPECT_EQ(X509_get_signature_nid(cert.get()), NID_ecdsa_with_SHA256);

  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  ASSERT_NE(key, nullptr);
  EXPECT_TRUE(EVP_PKEY_is_a(key, "EC"));
  std::array<char, 64> group{};
  size_t group_len = 0;
  ASSERT_EQ(EVP_PKEY_get_group_name(key, group.data(), group.size(), &group_len), 1);
  EXPECT_EQ(OBJ_sn2nid(group.data()), NID_X9_62_prime256v1) << group.data();

  EXPECT_TRUE(HasText(ca.key_pem, "-----BEGIN PRIVATE KEY-----"));  // PKCS#8, unencrypted
  EXPECT_TRUE(HasText(ca.cert_pem, "-----BEGIN CERTIFICATE-----"));
}

TEST(MakeCaTest, ValidFromAMinuteBeforeNowForTheValidity) {
  const CertInfo info = MustRead(MustCa("ca", kNow, 3 * kYear).cert_pem);
  EXPECT_EQ(info.not_before, kNow - 60s);
  EXPECT_EQ(info.not_after, kNow + 3 * kYear);
}

TEST(MakeCaTest, PastTwentyFortyNineUsesGeneralizedTimeAndReadsBack) {
  const system_clock::time_point now = std::chrono::sys_days{std::chrono::year{2049} / 12 / 31};
  const CertInfo info = MustRead(MustCa("ca", now, 2 * kYear).cert_pem);
  EXPECT_EQ(info.not_before, now - 60s);
  EXPECT_EQ(info.not_after, now + 2 * kYear);
}

TEST(MakeCaTest, FractionalSecondsAreDropped) {
  const CertInfo info = MustRead(MustCa("ca", kNow + 999ms, kYear).cert_pem);
  EXPECT_EQ(info.not_before, kNow - 60s);
  EXPECT_EQ(info.not_after, kNow + kYear);
}

TEST(MakeCaTest, ExpiryBeyondTheClockSaturates) {
  // The last second of 9999 fits a certificate but not a 64-bit count of
  // nanoseconds; a second later fits neither.
  const seconds until_end_of_9999 = std::chrono::sys_days{std::chrono::year{10000} / 1 / 1} -
                                    std::chrono::sys_days{2030y / 1 / 15} - 9h - 1s;
  const CertInfo info = MustRead(MustCa("ca", kNow, until_end_of_9999).cert_pem);
  EXPECT_EQ(info.not_after, system_clock::time_point::max());
  EXPECT_EQ(info.not_before, kNow - 60s);
  EXPECT_EQ(MakeCa("ca", kNow, until_end_of_9999 + 1s).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MakeCaTest, RejectsBadArguments) {
  EXPECT_EQ(MakeCa("", kNow, kYear).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeCa(std::string(65, 'a'), kNow, kYear).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(MakeCa(std::string(64, 'a'), kNow, kYear).ok());
  EXPECT_EQ(MakeCa("ca", kNow, 0s).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeCa("ca", kNow, -1s).status().code(), absl::StatusCode::kInvalidArgument);
  // Past year 9999, which no ASN1_TIME can hold.
  EXPECT_EQ(MakeCa("ca", kNow, 9000 * kYear).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeCa("ca", kNow, seconds::max()).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MakeCaTest, SerialsAreRandomPositiveAndAtMost128Bits) {
  const X509Ptr a = Parse(MustCa().cert_pem);
  const X509Ptr b = Parse(MustCa().cert_pem);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  const BigNumPtr sa = Serial(a.get());
  const BigNumPtr sb = Serial(b.get());
  ASSERT_NE(sa, nullptr);
  ASSERT_NE(sb, nullptr);
  EXPECT_FALSE(BN_is_negative(sa.get()));
  EXPECT_FALSE(BN_is_zero(sa.get()));
  EXPECT_LE(BN_num_bits(sa.get()), 128);
  // 64 bits or fewer by chance: 2^-64.
  EXPECT_GT(BN_num_bits(sa.get()), 64);
  EXPECT_NE(BN_cmp(sa.get(), sb.get()), 0);
}

TEST(IssueServingTest, VerifiesAgainstItsCaAndItsKey) {
  const KeyPair ca = MustCa();
  const KeyPair leaf = MustServing(ca);
  EXPECT_TRUE(Verifies(ca.cert_pem, leaf.cert_pem, leaf.key_pem));
  const CertInfo info = MustRead(leaf.cert_pem);
  EXPECT_FALSE(info.is_ca);

  const X509Ptr ca_cert = Parse(ca.cert_pem);
  const X509Ptr cert = Parse(leaf.cert_pem);
  ASSERT_NE(ca_cert, nullptr);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_check_issued(ca_cert.get(), cert.get()), X509_V_OK);
}

TEST(IssueServingTest, DoesNotVerifyAgainstAnotherCaOrAnotherKey) {
  const KeyPair ca = MustCa();
  const KeyPair other_ca = MustCa();  // same name, different key
  const KeyPair leaf = MustServing(ca);
  const KeyPair other_leaf = MustServing(ca);
  EXPECT_FALSE(Verifies(other_ca.cert_pem, leaf.cert_pem, leaf.key_pem));
  EXPECT_FALSE(Verifies(ca.cert_pem, leaf.cert_pem, other_leaf.key_pem));
  EXPECT_FALSE(Verifies(ca.cert_pem, leaf.cert_pem, ca.key_pem));
  EXPECT_FALSE(Verifies(leaf.cert_pem, leaf.cert_pem, leaf.key_pem));  // not self-signed
  EXPECT_TRUE(Verifies(ca.cert_pem, other_leaf.cert_pem, other_leaf.key_pem));
}

TEST(IssueServingTest, VerifiesIsFalseOnUnreadableInput) {
  const KeyPair ca = MustCa();
  const KeyPair leaf = MustServing(ca);
  EXPECT_FALSE(Verifies("garbage", leaf.cert_pem, leaf.key_pem));
  EXPECT_FALSE(Verifies(ca.cert_pem, "garbage", leaf.key_pem));
  EXPECT_FALSE(Verifies(ca.cert_pem, leaf.cert_pem, "garbage"));
  EXPECT_FALSE(Verifies("", "", ""));
  EXPECT_FALSE(Verifies(ca.cert_pem, leaf.cert_pem, leaf.cert_pem));
}

TEST(IssueServingTest, HostsBecomeDnsAndIpSansInOrder) {
  const KeyPair ca = MustCa();
  const std::vector<std::string> hosts = {"webhook.crossplane-system.svc",
                                          "127.0.0.1",
                                          "webhook.crossplane-system.svc.cluster.local",
                                          "::1",
                                          "10.0.0.1.nip.io",
                                          "fd00::a:1"};
  const KeyPair leaf = MustServing(ca, hosts);
  EXPECT_EQ(MustRead(leaf.cert_pem).hosts, hosts);
  const X509Ptr cert = Parse(leaf.cert_pem);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(SanTypes(cert.get()),
            (std::vector<int>{GEN_DNS, GEN_IPADD, GEN_DNS, GEN_IPADD, GEN_DNS, GEN_IPADD}));
  EXPECT_EQ(Critical(cert.get(), NID_subject_alt_name), 0);
}

TEST(IssueServingTest, IpSansReadBackInCanonicalForm) {
  const KeyPair leaf = MustServing(MustCa(), {"0:0:0:0:0:0:0:1", "2001:DB8::1"});
  EXPECT_EQ(MustRead(leaf.cert_pem).hosts, (std::vector<std::string>{"::1", "2001:db8::1"}));
}

TEST(IssueServingTest, AHostCannotInjectSans) {
  const KeyPair leaf = MustServing(MustCa(), {"a.example,IP:1.2.3.4"});
  EXPECT_EQ(MustRead(leaf.cert_pem).hosts, (std::vector<std::string>{"a.example,IP:1.2.3.4"}));
}

TEST(IssueServingTest, CommonNameIsTheFirstHostAndIssuerIsTheCa) {
  const KeyPair ca = MustCa("the-ca");
  const KeyPair leaf = MustServing(ca, {"first.example", "second.example"});
  const X509Ptr cert = Parse(leaf.cert_pem);
  const X509Ptr ca_cert = Parse(ca.cert_pem);
  ASSERT_NE(cert, nullptr);
  ASSERT_NE(ca_cert, nullptr);
  EXPECT_EQ(CommonName(X509_get_subject_name(cert.get())), "first.example");
  EXPECT_EQ(CommonName(X509_get_issuer_name(cert.get())), "the-ca");
  EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(cert.get()), X509_get_subject_name(ca_cert.get())),
            0);
}

TEST(IssueServingTest, ALongFirstHostLeavesTheSubjectEmptyAndTheSansCritical) {
  const std::string host = std::string(60, 'w') + ".ns.svc";  // 67 characters
  const KeyPair ca = MustCa();
  const KeyPair leaf = MustServing(ca, {host});
  const X509Ptr cert = Parse(leaf.cert_pem);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_NAME_entry_count(X509_get_subject_name(cert.get())), 0);
  EXPECT_EQ(Critical(cert.get(), NID_subject_alt_name), 1);
  EXPECT_EQ(MustRead(leaf.cert_pem).hosts, std::vector<std::string>{host});
  EXPECT_TRUE(Verifies(ca.cert_pem, leaf.cert_pem, leaf.key_pem));
}

TEST(IssueServingTest, HasTheServingExtensions) {
  const KeyPair ca = MustCa();
  const X509Ptr ca_cert = Parse(ca.cert_pem);
  const X509Ptr cert = Parse(MustServing(ca).cert_pem);
  ASSERT_NE(ca_cert, nullptr);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);
  EXPECT_EQ(X509_get_signature_nid(cert.get()), NID_ecdsa_with_SHA256);
  EXPECT_NE(Critical(cert.get(), NID_basic_constraints), -1);
  EXPECT_EQ(X509_get_extension_flags(cert.get()) & EXFLAG_CA, 0u);
  EXPECT_EQ(Critical(cert.get(), NID_key_usage), 1);
  EXPECT_NE(X509_get_key_usage(cert.get()) & KU_DIGITAL_SIGNATURE, 0u);
  EXPECT_EQ(X509_get_key_usage(cert.get()) & (KU_KEY_CERT_SIGN | KU_CRL_SIGN), 0u);
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()), static_cast<uint32_t>(XKU_SSL_SERVER));
  const ASN1_OCTET_STRING* akid = X509_get0_authority_key_id(cert.get());
  ASSERT_NE(akid, nullptr);
  ASSERT_NE(X509_get0_subject_key_id(ca_cert.get()), nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(akid, X509_get0_subject_key_id(ca_cert.get())), 0);
}

TEST(IssueServingTest, EachIssueHasAFreshKeyAndSerial) {
  const KeyPair ca = MustCa();
  const KeyPair a = MustServing(ca);
  const KeyPair b = MustServing(ca);
  EXPECT_NE(a.key_pem, b.key_pem);
  const X509Ptr ca_cert = Parse(a.cert_pem);
  const X509Ptr cb = Parse(b.cert_pem);
  ASSERT_NE(ca_cert, nullptr);
  ASSERT_NE(cb, nullptr);
  const BigNumPtr sa = Serial(ca_cert.get());
  const BigNumPtr sb = Serial(cb.get());
  ASSERT_NE(sa, nullptr);
  ASSERT_NE(sb, nullptr);
  EXPECT_NE(BN_cmp(sa.get(), sb.get()), 0);
  EXPECT_FALSE(BN_is_negative(sa.get()));
  EXPECT_LE(BN_num_bits(sa.get()), 128);
}

TEST(IssueServingTest, ValidFromAMinuteBeforeNowForTheValidity) {
  const KeyPair ca = MustCa("ca", kNow - days(30), 10 * kYear);
  const CertInfo info = MustRead(MustServing(ca, {"h"}, kNow, days(90)).cert_pem);
  EXPECT_EQ(info.not_before, kNow - 60s);
  EXPECT_EQ(info.not_after, kNow + days(90));
}

TEST(IssueServingTest, NeverOutlivesTheCa) {
  const KeyPair ca = MustCa("ca", kNow - days(300), kYear);  // expires in 65 days
  const CertInfo ca_info = MustRead(ca.cert_pem);
  const CertInfo info = MustRead(MustServing(ca, {"h"}, kNow, kYear).cert_pem);
  EXPECT_EQ(ca_info.not_after, kNow + days(65));
  EXPECT_EQ(info.not_after, ca_info.not_after);
  EXPECT_EQ(info.not_before, kNow - 60s);
}

TEST(IssueServingTest, RealClockWindow) {
  const system_clock::time_point now = system_clock::now();
  const KeyPair ca = MustCa("ca", now, kYear);
  const CertInfo info = MustRead(MustServing(ca, {"h"}, now, days(30)).cert_pem);
  EXPECT_LE(info.not_before, now - 59s);
  EXPECT_GE(info.not_before, now - 61s);
  EXPECT_LE(info.not_after, now + days(30));
  EXPECT_GE(info.not_after, now + days(30) - 1s);
}

TEST(IssueServingTest, RejectsAnExpiredCa) {
  const KeyPair ca = MustCa("ca", kNow - kYear, days(30));
  const absl::StatusOr<KeyPair> leaf = IssueServing(ca, {"h"}, kNow, kYear);
  EXPECT_EQ(leaf.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(HasText(std::string(leaf.status().message()), "ca:"));
}

TEST(IssueServingTest, EmptyHostsIsInvalidArgument) {
  const KeyPair ca = MustCa();
  absl::StatusOr<KeyPair> leaf = IssueServing(ca, {}, kNow, kYear);
  EXPECT_EQ(leaf.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(HasText(std::string(leaf.status().message()), "hosts"));
  leaf = IssueServing(ca, {"a.example", ""}, kNow, kYear);
  EXPECT_EQ(leaf.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(HasText(std::string(leaf.status().message()), "hosts[1]"));
}

TEST(IssueServingTest, UnreadableCaIsInvalidArgument) {
  const KeyPair ca = MustCa();
  const KeyPair leaf = MustServing(ca);
  struct Case {
    KeyPair ca;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"garbage", ca.key_pem}, "ca: cannot read the certificate"},
      {{"", ca.key_pem}, "ca: cannot read the certificate"},
      {{ca.key_pem, ca.key_pem}, "ca: cannot read the certificate"},
      {{ca.cert_pem, "garbage"}, "ca: cannot read the private key"},
      {{ca.cert_pem, ""}, "ca: cannot read the private key"},
      {{ca.cert_pem, MustCa().key_pem}, "ca: the private key does not match"},
      {leaf, "ca: the certificate is not a CA"},
  };
  for (const Case& c : cases) {
    const absl::StatusOr<KeyPair> got = IssueServing(c.ca, {"h"}, kNow, kYear);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_TRUE(HasText(std::string(got.status().message()), c.message));
  }
}

TEST(IssueServingTest, RejectsNonPositiveValidity) {
  const KeyPair ca = MustCa();
  EXPECT_EQ(IssueServing(ca, {"h"}, kNow, 0s).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ReadCertTest, GarbageIsInvalidArgument) {
  for (const std::string pem : {"", "garbage",
                                "-----BEGIN CERTIFICATE-----\nnot base64!\n"
                                "-----END CERTIFICATE-----\n",
                                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}) {
    EXPECT_EQ(ReadCert(pem).status().code(), absl::StatusCode::kInvalidArgument) << pem;
  }
  EXPECT_EQ(ReadCert(MustCa().key_pem).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ReadCertTest, ReadsTheFirstCertificate) {
  const KeyPair ca = MustCa();
  const KeyPair leaf = MustServing(ca, {"leaf.example"});
  // A key before the certificates is skipped; the leaf comes before the CA.
  const CertInfo info = MustRead(leaf.key_pem + leaf.cert_pem + ca.cert_pem);
  EXPECT_FALSE(info.is_ca);
  EXPECT_EQ(info.hosts, std::vector<std::string>{"leaf.example"});
  EXPECT_TRUE(MustRead(ca.cert_pem + leaf.cert_pem).is_ca);
}

// The `openssl` command line, as an independent reader of what we write.
class OpensslCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "certs_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string Write(const std::string& name, const std::string& content) const {
    const std::filesystem::path path = dir_ / name;
    std::ofstream(path) << content;
    return path.string();
  }

  // Runs `command`, returning its exit code and (through `out`) its output.
  static int Run(const std::string& command, std::string* out) {
    out->clear();
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) return -1;
    std::array<char, 4096> buf{};
    size_t n = 0;
    while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out->append(buf.data(), n);
    const int status = pclose(pipe);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::filesystem::path dir_;
};

TEST_F(OpensslCliTest, VerifiesTheServingCertificateStrictlyForServerAuth) {
  const system_clock::time_point now = system_clock::now();
  const KeyPair ca = MustCa("cli-ca", now, kYear);
  const KeyPair leaf = MustServing(ca, {"webhook.ns.svc", "127.0.0.1"}, now, days(30));
  const std::string ca_path = Write("ca.pem", ca.cert_pem);
  const std::string leaf_path = Write("leaf.pem", leaf.cert_pem);
  std::string out;
  EXPECT_EQ(
      Run("openssl verify -x509_strict -purpose sslserver -CAfile " + ca_path + " " + leaf_path,
          &out),
      0)
      << out;
  EXPECT_TRUE(HasText(out, leaf_path + ": OK"));
  EXPECT_EQ(Run("openssl verify -verify_hostname webhook.ns.svc -verify_ip 127.0.0.1 -CAfile " +
                    ca_path + " " + leaf_path,
                &out),
            0)
      << out;
  EXPECT_NE(Run("openssl verify -verify_hostname other.ns.svc -CAfile " + ca_path + " " + leaf_path,
                &out),
            0)
      << out;
}

TEST_F(OpensslCliTest, RejectsTheServingCertificateUnderAnotherCa) {
  const system_clock::time_point now = system_clock::now();
  const KeyPair ca = MustCa("cli-ca", now, kYear);
  const KeyPair other = MustCa("cli-ca", now, kYear);
  const std::string leaf_path = Write("leaf.pem", MustServing(ca, {"h"}, now, days(1)).cert_pem);
  std::string out;
  EXPECT_NE(
      Run("openssl verify -CAfile " + Write("other.pem", other.cert_pem) + " " + leaf_path, &out),
      0)
      << out;
}

TEST_F(OpensslCliTest, ShowsTheSansAndServerAuth) {
  const KeyPair leaf = MustServing(MustCa(), {"webhook.ns.svc", "127.0.0.1", "::1"});
  std::string out;
  ASSERT_EQ(Run("openssl x509 -noout -ext subjectAltName,extendedKeyUsage -in " +
                    Write("leaf.pem", leaf.cert_pem),
                &out),
            0)
      << out;
  EXPECT_TRUE(HasText(out, "DNS:webhook.ns.svc, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"));
  EXPECT_TRUE(HasText(out, "TLS Web Server Authentication"));
  ASSERT_EQ(
      Run("openssl x509 -noout -subject -issuer -in " + Write("leaf.pem", leaf.cert_pem), &out), 0)
      << out;
  EXPECT_TRUE(HasText(out, "subject=CN = webhook.ns.svc"));
  EXPECT_TRUE(HasText(out, "issuer=CN = platform-admission-ca"));
}

TEST_F(OpensslCliTest, ShowsTheCaConstraintsAndReadsTheKeys) {
  const KeyPair ca = MustCa();
  const KeyPair leaf = MustServing(ca);
  std::string out;
  ASSERT_EQ(
      Run("openssl x509 -noout -ext basicConstraints,keyUsage -in " + Write("ca.pem", ca.cert_pem),
          &out),
      0)
      << out;
  EXPECT_TRUE(HasText(out, "critical"));
  EXPECT_TRUE(HasText(out, "CA:TRUE"));
  EXPECT_TRUE(HasText(out, "Certificate Sign, CRL Sign"));
  for (const std::string& key : {ca.key_pem, leaf.key_pem}) {
    ASSERT_EQ(Run("openssl pkey -noout -check -in " + Write("key.pem", key), &out), 0) << out;
  }
  // The leaf's public key is the one in its key file.
  std::string from_cert;
  std::string from_key;
  ASSERT_EQ(Run("openssl x509 -noout -pubkey -in " + Write("leaf.pem", leaf.cert_pem), &from_cert),
            0);
  ASSERT_EQ(Run("openssl pkey -pubout -in " + Write("key.pem", leaf.key_pem), &from_key), 0);
  EXPECT_EQ(from_cert, from_key);
}

}  // namespace
}  // namespace platform::admission
