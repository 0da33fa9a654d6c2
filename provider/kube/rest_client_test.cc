// RestClient against a scripted local HTTP server (libmicrohttpd): retries,
// error statuses, headers, query escaping and streaming watches.
#include "provider/kube/rest_client.h"

#include <gtest/gtest.h>
#include <microhttpd.h>
#include <stdlib.h>

#include <atomic>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "provider/kube/resources.h"
#include "provider/testing/temp_dir.h"

namespace kube {
namespace {

using namespace std::chrono_literals;

struct Reply {
  Reply(unsigned int s = 200, std::string b = "{}", std::string after = "")
      : status(s), body(std::move(b)), retry_after(std::move(after)) {}
  unsigned int status;
  std::string body;
  std::string retry_after;
};

struct Seen {
  std::string method;
  std::string path;
  std::string content_type;
  std::string authorization;
  std::string label_selector;
  std::string body;
  std::string resource_version;
};

// Answers requests with the scripted replies in order (then 200 {}).
class Server {
 public:
  Server() {
    daemon_ =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                         nullptr, nullptr, &Server::Handle, this, MHD_OPTION_SOCK_ADDR, nullptr,
                         MHD_OPTION_NOTIFY_CONNECTION, &Server::Connected, this, MHD_OPTION_END);
    const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
    port_ = info->port;
  }
  ~Server() { MHD_stop_daemon(daemon_); }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void Script(std::vector<Reply> replies) {
    std::lock_guard lock(mu_);
    replies_.assign(replies.begin(), replies.end());
  }
  std::vector<Seen> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }
  // Connections clients opened so far.
  int connections() const { return connections_; }

 private:
  static void Connected(void* self_ptr, MHD_Connection*, void**,
                        MHD_ConnectionNotificationCode code) {
    if (code == MHD_CONNECTION_NOTIFY_STARTED) ++static_cast<Server*>(self_ptr)->connections_;
  }

  static std::string Header(MHD_Connection* c, MHD_ValueKind kind, const char* name) {
    const char* v = MHD_lookup_connection_value(c, kind, name);
    return v == nullptr ? "" : v;
  }

