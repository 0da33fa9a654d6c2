#include "admission/certs.h"

#include <arpa/inet.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <ctime>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "common/status_macros.h"

namespace platform::admission {
namespace {

// unique_ptr deleters for OpenSSL's *_free functions.
template <auto kFree>
struct Free {
  template <typename T>
  void operator()(T* p) const {
    kFree(p);
  }
};
template <typename T, auto kFree>
using Ptr = std::unique_ptr<T, Free<kFree>>;

using AsnIntegerPtr = Ptr<ASN1_INTEGER, ASN1_INTEGER_free>;
using AsnOctetStringPtr = Ptr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>;
using AsnIa5StringPtr = Ptr<ASN1_IA5STRING, ASN1_IA5STRING_free>;
using BasicConstraintsPtr = Ptr<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free>;
using BigNumPtr = Ptr<BIGNUM, BN_free>;
using BioPtr = Ptr<BIO, BIO_free>;
using GeneralNamePtr = Ptr<GENERAL_NAME, GENERAL_NAME_free>;
using GeneralNamesPtr = Ptr<GENERAL_NAMES, GENERAL_NAMES_free>;
using KeyCtxPtr = Ptr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using KeyPtr = Ptr<EVP_PKEY, EVP_PKEY_free>;
using X509ExtensionPtr = Ptr<X509_EXTENSION, X509_EXTENSION_free>;
using X509Ptr = Ptr<X509, X509_free>;

// RFC 5280's upper bound on a common name, which OpenSSL enforces.
constexpr size_t kMaxCommonName = 64;
constexpr int64_t kBackdate = 60;  // seconds, for clocks a little behind ours
constexpr size_t kSerialBytes = 16;

// Every public function leaves the thread's OpenSSL error queue empty, so that
// a failure here is not reported later by unrelated TLS code.
class ClearErrorsOnExit {
 public:
  ClearErrorsOnExit() = default;
  ClearErrorsOnExit(const ClearErrorsOnExit&) = delete;
  ClearErrorsOnExit& operator=(const ClearErrorsOnExit&) = delete;
  ~ClearErrorsOnExit() { ERR_clear_error(); }
};

// OpenSSL's reason for the latest failure, or "" when it gave none.
std::string LastError() {
  const unsigned long code = ERR_peek_last_error();
  if (code == 0) return "";
  std::array<char, 256> buf{};
  ERR_error_string_n(code, buf.data(), buf.size());
  return std::string(": ") + buf.data();
}

// A failure of OpenSSL itself (out of memory, say), not of the input.
absl::Status OpenSslError(std::string_view what) {
  return absl::InternalError(std::string("openssl: ") + std::string(what) + LastError());
}

// Encrypted keys are not supported; without this callback OpenSSL would
// prompt for a passphrase on the terminal.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) { return 0; }

absl::StatusOr<BioPtr> ReadBio(const std::string& pem) {
  if (pem.size() > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError("PEM is too large");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return OpenSslError("BIO_new_mem_buf");
  return bio;
}

// The first certificate of `pem`, or nullptr.
X509Ptr ParseCert(const std::string& pem) {
  absl::StatusOr<BioPtr> bio = ReadBio(pem);
  if (!bio.ok()) return nullptr;
  return X509Ptr(PEM_read_bio_X509(bio->get(), nullptr, NoPassphrase, nullptr));
}

// The first private key of `pem`, or nullptr.
KeyPtr ParseKey(const std::string& pem) {
  absl::StatusOr<BioPtr> bio = ReadBio(pem);
  if (!bio.ok()) return nullptr;
  return KeyPtr(PEM_read_bio_PrivateKey(bio->get(), nullptr, NoPassphrase, nullptr));
}

template <typename Write>
absl::StatusOr<std::string> ToPem(Write write) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr) return OpenSslError("BIO_new");
  if (write(bio.get()) != 1) return OpenSslError("PEM_write");
  std::string out(BIO_ctrl_pending(bio.get()), '\0');
  if (BIO_read(bio.get(), out.data(), static_cast<int>(out.size())) !=
      static_cast<int>(out.size())) {
    return OpenSslError("BIO_read");
  }
  return out;
}

absl::StatusOr<KeyPtr> NewKey() {
  KeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (ctx == nullptr) return OpenSslError("EVP_PKEY_CTX_new_from_name");
  if (EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_group_name(ctx.get(), "P-256") != 1) {
    return OpenSslError("EC key parameters");
  }
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_generate(ctx.get(), &key) != 1) return OpenSslError("EVP_PKEY_generate");
  return KeyPtr(key);
}

