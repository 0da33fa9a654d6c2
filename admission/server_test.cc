#include "admission/server.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "admission/certs.h"

namespace platform::admission {
namespace {

struct Reply {
  long code = 0;
  std::string body;
};

std::size_t Append(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// One HTTPS request to 127.0.0.1:`port`, trusting `ca_pem`.
Reply Request(int port, const std::string& path, const std::string& ca_pem,
              const std::string& post_body = "") {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  const std::string url = "https://127.0.0.1:" + std::to_string(port) + path;
  curl_blob ca{const_cast<char*>(ca_pem.data()), ca_pem.size(), CURL_BLOB_COPY};
  Reply reply;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_CAINFO_BLOB, &ca);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &reply.body);
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  if (!post_body.empty()) {
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, post_body.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers);
  }
  const CURLcode rc = curl_easy_perform(curl.get());
  curl_slist_free_all(headers);
  EXPECT_EQ(rc, CURLE_OK) << curl_easy_strerror(rc);
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &reply.code);
  return reply;
}

// The least of a review the server reads (review_test.cc has a full one).
constexpr char kReview[] = R"({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
  "request": {"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "operation": "CREATE",
              "kind": {"group": "platform.terraforming.io", "kind": "Environment"},
              "object": {"metadata": {"name": "payments-dev"}}}})";

class WebhookServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto now = std::chrono::system_clock::now();
    absl::StatusOr<KeyPair> ca = MakeCa("test-ca", now, std::chrono::hours(1));
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = ca->cert_pem;
    absl::StatusOr<KeyPair> serving = IssueServing(*ca, {"127.0.0.1"}, now, std::chrono::hours(1));
    ASSERT_TRUE(serving.ok()) << serving.status();
    WebhookServer::Options options;
    options.address = "127.0.0.1:0";
    options.serving = *serving;
    options.ready = [this] { return ready_.load(); };
    options.handler = [this](std::string_view, const Review&) {
      ++decisions_;
      Decision d;
      d.allowed = false;
      d.message = "denied by the test";
      return d;
    };
    absl::StatusOr<std::unique_ptr<WebhookServer>> server = WebhookServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  std::string ca_;
  std::atomic<bool> ready_{false};
  std::atomic<int> decisions_{0};
  std::unique_ptr<WebhookServer> server_;
};

// A review that came before the policy and namespaces were loaded would be
// judged without them; the API server gets 503 instead, and its
// failurePolicy decides.
TEST_F(WebhookServerTest, ReviewsBeforeItIsReadyAreUnavailableNotDecided) {
  for (const char* path : {"/validate", "/mutate"}) {
    SCOPED_TRACE(path);
    const Reply r = Request(server_->port(), path, ca_, kReview);
    EXPECT_EQ(r.code, 503);
    EXPECT_EQ(r.body, "not ready: the policy and namespaces are not loaded yet\n");
  }
  EXPECT_EQ(Request(server_->port(), "/readyz", ca_).code, 503);
  EXPECT_EQ(decisions_.load(), 0);

  ready_ = true;
  const Reply r = Request(server_->port(), "/validate", ca_, kReview);
  EXPECT_EQ(r.code, 200);
  EXPECT_NE(r.body.find("denied by the test"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("705ab4f5-6393-11e8-b7cc-42010a800002"), std::string::npos) << r.body;
  EXPECT_EQ(decisions_.load(), 1);
  EXPECT_EQ(Request(server_->port(), "/readyz", ca_).body, "ok\n");
}

TEST_F(WebhookServerTest, LivenessDoesNotWaitForReadiness) {
  const Reply r = Request(server_->port(), "/healthz", ca_);
  EXPECT_EQ(r.code, 200);
  EXPECT_EQ(r.body, "ok\n");
}

}  // namespace
}  // namespace platform::admission
