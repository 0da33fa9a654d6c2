// The provider's fault-injection suite: faults at random moments of an
// OpenTofu apply, against the real control plane of the ctest `controlplane`
// fixture and the real OpenTofu, with a module whose resources leave a trace
// outside the state (a file each, named by the resource's id), so a state
// that lost a resource shows up as a duplicate or an orphaned file.
//
// Each trial checks that no resource is duplicated or lost (exactly one trace
// per resource, its id the one in the stored state), that the stored state
// holds exactly those resources, that the killed instance's lock is not left
// held, and that the Workspace becomes Ready again. Every trial's figures are
// printed, and written as JSON lines to $FAULT_REPORT when it is set.
//
// FAULT_TRIALS (default 30) and FAULT_IMAGE_TRIALS (default 10) set the
// number of kill trials; `make faults-long` runs 100 and 30.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <set>

#include "tests/e2e/provider_image.h"

namespace platform::testing {
namespace {

constexpr char kWs[] = "workspaces.terraform.workloads.terraforming.io";
constexpr int kResources = 6;

// Six resources, replaced together whenever `generation` changes: the old
// ones destroyed (half a second each, in parallel), then the new ones
// created (a second each). A create moves its trace into place last, so one
// interrupted before leaves no trace and a tainted resource that the next
// apply replaces. Destroying one removes its trace (destroy provisioners take
// their values from self). The first destroy marks the apply's start.
constexpr char kTracedModule[] = R"(variable "dir" { type = string }
variable "generation" { type = string }
resource "terraform_data" "r" {
  count            = 6
  input            = { dir = var.dir, generation = var.generation }
  triggers_replace = [var.generation]
  provisioner "local-exec" {
    command     = "sleep 1; printf '%s' \"$GEN\" > \"$DIR/.r$I.$ID\" && mv \"$DIR/.r$I.$ID\" \"$DIR/r$I.$ID\""
    environment = { DIR = self.input.dir, GEN = self.input.generation, I = count.index, ID = self.id }
  }
  provisioner "local-exec" {
    when        = destroy
    command     = "touch \"$DIR/.replacing-$GEN\"; sleep 0.5; rm -f \"$DIR/r$I.$ID\""
    environment = { DIR = self.input.dir, GEN = self.input.generation, I = count.index, ID = self.id }
  }
}
output "generation" { value = terraform_data.r[0].output.generation }
)";

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

// One trial's figures.
struct Trial {
  std::string where;  // host or image
  int number = 0;
  int kill_after_ms = 0;   // after the apply began
  int traces_at_kill = 0;  // of this generation's resources
  double recovery_s = 0;   // from the kill to Ready with every check passing
  bool recovered_state = false;
  int tainted_replaced = 0;  // traces of tainted objects replaced (see Converged)
  std::string failure;       // "" when every check passed
};

void Report(const Trial& t) {
  const Json line = {{"where", t.where},
                     {"trial", t.number},
                     {"kill_after_ms", t.kill_after_ms},
                     {"traces_at_kill", t.traces_at_kill},
                     {"recovery_s", t.recovery_s},
                     {"recovered_state", t.recovered_state},
                     {"tainted_replaced", t.tainted_replaced},
                     {"failure", t.failure}};
  std::cout << "fault trial " << line.dump() << std::endl;
  if (const char* file = std::getenv("FAULT_REPORT"); file != nullptr && *file != '\0') {
    std::ofstream(file, std::ios::app) << line.dump() << "\n";
  }
}

class ProviderFaultTest : public ProviderTest {
 protected:
  void SetUp() override {
    ProviderTest::SetUp();
    if (HasFatalFailure()) return;
    // State in plain gzip, so the test can read what is stored.
    Apply("plain",
          "apiVersion: terraform.workloads.terraforming.io/v1alpha1\n"
          "kind: ProviderConfig\nmetadata:\n  name: plain-" +
              suffix_ + "\nspec:\n  state:\n    namespace: " + state_ns_ + "\n");
    created_.emplace_back("providerconfigs.terraform.workloads.terraforming.io",
                          "plain-" + suffix_);
    infra_ = dir_.path() + "/infra";
    fs::create_directories(infra_);
    // The image's user (2000) writes traces and working folders here too.
    for (const std::string& d : {dir_.path(), infra_}) {
      fs::permissions(d, fs::perms::all, fs::perm_options::add);
    }
  }

