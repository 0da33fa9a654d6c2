#include "provider/workspace/tofu.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>
#include <thread>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "provider/common/crypto.h"
#include "provider/common/files.h"
#include "provider/common/redact.h"
#include "provider/exec/process.h"
#include "provider/workspace/hcl.h"

namespace workspace {

namespace fs = std::filesystem;
namespace {

using nlohmann::json;

// Calls `fn` with every message of tofu's -json output (one JSON object a
// line) whose "type" is `type`; other lines are skipped.
template <typename Fn>
void ForEachMessage(const std::string& lines, const char* type, Fn fn) {
  size_t start = 0;
  while (start < lines.size()) {
    size_t end = lines.find('\n', start);
    if (end == std::string::npos) end = lines.size();
    const json line = json::parse(lines.substr(start, end - start), nullptr, false);
    start = end + 1;
    if (!line.is_discarded() && line.is_object() && line.value("type", "") == type) fn(line);
  }
}

// `text` on one line: runs of blanks and line breaks made one space, none at
// either end.
std::string OneLine(const std::string& text) {
  return absl::StrJoin(absl::StrSplit(text, absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty()), " ");
}

std::string Cap(std::string text) {
  if (text.size() > kMaxErrorLength) text = text.substr(0, kMaxErrorLength - 3) + "...";
  return text;
}

std::string Seconds(std::chrono::milliseconds ms) {
  const auto count = ms.count();
  if (count % 1000 == 0) return std::to_string(count / 1000) + "s";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(count) / 1000.0);
  return buf;
}

// The first error of tofu's human-readable diagnostics:
//   Error: <summary>
//
//     on <file> line <n>, in ...:
//      n: <source>
//
//   <detail>
std::string ErrorFromText(const std::string& err) {
  const size_t at = err.find("Error: ");
  if (at == std::string::npos) return "";
  std::vector<std::string> paragraphs;
  size_t start = at;
  while (start < err.size()) {
    size_t end = err.find("\n\n", start);
    if (end == std::string::npos) end = err.size();
    paragraphs.push_back(err.substr(start, end - start));
    start = end + 2;
  }
  std::string summary = OneLine(paragraphs[0].substr(7));
  std::string location, detail;
  for (size_t i = 1; i < paragraphs.size(); ++i) {
    const std::string p = OneLine(paragraphs[i]);
    if (p.rfind("Error: ", 0) == 0 || p.rfind("Warning: ", 0) == 0) break;
    if (location.empty() && p.rfind("on ", 0) == 0 && p.find(" line ") != std::string::npos) {
      const size_t line_at = p.find(" line ");
      size_t digits_end = line_at + 6;
      while (digits_end < p.size() && std::isdigit(static_cast<unsigned char>(p[digits_end]))) {
        ++digits_end;
      }
      location = p.substr(3, line_at - 3) + ":" + p.substr(line_at + 6, digits_end - line_at - 6);
    } else if (detail.empty()) {
      detail = p;
    }
  }
  if (!detail.empty()) summary += ": " + detail;
  if (!location.empty()) summary += " (" + location + ")";
  return summary;
}

}  // namespace

struct Tofu::Outcome {
  exec::ProcessResult process;
  bool timed_out = false;
  absl::Status setup;  // the command could not be started
};

absl::StatusOr<provider::SourceResult> PrepareInline(const std::string& dir,
                                                     const std::string& module, bool json) {
  RETURN_IF_ERROR(provider::WritePrivateFile(dir + (json ? "/main.tf.json" : "/main.tf"), module));
  return provider::SourceResult{};
}

