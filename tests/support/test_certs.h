// In-memory X.509 certificates for mutual TLS tests, made with OpenSSL's
// libcrypto: a CA, a server certificate for 127.0.0.1 and localhost, and
// client certificates, all as PEM. Header-only so that both the in-process
// server tests and the process tests can use it; link OpenSSL::Crypto.
#ifndef PLATFORM_TESTS_SUPPORT_TEST_CERTS_H_
#define PLATFORM_TESTS_SUPPORT_TEST_CERTS_H_

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>

namespace platform::testing {

// A key and a certificate, both also as PEM.
struct Issued {
  std::shared_ptr<EVP_PKEY> key;
  std::shared_ptr<X509> cert;
  std::string key_pem;
  std::string cert_pem;
};

enum class CertKind { kCa, kServer, kClient };

namespace certs_internal {

inline void Check(bool ok, const char* what) {
  if (ok) return;
  char buf[256] = {};
  ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
  throw std::runtime_error(std::string("openssl: ") + what + ": " + buf);
}

inline std::shared_ptr<EVP_PKEY> NewKey() {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr), &EVP_PKEY_CTX_free);
  Check(ctx != nullptr, "EVP_PKEY_CTX_new_from_name");
  Check(EVP_PKEY_keygen_init(ctx.get()) == 1, "EVP_PKEY_keygen_init");
  Check(EVP_PKEY_CTX_set_group_name(ctx.get(), "P-256") == 1, "EVP_PKEY_CTX_set_group_name");
  EVP_PKEY* key = nullptr;
  Check(EVP_PKEY_keygen(ctx.get(), &key) == 1, "EVP_PKEY_keygen");
  return std::shared_ptr<EVP_PKEY>(key, &EVP_PKEY_free);
}

inline void AddExt(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  Check(ext != nullptr, value);
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  Check(ok == 1, "X509_add_ext");
}

template <typename Write>
std::string ToPem(Write write) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  Check(bio != nullptr && write(bio.get()) == 1, "PEM_write");
  std::string out(BIO_ctrl_pending(bio.get()), '\0');
  Check(
      BIO_read(bio.get(), out.data(), static_cast<int>(out.size())) == static_cast<int>(out.size()),
      "BIO_read");
  return out;
}

}  // namespace certs_internal

// How to issue a certificate; Issue() and IssueLikeCrossplane() fill it in.
struct IssueSpec {
  std::string common_name;
  CertKind kind = CertKind::kClient;
  const Issued* issuer = nullptr;  // nullptr: self-signed
  // Crossplane's shape: the issuer's subject as the subject, no key
  // identifiers, the key usages Crossplane sets.
  bool crossplane_style = false;
  // The subject of this certificate instead (an impostor's).
  const Issued* subject_of = nullptr;
  long not_before_seconds = -3600;  // relative to now
  long not_after_seconds = 24 * 3600;
};