  void ApplyWorkspace(const std::string& name, int generation) {
    if (std::find(created_.begin(), created_.end(),
                  std::pair<std::string, std::string>(kWs, name)) == created_.end()) {
      created_.emplace_back(kWs, name);
    }
    Apply("ws",
          "apiVersion: terraform.workloads.terraforming.io/v1alpha1\nkind: Workspace\n"
          "metadata:\n  name: " +
              name + "\nspec:\n  providerConfigRef: {name: plain-" + suffix_ +
              "}\n  forProvider:\n    source: Inline\n    module: |\n" + Indent(kTracedModule, 6) +
              "    varmap:\n      dir: " + infra_ + "\n      generation: \"g" +
              std::to_string(generation) + "\"\n");
  }

  // The state the provider stored for `ws`: the Secret's current entry,
  // gunzipped.
  Json StoredState(const Json& ws) {
    const std::string secret = "tfstate-" + ws["metadata"]["uid"].get<std::string>();
    RunResult r = RunCommand(
        {"sh", "-c",
         "\"$0\" --kubeconfig \"$1\" get secret \"$2\" -n \"$3\" -o jsonpath='{.data.tfstate}' | "
         "base64 -d | gzip -dc",
         kKubectl, kKubeconfig, secret, state_ns_});
    if (r.exit_code != 0) return Json();
    return Json::parse(r.out, nullptr, false);
  }

  // index -> ids of the traces in the infrastructure folder.
  std::map<int, std::vector<std::string>> Traces() {
    std::map<int, std::vector<std::string>> out;
    for (const auto& e : fs::directory_iterator(infra_)) {
      const std::string f = e.path().filename();
      if (f.size() < 3 || f[0] != 'r') continue;
      const size_t dot = f.find('.');
      out[std::stoi(f.substr(1, dot - 1))].push_back(f.substr(dot + 1));
    }
    return out;
  }

  int TracesOf(int generation) {
    int n = 0;
    const std::string g = "g" + std::to_string(generation);
    for (const auto& [i, ids] : Traces()) {
      for (const auto& id : ids) {
        if (ReadFile(infra_ + "/r" + std::to_string(i) + "." + id) == g) ++n;
      }
    }
    return n;
  }

  // "" when `name` is Ready at `generation` and its stored state and the
  // traces agree: one trace per resource, with the id the state holds, and
  // nothing else in either. Otherwise what is wrong.
  std::string Converged(const std::string& name, int generation) {
    const Json ws = Get(kWs, name);
    if (!ReadyAndSynced(ws)) return "not Ready";
    const std::string g = "g" + std::to_string(generation);
    if (ws["status"]["atProvider"]["outputs"].value("generation", "") != g) {
      return "outputs are not of generation " + g;
    }
    const Json state = StoredState(ws);
    if (!state.is_object()) return "no readable stored state";
    std::map<int, std::string> stored;
    for (const auto& r : state.value("resources", Json::array())) {
      for (const auto& inst : r.value("instances", Json::array())) {
        if (inst.contains("deposed")) return "the stored state holds a deposed object";
        if (inst.value("status", "") == "tainted") return "the stored state holds a tainted object";
        stored[inst.value("index_key", -1)] = inst["attributes"].value("id", "");
      }
    }
    auto traces = Traces();
    // A create interrupted after its provisioner wrote the trace but before
    // OpenTofu recorded it as done leaves the object tainted; the next apply
    // replaces it, and OpenTofu runs no destroy provisioner for a tainted
    // object, so its trace stays. The state held it (tainted): not a loss.
    // Such traces are removed here, as the real cloud's delete would.
    bool removed = false;
    std::set<std::string> tainted;
    bool tainted_read = false;
    for (const auto& [i, ids] : traces) {
      for (const auto& id : ids) {
        if (id == stored[i]) continue;
        if (!tainted_read) {
          tainted = TaintedInKeptStates(ws);
          tainted_read = true;
        }
        if (tainted.count(id) == 0) continue;
        fs::remove(infra_ + "/r" + std::to_string(i) + "." + id);
        ++tainted_replaced_;
        removed = true;
      }
    }
    if (removed) traces = Traces();
    std::string wrong;
    for (int i = 0; i < kResources; ++i) {
      const auto t = traces.find(i);
      const size_t n = t == traces.end() ? 0 : t->second.size();
      if (n != 1) {
        wrong += " r" + std::to_string(i) + " has " + std::to_string(n) + " traces;";
      } else if (stored[i] != t->second[0]) {
        wrong +=
            " r" + std::to_string(i) + " is " + t->second[0] + " but stored as " + stored[i] + ";";
      } else if (ReadFile(infra_ + "/r" + std::to_string(i) + "." + t->second[0]) != g) {
        wrong += " r" + std::to_string(i) + " is not of generation " + g + ";";
      }
    }
    if (stored.size() != kResources) {
      wrong += " the state holds " + std::to_string(stored.size()) + " resources;";
    }
    return wrong;
  }