namespace {

// "module.a.type.name[0]" / "type.name[\"key\"]": how tofu's hooks name an
// instance of a managed resource in a state document.
std::set<std::string> InstanceAddresses(const std::string& state_json) {
  std::set<std::string> addresses;
  const json doc = json::parse(state_json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return addresses;
  const json resources = doc.value("resources", json::array());
  if (!resources.is_array()) return addresses;
  for (const auto& r : resources) {
    if (!r.is_object() || r.value("mode", "") != "managed") continue;
    std::string base = r.value("module", "");
    if (!base.empty()) base += ".";
    base += r.value("type", "") + "." + r.value("name", "");
    const json instances = r.value("instances", json::array());
    if (!instances.is_array()) continue;
    for (const auto& i : instances) {
      if (!i.is_object() || !i.contains("index_key")) {
        addresses.insert(base);
      } else if (i["index_key"].is_number_integer()) {
        addresses.insert(base + "[" + std::to_string(i["index_key"].get<int64_t>()) + "]");
      } else {
        addresses.insert(base + "[" + i["index_key"].dump() + "]");
      }
    }
  }
  return addresses;
}

}  // namespace

namespace {

// What a backend declaration found in a file is: "backend \"s3\"" or
// "cloud", and the line it starts on.
struct BackendBlock {
  std::string what;
  int line = 0;
};

// A `backend` or `cloud` block directly inside a top-level `terraform` block.
std::optional<BackendBlock> FindBackendInHcl(const std::string& text) {
  for (const HclBlock& top : ParseHclBlocks(text)) {
    if (top.type != "terraform" || !top.labels.empty()) continue;
    for (const HclBlock& b : top.blocks) {
      if (b.type == "backend") {
        return BackendBlock{"backend" + (b.labels.empty() ? "" : " \"" + b.labels[0] + "\""),
                            b.line};
      }
      if (b.type == "cloud" && b.labels.empty()) return BackendBlock{"cloud", b.line};
    }
  }
  return std::nullopt;
}

// The same in JSON syntax: "terraform" (an object, or an array of them)
// holding "backend" or "cloud".
std::optional<BackendBlock> FindBackendInJson(const std::string& text) {
  const json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("terraform")) return std::nullopt;
  json blocks = doc["terraform"];
  if (blocks.is_object()) blocks = json::array({blocks});
  if (!blocks.is_array()) return std::nullopt;
  for (const auto& b : blocks) {
    if (!b.is_object()) continue;
    if (b.contains("backend")) {
      std::string type;
      if (b["backend"].is_object() && !b["backend"].empty()) {
        type = " \"" + b["backend"].begin().key() + "\"";
      }
      return BackendBlock{"backend" + type, 0};
    }
    if (b.contains("cloud")) return BackendBlock{"cloud", 0};
  }
  return std::nullopt;
}

}  // namespace

absl::Status RefuseOwnBackend(const std::string& dir) {
  ASSIGN_OR_RETURN(const std::vector<ModuleFile> files, RootModuleFiles(dir));
  for (const auto& [name, is_json] : files) {
    ASSIGN_OR_RETURN(const std::string text, platform::ReadFile(dir + "/" + name));
    const std::optional<BackendBlock> found =
        is_json ? FindBackendInJson(text) : FindBackendInHcl(text);
    if (!found) continue;
    const std::string where = found->line > 0 ? name + ":" + std::to_string(found->line) : name;
    return absl::InvalidArgumentError(
        "the module declares its own state storage (" + found->what + " in the terraform block, " +
        where +
        "): a Workspace's state is kept by the provider, so a root module may not declare a "
        "backend or a cloud block; remove it");
  }
  return absl::OkStatus();
}

std::vector<std::string> UntrackedResources(const std::string& stdout_lines,
                                            const std::string& state_json) {
  const std::set<std::string> tracked = InstanceAddresses(state_json);
  std::vector<std::string> untracked;
  ForEachMessage(stdout_lines, "apply_complete", [&](const json& line) {
    const json hook = line.value("hook", json::object());
    if (!hook.is_object() || hook.value("action", "") != "create") return;
    const json resource = hook.value("resource", json::object());
    const std::string address = resource.is_object() ? resource.value("addr", "") : "";
    if (address.empty() || tracked.count(address) != 0) return;
    std::string entry = address;
    const json id = hook.value("id_value", json());
    if (id.is_string() && !id.get<std::string>().empty()) {
      entry += " (" + hook.value("id_key", std::string("id")) + "=" + id.get<std::string>() + ")";
    }
    untracked.push_back(entry);
  });
  return untracked;
}

