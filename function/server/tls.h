// The function's mutual TLS: its own certificate and key checked before it
// serves, and the client certificate Crossplane presents verified on every
// handshake.
//
// Crossplane (v2.3 and earlier) issues its client certificate with the same
// subject as the CA that signs it, and without key identifiers. OpenSSL, and
// so gRPC's own verification, takes such a certificate for a self-signed one
// and refuses it ("self-signed certificate" at depth 0); Go, which Crossplane
// and function-sdk-go use, accepts it. The function therefore verifies client
// certificates itself: the usual chain verification first, and for exactly
// that case a check that the certificate is signed by a CA of ca.crt, valid
// now, and meant for client authentication.
#ifndef PLATFORM_FUNCTION_SERVER_TLS_H_
#define PLATFORM_FUNCTION_SERVER_TLS_H_

#include <grpcpp/security/tls_certificate_verifier.h>

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace platform::fn {

// The CAs client certificates must chain to.
class ClientCas {
 public:
  // Parses every certificate of `pem` (ca.crt); an error names the rule.
  static absl::StatusOr<std::shared_ptr<const ClientCas>> Parse(std::string_view pem);
  ~ClientCas();
  ClientCas(const ClientCas&) = delete;
  ClientCas& operator=(const ClientCas&) = delete;

  // Ok when `leaf_pem`, the client's certificate, is trusted for client
  // authentication, with any intermediates from `chain_pem` (what else the
  // client sent); otherwise Unauthenticated with OpenSSL's reason.
  absl::Status Verify(std::string_view leaf_pem, std::string_view chain_pem = {}) const;

 private:
  struct Impl;
  explicit ClientCas(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Ok when `cert_chain_pem` holds a certificate (then any intermediates) and
// `key_pem` its private key; otherwise an error naming the file (tls.crt or
// tls.key) and what is wrong. gRPC would only fail each handshake.
absl::Status CheckServerIdentity(std::string_view cert_chain_pem, std::string_view key_pem);

// A gRPC verifier running ClientCas::Verify on every handshake.
std::shared_ptr<grpc::experimental::CertificateVerifier> MakeClientVerifier(
    std::shared_ptr<const ClientCas> cas);

}  // namespace platform::fn

#endif  // PLATFORM_FUNCTION_SERVER_TLS_H_
