#include "function/metrics/metrics.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "function/metrics/http.h"
#include "function/testing/prometheus_text.h"

namespace platform::fn {
namespace {

using platform::testing::Exposition;
using platform::testing::ParseExposition;
using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr char kCalls[] = "function_platform_run_function_calls_total";
constexpr char kDuration[] = "function_platform_run_function_duration_seconds";
constexpr char kResults[] = "function_platform_run_function_results_total";

std::string Calls(const std::string& kind, const std::string& outcome) {
  return std::string(kCalls) + "{kind=\"" + kind + "\",outcome=\"" + outcome + "\"}";
}
std::string Results(const std::string& kind, const std::string& severity) {
  return std::string(kResults) + "{kind=\"" + kind + "\",severity=\"" + severity + "\"}";
}
std::string Bucket(const std::string& kind, const std::string& le) {
  return std::string(kDuration) + "_bucket{kind=\"" + kind + "\",le=\"" + le + "\"}";
}

Exposition Parse(const Metrics& m) {
  const std::string text = m.Render();
  Exposition e = ParseExposition(text);
  EXPECT_EQ(e.error, "") << text;
  return e;
}

TEST(MetricsTest, EverySeriesIsThereAtZeroBeforeAnyCall) {
  const Metrics m({"XCluster", "XDatabase"}, {"1.2.3", "abc1234"});
  const Exposition e = Parse(m);
  EXPECT_EQ(e.types.at(kCalls), "counter");
  EXPECT_EQ(e.types.at(kDuration), "histogram");
  EXPECT_EQ(e.types.at(kResults), "counter");
  EXPECT_EQ(e.types.at("function_platform_build_info"), "gauge");
  for (const std::string kind : {"XCluster", "XDatabase", "unknown"}) {
    for (const std::string outcome : {"success", "fatal", "error"}) {
      EXPECT_EQ(e.Value(Calls(kind, outcome)), 0) << kind << " " << outcome;
    }
    for (const std::string severity : {"fatal", "warning", "normal"}) {
      EXPECT_EQ(e.Value(Results(kind, severity)), 0) << kind << " " << severity;
    }
    EXPECT_EQ(e.Value(Bucket(kind, "+Inf")), 0) << kind;
    EXPECT_EQ(e.Value(std::string(kDuration) + "_count{kind=\"" + kind + "\"}"), 0);
    EXPECT_EQ(e.Value(std::string(kDuration) + "_sum{kind=\"" + kind + "\"}"), 0);
  }
  EXPECT_EQ(e.Value("function_platform_build_info{commit=\"abc1234\",version=\"1.2.3\"}"), 1);
}

TEST(MetricsTest, CountsCallsByKindAndOutcomeAndResultsBySeverity) {
  Metrics m({"XCluster", "XDatabase"});
  m.Record(m.KindIndex("XCluster"), Outcome::kSuccess, milliseconds(2), {0, 1, 2});
  m.Record(m.KindIndex("XCluster"), Outcome::kSuccess, milliseconds(3), {});
  m.Record(m.KindIndex("XCluster"), Outcome::kFatal, milliseconds(1), {1, 0, 0});
  m.Record(m.KindIndex("XDatabase"), Outcome::kError, microseconds(10), {});
  const Exposition e = Parse(m);
  EXPECT_EQ(e.Value(Calls("XCluster", "success")), 2);
  EXPECT_EQ(e.Value(Calls("XCluster", "fatal")), 1);
  EXPECT_EQ(e.Value(Calls("XCluster", "error")), 0);
  EXPECT_EQ(e.Value(Calls("XDatabase", "error")), 1);
  EXPECT_EQ(e.Value(Results("XCluster", "fatal")), 1);
  EXPECT_EQ(e.Value(Results("XCluster", "warning")), 1);
  EXPECT_EQ(e.Value(Results("XCluster", "normal")), 2);
  EXPECT_EQ(e.Value(Results("XDatabase", "fatal")), 0);
}

TEST(MetricsTest, KindsItDoesNotRenderCountAsUnknown) {
  Metrics m({"XCluster"});
  EXPECT_EQ(m.KindIndex("XCluster"), 0);
  EXPECT_EQ(m.KindIndex("XProbe"), m.UnknownKind());
  EXPECT_EQ(m.KindIndex(""), m.UnknownKind());
  EXPECT_EQ(m.KindIndex("xcluster"), m.UnknownKind());
  m.Record(m.KindIndex("XProbe"), Outcome::kFatal, milliseconds(1), {1, 0, 0});
  m.Record(-1, Outcome::kError, milliseconds(1), {});
  m.Record(99, Outcome::kError, milliseconds(1), {});
  const Exposition e = Parse(m);
  EXPECT_EQ(e.Value(Calls("unknown", "fatal")), 1);
  EXPECT_EQ(e.Value(Calls("unknown", "error")), 2);
  EXPECT_FALSE(e.Has(Calls("XProbe", "fatal")));
}

TEST(MetricsTest, LatencyHistogramIsCumulativeWithBoundsInclusive) {
  Metrics m({"XCluster"});
  const int k = m.KindIndex("XCluster");
  m.Record(k, Outcome::kSuccess, microseconds(300), {});         // <= 0.0005
  m.Record(k, Outcome::kSuccess, microseconds(500), {});         // == 0.0005: in that bucket
  m.Record(k, Outcome::kSuccess, microseconds(1500), {});        // <= 0.0025
  m.Record(k, Outcome::kSuccess, std::chrono::seconds(30), {});  // above every bound
  const Exposition e = Parse(m);
  EXPECT_EQ(e.Value(Bucket("XCluster", "0.0005")), 2);
  EXPECT_EQ(e.Value(Bucket("XCluster", "0.001")), 2);
  EXPECT_EQ(e.Value(Bucket("XCluster", "0.0025")), 3);
  EXPECT_EQ(e.Value(Bucket("XCluster", "1")), 3);
  EXPECT_EQ(e.Value(Bucket("XCluster", "10")), 3);
  EXPECT_EQ(e.Value(Bucket("XCluster", "+Inf")), 4);
  EXPECT_EQ(e.Value(std::string(kDuration) + "_count{kind=\"XCluster\"}"), 4);
  EXPECT_DOUBLE_EQ(e.Value(std::string(kDuration) + "_sum{kind=\"XCluster\"}"), 30.0023);
  // Every bound, in order, then +Inf.
  for (double bound : Metrics::kBuckets) {
    EXPECT_TRUE(e.Has(Bucket("XCluster", fmt::format("{}", bound)))) << bound;
  }
}

TEST(MetricsTest, CountsEveryCallFromManyThreads) {
  Metrics m({"XCluster", "XDatabase"});
  constexpr int kThreads = 8;
  constexpr int kCallsEach = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&m, t] {
      const int kind = m.KindIndex(t % 2 == 0 ? "XCluster" : "XDatabase");
      for (int i = 0; i < kCallsEach; ++i) {
        m.Record(kind, Outcome::kSuccess, microseconds(700), {0, 0, 1});
      }
    });
  }
  // Scrapes while the calls are counted parse too.
  for (int i = 0; i < 20; ++i) Parse(m);
  for (std::thread& t : threads) t.join();
  const Exposition e = Parse(m);
  const double each_kind = kThreads / 2 * kCallsEach;
  EXPECT_EQ(e.Value(Calls("XCluster", "success")), each_kind);
  EXPECT_EQ(e.Value(Calls("XDatabase", "success")), each_kind);
  EXPECT_EQ(e.Value(Results("XDatabase", "normal")), each_kind);
  EXPECT_EQ(e.Value(Bucket("XCluster", "0.001")), each_kind);
  EXPECT_NEAR(e.Value(std::string(kDuration) + "_sum{kind=\"XCluster\"}"), each_kind * 0.0007,
              1e-6);
}

