#include "admission/server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/mhd_reply.h"
#include "spdlog/spdlog.h"

namespace platform::admission {

constexpr char kNotReady[] = "not ready: the policy and namespaces are not loaded yet\n";

// One request's body, gathered across the access handler's calls.
struct Upload {
  std::string body;
  bool too_large = false;
};

struct WebhookHandler {
  static MHD_Result Handle(void* cls, MHD_Connection* connection, const char* url,
                           const char* method, const char*, const char* upload_data,
                           size_t* upload_data_size, void** con_cls) {
    auto* server = static_cast<WebhookServer*>(cls);
    const bool post = std::strcmp(method, "POST") == 0;
    if (post) {
      // First call: headers only. Then the body in pieces; then a last call
      // with none, which answers.
      if (*con_cls == nullptr) {
        *con_cls = new Upload();
        return MHD_YES;
      }
      auto* upload = static_cast<Upload*>(*con_cls);
      if (*upload_data_size != 0) {
        if (upload->body.size() + *upload_data_size > kMaxReviewBytes) {
          upload->too_large = true;
        } else {
          upload->body.append(upload_data, *upload_data_size);
        }
        *upload_data_size = 0;
        return MHD_YES;
      }
      if (std::strcmp(url, "/validate") != 0 && std::strcmp(url, "/mutate") != 0) {
        return platform::MhdReply(connection, MHD_HTTP_NOT_FOUND, "not found\n", "text/plain");
      }
      if (upload->too_large) {
        return platform::MhdReply(connection, MHD_HTTP_CONTENT_TOO_LARGE,
                                  absl::StrCat("body: larger than ", kMaxReviewBytes, " bytes\n"),
                                  "text/plain");
      }
      // Until the policy and namespaces are loaded, a decision would be made
      // without them (a team read from a namespace not seen yet, no policy at
      // all) and could let through what the function denies. Unavailable:
      // the API server's failurePolicy decides, as when no replica is up.
      if (server->options_.ready && !server->options_.ready()) {
        spdlog::warn("{} from {}: not ready, answered 503", url, Peer(connection));
        return platform::MhdReply(connection, MHD_HTTP_SERVICE_UNAVAILABLE, kNotReady,
                                  "text/plain");
      }
      absl::StatusOr<Review> review = ParseReview(upload->body);
      if (!review.ok()) {
        spdlog::warn("{} from {}: {}", url, Peer(connection),
                     std::string(review.status().message()));
        return platform::MhdReply(connection, MHD_HTTP_BAD_REQUEST,
                                  absl::StrCat(review.status().message(), "\n"), "text/plain");
      }
      Decision decision;
      try {
        decision = server->options_.handler(url, *review);
      } catch (const std::exception& e) {
        // A defect, not the request's fault: the API server's failurePolicy
        // decides, and the process keeps serving.
        spdlog::error("{} {}/{} {}/{}: internal error: {}", url, review->group, review->kind,
                      review->ns, review->name, e.what());
        return platform::MhdReply(connection, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                  absl::StrCat("internal error: ", e.what(), "\n"), "text/plain");
      }
      if (!decision.allowed) {
        spdlog::info("{} {} {}/{} {}/{} by {}: refused: {}", url, review->operation, review->group,
                     review->kind, review->ns, review->name, review->username, decision.message);
      }
      return platform::MhdReply(connection, MHD_HTTP_OK, EncodeResponse(review->uid, decision),
                                "application/json");
    }
    if (std::strcmp(method, "GET") != 0 && std::strcmp(method, "HEAD") != 0) {
      return platform::MhdReply(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n",
                                "text/plain");
    }
    if (std::strcmp(url, "/healthz") == 0)
      return platform::MhdReply(connection, MHD_HTTP_OK, "ok\n", "text/plain");
    if (std::strcmp(url, "/readyz") == 0) {
      const bool ready = !server->options_.ready || server->options_.ready();
      return ready ? platform::MhdReply(connection, MHD_HTTP_OK, "ok\n", "text/plain")
                   : platform::MhdReply(connection, MHD_HTTP_SERVICE_UNAVAILABLE, kNotReady,
                                        "text/plain");
    }
    if (std::strcmp(url, "/metrics") == 0 && server->options_.metrics) {
      return platform::MhdReply(connection, MHD_HTTP_OK, server->options_.metrics(),
                                "text/plain; version=0.0.4; charset=utf-8");
    }
    return platform::MhdReply(connection, MHD_HTTP_NOT_FOUND, "not found\n", "text/plain");
  }

  // libmicrohttpd's messages (a client that fails the TLS handshake, say,
  // an API server that does not trust the certificate yet) at debug level:
  // the API server reports the failure itself.
  static void Log(void*, const char* format, va_list args) {
    char text[512];
    std::vsnprintf(text, sizeof(text), format, args);
    std::string line(text);
    while (!line.empty() && line.back() == '\n') line.pop_back();
    spdlog::debug("https: {}", line);
  }