  // The ids of the objects that the current or a kept state version of
  // `ws` holds as tainted.
  std::set<std::string> TaintedInKeptStates(const Json& ws) {
    std::set<std::string> out;
    const Json secret =
        Get("secret", "tfstate-" + ws["metadata"]["uid"].get<std::string>(), state_ns_);
    if (!secret.is_object()) return out;
    const Json data = secret.value("data", Json::object());
    for (const auto& [key, value] : data.items()) {
      if (key.rfind("tfstate", 0) != 0 || !value.is_string()) continue;
      const std::string file = dir_.Write("kept-state.b64", value.get<std::string>());
      RunResult r = RunCommand({"sh", "-c", "base64 -d \"$0\" | gzip -dc", file});
      const Json state = Json::parse(r.out, nullptr, false);
      if (!state.is_object()) continue;
      for (const auto& res : state.value("resources", Json::array())) {
        for (const auto& inst : res.value("instances", Json::array())) {
          if (inst.value("status", "") == "tainted") out.insert(inst["attributes"].value("id", ""));
        }
      }
    }
    return out;
  }

  // Applies `name` at generation 0, waits until it converged, then moves it
  // to generation 1 and returns once that apply began.
  void ConvergeThenBeginApply(const std::string& name) {
    ApplyWorkspace(name, 0);
    ASSERT_TRUE(Eventually([&] { return Converged(name, 0).empty(); }, 180s))
        << Converged(name, 0) << log_;
    ApplyWorkspace(name, 1);
    ASSERT_TRUE(WaitForBegun(1));
  }

  // Waits for Converged(name, generation); "" when it came, else why not.
  std::string WaitConverged(const std::string& name, int generation) {
    std::string why;
    Eventually(
        [&] {
          why = Converged(name, generation);
          return why.empty();
        },
        180s);
    return why;
  }

  // Reports a single-trial fault that `name` recovered from since `since`.
  void ReportOne(const std::string& where, const std::string& name,
                 std::chrono::steady_clock::time_point since, const std::string& failure) {
    Trial t;
    t.where = where;
    t.number = 1;
    t.recovery_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
    t.recovered_state = Recoveries(name) > 0;
    t.failure = failure;
    Report(t);
  }

  // Deletes `name`; its destroy must remove every trace.
  void DeleteAndCheckTraces(const std::string& name) {
    ASSERT_EQ(Kubectl({"delete", kWs, name, "--wait=false"}).exit_code, 0);
    EXPECT_TRUE(Eventually([&] { return !Get(kWs, name).is_object(); }, 120s));
    EXPECT_TRUE(Traces().empty()) << "the destroy left traces";
  }

  // How many times a state left by an interrupted run was stored.
  int Recoveries(const std::string& name) {
    int n = 0;
    for (const auto& e : Events(name, "default")) {
      if (e.value("reason", "") == "RecoveredState") n += e.value("count", 1);
    }
    return n;
  }

  std::string LeaseHolder(const Json& ws) {
    const Json lease =
        Get("lease", "tflock-" + ws["metadata"]["uid"].get<std::string>(), state_ns_);
    return lease.is_object() ? lease["spec"].value("holderIdentity", "") : "";
  }

  // Waits for the apply that replaces `generation - 1` to begin (polling
  // often: the kill's moment is counted from here).
  bool WaitForBegun(int generation) {
    const std::string marker = infra_ + "/.replacing-g" + std::to_string(generation - 1);
    const auto deadline = std::chrono::steady_clock::now() + 120s;
    while (!fs::exists(marker)) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(10ms);
    }
    return true;
  }

