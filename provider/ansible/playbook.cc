#include "provider/ansible/playbook.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <set>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "common/status_macros.h"
#include "provider/common/files.h"
#include "provider/common/redact.h"
#include "provider/exec/process.h"

namespace ansible {
namespace {

constexpr char kCallbackName[] = "workloads_json";

// The stdout callback (see playbook.h): the shape of ansible.posix.json with
// only the fields the provider reads, long strings cut, and ignored failures
// marked. Results reach callbacks already censored for no_log tasks.
constexpr char kCallbackPlugin[] =
    R"PY(# Written by provider-workloads: the stdout callback of its runs.
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from ansible.parsing.ajson import AnsibleJSONEncoder
from ansible.plugins.callback import CallbackBase

KEEP = ('changed', 'failed', 'skipped', 'unreachable', 'msg', 'rc', 'stderr', 'censored')


def _trim(value):
    if isinstance(value, str) and len(value) > 2000:
        return value[:2000]
    return value


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'stdout'
    CALLBACK_NAME = 'workloads_json'

    def __init__(self, display=None):
        super(CallbackModule, self).__init__(display)
        self.plays = []
        self.tasks = {}

    def v2_playbook_on_play_start(self, play):
        self.plays.append({'play': {'name': play.get_name()}, 'tasks': []})
        self.tasks = {}

    def _task(self, task):
        entry = self.tasks.get(task._uuid)
        if entry is None:
            entry = {'task': {'name': task.get_name(), 'action': task.action}, 'hosts': {}}
            self.tasks[task._uuid] = entry
            if not self.plays:
                self.plays.append({'play': {'name': ''}, 'tasks': []})
            self.plays[-1]['tasks'].append(entry)
        return entry

    def _record(self, result, extra):
        res = result._result
        out = dict((k, _trim(res[k])) for k in KEEP if k in res)
        out.update(extra)
        if isinstance(res.get('results'), list):
            for item in res['results']:
                if isinstance(item, dict) and item.get('failed') and 'msg' in item:
                    out['item_msg'] = _trim(str(item['msg']))
                    break
        self._task(result._task)['hosts'][result._host.get_name()] = out

    def v2_runner_on_ok(self, result, **kwargs):
        self._record(result, {})

    def v2_runner_on_failed(self, result, ignore_errors=False, **kwargs):
        extra = {'failed': True}
        if ignore_errors:
            extra['ignored'] = True
        self._record(result, extra)

    def v2_runner_on_skipped(self, result, **kwargs):
        self._record(result, {'skipped': True})

    def v2_runner_on_unreachable(self, result, **kwargs):
        self._record(result, {'unreachable': True})

    def v2_playbook_on_stats(self, stats):
        summary = dict((h, stats.summarize(h)) for h in sorted(stats.processed.keys()))
        custom = dict((str(k), v) for k, v in (stats.custom or {}).items())
        global_custom = custom.pop('_run', {})
        output = {'plays': self.plays, 'stats': summary, 'custom_stats': custom,
                  'global_custom_stats': global_custom}
        self._display.display(json.dumps(output, cls=AnsibleJSONEncoder, sort_keys=True))
)PY";

// `text` as one word for the shell-like splitting ansible does of ssh_args.
std::string ShellQuote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\"'\"'") : std::string(1, c);
  return quoted + "'";
}

std::string Private(const std::string& dir, const std::string& name) {
  return dir + "/" + kPrivateDir + "/" + name;
}

// Writes the empty ansible.cfg, the known hosts and the callback plugin.
absl::Status PreparePrivateDir(const std::string& dir, const std::string& known_hosts) {
  for (const char* sub : {"callback_plugins", "tmp"}) {
    std::error_code ec;
    std::filesystem::create_directories(Private(dir, sub), ec);
    if (ec) return absl::InternalError("cannot create " + std::string(sub) + ": " + ec.message());
  }
  RETURN_IF_ERROR(provider::WritePrivateFile(Private(dir, "ansible.cfg"), ""));
  RETURN_IF_ERROR(provider::WritePrivateFile(dir + "/" + kKnownHostsFile, known_hosts));
  return provider::WritePrivateFile(Private(dir, "callback_plugins/") + kCallbackName + ".py",
                                    kCallbackPlugin);
}