std::string ErrorFromJsonLines(const std::string& stdout_lines, const std::string& stderr_text,
                               const std::vector<std::string>& secrets) {
  std::vector<std::string> errors;
  ForEachMessage(stdout_lines, "diagnostic", [&](const json& line) {
    if (errors.size() >= 2) return;
    const json d = line.value("diagnostic", json::object());
    if (!d.is_object() || d.value("severity", "") != "error") return;
    std::string text = OneLine(d.value("summary", ""));
    const std::string detail = OneLine(d.value("detail", ""));
    if (!detail.empty()) text += (text.empty() ? "" : ": ") + detail;
    const json range = d.value("range", json::object());
    if (range.is_object() && range.contains("filename")) {
      text += " (" + range.value("filename", "");
      const json start_pos = range.value("start", json::object());
      if (start_pos.is_object() && start_pos.contains("line")) {
        text += ":" + std::to_string(start_pos.value("line", 0));
      }
      text += ")";
    }
    if (std::find(errors.begin(), errors.end(), text) == errors.end()) errors.push_back(text);
  });
  std::string message;
  for (const auto& e : errors) message += (message.empty() ? "" : "; ") + e;
  if (message.empty()) {
    // The last non-empty stderr line.
    size_t end = stderr_text.size();
    while (end > 0 && message.empty()) {
      const size_t nl = stderr_text.rfind('\n', end - 1);
      const size_t begin = nl == std::string::npos ? 0 : nl + 1;
      message = OneLine(stderr_text.substr(begin, end - begin));
      if (nl == std::string::npos) break;
      end = nl;
    }
  }
  return Cap(provider::Redact(message, secrets));
}

Tofu::Tofu(Options options) : options_(std::move(options)) {
  deadline_ = options_.deadline;
  deadline_message_ = "stopped at the reconcile's deadline";
  if (options_.timeout.count() > 0 &&
      std::chrono::steady_clock::now() + options_.timeout <= options_.deadline) {
    deadline_ = std::chrono::steady_clock::now() + options_.timeout;
    deadline_message_ = "timed out after " + Seconds(options_.timeout);
  }
  bool has_config = false;
  bool has_path = false;
  for (const auto& kv : options_.env) {
    has_config = has_config || kv.rfind("TF_CLI_CONFIG_FILE=", 0) == 0;
    has_path = has_path || kv.rfind("PATH=", 0) == 0;
  }
  if (!has_config) {
    // An empty file, written before each command (Command).
    rc_file_ = options_.dir + "/.tofurc";
    options_.env.push_back("TF_CLI_CONFIG_FILE=" + rc_file_);
  }
  if (!has_path) options_.env.push_back("PATH=/usr/local/bin:/usr/bin:/bin");
  options_.env.push_back("TF_IN_AUTOMATION=1");
  options_.env.push_back("CHECKPOINT_DISABLE=1");
}

Tofu::Outcome Tofu::Command(std::vector<std::string> args, const char* stdout_name) {
  exec::ProcessSpec spec;
  spec.argv = {options_.binary};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env = options_.env;
  spec.cwd = options_.dir;
  spec.grace = options_.grace;
  // As a terminal's Ctrl-C: OpenTofu stops gracefully and writes its state;
  // its provider plugins ignore SIGINT and are stopped by it.
  spec.stop_signal = SIGINT;
  spec.cancel = options_.cancel;
  // Files, not pipes: if the provider dies mid-run, OpenTofu is interrupted
  // (the stop signal above) and writes its state instead of dying on a
  // broken pipe; the next reconcile recovers that state.
  spec.stdout_file = options_.dir + "/" + stdout_name;
  spec.stderr_file = options_.dir + "/" + kStderrLog;
  Outcome outcome;
  if (!rc_file_.empty()) {
    outcome.setup = provider::WritePrivateFile(rc_file_, "");
    if (!outcome.setup.ok()) return outcome;
  }
  if (deadline_ != std::chrono::steady_clock::time_point::max()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline_ - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      outcome.timed_out = true;
      outcome.process.timed_out = true;
      return outcome;
    }
    spec.timeout = left;
  }
  absl::StatusOr<exec::ProcessResult> run = exec::Run(spec);
  if (!run.ok()) {
    outcome.setup = run.status();
    return outcome;
  }
  outcome.process = *std::move(run);
  outcome.timed_out = outcome.process.timed_out;
  return outcome;
}

