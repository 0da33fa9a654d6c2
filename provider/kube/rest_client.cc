#include "provider/kube/rest_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "common/files.h"

namespace kube {
namespace {

using Clock = std::chrono::steady_clock;

thread_local ScopedWatchStop* t_watch_stop = nullptr;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string ReasonFor(long code) {
  switch (code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 409:
      return "Conflict";
    case 410:
      return "Expired";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return "Unknown";
  }
}

ApiError ErrorFromBody(long code, const std::string& body) {
  const int status = static_cast<int>(code);
  try {
    const Json s = Json::parse(body);
    if (s.is_object() && s.value("kind", "") == "Status") {
      std::string reason = s.value("reason", "");
      if (reason.empty()) reason = ReasonFor(code);
      return ApiError(status, reason, s.value("message", "HTTP " + std::to_string(code)));
    }
  } catch (const Json::exception&) {
  }
  return ApiError(status, ReasonFor(code),
                  "HTTP " + std::to_string(code) + ": " + body.substr(0, 512));
}

// Requests per second with bursts: each request takes a token; tokens come
// back at `qps` a second up to `burst`. A request without a token reserves
// the next one and sleeps until it is due.
class TokenBucket {
 public:
  TokenBucket(double qps, int burst) : qps_(qps), burst_(std::max(1, burst)), tokens_(burst_) {}

  void Wait() {
    if (qps_ <= 0) return;
    std::chrono::duration<double> wait{0};
    {
      std::lock_guard lock(mu_);
      const auto now = Clock::now();
      const std::chrono::duration<double> elapsed = now - last_;
      last_ = now;
      tokens_ = std::min<double>(burst_, tokens_ + elapsed.count() * qps_);
      tokens_ -= 1;
      if (tokens_ < 0) wait = std::chrono::duration<double>(-tokens_ / qps_);
    }
    if (wait.count() > 0) std::this_thread::sleep_for(wait);
  }

 private:
  std::mutex mu_;
  double qps_;
  int burst_;
  double tokens_;
  Clock::time_point last_ = Clock::now();
};

// Where a response body goes.
class Sink {
 public:
  virtual ~Sink() = default;
  // False aborts the transfer.
  virtual bool Write(CURL* h, const char* data, size_t size) = 0;
  // Before a retry: forget the failed attempt; false forbids the retry.
  virtual bool Reset() = 0;
};

class StringSink : public Sink {
 public:
  bool Write(CURL*, const char* data, size_t size) override {
    body.append(data, size);
    return true;
  }
  bool Reset() override {
    body.clear();
    return true;
  }
  std::string body;
};

enum class RetryPolicy {
  kAlways,     // reads and guarded writes (GET, PUT, PATCH, DELETE)
  kIfNotSent,  // POST: only when the request never reached the server
  // A read from the watch cache: as kAlways, except for a 504, which here
  // means the cache did not reach the version asked for in time; the
  // caller then reads from etcd at once rather than wait again.
  kCachedRead,
};

struct Request {
  std::string method = "GET";
  std::string path;  // with the query
  std::optional<std::string> body;
  std::string content_type = "application/json";
  bool watch = false;
  std::chrono::seconds timeout{0};  // 0: the client's request timeout
};

struct Response {
  // Set when the request could not be made at all (no token, no handle):
  // not retried.
  absl::Status local;
  CURLcode result = CURLE_OK;
  long code = 0;
  bool sent = true;      // the request reached the server (or may have)
  bool aborted = false;  // the sink or a stop ended the transfer
  std::string error;
  std::optional<std::chrono::seconds> retry_after;
};

bool RetryableTransport(CURLcode c) {
  switch (c) {
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_ABORTED_BY_CALLBACK:
    case CURLE_WRITE_ERROR:
      return false;
    default:
      return true;
  }
}

bool FailedBeforeSending(CURLcode c) {
  return c == CURLE_COULDNT_RESOLVE_HOST || c == CURLE_COULDNT_RESOLVE_PROXY ||
         c == CURLE_COULDNT_CONNECT || c == CURLE_SSL_CONNECT_ERROR;
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t start = 0;
  while (start < s.size() && std::isspace(static_cast<unsigned char>(s[start]))) ++start;
  return s.substr(start);
}

class Query {
 public:
  Query& Add(const std::string& key, const std::string& value) {
    if (value.empty()) return *this;
    text_ += text_.empty() ? "?" : "&";
    text_ += HttpClient::Escape(key) + "=" + HttpClient::Escape(value);
    return *this;
  }
  const std::string& str() const { return text_; }