// `base` without the keys of `settings`, then `settings`.
std::vector<std::string> EnvWith(const std::vector<std::string>& base,
                                 const std::vector<std::pair<std::string, std::string>>& settings) {
  std::set<std::string> keys;
  for (const auto& [key, value] : settings) keys.insert(key);
  std::vector<std::string> env;
  for (const std::string& entry : base) {
    if (!keys.contains(entry.substr(0, entry.find('=')))) env.push_back(entry);
  }
  for (const auto& [key, value] : settings) env.push_back(key + "=" + value);
  return env;
}

std::vector<std::pair<std::string, std::string>> CommonSettings(const std::string& dir) {
  return {
      {"ANSIBLE_CONFIG", Private(dir, "ansible.cfg")},
      {"ANSIBLE_NOCOLOR", "1"},
      {"ANSIBLE_FORCE_COLOR", "0"},
      {"ANSIBLE_LOCAL_TEMP", Private(dir, "tmp")},
      {"ANSIBLE_ROLES_PATH", dir + "/roles"},
      {"ANSIBLE_COLLECTIONS_PATH", dir + "/collections"},
  };
}

// Whitespace runs as one space, trimmed.
std::string Collapse(const std::string& text) {
  std::string out;
  bool space = false;
  for (const char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = !out.empty();
    } else {
      if (space) out += ' ';
      space = false;
      out += c;
    }
  }
  return out;
}

// Redacted and cut to `max` bytes (not inside a UTF-8 sequence).
std::string Short(const std::string& text, const std::vector<std::string>& secrets,
                  size_t max = kMaxErrorLength) {
  // Secrets first: they may span lines. URLs with credentials never span
  // whitespace, so only words with "://" go through the (slow on long words)
  // regular expression.
  const std::string collapsed = Collapse(provider::Redact(text, secrets));
  std::string out;
  for (size_t start = 0; start < collapsed.size();) {
    size_t end = collapsed.find(' ', start);
    if (end == std::string::npos) end = collapsed.size();
    const std::string word = collapsed.substr(start, end - start);
    if (!out.empty()) out += ' ';
    out += word.find("://") == std::string::npos ? word : provider::RedactUrls(word);
    start = end + 1;
  }
  if (out.size() <= max) return out;
  size_t cut = max - 3;
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
  return out.substr(0, cut) + "...";
}

// The error in ansible's stderr: the first "[ERROR]:" message, else from the
// first "ERROR!" line up to the quoted source ("The offending line appears
// to be:"), else the last non-blank line.
std::string StderrError(const std::string& stderr_text) {
  std::vector<std::string> lines;
  std::istringstream in(stderr_text);
  for (std::string line; std::getline(in, line);) {
    // ansible indents some messages by a space (" [ERROR]: ...").
    if (line.starts_with(" [")) line.erase(0, 1);
    lines.push_back(line);
  }
  // ansible-galaxy: "[ERROR]: <what failed>" (continued on the next lines),
  // then a generic "ERROR! ..." hint.
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!lines[i].starts_with("[ERROR]:")) continue;
    std::string text = lines[i].substr(8) + "\n";
    for (size_t j = i + 1;
         j < lines.size() && !lines[j].starts_with("[") && !lines[j].starts_with("ERROR!"); ++j) {
      text += lines[j] + "\n";
    }
    return text;
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].rfind("ERROR!", 0) != 0) continue;
    std::string text;
    for (size_t j = i; j < lines.size(); ++j) {
      if (j > i && lines[j].find("The offending line appears to be") != std::string::npos) break;
      text += lines[j] + "\n";
    }
    return text;
  }
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (!Collapse(*it).empty()) return *it;
  }
  return "";
}

// The first JSON object in `text` that looks like a run's document.
bool FindDocument(const std::string& text, nlohmann::json& doc) {
  int attempts = 0;
  for (size_t pos = text.find('{'); pos != std::string::npos && attempts < 200;
       pos = text.find('{', pos + 1), ++attempts) {
    std::istringstream in(text.substr(pos));
    try {
      nlohmann::json candidate;
      in >> candidate;
      if (candidate.is_object() && (candidate.contains("plays") || candidate.contains("stats"))) {
        doc = std::move(candidate);
        return true;
      }
    } catch (const nlohmann::json::exception&) {
    }
  }
  return false;
}