int64_t UnixSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count();
}

// Seconds since the epoch at `t`; ASN1_TIME_to_tm gives UTC fields.
absl::StatusOr<int64_t> UnixSeconds(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    return absl::InvalidArgumentError("malformed validity time");
  }
  const std::chrono::sys_days date{
      std::chrono::year_month_day{std::chrono::year{tm.tm_year + 1900},
                                  std::chrono::month{static_cast<unsigned>(tm.tm_mon + 1)},
                                  std::chrono::day{static_cast<unsigned>(tm.tm_mday)}}};
  return int64_t{date.time_since_epoch().count()} * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 +
         tm.tm_sec;
}

// A time_point for `seconds`, saturated at the clock's limits (system_clock
// counts nanoseconds in 64 bits, so it ends in 2262; RFC 5280 CAs may say
// 9999-12-31).
std::chrono::system_clock::time_point FromUnixSeconds(int64_t seconds) {
  using std::chrono::system_clock;
  constexpr int64_t kMin =
      std::chrono::duration_cast<std::chrono::seconds>(system_clock::duration::min()).count();
  constexpr int64_t kMax =
      std::chrono::duration_cast<std::chrono::seconds>(system_clock::duration::max()).count();
  if (seconds > kMax) return system_clock::time_point::max();
  if (seconds < kMin) return system_clock::time_point::min();
  return system_clock::time_point(std::chrono::seconds(seconds));
}

absl::Status SetTime(ASN1_TIME* field, int64_t seconds, std::string_view what) {
  // GeneralizedTime's four-digit years; OpenSSL 3.0 itself writes malformed
  // times past 9999 instead of failing.
  constexpr int64_t kYear0 = -62167219200;        // 0000-01-01T00:00:00Z
  constexpr int64_t kYear9999End = 253402300799;  // 9999-12-31T23:59:59Z
  if (seconds < kYear0 || seconds > kYear9999End ||
      ASN1_TIME_set(field, static_cast<time_t>(seconds)) == nullptr ||
      ASN1_TIME_check(field) != 1) {
    return absl::InvalidArgumentError(std::string(what) + " is out of range (years 0 to 9999)");
  }
  return absl::OkStatus();
}

// now + validity in seconds, checked: positive and without overflow.
absl::StatusOr<int64_t> Expiry(int64_t now, std::chrono::seconds validity) {
  if (validity.count() <= 0) return absl::InvalidArgumentError("validity must be positive");
  if (now > std::numeric_limits<int64_t>::max() - validity.count()) {
    return absl::InvalidArgumentError("validity is out of range");
  }
  return now + validity.count();
}

// A random positive 128-bit serial: unique without keeping state (RFC 5280
// allows up to 20 octets; DER adds a leading zero when the top bit is set).
absl::Status SetRandomSerial(X509* cert) {
  std::array<unsigned char, kSerialBytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return OpenSslError("RAND_bytes");
  }
  BigNumPtr bn(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
  if (bn == nullptr) return OpenSslError("BN_bin2bn");
  // Zero is not a valid serial; 2^-128 odds, but cheap to rule out.
  if (BN_is_zero(bn.get()) && BN_one(bn.get()) != 1) return OpenSslError("BN_one");
  AsnIntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (serial == nullptr || X509_set_serialNumber(cert, serial.get()) != 1) {
    return OpenSslError("serial number");
  }
  return absl::OkStatus();
}

