#include "provider/kube/informer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "provider/kube/resources.h"
#include "provider/testing/fake_client.h"

namespace kube {
namespace {

using namespace std::chrono_literals;
using testing::FakeClient;

Json ConfigMap(const std::string& ns, const std::string& name, const std::string& value = "1") {
  return {{"metadata", {{"namespace", ns}, {"name", name}, {"labels", {{"app", "x"}}}}},
          {"data", {{"v", value}}}};
}

// Records handler calls.
struct Seen {
  std::mutex mu;
  std::set<std::string> upserts;
  std::set<std::string> deletes;

  Informer::Handlers Handlers() {
    return {[this](const Json& o) {
              std::lock_guard lock(mu);
              upserts.insert(KeyOf(o).String());
            },
            [this](const Json& o) {
              std::lock_guard lock(mu);
              deletes.insert(KeyOf(o).String());
            }};
  }
  bool Deleted(const std::string& key) {
    std::lock_guard lock(mu);
    return deletes.count(key) != 0;
  }
  bool Upserted(const std::string& key) {
    std::lock_guard lock(mu);
    return upserts.count(key) != 0;
  }
};

InformerOptions Fast() {
  InformerOptions o;
  o.min_backoff = 10ms;
  o.max_backoff = 50ms;
  o.rewatch_pause = 10ms;
  return o;
}

template <typename F>
bool Eventually(F f, std::chrono::milliseconds timeout = 3s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return f();
}

TEST(Informer, ListsThenFollowsWatch) {
  FakeClient fake;
  fake.Seed(kConfigMaps, ConfigMap("ns", "a"));
  fake.Seed(kConfigMaps, ConfigMap("other", "b"));
  Seen seen;
  Informer informer(fake, kConfigMaps, "ns", "", seen.Handlers(), Fast());
  EXPECT_FALSE(informer.HasSynced());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(2s));
  ASSERT_EQ(informer.List().size(), 1u);
  ASSERT_TRUE(informer.Get({"ns", "a"}).has_value());
  EXPECT_EQ(informer.Get({"ns", "a"})->value("kind", ""), "ConfigMap");
  EXPECT_FALSE(informer.Get({"other", "b"}).has_value());
  EXPECT_TRUE(seen.Upserted("ns/a"));

  ASSERT_TRUE(fake.Create(kConfigMaps, ConfigMap("ns", "c")).ok());
  Json a = fake.Peek(kConfigMaps, {"ns", "a"});
  a["data"]["v"] = "2";
  ASSERT_TRUE(fake.Update(kConfigMaps, a).ok());
  EXPECT_TRUE(Eventually([&] { return informer.Get({"ns", "c"}).has_value(); }));
  EXPECT_TRUE(Eventually([&] {
    auto got = informer.Get({"ns", "a"});
    return got && (*got)["data"]["v"] == "2";
  }));
  ASSERT_TRUE(fake.Delete(kConfigMaps, {"ns", "c"}, std::nullopt).ok());
  EXPECT_TRUE(Eventually([&] { return !informer.Get({"ns", "c"}).has_value(); }));
  EXPECT_TRUE(seen.Deleted("ns/c"));
  informer.Stop();
}

TEST(Informer, CachesObjectsWithoutTheirManagedFields) {
  FakeClient fake;
  Json listed = ConfigMap("ns", "listed");
  listed["metadata"]["managedFields"] = Json::array({{{"manager", "kubectl"}}});
  listed["metadata"]["labels"] = {{"kept", "yes"}};
  fake.Seed(kConfigMaps, listed);
  Informer informer(fake, kConfigMaps, "ns", "", {}, Fast());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(2s));
  std::optional<Json> got = informer.Get({"ns", "listed"});
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE((*got)["metadata"].contains("managedFields"));
  EXPECT_EQ((*got)["metadata"]["labels"]["kept"], "yes");

  Json watched = ConfigMap("ns", "watched");
  watched["metadata"]["managedFields"] = Json::array({{{"manager", "provider"}}});
  ASSERT_TRUE(fake.Create(kConfigMaps, watched).ok());
  ASSERT_TRUE(Eventually([&] { return informer.Get({"ns", "watched"}).has_value(); }));
  EXPECT_FALSE((*informer.Get({"ns", "watched"}))["metadata"].contains("managedFields"));
  int visited = 0;
  informer.ForEach([&](const Json& o) {
    ++visited;
    EXPECT_FALSE(o["metadata"].contains("managedFields"));
  });
  EXPECT_EQ(visited, 2);
  informer.Stop();
}