int Int(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end()) return 0;
  if (it->is_number_integer()) return it->get<int>();
  if (it->is_boolean()) return it->get<bool>() ? 1 : 0;
  return 0;
}

bool Bool(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end()) return false;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_number()) return it->get<double>() != 0;
  return false;
}

std::string Text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "";
  return value.dump();
}

// A host result's message: msg, with the failed loop item's message or the
// command's stderr when msg alone says little.
std::string HostMessage(const nlohmann::json& host) {
  std::string msg = host.contains("msg") ? Text(host["msg"]) : "";
  if (host.contains("item_msg")) {
    msg += (msg.empty() ? "" : ": ") + Text(host["item_msg"]);
  } else if (host.contains("stderr") && !Collapse(Text(host["stderr"])).empty() &&
             (msg.empty() || msg == "non-zero return code")) {
    msg += (msg.empty() ? "" : ": ") + Text(host["stderr"]);
  }
  return msg;
}

}  // namespace

std::string ExplainHostKeyFailure(const std::string& error, bool known_hosts_configured) {
  if (error.find("Host key verification failed") == std::string::npos &&
      error.find("REMOTE HOST IDENTIFICATION HAS CHANGED") == std::string::npos) {
    return error;
  }
  const std::string what =
      known_hosts_configured
          ? "SSH host key not trusted: add the host's key (ssh-keyscan output) to the "
            "ProviderConfig's spec.ssh.knownHosts or spec.ssh.knownHostsSecretRef: "
          : "SSH host key not trusted: no host keys are configured; set the ProviderConfig's "
            "spec.ssh.knownHosts or spec.ssh.knownHostsSecretRef (ssh-keyscan output): ";
  return Short(what + error, {});
}

std::vector<std::string> Argv(const RunSpec& spec) {
  std::vector<std::string> argv = {spec.ansible_playbook, "-i", spec.inventory_file, spec.playbook};
  for (const std::string& file : spec.var_files) {
    argv.push_back("-e");
    argv.push_back("@" + file);
  }
  if (spec.check) {
    argv.push_back("--check");
    argv.push_back("--diff");
  }
  return argv;
}

std::vector<std::string> Env(const RunSpec& spec) {
  auto settings = CommonSettings(spec.dir);
  const std::vector<std::pair<std::string, std::string>> run_settings = {
      {"ANSIBLE_STDOUT_CALLBACK", kCallbackName},
      {"ANSIBLE_CALLBACK_PLUGINS", Private(spec.dir, "callback_plugins")},
      {"ANSIBLE_SHOW_CUSTOM_STATS", "true"},
      {"ANSIBLE_HOST_KEY_CHECKING", "True"},
      // ssh trusts the ProviderConfig's host keys only (no user or system
      // known hosts, never one learnt on first use, nothing written back).
      // No ControlMaster/ControlPersist: a master connection left by one run
      // (another ProviderConfig's key and hosts) is never reused by another.
      {"ANSIBLE_SSH_ARGS", "-C -o StrictHostKeyChecking=yes -o UserKnownHostsFile=" +
                               ShellQuote(spec.dir + "/" + kKnownHostsFile) +
                               " -o GlobalKnownHostsFile=/dev/null -o UpdateHostKeys=no"},
      {"ANSIBLE_RETRY_FILES_ENABLED", "False"},
      {"ANSIBLE_REMOTE_TEMP", Private(spec.dir, "remote_tmp")},
      {"ANSIBLE_PYTHON_INTERPRETER", "auto_silent"},
  };
  settings.insert(settings.end(), run_settings.begin(), run_settings.end());
  return EnvWith(spec.env, settings);
}