  static void Completed(void*, MHD_Connection*, void** con_cls, MHD_RequestTerminationCode) {
    delete static_cast<Upload*>(*con_cls);
    *con_cls = nullptr;
  }

  static std::string Peer(MHD_Connection* connection) {
    const MHD_ConnectionInfo* info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info == nullptr || info->client_addr == nullptr ||
        info->client_addr->sa_family != AF_INET) {
      return "?";
    }
    char text[INET_ADDRSTRLEN] = {};
    const auto* in = reinterpret_cast<const sockaddr_in*>(info->client_addr);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    return text;
  }
};

absl::StatusOr<std::unique_ptr<WebhookServer>> WebhookServer::Start(Options options) {
  const std::size_t colon = options.address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(options.address.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--address: want [host]:port such as :9443, not \"", options.address, "\""));
  }
  if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
    return absl::FailedPreconditionError("libmicrohttpd was built without TLS");
  }
  const KeyPair serving = options.serving;
  std::unique_ptr<WebhookServer> server(new WebhookServer(std::move(options)));
  server->host_ = server->options_.address.substr(0, colon);
  absl::StatusOr<MHD_Daemon*> daemon = server->Listen(serving, port, -1);
  if (!daemon.ok()) return daemon.status();
  server->daemon_ = *daemon;
  const MHD_DaemonInfo* info = MHD_get_daemon_info(server->daemon_, MHD_DAEMON_INFO_BIND_PORT);
  server->port_ = info != nullptr ? info->port : port;
  return server;
}

absl::StatusOr<MHD_Daemon*> WebhookServer::Listen(const KeyPair& serving, int port, int listen_fd) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (!host_.empty() && inet_pton(AF_INET, host_.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--address: \"", host_, "\" is not an IPv4 address"));
  }
  pems_.push_back(std::make_unique<KeyPair>(serving));
  const KeyPair& pem = *pems_.back();
  // A new listener binds the address; a replacement takes over the socket
  // of the one it replaces, so no connection is ever refused.
  MHD_Daemon* daemon =
      listen_fd < 0
          ? MHD_start_daemon(
                MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS | MHD_USE_ITC | MHD_USE_ERROR_LOG, 0,
                nullptr, nullptr, &WebhookHandler::Handle, this, MHD_OPTION_SOCK_ADDR,
                reinterpret_cast<sockaddr*>(&addr), MHD_OPTION_HTTPS_MEM_CERT, pem.cert_pem.c_str(),
                MHD_OPTION_HTTPS_MEM_KEY, pem.key_pem.c_str(), MHD_OPTION_THREAD_POOL_SIZE,
                options_.threads, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_NOTIFY_COMPLETED,
                &WebhookHandler::Completed, nullptr, MHD_OPTION_EXTERNAL_LOGGER,
                &WebhookHandler::Log, nullptr, MHD_OPTION_END)
          : MHD_start_daemon(
                MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS | MHD_USE_ITC | MHD_USE_ERROR_LOG, 0,
                nullptr, nullptr, &WebhookHandler::Handle, this, MHD_OPTION_LISTEN_SOCKET,
                listen_fd, MHD_OPTION_HTTPS_MEM_CERT, pem.cert_pem.c_str(),
                MHD_OPTION_HTTPS_MEM_KEY, pem.key_pem.c_str(), MHD_OPTION_THREAD_POOL_SIZE,
                options_.threads, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_NOTIFY_COMPLETED,
                &WebhookHandler::Completed, nullptr, MHD_OPTION_EXTERNAL_LOGGER,
                &WebhookHandler::Log, nullptr, MHD_OPTION_END);
  if (daemon == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot serve HTTPS on ", options_.address,
                                               " (the port is taken, or the certificate and key "
                                               "do not load)"));
  }
  return daemon;
}

absl::Status WebhookServer::Rotate(const KeyPair& serving) {
  std::lock_guard<std::mutex> lock(mu_);
  // The old listener stops accepting and hands back its socket; connections
  // that arrive meanwhile wait in the socket's backlog for the new one.
  MHD_Daemon* old = daemon_;
  const MHD_socket fd = MHD_quiesce_daemon(old);
  if (fd == MHD_INVALID_SOCKET) return absl::InternalError("cannot take over the listening socket");
  absl::StatusOr<MHD_Daemon*> next = Listen(serving, port_, fd);
  if (!next.ok()) {
    // Keep serving the pair that works.
    absl::StatusOr<MHD_Daemon*> again = Listen(*pems_[pems_.size() - 2], port_, fd);
    if (!again.ok()) return again.status();
    daemon_ = *again;
    stoppers_.emplace_back([old] { MHD_stop_daemon(old); });
    return next.status();
  }
  daemon_ = *next;
  // The old one's connections finish on the old pair, then it stops (on a
  // thread: stopping waits for them).
  stoppers_.emplace_back([old] { MHD_stop_daemon(old); });
  return absl::OkStatus();
}

WebhookServer::~WebhookServer() {
  std::lock_guard<std::mutex> lock(mu_);
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
  for (std::thread& t : stoppers_) t.join();
}

}  // namespace platform::admission
