#include "provider/kube/events.h"

#include <gtest/gtest.h>

#include "provider/kube/resources.h"
#include "provider/testing/fake_client.h"
#include "provider/testing/fake_clock.h"

namespace kube {
namespace {

using namespace std::chrono_literals;
using testing::FakeClient;

using kube::testing::FakeClock;

const Json kWorkspace = {
    {"apiVersion", "workloads.example.org/v1alpha1"},
    {"kind", "Workspace"},
    {"metadata",
     {{"name", "ws"}, {"namespace", "team"}, {"uid", "u-1"}, {"resourceVersion", "7"}}}};

TEST(EventRecorder, WritesAnEvent) {
  FakeClient fake;
  FakeClock clock;
  EventRecorder recorder(fake, clock, "provider-workloads", "pod-1");
  recorder.Normal(kWorkspace, "Applied", "tofu apply succeeded", {{"run", "42"}});
  const auto events = fake.All(kEvents);
  ASSERT_EQ(events.size(), 1u);
  const Json& e = events[0];
  EXPECT_EQ(e["metadata"]["namespace"], "team");
  EXPECT_EQ(e["metadata"]["name"].get<std::string>().rfind("ws.", 0), 0u);
  EXPECT_EQ(e["metadata"]["annotations"]["run"], "42");
  EXPECT_EQ(e["involvedObject"], (Json{{"apiVersion", "workloads.example.org/v1alpha1"},
                                       {"kind", "Workspace"},
                                       {"name", "ws"},
                                       {"namespace", "team"},
                                       {"uid", "u-1"},
                                       {"resourceVersion", "7"}}));
  EXPECT_EQ(e["type"], "Normal");
  EXPECT_EQ(e["reason"], "Applied");
  EXPECT_EQ(e["message"], "tofu apply succeeded");
  EXPECT_EQ(e["count"], 1);
  EXPECT_EQ(e["source"]["component"], "provider-workloads");
  EXPECT_EQ(e["source"]["host"], "pod-1");
  EXPECT_EQ(e["reportingComponent"], "provider-workloads");
  EXPECT_EQ(e["reportingInstance"], "pod-1");
  EXPECT_EQ(e["firstTimestamp"], kube::Rfc3339(clock.now));
  EXPECT_EQ(e["lastTimestamp"], kube::Rfc3339(clock.now));
}

TEST(EventRecorder, AggregatesRepeatsWithinTenMinutes) {
  FakeClient fake;
  FakeClock clock;
  EventRecorder recorder(fake, clock, "c", "h");
  recorder.Warning(kWorkspace, "ApplyFailed", "boom");
  clock.now += 1min;
  recorder.Warning(kWorkspace, "ApplyFailed", "boom");
  clock.now += 1min;
  recorder.Warning(kWorkspace, "ApplyFailed", "boom");
  auto events = fake.All(kEvents);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["count"], 3);
  EXPECT_EQ(events[0]["lastTimestamp"], kube::Rfc3339(clock.now));
  EXPECT_EQ(events[0]["firstTimestamp"], kube::Rfc3339(clock.now - 2min));

  // A different message, type or object is another event.
  recorder.Warning(kWorkspace, "ApplyFailed", "other");
  recorder.Normal(kWorkspace, "ApplyFailed", "boom");
  Json other = kWorkspace;
  other["metadata"]["uid"] = "u-2";
  recorder.Warning(other, "ApplyFailed", "boom");
  EXPECT_EQ(fake.All(kEvents).size(), 4u);

  // Past the window: a new event.
  clock.now += 11min;
  recorder.Warning(kWorkspace, "ApplyFailed", "boom");
  EXPECT_EQ(fake.All(kEvents).size(), 5u);
}

TEST(EventRecorder, RecreatesAnEventThatExpired) {
  FakeClient fake;
  FakeClock clock;
  EventRecorder recorder(fake, clock, "c", "h");
  recorder.Normal(kWorkspace, "Synced", "ok");
  const Json first = fake.All(kEvents).at(0);
  ASSERT_TRUE(fake.Delete(kEvents, KeyOf(first), std::nullopt).ok());
  recorder.Normal(kWorkspace, "Synced", "ok");
  const auto events = fake.All(kEvents);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["count"], 1);
}

TEST(EventRecorder, ClusterScopedGoesToDefaultAndLongMessagesAreCut) {
  FakeClient fake;
  FakeClock clock;
  EventRecorder recorder(fake, clock, "c", "h");
  const Json ns = {{"apiVersion", "v1"},
                   {"kind", "Namespace"},
                   {"metadata", {{"name", "team"}, {"uid", "n-1"}}}};
  std::string message(1023, 'x');
  message += "\xC3\xA9 and more";  // a two-byte character across the limit
  recorder.Normal(ns, "Created", message);
  const auto events = fake.All(kEvents);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["metadata"]["namespace"], "default");
  EXPECT_FALSE(events[0]["involvedObject"].contains("namespace"));
  EXPECT_EQ(events[0]["message"].get<std::string>(), std::string(1023, 'x'));
}

TEST(EventRecorder, NeverThrows) {
  FakeClient fake;
  FakeClock clock;
  fake.hook = [](const std::string&, const Resource&, const ObjectKey&) {
    return ApiError(403, "Forbidden", "events is forbidden").ToStatus();
  };
  EventRecorder recorder(fake, clock, "c", "h");
  EXPECT_NO_THROW(recorder.Warning(kWorkspace, "X", "y"));
  Recorder& as_interface = recorder;
  EXPECT_NO_THROW(as_interface.Event(Json::object(), "Normal", "X", "y", {}));
}

}  // namespace
}  // namespace kube