absl::Status SetCommonName(X509_NAME* name, const std::string& cn) {
  if (X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.data()),
                                 static_cast<int>(cn.size()), -1, 0) != 1) {
    return absl::InvalidArgumentError("invalid common name \"" + cn + "\"" + LastError());
  }
  return absl::OkStatus();
}

// A v3 certificate for `key` valid over [not_before, not_after], without
// names or extensions.
absl::StatusOr<X509Ptr> NewCert(EVP_PKEY* key, int64_t not_before, int64_t not_after) {
  X509Ptr cert(X509_new());
  if (cert == nullptr) return OpenSslError("X509_new");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) return OpenSslError("X509_set_version");
  RETURN_IF_ERROR(SetRandomSerial(cert.get()));
  RETURN_IF_ERROR(SetTime(X509_getm_notBefore(cert.get()), not_before, "notBefore"));
  RETURN_IF_ERROR(SetTime(X509_getm_notAfter(cert.get()), not_after, "notAfter"));
  if (X509_set_pubkey(cert.get(), key) != 1) return OpenSslError("X509_set_pubkey");
  return cert;
}

// Adds an extension from OpenSSL's config syntax; `value` is always one of
// this file's constants, never input.
absl::Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (ext == nullptr) return OpenSslError(std::string("extension ") + OBJ_nid2sn(nid));
  if (X509_add_ext(cert, ext.get(), -1) != 1) return OpenSslError("X509_add_ext");
  return absl::OkStatus();
}

// A DNS or IP GENERAL_NAME for `host`. inet_pton, not OpenSSL's
// a2i_IPADDRESS, which would take "10.0.0.1.nip.io" for 10.0.0.1.
absl::StatusOr<GeneralNamePtr> HostName(const std::string& host) {
  GeneralNamePtr name(GENERAL_NAME_new());
  if (name == nullptr) return OpenSslError("GENERAL_NAME_new");
  std::array<unsigned char, 16> ip{};
  int ip_size = 0;
  if (inet_pton(AF_INET, host.c_str(), ip.data()) == 1) {
    ip_size = 4;
  } else if (inet_pton(AF_INET6, host.c_str(), ip.data()) == 1) {
    ip_size = 16;
  }
  if (ip_size != 0) {
    AsnOctetStringPtr value(ASN1_OCTET_STRING_new());
    if (value == nullptr || ASN1_OCTET_STRING_set(value.get(), ip.data(), ip_size) != 1) {
      return OpenSslError("IP SAN");
    }
    GENERAL_NAME_set0_value(name.get(), GEN_IPADD, value.release());
  } else {
    AsnIa5StringPtr value(ASN1_IA5STRING_new());
    if (value == nullptr ||
        ASN1_STRING_set(value.get(), host.data(), static_cast<int>(host.size())) != 1) {
      return OpenSslError("DNS SAN");
    }
    GENERAL_NAME_set0_value(name.get(), GEN_DNS, value.release());
  }
  return name;
}

// subjectAltName built from GENERAL_NAMEs rather than a config string, so a
// host containing "," or ":" cannot add names of its own.
absl::Status AddSubjectAltNames(X509* cert, const std::vector<std::string>& hosts, bool critical) {
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  if (names == nullptr) return OpenSslError("sk_GENERAL_NAME_new_null");
  for (const std::string& host : hosts) {
    ASSIGN_OR_RETURN(GeneralNamePtr name, HostName(host));
    if (sk_GENERAL_NAME_push(names.get(), name.get()) == 0) return OpenSslError("SAN");
    static_cast<void>(name.release());  // owned by `names` now
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), critical ? 1 : 0,
                        X509V3_ADD_DEFAULT) != 1) {
    return OpenSslError("subjectAltName");
  }
  return absl::OkStatus();
}