  static MHD_Result Handle(void* self_ptr, MHD_Connection* c, const char* url, const char* method,
                           const char*, const char* upload, size_t* upload_size, void** state) {
    auto* self = static_cast<Server*>(self_ptr);
    if (*state == nullptr) {
      *state = new std::string();
      return MHD_YES;
    }
    auto* body = static_cast<std::string*>(*state);
    if (*upload_size != 0) {
      body->append(upload, *upload_size);
      *upload_size = 0;
      return MHD_YES;
    }
    Reply reply;
    {
      std::lock_guard lock(self->mu_);
      self->seen_.push_back({method, url, Header(c, MHD_HEADER_KIND, "Content-Type"),
                             Header(c, MHD_HEADER_KIND, "Authorization"),
                             Header(c, MHD_GET_ARGUMENT_KIND, "labelSelector"), *body,
                             Header(c, MHD_GET_ARGUMENT_KIND, "resourceVersion")});
      if (!self->replies_.empty()) {
        reply = self->replies_.front();
        self->replies_.pop_front();
      }
    }
    delete body;
    *state = nullptr;
    // A request that holds its connection for a while, as a watch does.
    if (std::string(url).find("/slow") != std::string::npos) std::this_thread::sleep_for(1500ms);
    MHD_Response* r = MHD_create_response_from_buffer(reply.body.size(), reply.body.data(),
                                                      MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (!reply.retry_after.empty()) {
      MHD_add_response_header(r, "Retry-After", reply.retry_after.c_str());
    }
    const MHD_Result result = MHD_queue_response(c, reply.status, r);
    MHD_destroy_response(r);
    return result;
  }

  MHD_Daemon* daemon_ = nullptr;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::deque<Reply> replies_;
  std::vector<Seen> seen_;
  std::atomic<int> connections_{0};
};

RestOptions Fast() {
  RestOptions o;
  o.initial_backoff = 1ms;
  o.max_backoff = 5ms;
  o.max_retries = 3;
  o.request_timeout = 5s;
  return o;
}

const std::string kUnavailable =
    R"({"kind":"Status","status":"Failure","reason":"ServiceUnavailable","code":503})";

TEST(RestClient, PathsAndEscaping) {
  EXPECT_EQ(HttpClient::Path(kSecrets, "ns", "s"), "/api/v1/namespaces/ns/secrets/s");
  EXPECT_EQ(HttpClient::Path(kNamespaces, "ignored", "n"), "/api/v1/namespaces/n");
  EXPECT_EQ(HttpClient::Path(kLeases, "ns", "l", "status"),
            "/apis/coordination.k8s.io/v1/namespaces/ns/leases/l/status");
  EXPECT_EQ(HttpClient::Path(kSecrets, ""), "/api/v1/secrets");
  EXPECT_EQ(HttpClient::Escape("a in (x,y)&b=c"), "a%20in%20%28x%2Cy%29%26b%3Dc");
}

TEST(RestClient, RequestsReuseConnectionsWhileManyOthersAreOpen) {
  Server server;
  Config config;
  config.server = server.url();
  HttpClient client(config, Fast());
  // Eight long requests hold eight connections, as a provider's watches do.
  std::vector<std::thread> slow;
  for (int i = 0; i < 8; ++i) {
    slow.emplace_back([&] { (void)client.Get(kSecrets, {"ns", "slow"}); });
  }
  std::this_thread::sleep_for(300ms);
  const int before = server.connections();
  ASSERT_GE(before, 8);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(client.Get(kSecrets, {"ns", "fast"}).ok());
  // One new connection, reused for all ten (not one each).
  EXPECT_LE(server.connections() - before, 1);
  for (auto& t : slow) t.join();
}

TEST(RestClient, RetriesReadsOnServerErrors) {
  Server server;
  server.Script({{503, kUnavailable}, {502, "bad gateway"}, {200, R"({"kind":"Secret"})"}});
  Config config;
  config.server = server.url();
  HttpClient client(config, Fast());
  EXPECT_EQ(client.Get(kSecrets, {"ns", "s"}).value()["kind"], "Secret");
  EXPECT_EQ(server.seen().size(), 3u);
}

// A read from the watch cache: a 504 (the cache did not reach the version)
// is not retried but read again from etcd (no version); other server
// errors are retried as for any read.
TEST(RestClient, AReadNotOlderThanAVersionFallsBackToAPlainReadOnA504) {
  const std::string timeout =
      R"({"kind":"Status","status":"Failure","reason":"Timeout","code":504})";
  Server server;
  server.Script({{503, kUnavailable}, {504, timeout}, {200, R"({"kind":"Secret"})"}});
  Config config;
  config.server = server.url();
  HttpClient client(config, Fast());
  EXPECT_EQ(client.GetNotOlderThan(kSecrets, {"ns", "s"}, "42").value()["kind"], "Secret");
  const std::vector<Seen> seen = server.seen();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].resource_version, "42");
  EXPECT_EQ(seen[1].resource_version, "42") << "a 503 is retried";
  EXPECT_EQ(seen[2].resource_version, "") << "after the 504, a plain read";
  EXPECT_EQ(seen[2].path, "/api/v1/namespaces/ns/secrets/s");

  // No version: a plain read at once.
  server.Script({{200, R"({"kind":"Secret"})"}});
  EXPECT_TRUE(client.GetNotOlderThan(kSecrets, {"ns", "s"}, "").ok());
  EXPECT_EQ(server.seen().back().resource_version, "");
}

TEST(RestClient, DoesNotRetryACreateTheServerReceived) {
  Server server;
  server.Script({{503, kUnavailable}, {201, "{}"}});
  Config config;
  config.server = server.url();
  HttpClient client(config, Fast());
  {
    const auto e = ApiErrorOf(
        client.Create(kSecrets, {{"metadata", {{"name", "s"}, {"namespace", "ns"}}}}).status());
    ASSERT_TRUE(e.has_value()) << "no error";
    EXPECT_EQ(e->code(), 503);
    EXPECT_EQ(e->reason(), "ServiceUnavailable");
  }
  EXPECT_EQ(server.seen().size(), 1u);
}

TEST(RestClient, HonoursRetryAfterOnTooManyRequests) {
  Server server;
  server.Script(
      {{429, R"({"kind":"Status","reason":"TooManyRequests","code":429})", "0"}, {200, "{}"}});
  Config config;
  config.server = server.url();
  HttpClient client(config, Fast());
  ASSERT_TRUE(
      client.Update(kConfigMaps, {{"metadata", {{"name", "c"}, {"namespace", "ns"}}}}).ok());
  ASSERT_EQ(server.seen().size(), 2u);
  EXPECT_EQ(server.seen()[1].method, "PUT");
}