TEST(MetricsTest, ProcessSeriesDescribeThisProcess) {
  const Metrics m({});
  const Exposition e = Parse(m);
  EXPECT_EQ(e.types.at("process_cpu_seconds_total"), "counter");
  EXPECT_GE(e.Value("process_cpu_seconds_total"), 0);
  EXPECT_GT(e.Value("process_resident_memory_bytes"), 1024 * 1024);
  EXPECT_GT(e.Value("process_virtual_memory_bytes"), e.Value("process_resident_memory_bytes"));
  EXPECT_GT(e.Value("process_open_fds"), 2);
  EXPECT_GE(e.Value("process_max_fds"), e.Value("process_open_fds"));
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_GT(e.Value("process_start_time_seconds"), now - 24 * 3600);
  EXPECT_LE(e.Value("process_start_time_seconds"), now + 1);
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  const Metrics m({}, {"1.0 \"quoted\"", "x\\y"});
  const Exposition e = Parse(m);
  EXPECT_EQ(
      e.Value("function_platform_build_info{commit=\"x\\\\y\",version=\"1.0 \\\"quoted\\\"\"}"), 1);
}

TEST(ExpositionParserTest, RefusesWhatIsNotTheTextFormat) {
  EXPECT_NE(ParseExposition("a 1\n").error, "");  // no TYPE
  EXPECT_NE(ParseExposition("# TYPE a counter\na{b=\"c\" 1\n").error, "");
  EXPECT_NE(ParseExposition("# TYPE a counter\na one\n").error, "");
  EXPECT_NE(ParseExposition("# TYPE a counter\na{b=c} 1\n").error, "");
  EXPECT_NE(ParseExposition("# TYPE a counter\nsome text\n").error, "");
  EXPECT_NE(ParseExposition("# TYPE a thing\n").error, "");
  EXPECT_EQ(
      ParseExposition("# HELP a x\n# TYPE a counter\na{b=\"c\\\"\"} 1\na 2 1700000000\n").error,
      "");
}

