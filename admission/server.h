// The webhook's HTTPS endpoint (libmicrohttpd with TLS):
//   POST /validate, POST /mutate   AdmissionReview v1 in, AdmissionReview out;
//                                  503 until ready() (the failurePolicy decides)
//   GET  /healthz                  "ok" while the process runs
//   GET  /readyz                   "ok" once ready() says so (the policy and
//                                  namespaces are loaded), 503 before
//   GET  /metrics                  Prometheus text (metrics.h)
// A body that is not a review gets 400 and a message naming the field; the
// API server then fails the call (failurePolicy decides), and nothing
// crashes.
//
// Certificates are replaced without dropping a request: Rotate() stops the
// listener from accepting, hands its socket to a new listener with the new
// pair, and lets the old one's connections finish.
#ifndef PLATFORM_ADMISSION_SERVER_H_
#define PLATFORM_ADMISSION_SERVER_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "admission/certs.h"
#include "admission/review.h"

struct MHD_Daemon;

namespace platform::admission {

class WebhookServer {
 public:
  // Answers one review for `path` (/validate or /mutate). Called from the
  // server's threads, concurrently.
  using Handler = std::function<Decision(std::string_view path, const Review& review)>;

  struct Options {
    // "[host]:port"; port 0 picks a free one.
    std::string address = ":9443";
    KeyPair serving;
    Handler handler;
    std::function<bool()> ready;
    // Prometheus text for /metrics; empty serves nothing there.
    std::function<std::string()> metrics;
    unsigned threads = 2;
  };

  static absl::StatusOr<std::unique_ptr<WebhookServer>> Start(Options options);
  ~WebhookServer();
  WebhookServer(const WebhookServer&) = delete;
  WebhookServer& operator=(const WebhookServer&) = delete;

  int port() const { return port_; }

  // Serves `serving` from now on (new connections); connections open on the
  // old pair finish on it.
  absl::Status Rotate(const KeyPair& serving);

 private:
  explicit WebhookServer(Options options) : options_(std::move(options)) {}
  // Binds `port`, or, when `listen_fd` is not -1, takes over that socket.
  absl::StatusOr<MHD_Daemon*> Listen(const KeyPair& serving, int port, int listen_fd);

  Options options_;
  std::string host_;
  int port_ = 0;
  std::mutex mu_;  // guards daemon_ and the PEMs it serves
  MHD_Daemon* daemon_ = nullptr;
  // libmicrohttpd keeps pointers to the PEM strings of each listener.
  std::vector<std::unique_ptr<KeyPair>> pems_;
  // Replaced listeners stopping (each waits for its connections).
  std::vector<std::thread> stoppers_;

  friend struct WebhookHandler;
};

}  // namespace platform::admission

#endif  // PLATFORM_ADMISSION_SERVER_H_