TEST(RestClient, StatusBodiesBecomeApiErrors) {
  Server server;
  server.Script({{409,
                  R"({"kind":"Status","status":"Failure","reason":"AlreadyExists",
                      "message":"secrets \"s\" already exists","code":409})"},
                 {404, "not json"}});
  Config config;
  config.server = server.url();
  HttpClient client(config, Fast());
  {
    const absl::Status s =
        client.Create(kSecrets, {{"metadata", {{"name", "s"}, {"namespace", "ns"}}}}).status();
    const auto e = ApiErrorOf(s);
    ASSERT_TRUE(e.has_value()) << "no error";
    EXPECT_TRUE(IsAlreadyExists(*e));
    EXPECT_EQ(e->message(), "secrets \"s\" already exists");
    EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
    EXPECT_EQ(s.message(), "secrets \"s\" already exists");
  }
  {
    const absl::Status s = client.Get(kSecrets, {"ns", "s"}).status();
    const auto e = ApiErrorOf(s);
    ASSERT_TRUE(e.has_value()) << "no error";
    EXPECT_TRUE(IsNotFound(*e));
    EXPECT_EQ(e->reason(), "NotFound");
    EXPECT_TRUE(kube::IsNotFound(s));
  }
}

TEST(RestClient, HeadersBodiesAndQueries) {
  Server server;
  const provider::testing::TempDir dir;
  dir.Write("token", "from-file\n");
  Config config;
  config.server = server.url() + "/";
  config.token_file = dir / "token";
  HttpClient client(config, Fast());
  PatchOptions apply;
  apply.field_manager = "me";
  apply.force = true;
  ASSERT_TRUE(
      client.Patch(kConfigMaps, {"ns", "c"}, PatchType::kApply, {{"data", {{"a", "1"}}}}, apply)
          .ok());
  ASSERT_TRUE(client.Delete(kConfigMaps, {"ns", "c"}, std::string("uid-1")).ok());
  ListOptions list;
  list.label_selector = "app in (a,b)";
  ASSERT_TRUE(client.List(kConfigMaps, "ns", list).ok());

  const auto seen = server.seen();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].method, "PATCH");
  EXPECT_EQ(seen[0].path, "/api/v1/namespaces/ns/configmaps/c");
  EXPECT_EQ(seen[0].content_type, "application/apply-patch+yaml");
  EXPECT_EQ(seen[0].authorization, "Bearer from-file");
  EXPECT_EQ(Json::parse(seen[0].body)["data"]["a"], "1");
  EXPECT_EQ(seen[1].method, "DELETE");
  EXPECT_EQ(Json::parse(seen[1].body)["preconditions"]["uid"], "uid-1");
  EXPECT_EQ(seen[2].label_selector, "app in (a,b)");
}

TEST(RestClient, WatchStreamsEventsAndStopsWhenAsked) {
  Server server;
  server.Script(
      {{200, R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"1"}}})"
             "\n"
             R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"2"}}})"
             "\n"
             R"({"type":"MODIFIED","object":{"metadata":{"name":"a","resourceVersion":"3"}}})"
             "\n"},
       {200, R"({"type":"DELETED","object":{"metadata":{"name":"a"}}})"},
       {410, R"({"kind":"Status","reason":"Expired","code":410})"}});
  Config config;
  config.server = server.url();
  HttpClient client(config, Fast());
  std::vector<std::string> types;
  ASSERT_TRUE(client
                  .Watch(kConfigMaps, "ns", {},
                         [&](const WatchEvent& e) {
                           types.push_back(e.type);
                           return e.type != "BOOKMARK";  // stop there: a normal end
                         })
                  .ok());
  EXPECT_EQ(types, (std::vector<std::string>{"ADDED", "BOOKMARK"}));
  // The last event needs no trailing newline.
  ASSERT_TRUE(client
                  .Watch(kConfigMaps, "ns", {},
                         [&](const WatchEvent& e) {
                           types.push_back(e.type);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(types.back(), "DELETED");
  {
    const auto e =
        ApiErrorOf(client.Watch(kConfigMaps, "ns", {}, [](const WatchEvent&) { return true; }));
    ASSERT_TRUE(e.has_value()) << "no error";
    EXPECT_TRUE(IsGone(*e));
  }
}

}  // namespace
}  // namespace kube
