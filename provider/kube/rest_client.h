// kube::Client over HTTPS (libcurl): HttpClient: TLS from in-memory PEM, bearer tokens
// (re-read from a token file), a client-side rate limit, retries with
// backoff, and streaming watches. Safe to use from many threads at once;
// connections, DNS and TLS sessions are shared between calls.
#ifndef PROVIDER_KUBE_REST_CLIENT_H_
#define PROVIDER_KUBE_REST_CLIENT_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "provider/kube/client.h"
#include "provider/kube/config.h"

namespace kube {

struct RestOptions {
  double qps = 20;  // sustained requests per second (<= 0: unlimited)
  int burst = 40;   // requests allowed at once above the sustained rate
  std::chrono::seconds request_timeout{30};
  int max_retries = 5;
  std::string user_agent = "provider-workloads";
  // The first retry waits about this long; each further one twice as long
  // (capped at max_backoff), with jitter.
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{10000};
};

class HttpClient : public Client {
 public:
  using Options = RestOptions;

  explicit HttpClient(Config config, Options options = Options());
  ~HttpClient() override;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  absl::StatusOr<Json> Get(const Resource& r, const ObjectKey& key) override;
  absl::StatusOr<Json> GetNotOlderThan(const Resource& r, const ObjectKey& key,
                                       const std::string& resource_version) override;
  absl::StatusOr<Json> List(const Resource& r, const std::string& ns,
                            const ListOptions& opts) override;
  absl::StatusOr<Json> Create(const Resource& r, const Json& object) override;
  absl::StatusOr<Json> Update(const Resource& r, const Json& object) override;
  absl::StatusOr<Json> UpdateStatus(const Resource& r, const Json& object) override;
  absl::StatusOr<Json> Patch(const Resource& r, const ObjectKey& key, PatchType type,
                             const Json& patch, const PatchOptions& opts) override;
  absl::Status Delete(const Resource& r, const ObjectKey& key,
                      const std::optional<std::string>& uid = std::nullopt) override;
  // Also ends (normally) when a ScopedWatchStop on this thread says so, even
  // while no events arrive.
  absl::Status Watch(const Resource& r, const std::string& ns, const WatchOptions& opts,
                     const std::function<bool(const WatchEvent&)>& on_event) override;

  const Config& config() const { return config_; }

  // The path of a resource's collection or object, e.g.
  // /apis/coordination.k8s.io/v1/namespaces/ns/leases/name/status.
  static std::string Path(const Resource& r, const std::string& ns, const std::string& name = "",
                          const std::string& subresource = "");
  // Percent-encodes everything but RFC 3986 unreserved characters.
  static std::string Escape(const std::string& text);

 private:
  struct Impl;
  Config config_;
  std::unique_ptr<Impl> impl_;
};

// While alive, an HttpClient::Watch running on this thread ends (normally)
// soon after `stop` returns true: it is checked about once a second, also when
// the server sends nothing. Lets a caller stop a quiet watch promptly.
class ScopedWatchStop {
 public:
  explicit ScopedWatchStop(std::function<bool()> stop);
  ~ScopedWatchStop();
  ScopedWatchStop(const ScopedWatchStop&) = delete;
  ScopedWatchStop& operator=(const ScopedWatchStop&) = delete;

  // True when the innermost ScopedWatchStop of this thread says stop.
  static bool Requested();

 private:
  std::function<bool()> stop_;
  ScopedWatchStop* previous_;
};

}  // namespace kube

#endif  // PROVIDER_KUBE_REST_CLIENT_H_