TEST(Informer, KeepsWhatItsTransformLeavesAndHandsThatToItsHandlers) {
  FakeClient fake;
  Json listed = ConfigMap("ns", "listed");
  listed["data"] = {{"big", std::string(4096, 'x')}, {"small", "y"}};
  fake.Seed(kConfigMaps, listed);
  std::atomic<int> seen_big{0};
  Informer::Handlers h;
  h.on_upsert = [&](const Json& o) { seen_big += o["data"].contains("big") ? 1 : 0; };
  InformerOptions options = Fast();
  options.transform = [](Json& o) { o["data"].erase("big"); };
  Informer informer(fake, kConfigMaps, "ns", "", h, options);
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(2s));
  Json watched = ConfigMap("ns", "watched");
  watched["data"] = {{"big", "z"}, {"small", "w"}};
  ASSERT_TRUE(fake.Create(kConfigMaps, watched).ok());
  ASSERT_TRUE(Eventually([&] { return informer.Get({"ns", "watched"}).has_value(); }));
  for (const char* name : {"listed", "watched"}) {
    const Json got = *informer.Get({"ns", name});
    EXPECT_FALSE(got["data"].contains("big")) << name;
    EXPECT_TRUE(got["data"].contains("small")) << name;
  }
  EXPECT_EQ(seen_big, 0);
  informer.Stop();
}

TEST(Informer, EachWatchAsksForATimeoutBetweenOnceAndTwiceTheOption) {
  FakeClient fake;
  InformerOptions options = Fast();
  options.watch_timeout = 100s;
  Informer informer(fake, kConfigMaps, "ns", "", {}, options);
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(2s));
  // The fake's watches end at once: the informer watches again every 10 ms.
  std::this_thread::sleep_for(300ms);
  informer.Stop();
  ASSERT_GE(fake.watch_timeouts.size(), 5u);
  std::set<int64_t> distinct;
  for (const auto t : fake.watch_timeouts) {
    EXPECT_GE(t, 100s);
    EXPECT_LT(t, 200s);
    distinct.insert(t.count());
  }
  // Drawn, not fixed: five alike of a hundred values is a 1e-8 chance.
  EXPECT_GT(distinct.size(), 1u);
}

TEST(Informer, RelistsAfterCompactionAndReportsVanished) {
  FakeClient fake;
  fake.Seed(kConfigMaps, ConfigMap("ns", "keep"));
  fake.Seed(kConfigMaps, ConfigMap("ns", "gone"));
  // Watches fail (the informer backs off) until the changes below are only
  // visible through a relist: the history is compacted, so the next watch
  // from the listed version gets 410.
  std::atomic<bool> block_watch{true};
  std::atomic<int> lists{0};
  fake.hook = [&](const std::string& verb, const Resource&, const ObjectKey&) {
    if (verb == "list") ++lists;
    if (verb == "watch" && block_watch)
      return ApiError(0, "Transport", "connection refused").ToStatus();
    return absl::OkStatus();
  };
  Seen seen;
  Informer informer(fake, kConfigMaps, "ns", "", seen.Handlers(), Fast());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(2s));
  EXPECT_EQ(lists, 1);
  ASSERT_TRUE(fake.Delete(kConfigMaps, {"ns", "gone"}, std::nullopt).ok());
  ASSERT_TRUE(fake.Create(kConfigMaps, ConfigMap("ns", "new")).ok());
  fake.Compact();
  block_watch = false;
  EXPECT_TRUE(Eventually([&] { return seen.Deleted("ns/gone"); }));
  EXPECT_TRUE(Eventually([&] { return informer.Get({"ns", "new"}).has_value(); }));
  EXPECT_FALSE(informer.Get({"ns", "gone"}).has_value());
  EXPECT_TRUE(informer.Get({"ns", "keep"}).has_value());
  EXPECT_TRUE(seen.Upserted("ns/new"));
  EXPECT_EQ(lists, 2);
  informer.Stop();
}

TEST(Informer, LabelSelectorPagingAndBackoff) {
  FakeClient fake;
  for (int i = 0; i < 5; ++i) fake.Seed(kConfigMaps, ConfigMap("ns", "m" + std::to_string(i)));
  Json unlabelled = ConfigMap("ns", "plain");
  unlabelled["metadata"].erase("labels");
  fake.Seed(kConfigMaps, unlabelled);
  int lists = 0;
  fake.hook = [&](const std::string& verb, const Resource&, const ObjectKey&) {
    if (verb == "list" && ++lists == 1)
      return ApiError(503, "ServiceUnavailable", "try later").ToStatus();
    return absl::OkStatus();
  };
  Seen seen;
  InformerOptions o = Fast();
  o.page_size = 2;
  Informer informer(fake, kConfigMaps, "", "app=x", seen.Handlers(), o);
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(2s));
  EXPECT_EQ(informer.List().size(), 5u);
  EXPECT_FALSE(informer.Get({"ns", "plain"}).has_value());
  EXPECT_GE(lists, 2);
  informer.Stop();
}

TEST(Informer, StopsPromptly) {
  FakeClient fake;
  Informer informer(fake, kConfigMaps, "ns", "", {}, InformerOptions());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(2s));
  const auto start = std::chrono::steady_clock::now();
  informer.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

}  // namespace
}  // namespace kube
