#include "function/server/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <utility>
#include <vector>

#include "function/sdk/strings.h"

namespace platform::fn {
namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

// Every certificate of a PEM text, in order.
std::vector<X509Ptr> ReadCertificates(std::string_view pem) {
  std::vector<X509Ptr> out;
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (bio == nullptr) return out;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    out.emplace_back(x);
  }
  ERR_clear_error();  // the end of the text reads as an error
  return out;
}

std::string Subject(X509* x) {
  char buf[256] = {};
  X509_NAME_oneline(X509_get_subject_name(x), buf, sizeof(buf));
  return buf;
}

// Crossplane's shape: a leaf whose subject is its issuer's, which OpenSSL
// takes for self-signed. True when `ca` really issued and signed `leaf`, and
// `leaf` is valid now and meant for client authentication.
bool IssuedDirectlyBy(X509* ca, X509* leaf) {
  if (X509_check_ca(ca) < 1) return false;
  if (X509_NAME_cmp(X509_get_subject_name(ca), X509_get_issuer_name(leaf)) != 0) return false;
  if (X509_verify(leaf, X509_get0_pubkey(ca)) != 1) return false;
  if (X509_cmp_current_time(X509_get0_notBefore(leaf)) >= 0) return false;
  if (X509_cmp_current_time(X509_get0_notAfter(leaf)) <= 0) return false;
  return X509_check_purpose(leaf, X509_PURPOSE_SSL_CLIENT, 0) == 1;
}

class Verifier : public grpc::experimental::ExternalCertificateVerifier {
 public:
  explicit Verifier(std::shared_ptr<const ClientCas> cas) : cas_(std::move(cas)) {}

  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)> /*callback*/, grpc::Status* sync_status) override {
    const grpc::string_ref leaf = request->peer_cert();
    const grpc::string_ref chain = request->peer_cert_full_chain();
    const absl::Status s = cas_->Verify(std::string_view(leaf.data(), leaf.size()),
                                        std::string_view(chain.data(), chain.size()));
    *sync_status = s.ok()
                       ? grpc::Status::OK
                       : grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string(s.message()));
    return true;  // done synchronously
  }

  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest* /*request*/) override {}

 private:
  std::shared_ptr<const ClientCas> cas_;
};

}  // namespace

struct ClientCas::Impl {
  std::vector<X509Ptr> cas;
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store{X509_STORE_new(), &X509_STORE_free};
};

ClientCas::ClientCas(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClientCas::~ClientCas() = default;

absl::StatusOr<std::shared_ptr<const ClientCas>> ClientCas::Parse(std::string_view pem) {
  auto impl = std::make_unique<Impl>();
  impl->cas = ReadCertificates(pem);
  if (impl->cas.empty()) {
    return absl::InvalidArgumentError("ca.crt: must hold at least one PEM certificate");
  }
  for (const X509Ptr& ca : impl->cas) {
    if (X509_STORE_add_cert(impl->store.get(), ca.get()) != 1) {
      return absl::InvalidArgumentError(sdk::Cat("ca.crt: cannot use ", Subject(ca.get())));
    }
  }
  return std::shared_ptr<const ClientCas>(new ClientCas(std::move(impl)));
}

absl::Status ClientCas::Verify(std::string_view leaf_pem, std::string_view chain_pem) const {
  std::vector<X509Ptr> leaves = ReadCertificates(leaf_pem);
  if (leaves.empty()) return absl::UnauthenticatedError("no client certificate");
  X509* leaf = leaves.front().get();

  // What else the client sent may hold intermediates; the store decides
  // which of them lead to a trusted CA.
  std::vector<X509Ptr> chain = ReadCertificates(chain_pem);
  struct StackFree {
    void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }
  };
  std::unique_ptr<STACK_OF(X509), StackFree> untrusted(sk_X509_new_null());
  for (const X509Ptr& c : chain) sk_X509_push(untrusted.get(), c.get());
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                      &X509_STORE_CTX_free);
  if (ctx == nullptr ||
      X509_STORE_CTX_init(ctx.get(), impl_->store.get(), leaf, untrusted.get()) != 1) {
    return absl::InternalError("cannot set up certificate verification");
  }
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT);
  // Whatever OpenSSL queued while checking stays out of the handshake's way
  // (the queue is per thread, and gRPC's TLS reads it).
  struct ClearErrors {
    ~ClearErrors() { ERR_clear_error(); }
  } clear;
  if (X509_verify_cert(ctx.get()) == 1) return absl::OkStatus();
  const int error = X509_STORE_CTX_get_error(ctx.get());
  if (error == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT) {
    for (const X509Ptr& ca : impl_->cas) {
      if (IssuedDirectlyBy(ca.get(), leaf)) return absl::OkStatus();
    }
  }
  return absl::UnauthenticatedError(sdk::Cat("client certificate ", Subject(leaf),
                                             " refused: ", X509_verify_cert_error_string(error)));
}

absl::Status CheckServerIdentity(std::string_view cert_chain_pem, std::string_view key_pem) {
  std::vector<X509Ptr> chain = ReadCertificates(cert_chain_pem);
  if (chain.empty()) return absl::InvalidArgumentError("tls.crt: no PEM certificate");
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())), &BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      bio == nullptr ? nullptr : PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr),
      &EVP_PKEY_free);
  ERR_clear_error();
  if (key == nullptr) return absl::InvalidArgumentError("tls.key: no PEM private key");
  if (X509_check_private_key(chain.front().get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(sdk::Cat(
        "tls.key: not the key of the certificate in tls.crt (", Subject(chain.front().get()), ")"));
  }
  return absl::OkStatus();
}

std::shared_ptr<grpc::experimental::CertificateVerifier> MakeClientVerifier(
    std::shared_ptr<const ClientCas> cas) {
  return grpc::experimental::ExternalCertificateVerifier::Create<Verifier>(std::move(cas));
}

}  // namespace platform::fn