inline Issued IssueCert(const IssueSpec& spec) {
  using certs_internal::AddExt;
  using certs_internal::Check;
  static std::atomic<long> serial{1000};
  Issued out;
  out.key = certs_internal::NewKey();
  out.cert = std::shared_ptr<X509>(X509_new(), &X509_free);
  X509* cert = out.cert.get();
  Check(cert != nullptr, "X509_new");
  Check(X509_set_version(cert, X509_VERSION_3) == 1, "X509_set_version");
  Check(ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++) == 1, "ASN1_INTEGER_set");
  Check(X509_gmtime_adj(X509_getm_notBefore(cert), spec.not_before_seconds) != nullptr,
        "notBefore");
  Check(X509_gmtime_adj(X509_getm_notAfter(cert), spec.not_after_seconds) != nullptr, "notAfter");
  Check(X509_set_pubkey(cert, out.key.get()) == 1, "X509_set_pubkey");
  X509* issuer_cert = spec.issuer != nullptr ? spec.issuer->cert.get() : cert;
  EVP_PKEY* issuer_key = spec.issuer != nullptr ? spec.issuer->key.get() : out.key.get();
  if (spec.subject_of != nullptr || (spec.crossplane_style && spec.issuer != nullptr)) {
    X509* like = spec.subject_of != nullptr ? spec.subject_of->cert.get() : issuer_cert;
    Check(X509_set_subject_name(cert, X509_get_subject_name(like)) == 1, "X509_set_subject_name");
  } else {
    X509_NAME* subject = X509_get_subject_name(cert);
    Check(X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>("platform tests"), -1,
                                     -1, 0) == 1,
          "subject O");
    Check(X509_NAME_add_entry_by_txt(
              subject, "CN", MBSTRING_ASC,
              reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1, -1, 0) == 1,
          "subject CN");
  }
  Check(X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert)) == 1,
        "X509_set_issuer_name");
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer_cert, cert, nullptr, nullptr, 0);
  if (!spec.crossplane_style) {
    AddExt(cert, &ctx, NID_subject_key_identifier, "hash");
    AddExt(cert, &ctx, NID_authority_key_identifier, "keyid:always");
  }
  const char* leaf_usage = spec.crossplane_style
                               ? "critical,digitalSignature,keyEncipherment,dataEncipherment"
                               : "critical,digitalSignature";
  switch (spec.kind) {
    case CertKind::kCa:
      AddExt(cert, &ctx, NID_basic_constraints, "critical,CA:TRUE");
      AddExt(cert, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
      break;
    case CertKind::kServer:
      AddExt(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE");
      AddExt(cert, &ctx, NID_key_usage, leaf_usage);
      AddExt(cert, &ctx, NID_ext_key_usage, "serverAuth");
      AddExt(cert, &ctx, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
      break;
    case CertKind::kClient:
      if (!spec.crossplane_style) AddExt(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE");
      AddExt(cert, &ctx, NID_key_usage, leaf_usage);
      AddExt(cert, &ctx, NID_ext_key_usage, "clientAuth");
      break;
  }
  Check(X509_sign(cert, issuer_key, EVP_sha256()) > 0, "X509_sign");
  out.cert_pem = certs_internal::ToPem([&](BIO* b) { return PEM_write_bio_X509(b, cert); });
  out.key_pem = certs_internal::ToPem([&](BIO* b) {
    return PEM_write_bio_PrivateKey(b, out.key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  return out;
}

// Issues a certificate for `common_name`, signed by `issuer` (self-signed when
// nullptr, which only makes sense for kCa). Servers get the SANs 127.0.0.1 and
// localhost; every certificate is valid from an hour ago for a day.
inline Issued Issue(const std::string& common_name, CertKind kind, const Issued* issuer) {
  IssueSpec spec;
  spec.common_name = common_name;
  spec.kind = kind;
  spec.issuer = issuer;
  return IssueCert(spec);
}

// A certificate shaped like those Crossplane core issues (v2.3): the issuer's
// own subject, no key identifiers; OpenSSL takes such a leaf for self-signed.
inline Issued IssueLikeCrossplane(CertKind kind, const Issued& issuer,
                                  long not_after_seconds = 24 * 3600) {
  IssueSpec spec;
  spec.kind = kind;
  spec.issuer = &issuer;
  spec.crossplane_style = true;
  spec.not_before_seconds = -7200;
  spec.not_after_seconds = not_after_seconds;
  return IssueCert(spec);
}

// Everything a mutual TLS test needs: the server's CA and certificates, and a
// second, unrelated CA whose client certificate the server must refuse.
struct TestPki {
  Issued ca;
  Issued server;
  Issued client;
  Issued other_ca;
  Issued other_client;

  static TestPki Make() {
    TestPki p;
    p.ca = Issue("platform test CA", CertKind::kCa, nullptr);
    p.server = Issue("function-platform", CertKind::kServer, &p.ca);
    p.client = Issue("crossplane", CertKind::kClient, &p.ca);
    p.other_ca = Issue("unrelated CA", CertKind::kCa, nullptr);
    p.other_client = Issue("crossplane", CertKind::kClient, &p.other_ca);
    return p;
  }
};

}  // namespace platform::testing

#endif  // PLATFORM_TESTS_SUPPORT_TEST_CERTS_H_