absl::StatusOr<KeyPair> SignAndEncode(X509* cert, EVP_PKEY* key, EVP_PKEY* signer) {
  if (X509_sign(cert, signer, EVP_sha256()) <= 0) return OpenSslError("X509_sign");
  KeyPair out;
  ASSIGN_OR_RETURN(out.cert_pem, ToPem([&](BIO* b) { return PEM_write_bio_X509(b, cert); }));
  // PEM_write_bio_PrivateKey writes unencrypted PKCS#8 ("PRIVATE KEY").
  ASSIGN_OR_RETURN(out.key_pem, ToPem([&](BIO* b) {
                     return PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
                   }));
  return out;
}

// basicConstraints CA:TRUE; an error when the extension is malformed.
absl::StatusOr<bool> IsCa(const X509* cert) {
  int critical = -1;
  BasicConstraintsPtr bc(static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(cert, NID_basic_constraints, &critical, nullptr)));
  if (bc == nullptr) {
    // -1: absent; -2: repeated; otherwise present but undecodable.
    if (critical == -1) return false;
    return absl::InvalidArgumentError("malformed basicConstraints");
  }
  return bc->ca != 0;
}

}  // namespace

absl::StatusOr<KeyPair> MakeCa(const std::string& common_name,
                               std::chrono::system_clock::time_point now,
                               std::chrono::seconds validity) {
  const ClearErrorsOnExit clear_errors;
  if (common_name.empty() || common_name.size() > kMaxCommonName) {
    return absl::InvalidArgumentError("ca: the common name must have 1 to 64 characters");
  }
  const int64_t now_s = UnixSeconds(now);
  ASSIGN_OR_RETURN(const int64_t not_after, Expiry(now_s, validity));
  ASSIGN_OR_RETURN(KeyPtr key, NewKey());
  ASSIGN_OR_RETURN(X509Ptr cert, NewCert(key.get(), now_s - kBackdate, not_after));
  RETURN_IF_ERROR(SetCommonName(X509_get_subject_name(cert.get()), common_name));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())) != 1) {
    return OpenSslError("X509_set_issuer_name");
  }
  X509V3_CTX ctx{};
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE"));
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign"));
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  return SignAndEncode(cert.get(), key.get(), key.get());
}

absl::StatusOr<KeyPair> IssueServing(const KeyPair& ca, const std::vector<std::string>& hosts,
                                     std::chrono::system_clock::time_point now,
                                     std::chrono::seconds validity) {
  const ClearErrorsOnExit clear_errors;
  if (hosts.empty()) return absl::InvalidArgumentError("hosts: at least one host is required");
  for (size_t i = 0; i < hosts.size(); ++i) {
    if (hosts[i].empty()) {
      return absl::InvalidArgumentError("hosts[" + std::to_string(i) + "] is empty");
    }
  }
  X509Ptr ca_cert = ParseCert(ca.cert_pem);
  if (ca_cert == nullptr) return absl::InvalidArgumentError("ca: cannot read the certificate");
  KeyPtr ca_key = ParseKey(ca.key_pem);
  if (ca_key == nullptr) return absl::InvalidArgumentError("ca: cannot read the private key");
  if (X509_check_private_key(ca_cert.get(), ca_key.get()) != 1) {
    return absl::InvalidArgumentError("ca: the private key does not match the certificate");
  }
  const absl::StatusOr<bool> ca_is_ca = IsCa(ca_cert.get());
  if (!ca_is_ca.ok()) {
    return absl::InvalidArgumentError("ca: " + std::string(ca_is_ca.status().message()));
  }
  if (!*ca_is_ca) return absl::InvalidArgumentError("ca: the certificate is not a CA");

  const int64_t now_s = UnixSeconds(now);
  ASSIGN_OR_RETURN(int64_t not_after, Expiry(now_s, validity));
  absl::StatusOr<int64_t> ca_not_after = UnixSeconds(X509_get0_notAfter(ca_cert.get()));
  if (!ca_not_after.ok()) return absl::InvalidArgumentError("ca: cannot read notAfter");
  // A certificate that outlives its CA would only fail verification later.
  if (*ca_not_after <= now_s) return absl::InvalidArgumentError("ca: the certificate has expired");
  not_after = std::min(not_after, *ca_not_after);

  ASSIGN_OR_RETURN(KeyPtr key, NewKey());
  ASSIGN_OR_RETURN(X509Ptr cert, NewCert(key.get(), now_s - kBackdate, not_after));
  // A Service's DNS name can exceed a common name's 64 characters; then the
  // subject stays empty and RFC 5280 (4.2.1.6) wants the SANs critical.
  const bool has_cn = hosts[0].size() <= kMaxCommonName;
  if (has_cn) RETURN_IF_ERROR(SetCommonName(X509_get_subject_name(cert.get()), hosts[0]));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get())) != 1) {
    return OpenSslError("X509_set_issuer_name");
  }
  X509V3_CTX ctx{};
  X509V3_set_ctx(&ctx, ca_cert.get(), cert.get(), nullptr, nullptr, 0);
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE"));
  RETURN_IF_ERROR(
      AddExtension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature,keyEncipherment"));
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth"));
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  // keyid:always fails unless the CA has a subjectKeyIdentifier (MakeCa's do).
  if (!AddExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always").ok()) {
    return absl::InvalidArgumentError("ca: the certificate has no subjectKeyIdentifier");
  }
  RETURN_IF_ERROR(AddSubjectAltNames(cert.get(), hosts, /*critical=*/!has_cn));
  return SignAndEncode(cert.get(), key.get(), ca_key.get());
}