std::string Tofu::ErrorOf(const Outcome& outcome) const {
  if (!outcome.setup.ok()) return Cap(std::string(outcome.setup.message()));
  if (outcome.timed_out) return deadline_message_;
  if (outcome.process.cancelled) return "cancelled";
  std::string error =
      ErrorFromJsonLines(outcome.process.out, outcome.process.err, options_.secrets);
  if (error.empty()) {
    error = outcome.process.signal != 0
                ? "tofu was killed by signal " + std::to_string(outcome.process.signal)
                : "tofu exited with code " + std::to_string(outcome.process.exit_code);
  }
  return error;
}

absl::Status Tofu::Failure(const Outcome& o, std::string message) const {
  if (message.empty()) message = ErrorOf(o);
  if (o.timed_out) return absl::DeadlineExceededError(message);
  if (o.process.cancelled) return absl::CancelledError(message);
  if (!o.setup.ok()) return absl::Status(o.setup.code(), message);
  return absl::UnknownError(message);
}

namespace {

// An exclusive lock on `<cache>/.init.lock`, held while it lives; fd -1 when
// not taken.
struct CacheLock {
  int fd = -1;
  CacheLock() = default;
  CacheLock(const CacheLock&) = delete;
  CacheLock& operator=(const CacheLock&) = delete;
  ~CacheLock() {
    if (fd >= 0) ::close(fd);  // closing releases the flock
  }
};

}  // namespace