  // Kill trials: `start` starts a provider, `kill` kills it hard. Each trial
  // moves the Workspace to the next generation, kills the provider at a
  // random moment of the apply, starts it again and checks.
  void KillTrials(const std::string& where, int trials, const std::function<void()>& start,
                  const std::function<void()>& kill) {
    const std::string name = "faults-" + where + "-" + suffix_;
    std::random_device seed;
    const unsigned s = seed();
    std::mt19937 random(s);
    std::cout << where << " kill trials, seed " << s << std::endl;
    std::uniform_int_distribution<int> delay(0, 2200);
    start();
    ApplyWorkspace(name, 0);
    ASSERT_TRUE(Eventually([&] { return Converged(name, 0).empty(); }, 180s))
        << Converged(name, 0) << log_;
    int failures = 0;
    for (int k = 1; k <= trials; ++k) {
      Trial t;
      t.where = where;
      t.number = k;
      ApplyWorkspace(name, k);
      if (!WaitForBegun(k)) {
        t.failure = "the apply of generation " + std::to_string(k) + " never began";
        Report(t);
        FAIL() << t.failure << "\n" << log_;
      }
      const auto begun = std::chrono::steady_clock::now();
      std::this_thread::sleep_until(begun + std::chrono::milliseconds(delay(random)));
      t.kill_after_ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::steady_clock::now() - begun)
                                             .count());
      kill();
      // The killed instance, if it held the lock: nobody has renewed or
      // released it since.
      const std::string holder = LeaseHolder(Get(kWs, name));
      const int recoveries = Recoveries(name);
      const auto killed = std::chrono::steady_clock::now();
      t.traces_at_kill = TracesOf(k);
      start();
      const int tainted_before = tainted_replaced_;
      t.failure = WaitConverged(name, k);
      t.tainted_replaced = tainted_replaced_ - tainted_before;
      t.recovery_s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
      const bool converged = t.failure.empty();
      if (converged && !holder.empty() &&
          !Eventually([&] { return LeaseHolder(Get(kWs, name)) != holder; }, 30s)) {
        t.failure = "the killed instance still holds the lock";
      }
      t.recovered_state = Recoveries(name) > recoveries;
      Report(t);
      if (!t.failure.empty()) {
        ++failures;
        std::string events;
        for (const auto& e : Events(name, "default")) {
          events += e.value("reason", "") + ": " + e.value("message", "") + "\n";
        }
        ADD_FAILURE() << where << " trial " << k << ": " << t.failure << "\n"
                      << Get(kWs, name)["status"].dump(2) << "\n"
                      << events << "stored: " << StoredState(Get(kWs, name)).dump();
        break;
      }
    }
    EXPECT_EQ(failures, 0);
    DeleteAndCheckTraces(name);
  }

  std::string infra_;
  int tainted_replaced_ = 0;  // traces of tainted objects OpenTofu replaced
};

TEST_F(ProviderFaultTest, KillsOfTheProviderDuringApplyLoseAndDuplicateNothing) {
  KillTrials(
      "host", EnvInt("FAULT_TRIALS", 30), [&] { StartProvider(); },
      [&] {
        ::kill(provider_->pid(), SIGKILL);
        provider_->Stop(100ms);
      });
}

// The same in the image, the provider as the container's main process (its
// init, PID 1, staying behind while the interrupted run writes its state);
// the kill is of the provider under it, as the OOM killer would pick it.
TEST_F(ProviderFaultTest, KillsOfTheProviderInItsImageLoseAndDuplicateNothing) {
  LoadImage();
  if (HasFatalFailure()) return;
  const std::string container = "provider-faults-" + suffix_;
  const std::vector<std::string> mounts = KubeconfigMounts(dir_.path());
  auto start = [&] {
    Cmd({Podman(), "rm", "--force", "--ignore", container});
    log_ = dir_.path() + "/container-" + std::to_string(++starts_) + ".log";
    std::vector<std::string> argv = {Podman(), "run",     "--rm",
                                     "--name", container, "--network",
                                     "host",   "-v",      dir_.path() + ":" + dir_.path()};
    argv.insert(argv.end(), mounts.begin(), mounts.end());
    argv.insert(argv.end(),
                {kImage, "--kubeconfig=/etc/provider/kubeconfig", "--poll=2s", "--poll-jitter=0s",
                 "--state-namespace=" + state_ns_, "--state-lock-duration=5s",
                 "--work-dir=" + dir_.path() + "/work",
                 "--metrics-address=127.0.0.1:" + std::to_string(FreePort()), "--debug"});
    provider_ = std::make_unique<Background>(argv, log_);
  };
  auto kill = [&] {
    RunResult pid = Cmd({Podman(), "inspect", "--format", "{{.State.Pid}}", container});
    ASSERT_EQ(pid.exit_code, 0) << pid.err;
    const std::string init = pid.out.substr(0, pid.out.find('\n'));
    // The init's one child is the provider.
    const std::string children = ReadFile("/proc/" + init + "/task/" + init + "/children");
    ASSERT_FALSE(children.empty()) << "the container's first process has no child: no init";
    ::kill(std::stoi(children), SIGKILL);
    // The init waits for the run to write its state, then the container ends.
    ASSERT_TRUE(Eventually([&] { return !provider_->running(); }, 120s)) << log_;
  };
  KillTrials("image", EnvInt("FAULT_IMAGE_TRIALS", 10), start, kill);
  Cmd({Podman(), "rm", "--force", "--ignore", container});
}

