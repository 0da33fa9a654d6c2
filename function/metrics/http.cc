#include "function/metrics/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/mhd_reply.h"

namespace platform::fn {

struct MetricsHttpHandler {
  static MHD_Result Handle(void* cls, MHD_Connection* connection, const char* url,
                           const char* method, const char*, const char*, size_t*, void**) {
    const auto* server = static_cast<const MetricsHttpServer*>(cls);
    if (std::strcmp(method, "GET") != 0 && std::strcmp(method, "HEAD") != 0) {
      return platform::MhdReply(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n",
                                "text/plain");
    }
    if (std::strcmp(url, "/metrics") == 0) {
      return platform::MhdReply(connection, MHD_HTTP_OK, server->metrics_.Render(),
                                "text/plain; version=0.0.4; charset=utf-8");
    }
    if (std::strcmp(url, "/healthz") == 0 || std::strcmp(url, "/readyz") == 0) {
      return platform::MhdReply(connection, MHD_HTTP_OK, "ok\n", "text/plain");
    }
    return platform::MhdReply(connection, MHD_HTTP_NOT_FOUND, "not found\n", "text/plain");
  }
};

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const Metrics& metrics, const std::string& address) {
  const std::size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics-address: want [host]:port such as :8080, not \"", address, "\""));
  }
  const std::string host = address.substr(0, colon);
  int port = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics-address: bad port in \"", address, "\""));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (!host.empty() && inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics-address: \"", host, "\" is not an IPv4 address"));
  }
  std::unique_ptr<MetricsHttpServer> server(new MetricsHttpServer(metrics));
  // One thread polls every connection; a scrape takes microseconds. A client
  // that stalls is dropped after 10 seconds.
  server->daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
                                     nullptr, nullptr, &MetricsHttpHandler::Handle, server.get(),
                                     MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&addr),
                                     MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
  if (server->daemon_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", address));
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(server->daemon_, MHD_DAEMON_INFO_BIND_PORT);
  server->port_ = info != nullptr ? info->port : port;
  return server;
}

MetricsHttpServer::~MetricsHttpServer() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
}

}  // namespace platform::fn