absl::Status Tofu::LockPluginCache(CacheLockHolder& held) const {
  std::string cache;
  for (const auto& kv : options_.env) {
    if (kv.rfind("TF_PLUGIN_CACHE_DIR=", 0) == 0) cache = kv.substr(20);
  }
  if (cache.empty()) return absl::OkStatus();
  auto lock = std::make_shared<CacheLock>();
  const std::string path = cache + "/.init.lock";
  lock->fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock->fd < 0) {
    return absl::UnavailableError("cannot open the plugin cache lock " + path);
  }
  // OpenTofu leaves concurrent inits sharing one plugin cache undefined:
  // inits on one cache take turns, across this provider's workers and any
  // other process using the same cache.
  while (::flock(lock->fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      return absl::UnavailableError("cannot lock the plugin cache " + path);
    }
    if (options_.cancel != nullptr && options_.cancel->load()) {
      return absl::CancelledError("cancelled while waiting for the plugin cache");
    }
    if (std::chrono::steady_clock::now() >= deadline_) {
      return absl::DeadlineExceededError("timed out waiting for another init on the plugin cache");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  held = std::move(lock);
  return absl::OkStatus();
}

absl::Status Tofu::Init() {
  CacheLockHolder cache_lock;
  RETURN_IF_ERROR(LockPluginCache(cache_lock));
  const Outcome o = Command({"init", "-input=false", "-no-color"});
  if (o.setup.ok() && o.process.ok()) return absl::OkStatus();
  // init has no -json: its errors are text on stderr.
  std::string error;
  if (o.setup.ok() && !o.timed_out && !o.process.cancelled) {
    error = Cap(provider::Redact(ErrorFromText(o.process.err), options_.secrets));
  }
  return Failure(o, error);
}

absl::StatusOr<PlanResult> Tofu::Plan(const std::string& plan_file, bool destroy) {
  std::vector<std::string> args = {"plan",  "-input=false",       "-no-color",
                                   "-json", "-detailed-exitcode", "-out=" + plan_file};
  if (destroy) args.push_back("-destroy");
  for (const auto& f : options_.var_files) args.push_back("-var-file=" + f);
  const Outcome o = Command(std::move(args));
  const int code = o.process.exit_code;
  if (!o.setup.ok() || o.timed_out || o.process.cancelled || (code != 0 && code != 2)) {
    return Failure(o);
  }
  PlanResult r;
  r.changes = code == 2;
  ForEachMessage(o.process.out, "change_summary", [&](const json& line) {
    const json c = line.value("changes", json::object());
    if (!c.is_object()) return;
    r.add = c.value("add", 0);
    r.change = c.value("change", 0);
    r.destroy = c.value("remove", 0);
  });
  return r;
}

absl::StatusOr<std::string> Tofu::Fingerprint(const std::string& plan_file) {
  // The plan's JSON goes to a file of its own and is parsed from there whole:
  // a plan with large values is many megabytes, more than a command's
  // captured output keeps.
  const std::string show_path = options_.dir + "/" + kShowJson;
  const Outcome o = Command({"show", "-json", "-no-color", plan_file}, kShowJson);
  absl::StatusOr<std::string> text = platform::ReadFile(show_path);
  std::error_code ec;
  std::filesystem::remove(show_path, ec);
  if (!o.setup.ok() || o.timed_out || o.process.cancelled || o.process.exit_code != 0) {
    return Failure(o);
  }
  if (!text.ok()) {
    return absl::UnknownError("cannot read what tofu show printed: " +
                              std::string(text.status().message()));
  }
  const json plan = json::parse(*text, nullptr, false);
  text->clear();
  if (plan.is_discarded() || !plan.is_object()) {
    return absl::UnknownError("tofu show printed no plan");
  }
  json changes = json::array();
  for (const auto& rc : plan.value("resource_changes", json::array())) {
    const json change = rc.value("change", json::object());
    changes.push_back({{"address", rc.value("address", "")},
                       {"actions", change.value("actions", json::array())},
                       {"before", change.value("before", json())},
                       {"after", change.value("after", json())},
                       {"after_unknown", change.value("after_unknown", json())}});
  }
  const json material = {{"resources", changes},
                         {"outputs", plan.value("output_changes", json::object())}};
  return provider::Sha256Hex(material.dump()).substr(0, 16);
}

absl::StatusOr<std::unique_ptr<VolumeReserve>> Tofu::Reserve() const {
  std::error_code ec;
  const auto state = fs::file_size(fs::path(options_.dir) / kStateFile, ec);
  return VolumeReserve::Take(options_.dir + "/" + kReserveFile,
                             VolumeReserve::For(ec ? 0 : static_cast<uint64_t>(state)));
}

void Tofu::KeepErroredState() const {
  // Where OpenTofu puts the state it could not write to terraform.tfstate.
  const fs::path errored = fs::path(options_.dir) / "errored.tfstate";
  std::error_code ec;
  if (fs::exists(errored, ec)) fs::rename(errored, fs::path(options_.dir) / kStateFile, ec);
}

absl::Status Tofu::Apply(const std::string& plan_file) {
  ASSIGN_OR_RETURN(const std::unique_ptr<VolumeReserve> reserve, Reserve());
  const Outcome o = Command({"apply", "-input=false", "-no-color", "-json", plan_file});
  KeepErroredState();
  return o.setup.ok() && o.process.ok() ? absl::OkStatus() : Failure(o);
}

absl::Status Tofu::Destroy() {
  std::vector<std::string> args = {"destroy", "-input=false", "-no-color", "-json",
                                   "-auto-approve"};
  for (const auto& f : options_.var_files) args.push_back("-var-file=" + f);
  ASSIGN_OR_RETURN(const std::unique_ptr<VolumeReserve> reserve, Reserve());
  const Outcome o = Command(std::move(args));
  KeepErroredState();
  return o.setup.ok() && o.process.ok() ? absl::OkStatus() : Failure(o);
}

std::map<std::string, Output> ParseOutputs(const std::string& state_json) {
  std::map<std::string, Output> out;
  const json doc = json::parse(state_json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return out;
  const json outputs = doc.value("outputs", json::object());
  if (!outputs.is_object()) return out;
  for (const auto& [name, o] : outputs.items()) {
    if (!o.is_object()) continue;
    Output output;
    output.value = o.value("value", json());
    output.sensitive = o.value("sensitive", false);
    out[name] = std::move(output);
  }
  return out;
}

int64_t ResourceCount(const std::string& state_json) {
  const json doc = json::parse(state_json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return 0;
  const json resources = doc.value("resources", json::array());
  if (!resources.is_array()) return 0;
  int64_t count = 0;
  for (const auto& r : resources) {
    if (!r.is_object() || r.value("mode", "") != "managed") continue;
    const json instances = r.value("instances", json::array());
    count += instances.is_array() ? static_cast<int64_t>(instances.size()) : 0;
  }
  return count;
}

}  // namespace workspace
