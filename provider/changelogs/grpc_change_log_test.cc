#include "provider/changelogs/grpc_change_log.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "provider/runtime/changelog.h"
#include "provider/testing/changelog_sidecar.h"

namespace changelogs {
namespace {

using namespace std::chrono_literals;
namespace pb = proto::v1alpha1;
namespace fs = std::filesystem;

using Sidecar = kube::testing::ChangeLogSidecar;

class ChangeLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Short: a Unix socket's path is at most 107 bytes.
    static int n = 0;
    dir_ = fs::temp_directory_path() /
           ("cl-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::create_directories(dir_);
    socket_ = (dir_ / "changelogs.sock").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  GrpcChangeLogOptions Options() const {
    GrpcChangeLogOptions o;
    o.socket_path = socket_;
    o.provider = "provider-workloads:v0.0.0-test";
    o.min_backoff = 20ms;
    o.max_backoff = 100ms;
    o.send_timeout = 1s;
    return o;
  }

  static runtime::ChangeEntry Entry(runtime::ChangeOperation op, const std::string& name) {
    runtime::ChangeEntry e;
    e.at = kube::Time(std::chrono::seconds(1796558400));  // 2026-12-06T12:00:00Z
    e.operation = op;
    e.snapshot = runtime::ChangeSnapshot(
        kube::Json{{"apiVersion", "terraform.workloads.terraforming.io/v1alpha1"},
                   {"kind", "Workspace"},
                   {"metadata",
                    {{"name", name},
                     {"annotations",
                      {{"crossplane.io/external-name", name},
                       {"kubectl.kubernetes.io/last-applied-configuration", "{}"}}},
                     {"managedFields", kube::Json::array({{{"manager", "kubectl"}}})}}},
                   {"spec", {{"forProvider", {{"source", "Inline"}}}}}});
    e.details = {{"plan", "1 to add, 0 to change, 0 to destroy"}};
    return e;
  }

  template <typename F>
  static bool Eventually(F f, std::chrono::milliseconds timeout = 5s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (f()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return f();
  }

  fs::path dir_;
  std::string socket_;
};

TEST_F(ChangeLogTest, TheSidecarGetsEachEntryInOrderWithItsFields) {
  Sidecar sidecar(socket_);
  ASSERT_TRUE(sidecar.up());
  GrpcChangeLog log(Options());
  log.Record(Entry(runtime::ChangeOperation::kCreate, "a"));
  runtime::ChangeEntry failed = Entry(runtime::ChangeOperation::kUpdate, "b");
  failed.error = "apply failed: exit status 1";
  log.Record(failed);
  log.Record(Entry(runtime::ChangeOperation::kDelete, "c"));
  log.Record(Entry(runtime::ChangeOperation::kObservedDrift, "d"));
  ASSERT_TRUE(Eventually([&] { return sidecar.entries().size() == 4; }));
  const std::vector<pb::ChangeLogEntry> got = sidecar.entries();
  EXPECT_EQ(got[0].operation(), pb::OPERATION_TYPE_CREATE);
  EXPECT_EQ(got[1].operation(), pb::OPERATION_TYPE_UPDATE);
  EXPECT_EQ(got[2].operation(), pb::OPERATION_TYPE_DELETE);
  EXPECT_EQ(got[3].operation(), pb::OPERATION_TYPE_UNSPECIFIED);
  EXPECT_EQ(got[3].additional_details().at("operation"), "ObservedDrift");
  const pb::ChangeLogEntry& a = got[0];
  EXPECT_EQ(a.provider(), "provider-workloads:v0.0.0-test");
  EXPECT_EQ(a.api_version(), "terraform.workloads.terraforming.io/v1alpha1");
  EXPECT_EQ(a.kind(), "Workspace");
  EXPECT_EQ(a.name(), "a");
  EXPECT_EQ(a.external_name(), "a");
  EXPECT_EQ(a.timestamp().seconds(), 1796558400);
  EXPECT_FALSE(a.has_error_message());
  EXPECT_EQ(a.additional_details().at("plan"), "1 to add, 0 to change, 0 to destroy");
  const auto& meta = a.snapshot().fields().at("metadata").struct_value().fields();
  EXPECT_EQ(meta.count("managedFields"), 0u);
  EXPECT_EQ(meta.at("annotations")
                .struct_value()
                .fields()
                .count("kubectl.kubernetes.io/last-applied-configuration"),
            0u);
  EXPECT_EQ(kube::testing::SnapshotString(a, {"spec", "forProvider", "source"}), "Inline");
  EXPECT_EQ(got[1].error_message(), "apply failed: exit status 1");
  // (Counted once the reply is back, a moment after the sidecar has it.)
  EXPECT_TRUE(Eventually([&] { return log.sent() == 4u; }));
  EXPECT_EQ(log.dropped(), 0u);
}

TEST_F(ChangeLogTest, EntriesWaitForASidecarThatIsAwayAndArriveOnceItIsBack) {
  GrpcChangeLog log(Options());
  log.Record(Entry(runtime::ChangeOperation::kCreate, "a"));
  log.Record(Entry(runtime::ChangeOperation::kUpdate, "b"));
  // Recording never waits for the sidecar.
  ASSERT_TRUE(Eventually([&] { return log.failures() >= 2; }));
  EXPECT_EQ(log.pending(), 2u);
  Sidecar sidecar(socket_);
  ASSERT_TRUE(sidecar.up());
  ASSERT_TRUE(Eventually([&] { return sidecar.entries().size() == 2; }, 10s));
  EXPECT_EQ(sidecar.entries()[0].name(), "a");
  EXPECT_EQ(sidecar.entries()[1].name(), "b");
  EXPECT_TRUE(Eventually([&] { return log.pending() == 0u; }));
  EXPECT_EQ(log.dropped(), 0u);
}

TEST_F(ChangeLogTest, AFullBufferDropsTheOldestAndCountsThem) {
  GrpcChangeLogOptions o = Options();
  o.buffer = 3;
  GrpcChangeLog log(o);
  for (const char* name : {"a", "b", "c", "d", "e"}) {
    log.Record(Entry(runtime::ChangeOperation::kUpdate, name));
  }
  EXPECT_EQ(log.dropped(), 2u);
  Sidecar sidecar(socket_);
  ASSERT_TRUE(sidecar.up());
  ASSERT_TRUE(Eventually([&] { return sidecar.entries().size() == 3; }, 10s));
  std::vector<std::string> names;
  for (const auto& e : sidecar.entries()) names.push_back(e.name());
  // The newest two, after one older: "c" when the oldest went, or the
  // entry the sender held in flight when the buffer overflowed ("a", or
  // "b" once "a" had been dropped), which is never dropped.
  ASSERT_EQ(names.size(), 3u);
  EXPECT_TRUE(names[0] == "a" || names[0] == "b" || names[0] == "c") << names[0];
  EXPECT_EQ(names[1], "d");
  EXPECT_EQ(names[2], "e");
  std::this_thread::sleep_for(200ms);  // nothing else arrives
  EXPECT_EQ(sidecar.entries().size(), 3u);
  EXPECT_TRUE(Eventually([&] { return log.sent() == 3u; }));
}

TEST_F(ChangeLogTest, StopSendsWhatIsBufferedWithinItsDeadlineAndCountsTheRest) {
  {
    Sidecar sidecar(socket_);
    ASSERT_TRUE(sidecar.up());
    GrpcChangeLog log(Options());
    for (int i = 0; i < 20; ++i) {
      log.Record(Entry(runtime::ChangeOperation::kUpdate, "w" + std::to_string(i)));
    }
    log.Stop(5s);
    EXPECT_EQ(sidecar.entries().size(), 20u);
    EXPECT_EQ(log.dropped(), 0u);
    log.Record(Entry(runtime::ChangeOperation::kUpdate, "late"));  // after Stop: counted
    EXPECT_EQ(log.dropped(), 1u);
  }
  // No sidecar: Stop gives up at its deadline.
  GrpcChangeLog log(Options());
  log.Record(Entry(runtime::ChangeOperation::kUpdate, "lost"));
  const auto start = std::chrono::steady_clock::now();
  log.Stop(300ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(log.dropped(), 1u);
  EXPECT_EQ(log.pending(), 0u);
}

}  // namespace
}  // namespace changelogs