Result ParseJsonResult(const std::string& stdout_text, const std::string& stderr_text,
                       int exit_code, const std::vector<std::string>& secrets) {
  Result result;
  nlohmann::json doc;
  if (!FindDocument(stdout_text, doc)) {
    std::string error = StderrError(stderr_text);
    if (Collapse(error).empty()) {
      error = exit_code == 0 ? "ansible-playbook printed no result"
                             : "ansible-playbook exited with code " + std::to_string(exit_code);
    }
    result.error = Short(error, secrets);
    return result;
  }

  if (doc.contains("stats") && doc["stats"].is_object()) {
    for (const auto& [host, stats] : doc["stats"].items()) {
      if (!stats.is_object()) continue;
      result.ok_count += Int(stats, "ok");
      result.changed += Int(stats, "changed");
      result.failed += Int(stats, "failures");
      result.skipped += Int(stats, "skipped");
      result.unreachable += Int(stats, "unreachable");
    }
  }

  std::string first_failure, first_unreachable;
  if (doc.contains("plays") && doc["plays"].is_array()) {
    for (const auto& play : doc["plays"]) {
      if (!play.is_object() || !play.contains("tasks") || !play["tasks"].is_array()) continue;
      for (const auto& task : play["tasks"]) {
        if (!task.is_object() || !task.contains("hosts") || !task["hosts"].is_object()) continue;
        const std::string name =
            task.contains("task") && task["task"].is_object() && task["task"].contains("name")
                ? Text(task["task"]["name"])
                : "";
        for (const auto& [host, outcome] : task["hosts"].items()) {
          if (!outcome.is_object()) continue;
          TaskResult entry;
          entry.name = Short(name, secrets, 200);
          entry.host = host;
          entry.changed = Bool(outcome, "changed") ? 1 : 0;
          entry.failed = Bool(outcome, "failed") && !Bool(outcome, "ignored") ? 1 : 0;
          entry.unreachable = Bool(outcome, "unreachable") ? 1 : 0;
          if (entry.changed == 0 && entry.failed == 0 && entry.unreachable == 0) continue;
          const std::string msg = HostMessage(outcome);
          entry.msg = Short(msg, secrets);
          if (entry.failed != 0 && first_failure.empty()) {
            first_failure = "task \"" + name + "\" failed on host " + host + ": " + msg;
          }
          if (entry.unreachable != 0 && first_unreachable.empty()) {
            first_unreachable = "host " + host + " unreachable in task \"" + name + "\": " + msg;
          }
          result.tasks.push_back(std::move(entry));
        }
      }
    }
  }

  // Global values (ansible.posix.json moves them out of custom_stats as
  // "_run"), then each host's over them.
  const auto global = doc.find("global_custom_stats");
  const auto per_host = doc.find("custom_stats");
  const bool has_per_host = per_host != doc.end() && per_host->is_object();
  if (global != doc.end() && global->is_object()) {
    result.custom_stats = *global;
  } else if (has_per_host && per_host->contains("_run") && (*per_host)["_run"].is_object()) {
    result.custom_stats = (*per_host)["_run"];
  }
  if (has_per_host) {
    for (const auto& [host, values] : per_host->items()) {
      if (host == "_run" || !values.is_object()) continue;
      for (const auto& [key, value] : values.items()) result.custom_stats[key] = value;
    }
  }

  result.ok = exit_code == 0 && result.failed == 0 && result.unreachable == 0;
  if (!first_failure.empty()) {
    result.error = Short(first_failure, secrets);
  } else if (!first_unreachable.empty()) {
    result.error = Short(first_unreachable, secrets);
  } else if (exit_code != 0) {
    std::string error = StderrError(stderr_text);
    if (Collapse(error).empty()) {
      error = "ansible-playbook exited with code " + std::to_string(exit_code);
    }
    result.error = Short(error, secrets);
  }
  return result;
}

absl::StatusOr<Result> Run(const RunSpec& spec) {
  RETURN_IF_ERROR(PreparePrivateDir(spec.dir, spec.known_hosts));
  exec::ProcessSpec process;
  process.argv = Argv(spec);
  process.env = Env(spec);
  process.cwd = spec.dir;
  process.timeout = spec.timeout;
  process.cancel = spec.cancel;
  process.stop_signal = SIGINT;
  process.grace = std::chrono::seconds(10);
  process.stdout_file = Private(spec.dir, "stdout");
  process.stderr_file = Private(spec.dir, "stderr");
  ASSIGN_OR_RETURN(const exec::ProcessResult outcome, exec::Run(process));

  Result result = ParseJsonResult(outcome.out, outcome.err, outcome.exit_code, spec.secrets);
  result.timed_out = outcome.timed_out;
  result.cancelled = outcome.cancelled;
  if (outcome.timed_out || outcome.cancelled) {
    result.ok = false;
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(spec.timeout).count();
    result.error = outcome.timed_out
                       ? "ansible-playbook timed out after " + std::to_string(seconds) + "s"
                       : "ansible-playbook cancelled";
  }
  // No machine paths in messages: the working folder is where they run.
  const std::string prefix = spec.dir + "/";
  auto strip = [&prefix](std::string& text) {
    for (size_t pos; (pos = text.find(prefix)) != std::string::npos;)
      text.erase(pos, prefix.size());
  };
  strip(result.error);
  for (TaskResult& task : result.tasks) strip(task.msg);
  result.error = ExplainHostKeyFailure(result.error, !spec.known_hosts.empty());
  return result;
}