absl::StatusOr<CertInfo> ReadCert(const std::string& pem) {
  const ClearErrorsOnExit clear_errors;
  X509Ptr cert = ParseCert(pem);
  if (cert == nullptr) return absl::InvalidArgumentError("no PEM certificate found");
  CertInfo info;
  absl::StatusOr<int64_t> not_before = UnixSeconds(X509_get0_notBefore(cert.get()));
  if (!not_before.ok()) return absl::InvalidArgumentError("certificate: malformed notBefore");
  absl::StatusOr<int64_t> not_after = UnixSeconds(X509_get0_notAfter(cert.get()));
  if (!not_after.ok()) return absl::InvalidArgumentError("certificate: malformed notAfter");
  info.not_before = FromUnixSeconds(*not_before);
  info.not_after = FromUnixSeconds(*not_after);
  const absl::StatusOr<bool> is_ca = IsCa(cert.get());
  if (!is_ca.ok()) {
    return absl::InvalidArgumentError("certificate: " + std::string(is_ca.status().message()));
  }
  info.is_ca = *is_ca;

  int critical = -1;
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, &critical, nullptr)));
  if (names == nullptr && critical != -1) {
    return absl::InvalidArgumentError("certificate: malformed subjectAltName");
  }
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_DNS) {
      const ASN1_IA5STRING* dns = name->d.dNSName;
      info.hosts.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                              static_cast<size_t>(ASN1_STRING_length(dns)));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = name->d.iPAddress;
      const int family = ASN1_STRING_length(ip) == 4    ? AF_INET
                         : ASN1_STRING_length(ip) == 16 ? AF_INET6
                                                        : AF_UNSPEC;
      std::array<char, INET6_ADDRSTRLEN> text{};
      if (family == AF_UNSPEC ||
          inet_ntop(family, ASN1_STRING_get0_data(ip), text.data(), text.size()) == nullptr) {
        return absl::InvalidArgumentError("certificate: malformed IP address SAN");
      }
      info.hosts.emplace_back(text.data());
    }
  }
  return info;
}

bool Verifies(const std::string& ca_pem, const std::string& leaf_pem, const std::string& key_pem) {
  const ClearErrorsOnExit clear_errors;
  const X509Ptr ca = ParseCert(ca_pem);
  const X509Ptr leaf = ParseCert(leaf_pem);
  const KeyPtr key = ParseKey(key_pem);
  if (ca == nullptr || leaf == nullptr || key == nullptr) return false;
  EVP_PKEY* ca_public = X509_get0_pubkey(ca.get());
  return ca_public != nullptr && X509_verify(leaf.get(), ca_public) == 1 &&
         X509_check_private_key(leaf.get(), key.get()) == 1;
}

}  // namespace platform::admission
