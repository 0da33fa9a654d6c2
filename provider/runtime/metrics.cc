#include "provider/runtime/metrics.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <cmath>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "absl/strings/numbers.h"
#include "common/mhd_reply.h"
#include "common/prometheus.h"

namespace runtime {
namespace {

std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

}  // namespace

void Metrics::Put(const std::string& name, const std::string& type, const Labels& labels,
                  double value, bool add, const std::string& help) {
  std::lock_guard lock(mu_);
  Family& f = families_[name];
  if (f.type.empty()) f.type = type;
  if (f.help.empty()) f.help = help;
  if (add) {
    f.samples[labels] += value;
  } else {
    f.samples[labels] = value;
  }
}

void Metrics::Add(const std::string& name, const Labels& labels, double value,
                  const std::string& help) {
  Put(name, "counter", labels, value, true, help);
}

void Metrics::Set(const std::string& name, const Labels& labels, double value,
                  const std::string& help) {
  Put(name, "gauge", labels, value, false, help);
}

void Metrics::AddCollector(std::function<void(Metrics&)> collect) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collect));
}

double Metrics::Value(const std::string& name, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto f = families_.find(name);
  if (f == families_.end()) return 0;
  auto s = f->second.samples.find(labels);
  return s == f->second.samples.end() ? 0 : s->second;
}

std::string Metrics::Render() {
  std::vector<std::function<void(Metrics&)>> collectors;
  {
    std::lock_guard lock(mu_);
    collectors = collectors_;
  }
  for (auto& c : collectors) c(*this);
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    if (!f.help.empty()) out += "# HELP " + name + " " + f.help + "\n";
    out += "# TYPE " + name + " " + f.type + "\n";
    for (const auto& [labels, value] : f.samples) {
      out += name;
      if (!labels.empty()) {
        out += "{";
        bool first = true;
        for (const auto& [k, v] : labels) {
          out += (first ? "" : ",") + k + "=\"" + ::platform::common::EscapeLabelValue(v) + "\"";
          first = false;
        }
        out += "}";
      }
      out += " " + Number(value) + "\n";
    }
  }
  return out;
}

struct MetricsHandler {
  static MHD_Result Handle(void* cls, MHD_Connection* connection, const char* url,
                           const char* method, const char*, const char*, size_t*, void**) {
    auto* server = static_cast<MetricsServer*>(cls);
    if (std::strcmp(method, "GET") != 0 && std::strcmp(method, "HEAD") != 0) {
      return platform::MhdReply(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n",
                                "text/plain");
    }
    const std::string path = url;
    if (path == "/metrics") {
      return platform::MhdReply(connection, MHD_HTTP_OK, server->metrics_.Render(),
                                "text/plain; version=0.0.4; charset=utf-8");
    }
    if (path == "/healthz")
      return platform::MhdReply(connection, MHD_HTTP_OK, "ok\n", "text/plain");
    if (path == "/readyz") {
      const bool ready = !server->ready_ || server->ready_();
      return platform::MhdReply(connection, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                                ready ? "ok\n" : "not ready\n", "text/plain");
    }
    return platform::MhdReply(connection, MHD_HTTP_NOT_FOUND, "not found\n", "text/plain");
  }
};

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(Metrics& metrics,
                                                                    const std::string& address,
                                                                    std::function<bool()> ready) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError("--metrics-address: want [host]:port, got \"" + address +
                                      "\"");
  }
  const std::string host = address.substr(0, colon);
  int port = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError("--metrics-address: bad port in \"" + address + "\"");
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (!host.empty() && inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError("--metrics-address: \"" + host + "\" is not an IPv4 address");
  }
  std::unique_ptr<MetricsServer> server(new MetricsServer(metrics, std::move(ready)));
  server->daemon_ =
      MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, nullptr, nullptr,
                       &MetricsHandler::Handle, server.get(), MHD_OPTION_SOCK_ADDR,
                       reinterpret_cast<sockaddr*>(&addr), MHD_OPTION_END);
  if (server->daemon_ == nullptr) {
    return absl::UnavailableError("cannot serve metrics on " + address);
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(server->daemon_, MHD_DAEMON_INFO_BIND_PORT);
  server->port_ = info != nullptr ? info->port : port;
  return server;
}

MetricsServer::~MetricsServer() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
}

}  // namespace runtime