absl::StatusOr<Requirements> ParseRequirements(const std::string& requirements_yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(requirements_yaml);
  } catch (const YAML::Exception& e) {  // yaml-cpp reports by throwing
    return absl::InvalidArgumentError(std::string("requirements: not YAML: ") + e.what());
  }
  Requirements requirements;
  if (root.IsNull()) return requirements;
  if (root.IsSequence()) {
    requirements.roles = root.size() > 0;
    return requirements;
  }
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        "requirements: expected a list of roles or roles:/collections:");
  }
  for (const auto& entry : root) {
    const std::string key = entry.first.Scalar();
    const YAML::Node& value = entry.second;
    const bool present = value.IsSequence() && value.size() > 0;
    if (key == "roles") {
      requirements.roles = present;
    } else if (key == "collections") {
      requirements.collections = present;
    } else {
      return absl::InvalidArgumentError("requirements: unknown key \"" + key +
                                        "\" (expected roles and collections)");
    }
  }
  return requirements;
}

std::vector<std::vector<std::string>> GalaxyArgv(const Requirements& requirements,
                                                 const std::string& ansible_galaxy) {
  std::vector<std::vector<std::string>> commands;
  if (requirements.collections) {
    commands.push_back(
        {ansible_galaxy, "collection", "install", "-r", "requirements.yml", "-p", "collections"});
  }
  if (requirements.roles) {
    commands.push_back(
        {ansible_galaxy, "role", "install", "-r", "requirements.yml", "-p", "roles"});
  }
  return commands;
}

absl::Status InstallRequirements(const std::string& dir, const std::string& requirements_yaml,
                                 const std::vector<std::string>& env,
                                 std::chrono::milliseconds timeout, const std::atomic<bool>* cancel,
                                 const std::vector<std::string>& secrets,
                                 const std::string& ansible_galaxy) {
  if (Collapse(requirements_yaml).empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(const Requirements requirements, ParseRequirements(requirements_yaml));
  const auto commands = GalaxyArgv(requirements, ansible_galaxy);
  if (commands.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(provider::WritePrivateFile(dir + "/requirements.yml", requirements_yaml));
  RETURN_IF_ERROR(PreparePrivateDir(dir, ""));
  auto settings = CommonSettings(dir);
  settings.emplace_back("ANSIBLE_GALAXY_CACHE_DIR", Private(dir, "galaxy_cache"));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto& argv : commands) {
    exec::ProcessSpec process;
    process.argv = argv;
    process.env = EnvWith(env, settings);
    process.cwd = dir;
    if (timeout.count() > 0) {
      process.timeout = std::max(std::chrono::milliseconds(1),
                                 std::chrono::duration_cast<std::chrono::milliseconds>(
                                     deadline - std::chrono::steady_clock::now()));
    }
    process.cancel = cancel;
    process.stop_signal = SIGINT;
    process.grace = std::chrono::seconds(10);
    ASSIGN_OR_RETURN(const exec::ProcessResult outcome, exec::Run(process));
    if (outcome.ok()) continue;
    std::string what = "ansible-galaxy " + argv[1] + " install";
    std::string error;
    if (outcome.timed_out) {
      error = what + " timed out";
    } else if (outcome.cancelled) {
      error = what + " cancelled";
    } else {
      std::string detail = StderrError(outcome.err);
      if (Collapse(detail).empty()) detail = "exit code " + std::to_string(outcome.exit_code);
      error = what + ": " + detail;
    }
    error = Short(error, secrets);
    const std::string prefix = dir + "/";
    for (size_t pos; (pos = error.find(prefix)) != std::string::npos;)
      error.erase(pos, prefix.size());
    if (outcome.timed_out) return absl::DeadlineExceededError(error);
    if (outcome.cancelled) return absl::CancelledError(error);
    return absl::UnknownError(error);
  }
  return absl::OkStatus();
}

}  // namespace ansible