// --- over HTTP ---

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

struct HttpReply {
  long code = 0;
  std::string body;
  std::string content_type;
};

HttpReply Get(const std::string& url, bool post = false) {
  HttpReply r;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  if (post) curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "POST");
  if (curl_easy_perform(curl) == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.code);
    char* type = nullptr;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
    if (type != nullptr) r.content_type = type;
  }
  curl_easy_cleanup(curl);
  return r;
}

TEST(MetricsHttpServerTest, ServesMetricsHealthzAndReadyz) {
  Metrics m({"XCluster"});
  auto server = MetricsHttpServer::Start(m, "127.0.0.1:0");
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);
  const std::string base = "http://127.0.0.1:" + std::to_string((*server)->port());

  m.Record(0, Outcome::kSuccess, milliseconds(1), {});
  const HttpReply metrics = Get(base + "/metrics");
  EXPECT_EQ(metrics.code, 200);
  EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4; charset=utf-8");
  const Exposition e = ParseExposition(metrics.body);
  EXPECT_EQ(e.error, "") << metrics.body;
  EXPECT_EQ(e.Value(Calls("XCluster", "success")), 1);

  EXPECT_EQ(Get(base + "/healthz").code, 200);
  EXPECT_EQ(Get(base + "/readyz").code, 200);
  EXPECT_EQ(Get(base + "/other").code, 404);
  EXPECT_EQ(Get(base + "/metrics", /*post=*/true).code, 405);
}

TEST(MetricsHttpServerTest, RefusesAMalformedOrTakenAddress) {
  Metrics m({});
  for (const std::string bad : {"8080", "localhost:8080", "127.0.0.1:http", ":70000"}) {
    auto s = MetricsHttpServer::Start(m, bad);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.status().message().find("--metrics-address"), std::string::npos) << s.status();
  }
  auto first = MetricsHttpServer::Start(m, "127.0.0.1:0");
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string taken = "127.0.0.1:" + std::to_string((*first)->port());
  auto second = MetricsHttpServer::Start(m, taken);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find(taken), std::string::npos) << second.status();
}

}  // namespace
}  // namespace platform::fn