// The API server stopped in the middle of an apply, so the state cannot be
// stored when the apply ends (nor the lock renewed), and started again a
// minute later (FAULT_OUTAGE_SECONDS): the state kept in the working folder
// is stored, and nothing is created twice.
TEST_F(ProviderFaultTest, AnApiServerStoppedDuringASaveLosesNothing) {
  const std::string script = kSource + "/tests/controlplane/controlplane.sh";
  const std::string state = fs::path(kKubeconfig).parent_path();
  const std::string name = "outage-" + suffix_;
  StartProvider();
  ASSERT_NO_FATAL_FAILURE(ConvergeThenBeginApply(name));
  ASSERT_EQ(RunCommand({script, "stop-apiserver", state}).exit_code, 0);
  const auto stopped = std::chrono::steady_clock::now();
  // Whatever happens next, the API server comes back.
  struct Restart {
    std::string script, state;
    ~Restart() { RunCommand({script, "start-apiserver", state}); }
  } restart{script, state};
  // The apply ends while the API server is away.
  EXPECT_TRUE(Eventually([&] { return TracesOf(1) == kResources; }, 60s));
  std::this_thread::sleep_until(stopped + std::chrono::seconds(EnvInt("FAULT_OUTAGE_SECONDS", 60)));
  RunResult started = RunCommand({script, "start-apiserver", state});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  const auto back = std::chrono::steady_clock::now();
  const std::string why = WaitConverged(name, 1);
  EXPECT_EQ(why, "") << log_;
  ReportOne("api-server-outage", name, back, why);
  DeleteAndCheckTraces(name);
}

// The working volume fills up in the middle of an apply. OpenTofu still
// writes its state: the apply started with room kept for it, which is handed
// over when the volume runs low. The next apply, with the volume still full,
// is refused before it starts, naming the free space; once there is room
// again the Workspace converges. Nothing is created twice.
TEST_F(ProviderFaultTest, AFullWorkingVolumeLosesNothing) {
  const std::string work = dir_.path() + "/work";
  fs::create_directories(work);
  ASSERT_EQ(::mount("tmpfs", work.c_str(), "tmpfs", 0, "size=64m,mode=0700"), 0)
      << "cannot mount a small tmpfs for the working folders (the test needs root): "
      << std::strerror(errno);
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{work};
  const std::string name = "full-" + suffix_;
  StartProvider();
  ASSERT_NO_FATAL_FAILURE(ConvergeThenBeginApply(name));
  // Every byte left, taken at once: a writer that kept going would also
  // take the room the provider hands to OpenTofu when the volume runs low
  // (which a loaded machine showed, the filler still writing 50 ms on).
  const std::string filler = work + "/filler";
  {
    struct statvfs st {};
    ASSERT_EQ(::statvfs(work.c_str(), &st), 0);
    const auto free = static_cast<off_t>(st.f_bavail * st.f_frsize);
    const int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    // OpenTofu writes meanwhile: a little less, until it fits.
    off_t taken = free;
    while (taken > 0 && ::posix_fallocate(fd, 0, taken) != 0) taken -= 64 * 1024;
    ::close(fd);
    EXPECT_GT(taken, 0);
  }
  EXPECT_EQ(WaitConverged(name, 1), "") << log_;

  // The volume is still full, but for 2 MiB (enough to plan): the next
  // apply does not start.
  {
    struct statvfs st {};
    ASSERT_EQ(::statvfs(work.c_str(), &st), 0);
    const uint64_t free = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
    if (free > (uint64_t{2} << 20)) {
      std::ofstream(work + "/filler2", std::ios::binary)
          << std::string(free - (uint64_t{2} << 20), 'y');
    }
  }
  ApplyWorkspace(name, 2);
  std::string message;
  EXPECT_TRUE(Eventually([&] {
    message = Condition(Get(kWs, name), "Synced", "message");
    return message.find("the working volume has") != std::string::npos;
  })) << message;
  EXPECT_EQ(TracesOf(2), 0);
  EXPECT_FALSE(fs::exists(infra_ + "/.replacing-g1")) << "the apply began";

  fs::remove(filler);
  fs::remove(work + "/filler2");
  const auto room = std::chrono::steady_clock::now();
  const std::string why = WaitConverged(name, 2);
  EXPECT_EQ(why, "") << log_;
  ReportOne("working-volume-full", name, room, why);
  DeleteAndCheckTraces(name);
  provider_->Stop();
}

}  // namespace
}  // namespace platform::testing