 private:
  std::string text_;
};

// Parses newline-delimited watch events as they arrive.
class WatchSink : public Sink {
 public:
  explicit WatchSink(const std::function<bool(const WatchEvent&)>& on_event)
      : on_event_(on_event) {}

  bool Write(CURL* h, const char* data, size_t size) override {
    if (code_ == 0) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code_);
    if (code_ < 200 || code_ >= 300) {
      error_body.append(data, size);
      return true;
    }
    buffer_.append(data, size);
    size_t start = 0;
    for (size_t nl; (nl = buffer_.find('\n', start)) != std::string::npos; start = nl + 1) {
      const std::string line = buffer_.substr(start, nl - start);
      if (Trim(line).empty()) continue;
      if (!Deliver(line)) {
        buffer_.erase(0, nl + 1);
        return false;
      }
    }
    buffer_.erase(0, start);
    return true;
  }

  // Retry only while nothing reached the caller.
  bool Reset() override {
    if (delivered || stopped || !error.ok() || ScopedWatchStop::Requested()) return false;
    code_ = 0;
    buffer_.clear();
    error_body.clear();
    return true;
  }

  // The last event, when the stream ended without a newline.
  bool Flush() {
    const std::string rest = Trim(buffer_);
    buffer_.clear();
    return rest.empty() || Deliver(rest);
  }

  bool delivered = false;
  bool stopped = false;
  absl::Status error;
  std::string error_body;

 private:
  bool Deliver(const std::string& line) {
    Json j;
    try {
      j = Json::parse(line);
    } catch (const Json::exception& e) {  // nlohmann-json reports by throwing
      error = ApiError(0, "InvalidResponse", std::string("watch event is not JSON: ") + e.what())
                  .ToStatus();
      return false;
    }
    WatchEvent e{j.value("type", ""), j.value("object", Json::object())};
    delivered = true;
    if (!on_event_(e)) {
      stopped = true;
      return false;
    }
    return true;
  }

  const std::function<bool(const WatchEvent&)>& on_event_;
  long code_ = 0;
  std::string buffer_;
};

size_t WriteCallback(char* data, size_t size, size_t n, void* user) {
  auto* ctx = static_cast<std::pair<Sink*, CURL*>*>(user);
  return ctx->first->Write(ctx->second, data, size * n) ? size * n : 0;
}

size_t HeaderCallback(char* data, size_t size, size_t n, void* user) {
  auto* resp = static_cast<Response*>(user);
  const std::string line(data, size * n);
  constexpr std::string_view kRetryAfter = "retry-after:";
  if (line.size() > kRetryAfter.size()) {
    std::string name = line.substr(0, kRetryAfter.size());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (name == kRetryAfter) {
      const std::string value = Trim(line.substr(kRetryAfter.size()));
      long seconds = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
      // An HTTP date instead: fall back to our own backoff.
      if (ec == std::errc() && end == value.data() + value.size()) {
        resp->retry_after = std::chrono::seconds(seconds);
      }
    }
  }
  return size * n;
}

int ProgressCallback(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return ScopedWatchStop::Requested() ? 1 : 0;
}

}  // namespace

ScopedWatchStop::ScopedWatchStop(std::function<bool()> stop)
    : stop_(std::move(stop)), previous_(t_watch_stop) {
  t_watch_stop = this;
}

ScopedWatchStop::~ScopedWatchStop() { t_watch_stop = previous_; }

bool ScopedWatchStop::Requested() {
  return t_watch_stop != nullptr && t_watch_stop->stop_ && t_watch_stop->stop_();
}

// Connections kept open to the API server, in use or idle.
constexpr long kMaxConnections = 128;

struct HttpClient::Impl {
  Impl(const Config& c, Options o)
      : config(c), options(std::move(o)), bucket(options.qps, options.burst) {
    GlobalInit();
    share = curl_share_init();
    curl_share_setopt(share, CURLSHOPT_LOCKFUNC, &Impl::Lock);
    curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, &Impl::Unlock);
    curl_share_setopt(share, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }

