#include "provider/runtime/workqueue.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "provider/runtime/metrics.h"

namespace runtime {
namespace {

using namespace std::chrono_literals;

TEST(WorkQueueTest, AKeyIsQueuedOnceAndNeverHandedOutTwice) {
  WorkQueue q;
  q.Add({"a", "x"});
  q.Add({"a", "x"});
  q.Add({"a", "y"});
  EXPECT_EQ(q.Len(), 2u);
  auto first = q.Get();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->name, "x");
  // Added again while a worker holds it: queued only once it is done.
  q.Add({"a", "x"});
  auto second = q.Get();
  EXPECT_EQ(second->name, "y");
  EXPECT_EQ(q.Len(), 0u);
  q.Done(*first);
  EXPECT_EQ(q.Len(), 1u);
  EXPECT_EQ(q.Get()->name, "x");
}

TEST(WorkQueueTest, DelayedKeysKeepTheEarliestTime) {
  WorkQueue q;
  q.AddAfter({"", "late"}, 10min);
  q.AddAfter({"", "late"}, 20ms);
  q.AddAfter({"", "late"}, 5min);
  const auto start = std::chrono::steady_clock::now();
  auto key = q.Get();
  EXPECT_EQ(key->name, "late");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(q.Len(), 0u);
}

TEST(WorkQueueTest, FailuresBackOffExponentiallyUpToTheCap) {
  WorkQueue q(10ms, 40ms);
  const kube::ObjectKey k{"", "k"};
  q.AddRateLimited(k);
  q.AddRateLimited(k);
  q.AddRateLimited(k);
  q.AddRateLimited(k);
  EXPECT_EQ(q.Failures(k), 4);
  q.Forget(k);
  EXPECT_EQ(q.Failures(k), 0);
  EXPECT_EQ(q.Get()->name, "k");  // the earliest, 10ms
}

TEST(WorkQueueTest, ShutDownWakesWorkers) {
  WorkQueue q;
  std::thread worker([&] { EXPECT_FALSE(q.Get()); });
  std::this_thread::sleep_for(20ms);
  q.ShutDown();
  worker.join();
}

TEST(TokenBucketTest, LimitsTheRate) {
  TokenBucket bucket(50, 1);
  std::atomic<bool> stop{false};
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(bucket.Take(stop));
  // One from the burst, then five at 50/s: at least 100ms.
  EXPECT_GE(std::chrono::steady_clock::now() - start, 90ms);
}

std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "";
  }
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
  (void)!write(fd, request.data(), request.size());
  std::string response;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) response.append(buf, static_cast<size_t>(n));
  close(fd);
  return response;
}

TEST(MetricsTest, ServesTheTextFormat) {
  Metrics metrics;
  metrics.Add("reconcile_total", {{"controller", "w"}, {"result", "success"}}, 1, "Reconciles.");
  metrics.Add("reconcile_total", {{"controller", "w"}, {"result", "success"}}, 2);
  metrics.AddCollector([](Metrics& m) { m.Set("resources_ready", {{"gvk", "a\"b"}}, 3); });
  bool ready = false;
  const std::unique_ptr<MetricsServer> started =
      MetricsServer::Start(metrics, "127.0.0.1:0", [&] { return ready; }).value();
  MetricsServer& server = *started;
  ASSERT_GT(server.port(), 0);
  const std::string body = HttpGet(server.port(), "/metrics");
  EXPECT_NE(body.find("# HELP reconcile_total Reconciles.\n# TYPE reconcile_total counter\n"
                      "reconcile_total{controller=\"w\",result=\"success\"} 3\n"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("resources_ready{gvk=\"a\\\"b\"} 3"), std::string::npos);
  EXPECT_NE(HttpGet(server.port(), "/readyz").find(" 503 "), std::string::npos);
  ready = true;
  EXPECT_NE(HttpGet(server.port(), "/readyz").find(" 200 "), std::string::npos);
  EXPECT_NE(HttpGet(server.port(), "/nope").find(" 404 "), std::string::npos);
}

TEST(MetricsTest, RefusesABadAddress) {
  Metrics metrics;
  EXPECT_EQ(MetricsServer::Start(metrics, "8080", nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MetricsServer::Start(metrics, "nohost:80", nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace runtime