  ~Impl() {
    for (CURL* h : pool) curl_easy_cleanup(h);
    curl_share_cleanup(share);
  }

  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<Impl*>(user)->locks[static_cast<size_t>(data) % kLocks].lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<Impl*>(user)->locks[static_cast<size_t>(data) % kLocks].unlock();
  }

  CURL* Take() {
    {
      std::lock_guard lock(pool_mu);
      if (!pool.empty()) {
        CURL* h = pool.back();
        pool.pop_back();
        return h;
      }
    }
    return curl_easy_init();  // nullptr when out of memory
  }

  void Give(CURL* h) {
    curl_easy_reset(h);
    std::lock_guard lock(pool_mu);
    if (pool.size() < 16) {
      pool.push_back(h);
      return;
    }
    curl_easy_cleanup(h);
  }

  absl::StatusOr<std::string> Token() {
    if (config.token_file.empty()) return config.token;
    std::lock_guard lock(token_mu);
    const auto now = Clock::now();
    if (token.empty() || now - token_read >= std::chrono::minutes(1)) {
      const std::string fresh = Trim(platform::ReadFile(config.token_file).value_or(""));
      if (!fresh.empty()) {
        token = fresh;
        token_read = now;
      } else if (token.empty()) {
        return ApiError(0, "Transport", "cannot read the token file " + config.token_file)
            .ToStatus();
      }
    }
    return token;
  }

  Response PerformOnce(const Request& req, Sink* sink) {
    Response resp;
    absl::StatusOr<std::string> bearer = Token();
    if (!bearer.ok()) {
      resp.local = bearer.status();
      return resp;
    }
    CURL* h = Take();
    if (h == nullptr) {
      resp.local = ApiError(0, "Transport", "curl_easy_init failed").ToStatus();
      return resp;
    }
    struct Giver {
      Impl* impl;
      CURL* h;
      ~Giver() { impl->Give(h); }
    } giver{this, h};

    const std::string url = config.server + req.path;
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_SHARE, share);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(h, CURLOPT_USERAGENT, options.user_agent.c_str());
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    // Room in the shared connection cache for every watch (each holds a
    // connection for minutes) and the requests beside them: with libcurl's
    // default of 5, a finished request's connection was closed whenever five
    // watches were open, so every request paid a new TLS handshake.
    curl_easy_setopt(h, CURLOPT_MAXCONNECTS, kMaxConnections);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::min<int64_t>(
                         10000, std::chrono::milliseconds(options.request_timeout).count())));
    if (!config.ca_pem.empty()) {
      curl_blob ca{const_cast<char*>(config.ca_pem.data()), config.ca_pem.size(), CURL_BLOB_COPY};
      curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
    }
    if (!config.client_cert_pem.empty()) {
      curl_blob cert{const_cast<char*>(config.client_cert_pem.data()),
                     config.client_cert_pem.size(), CURL_BLOB_COPY};
      curl_blob key{const_cast<char*>(config.client_key_pem.data()), config.client_key_pem.size(),
                    CURL_BLOB_COPY};
      curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
      curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
      curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
      curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (config.insecure) {
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    std::chrono::seconds timeout = req.timeout.count() > 0 ? req.timeout : options.request_timeout;
    if (req.watch) {
      // The server ends the watch; this only catches a server gone silent.
      timeout =
          req.timeout.count() > 0 ? req.timeout + options.request_timeout : std::chrono::seconds(0);
      curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &ProgressCallback);
    }
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(std::chrono::milliseconds(timeout).count()));

    if (req.method == "POST") {
      curl_easy_setopt(h, CURLOPT_POST, 1L);
    } else if (req.method != "GET") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    }
    if (req.body) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body->size()));
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body->data());
    }

    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, "Accept: application/json");
    headers = curl_slist_append(headers, "Expect:");
    if (req.body)
      headers = curl_slist_append(headers, ("Content-Type: " + req.content_type).c_str());
    if (!bearer->empty()) {
      headers = curl_slist_append(headers, ("Authorization: Bearer " + *bearer).c_str());
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);

    std::pair<Sink*, CURL*> ctx{sink, h};
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &WriteCallback);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &ctx);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &HeaderCallback);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &resp);

    resp.result = curl_easy_perform(h);
    curl_slist_free_all(headers);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.code);
    if (resp.result != CURLE_OK) {
      resp.aborted = resp.result == CURLE_WRITE_ERROR || resp.result == CURLE_ABORTED_BY_CALLBACK;
      resp.error = errbuf[0] != 0 ? errbuf : curl_easy_strerror(resp.result);
      curl_off_t pretransfer = 0;
      curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
      resp.sent = !FailedBeforeSending(resp.result) && pretransfer > 0;
    }
    return resp;
  }

  std::chrono::milliseconds Backoff(int attempt, const Response& resp) {
    if (resp.retry_after) {
      return std::min<std::chrono::milliseconds>(*resp.retry_after, std::chrono::seconds(60));
    }
    thread_local std::mt19937 rng{std::random_device{}()};
    const double base = std::min<double>(
        static_cast<double>(options.max_backoff.count()),
        static_cast<double>(options.initial_backoff.count()) * std::pow(2, attempt));
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    return std::chrono::milliseconds(static_cast<int64_t>(base * jitter(rng)));
  }

  // Runs `req`, retrying as `policy` allows.
  Response Execute(const Request& req, RetryPolicy policy, Sink* sink) {
    for (int attempt = 0;; ++attempt) {
      bucket.Wait();
      Response resp = PerformOnce(req, sink);
      if (!resp.local.ok()) return resp;
      bool retry = false;
      if (resp.result != CURLE_OK) {
        retry = !resp.aborted && RetryableTransport(resp.result) &&
                (policy != RetryPolicy::kIfNotSent || !resp.sent);
      } else if (resp.code == 429) {
        // The server turned the request away unprocessed (API priority and
        // fairness): safe for any verb.
        retry = true;
      } else if (resp.code == 500 || resp.code == 502 || resp.code == 503 || resp.code == 504) {
        retry = policy == RetryPolicy::kAlways ||
                (policy == RetryPolicy::kCachedRead && resp.code != 504);
      }
      if (!retry || attempt >= options.max_retries || !sink->Reset()) return resp;
      std::this_thread::sleep_for(Backoff(attempt, resp));
    }
  }

  absl::StatusOr<Json> Call(const Request& req, RetryPolicy policy) {
    StringSink sink;
    const Response resp = Execute(req, policy, &sink);
    if (!resp.local.ok()) return resp.local;
    if (resp.result != CURLE_OK) {
      return ApiError(0, "Transport", req.method + " " + req.path + ": " + resp.error).ToStatus();
    }
    if (resp.code < 200 || resp.code >= 300) return ErrorFromBody(resp.code, sink.body).ToStatus();
    if (Trim(sink.body).empty()) return Json::object();
    try {
      return Json::parse(sink.body);
    } catch (const Json::exception& e) {  // nlohmann-json reports by throwing
      return ApiError(static_cast<int>(resp.code), "InvalidResponse",
                      req.method + " " + req.path + ": response is not JSON: " + e.what())
          .ToStatus();
    }
  }

  std::string Namespace(const Resource& r, const std::string& ns) const {
    if (!r.namespaced) return "";
    if (!ns.empty()) return ns;
    return config.ns.empty() ? "default" : config.ns;
  }

  const Config& config;
  Options options;
  TokenBucket bucket;
  CURLSH* share = nullptr;
  static constexpr size_t kLocks = 8;
  std::array<std::mutex, kLocks> locks;
  std::mutex pool_mu;
  std::vector<CURL*> pool;
  std::mutex token_mu;
  std::string token;
  Clock::time_point token_read;
};

HttpClient::HttpClient(Config config, Options options)
    : config_(std::move(config)), impl_(std::make_unique<Impl>(config_, std::move(options))) {
  while (!config_.server.empty() && config_.server.back() == '/') config_.server.pop_back();
}

HttpClient::~HttpClient() = default;

std::string HttpClient::Escape(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string HttpClient::Path(const Resource& r, const std::string& ns, const std::string& name,
                             const std::string& subresource) {
  std::string p = r.group.empty() ? "/api/" + r.version : "/apis/" + r.group + "/" + r.version;
  if (r.namespaced && !ns.empty()) p += "/namespaces/" + Escape(ns);
  p += "/" + r.plural;
  if (!name.empty()) p += "/" + Escape(name);
  if (!subresource.empty()) p += "/" + subresource;
  return p;
}

absl::StatusOr<Json> HttpClient::Get(const Resource& r, const ObjectKey& key) {
  Request req;
  req.path = Path(r, impl_->Namespace(r, key.ns), key.name);
  return impl_->Call(req, RetryPolicy::kAlways);
}

absl::StatusOr<Json> HttpClient::GetNotOlderThan(const Resource& r, const ObjectKey& key,
                                                 const std::string& resource_version) {
  if (resource_version.empty()) return Get(r, key);
  Request req;
  Query q;
  q.Add("resourceVersion", resource_version);
  req.path = Path(r, impl_->Namespace(r, key.ns), key.name) + q.str();
  absl::StatusOr<Json> got = impl_->Call(req, RetryPolicy::kCachedRead);
  // 504: the watch cache is behind the version (the server waits about
  // 3 s for it); etcd has it.
  if (const std::optional<ApiError> e = ApiErrorOf(got.status()); e && e->code() == 504) {
    return Get(r, key);
  }
  return got;
}

absl::StatusOr<Json> HttpClient::List(const Resource& r, const std::string& ns,
                                      const ListOptions& opts) {
  Request req;
  Query q;
  q.Add("labelSelector", opts.label_selector)
      .Add("fieldSelector", opts.field_selector)
      .Add("resourceVersion", opts.resource_version)
      .Add("limit", opts.limit > 0 ? std::to_string(opts.limit) : "")
      .Add("continue", opts.continue_token);
  req.path = Path(r, r.namespaced ? ns : "") + q.str();
  return impl_->Call(req, RetryPolicy::kAlways);
}

absl::StatusOr<Json> HttpClient::Create(const Resource& r, const Json& object) {
  Request req;
  req.method = "POST";
  req.path = Path(r, impl_->Namespace(r, KeyOf(object).ns));
  req.body = object.dump();
  return impl_->Call(req, RetryPolicy::kIfNotSent);
}

absl::StatusOr<Json> HttpClient::Update(const Resource& r, const Json& object) {
  const ObjectKey key = KeyOf(object);
  Request req;
  req.method = "PUT";
  req.path = Path(r, impl_->Namespace(r, key.ns), key.name);
  req.body = object.dump();
  return impl_->Call(req, RetryPolicy::kAlways);
}

absl::StatusOr<Json> HttpClient::UpdateStatus(const Resource& r, const Json& object) {
  const ObjectKey key = KeyOf(object);
  Request req;
  req.method = "PUT";
  req.path = Path(r, impl_->Namespace(r, key.ns), key.name, "status");
  req.body = object.dump();
  return impl_->Call(req, RetryPolicy::kAlways);
}

absl::StatusOr<Json> HttpClient::Patch(const Resource& r, const ObjectKey& key, PatchType type,
                                       const Json& patch, const PatchOptions& opts) {
  Request req;
  req.method = "PATCH";
  Query q;
  q.Add("fieldManager", opts.field_manager);
  if (type == PatchType::kApply && opts.force) q.Add("force", "true");
  req.path = Path(r, impl_->Namespace(r, key.ns), key.name, opts.subresource) + q.str();
  req.body = patch.dump();
  switch (type) {
    case PatchType::kMerge:
      req.content_type = "application/merge-patch+json";
      break;
    case PatchType::kApply:
      req.content_type = "application/apply-patch+yaml";  // JSON is YAML
      break;
    case PatchType::kJson:
      req.content_type = "application/json-patch+json";
      break;
  }
  return impl_->Call(req, RetryPolicy::kAlways);
}

absl::Status HttpClient::Delete(const Resource& r, const ObjectKey& key,
                                const std::optional<std::string>& uid) {
  Request req;
  req.method = "DELETE";
  req.path = Path(r, impl_->Namespace(r, key.ns), key.name);
  if (uid) {
    req.body =
        Json{{"kind", "DeleteOptions"}, {"apiVersion", "v1"}, {"preconditions", {{"uid", *uid}}}}
            .dump();
  }
  return impl_->Call(req, RetryPolicy::kAlways).status();
}

absl::Status HttpClient::Watch(const Resource& r, const std::string& ns, const WatchOptions& opts,
                               const std::function<bool(const WatchEvent&)>& on_event) {
  Request req;
  req.watch = true;
  req.timeout = opts.timeout;
  Query q;
  q.Add("watch", "1")
      .Add("labelSelector", opts.label_selector)
      .Add("resourceVersion", opts.resource_version)
      .Add("allowWatchBookmarks", opts.allow_bookmarks ? "true" : "")
      .Add("timeoutSeconds", opts.timeout.count() > 0 ? std::to_string(opts.timeout.count()) : "");
  req.path = Path(r, r.namespaced ? ns : "") + q.str();

  WatchSink sink(on_event);
  const Response resp = impl_->Execute(req, RetryPolicy::kAlways, &sink);
  if (!resp.local.ok()) return resp.local;
  if (!sink.error.ok()) return sink.error;
  if (sink.stopped) return absl::OkStatus();
  if (resp.result == CURLE_ABORTED_BY_CALLBACK) return absl::OkStatus();  // ScopedWatchStop
  if (resp.result != CURLE_OK) {
    // A stream that broke after events is an ended watch: the caller resumes
    // from its last resource version.
    if (sink.delivered) return absl::OkStatus();
    return ApiError(0, "Transport", "watch " + req.path + ": " + resp.error).ToStatus();
  }
  if (resp.code < 200 || resp.code >= 300) {
    return ErrorFromBody(resp.code, sink.error_body).ToStatus();
  }
  sink.Flush();
  return sink.error;
}

}  // namespace kube
