#include "provider/common/source.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>

#include "common/status_macros.h"
#include "provider/common/crypto.h"
#include "provider/common/files.h"
#include "provider/common/redact.h"
#include "provider/exec/process.h"

namespace provider {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxError = 300;

// An exclusive flock on a file, held while the object lives.
class FileLock {
 public:
  static absl::StatusOr<std::unique_ptr<FileLock>> Acquire(const std::string& path) {
    const int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) return absl::ErrnoToStatus(errno, "lock " + path);
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      return absl::ErrnoToStatus(saved, "lock " + path);
    }
    return std::unique_ptr<FileLock>(new FileLock(fd));
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock() {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

bool IsHex(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// The line of git's stderr that says what went wrong.
std::string GitReason(const exec::ProcessResult& r) {
  if (r.timed_out) return "timed out";
  if (r.cancelled) return "cancelled";
  std::string best;
  size_t start = 0;
  const std::string& err = r.err;
  while (start < err.size()) {
    size_t end = err.find('\n', start);
    if (end == std::string::npos) end = err.size();
    std::string line = err.substr(start, end - start);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) {
      if (line.rfind("fatal:", 0) == 0 || line.rfind("error:", 0) == 0 || best.empty() ||
          (best.rfind("fatal:", 0) != 0 && best.rfind("error:", 0) != 0)) {
        best = line;
      }
    }
    start = end + 1;
  }
  if (best.empty()) best = "exit code " + std::to_string(r.exit_code);
  return best;
}

std::string Short(std::string text) {
  text = RedactUrls(text);
  if (text.size() > kMaxError) text = text.substr(0, kMaxError - 3) + "...";
  return text;
}

class Git {
 public:
  Git(std::vector<std::string> env, const GitOptions& options)
      : env_(std::move(env)), options_(options) {
    bool has_path = false;
    for (const auto& kv : env_) has_path = has_path || kv.rfind("PATH=", 0) == 0;
    if (!has_path) env_.push_back("PATH=/usr/local/bin:/usr/bin:/bin");
    env_.push_back("GIT_TERMINAL_PROMPT=0");
    env_.push_back("GIT_CONFIG_NOSYSTEM=1");
    deadline_ = std::chrono::steady_clock::now() + options_.timeout;
  }

  exec::ProcessResult Run(std::vector<std::string> args, const std::string& cwd = "") {
    exec::ProcessSpec spec;
    spec.argv = std::move(args);
    spec.env = env_;
    spec.cwd = cwd;
    spec.cancel = options_.cancel;
    spec.grace = std::chrono::seconds(5);
    if (options_.timeout.count() > 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline_ - std::chrono::steady_clock::now());
      spec.timeout = std::max(left, std::chrono::milliseconds(1));
    }
    absl::StatusOr<exec::ProcessResult> r = exec::Run(spec);
    if (r.ok()) return *std::move(r);
    // Not started at all (no pipes, no fork): a failed command whose
    // reason is that.
    exec::ProcessResult failed;
    failed.err = std::string(r.status().message());
    return failed;
  }

  // Runs a command that must succeed; its failure names `what`.
  absl::StatusOr<exec::ProcessResult> Must(std::vector<std::string> args, const std::string& what,
                                           const std::string& cwd = "") {
    exec::ProcessResult r = Run(std::move(args), cwd);
    if (!r.ok()) return absl::UnavailableError(Short(what + ": " + GitReason(r)));
    return r;
  }

  const std::string& git() const { return options_.git; }

 private:
  std::vector<std::string> env_;
  GitOptions options_;
  std::chrono::steady_clock::time_point deadline_;
};

// `command` split into words as the shell would for what GitSshEnv writes
// (single quotes, double quotes, backslashes; no expansions).
std::vector<std::string> ShellWords(const std::string& command) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < command.size(); ++i) {
    const char c = command[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else if (c == '\'') {
      in_word = true;
      for (++i; i < command.size() && command[i] != '\''; ++i) word += command[i];
    } else if (c == '"') {
      in_word = true;
      for (++i; i < command.size() && command[i] != '"'; ++i) {
        if (command[i] == '\\' && i + 1 < command.size()) ++i;
        word += command[i];
      }
    } else if (c == '\\' && i + 1 < command.size()) {
      in_word = true;
      word += command[++i];
    } else {
      in_word = true;
      word += c;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

// What a file holds, as it enters a fingerprint.
std::string FileFingerprint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "missing:" + path;
  std::ostringstream content;
  content << in.rdbuf();
  return "file:" + Sha256Hex(content.str());
}

}  // namespace

std::string GitCredentialFingerprint(const std::vector<std::string>& env) {
  std::vector<std::string> parts;
  for (const std::string& entry : env) {
    const size_t eq = entry.find('=');
    const std::string name = entry.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : entry.substr(eq + 1);
    // What can carry credentials or choose them: git's settings and programs
    // (GIT_CONFIG_*, GIT_SSH_COMMAND, GIT_ASKPASS...) and ssh's (SSH_*).
    // PATH, HOME and the like are the provider's own, equal for every caller.
    if (name.rfind("GIT_", 0) != 0 && name.rfind("SSH_", 0) != 0) continue;
    if (name.rfind("GIT_AUTHOR_", 0) == 0 || name.rfind("GIT_COMMITTER_", 0) == 0) continue;
    // Files in a working folder enter by content, not by path: the same
    // credentials from two working folders are one identity.
    if (value.rfind("store --file=", 0) == 0) {
      parts.push_back(name + "=store " + FileFingerprint(value.substr(13)));
      continue;
    }
    if (name == "GIT_SSH_COMMAND") {
      std::string part = name + "=";
      const std::vector<std::string> words = ShellWords(value);
      for (size_t i = 0; i < words.size(); ++i) {
        const std::string& w = words[i];
        if (i > 0 && words[i - 1] == "-i") {
          part += FileFingerprint(w);
        } else if (w.rfind("UserKnownHostsFile=", 0) == 0) {
          part += "UserKnownHostsFile=" + FileFingerprint(w.substr(19));
        } else {
          part += w;
        }
        part += '\0';
      }
      parts.push_back(std::move(part));
      continue;
    }
    parts.push_back(entry);
  }
  if (parts.empty()) return "";
  std::sort(parts.begin(), parts.end());
  std::string material;
  for (const std::string& p : parts) material += p + '\n';
  return Sha256Hex(material);
}

absl::StatusOr<std::string> CheckGitPath(const std::string& path) {
  if (!path.empty() && path[0] == '/') {
    return absl::InvalidArgumentError("git.path \"" + path +
                                      "\" must be relative to the repository root");
  }
  std::string out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string part = path.substr(start, end - start);
    if (part == "..") {
      return absl::InvalidArgumentError("git.path \"" + path + "\" must not contain \"..\"");
    }
    if (part.find('\0') != std::string::npos || part.find('\\') != std::string::npos ||
        part.find(':') != std::string::npos) {
      return absl::InvalidArgumentError("git.path \"" + path + "\" contains a forbidden character");
    }
    if (!part.empty() && part != ".") out += (out.empty() ? "" : "/") + part;
    start = end + 1;
  }
  return out;
}

std::vector<std::string> GitCredentialEnv(const std::string& credentials_file) {
  return {"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=credential.helper",
          "GIT_CONFIG_VALUE_0=store --file=" + credentials_file};
}

namespace {

// `text` as one shell word (GIT_SSH_COMMAND goes through the shell).
std::string ShellQuote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

}  // namespace

std::vector<std::string> GitSshEnv(const std::string& key_file,
                                   const std::string& known_hosts_file) {
  return {"GIT_SSH_COMMAND=ssh -F /dev/null -i " + ShellQuote(key_file) +
          " -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes"
          " -o StrictHostKeyChecking=yes -o GlobalKnownHostsFile=/dev/null"
          " -o UserKnownHostsFile=" +
          ShellQuote(known_hosts_file)};
}

absl::StatusOr<std::vector<std::string>> WriteCredentialFiles(
    const std::string& dir, const std::vector<std::pair<std::string, std::string>>& files) {
  std::vector<std::string> env;
  bool key = false, known_hosts = false;
  for (const auto& [name, content] : files) {
    const std::string path = dir + "/" + name;
    if (name == kGitSshKeyFile) {
      // OpenSSH reads no key whose last line lacks its newline, and a
      // Secret made with --from-literal has none.
      key = true;
      RETURN_IF_ERROR(WritePrivateFile(
          path, !content.empty() && content.back() != '\n' ? content + "\n" : content));
      continue;
    }
    RETURN_IF_ERROR(WritePrivateFile(path, content));
    if (name == kGitKnownHostsFile) known_hosts = true;
    if (name == kGitCredentialsFile) {
      const auto extra = GitCredentialEnv(path);
      env.insert(env.end(), extra.begin(), extra.end());
    }
  }
  if (key && !known_hosts) {
    return absl::InvalidArgumentError(
        std::string("the ProviderConfig's credential ") + kGitSshKeyFile + " needs one named " +
        kGitKnownHostsFile +
        " with the Git server's host keys (ssh-keyscan output): no host is trusted on first use");
  }
  if (key) {
    const auto extra = GitSshEnv(dir + "/" + kGitSshKeyFile, dir + "/" + kGitKnownHostsFile);
    env.insert(env.end(), extra.begin(), extra.end());
  }
  return env;
}

absl::StatusOr<SourceResult> PrepareGit(const std::string& dir, const GitSource& source,
                                        const std::string& cache_dir, std::vector<std::string> env,
                                        const GitOptions& options) {
  ASSIGN_OR_RETURN(const std::string path, CheckGitPath(source.path));
  const std::string url = RedactUrls(source.url);
  if (source.url.empty() || source.url[0] == '-') {
    return absl::InvalidArgumentError("git.url \"" + url + "\" is not a repository URL");
  }
  if (source.ref.empty() || source.ref[0] == '-' ||
      source.ref.find_first_of(" \t\r\n:^~?*[\\") != std::string::npos) {
    return absl::InvalidArgumentError("git.ref \"" + source.ref +
                                      "\" is not a commit SHA or a tag");
  }

  std::error_code ec;
  fs::create_directories(cache_dir, ec);
  if (ec) return absl::InternalError("git cache " + cache_dir + ": " + ec.message());
  // One mirror per URL and credential identity: a mirror filled with one
  // caller's credentials never serves a caller with other credentials or
  // none (its commits would otherwise be exported without any access
  // check). "v2": mirrors named by the URL alone are never used again.
  const std::string key = Sha256Hex("v2\n" + source.url + "\n" + GitCredentialFingerprint(env));
  const std::string mirror = cache_dir + "/" + key + ".git";
  ASSIGN_OR_RETURN(const std::unique_ptr<FileLock> lock,
                   FileLock::Acquire(cache_dir + "/" + key + ".lock"));

  Git git(std::move(env), options);
  if (!fs::exists(mirror + "/HEAD", ec)) {
    fs::remove_all(mirror, ec);
    RETURN_IF_ERROR(git.Must({git.git(), "init", "--bare", "-q", mirror}, "git init"));
  }

  std::string commit;
  const bool is_sha = IsHex(source.ref) && (source.ref.size() == 40 || source.ref.size() == 64);
  if (is_sha &&
      git.Run({git.git(), "-C", mirror, "cat-file", "-e", source.ref + "^{commit}"}).ok()) {
    commit = source.ref;  // already fetched
  } else if (is_sha) {
    // Servers that refuse unadvertised objects: fetch the branches and tags
    // instead and look for the commit there.
    const exec::ProcessResult by_sha = git.Run({git.git(), "-C", mirror, "fetch", "-q", "--depth",
                                                "1", "--no-tags", "--", source.url, source.ref});
    if (!by_sha.ok()) {
      RETURN_IF_ERROR(git.Must({git.git(), "-C", mirror, "fetch", "-q", "--tags", "--", source.url,
                                "+refs/heads/*:refs/remotes/origin/*"},
                               "git fetch " + url));
      if (!git.Run({git.git(), "-C", mirror, "cat-file", "-e", source.ref + "^{commit}"}).ok()) {
        return absl::UnavailableError(
            Short("git fetch " + url + " " + source.ref + ": " + GitReason(by_sha)));
      }
    }
    commit = source.ref;
  } else {
    RETURN_IF_ERROR(git.Must({git.git(), "-C", mirror, "fetch", "-q", "--depth", "1", "--no-tags",
                              "--", source.url, source.ref},
                             "git fetch " + url + " " + source.ref));
    ASSIGN_OR_RETURN(
        const exec::ProcessResult r,
        git.Must({git.git(), "-C", mirror, "rev-parse", "--verify", "-q", "FETCH_HEAD^{commit}"},
                 "git rev-parse " + source.ref));
    commit = r.out.substr(0, r.out.find_first_of("\r\n"));
  }

  const std::string tree = commit + ":" + path;  // "<commit>:" is the root tree
  const exec::ProcessResult type = git.Run({git.git(), "-C", mirror, "cat-file", "-t", tree});
  if (!type.ok() || type.out.substr(0, 4) != "tree") {
    return absl::NotFoundError("git.path \"" + path + "\" is not a folder at commit " + commit +
                               " of " + url);
  }
  fs::create_directories(dir, ec);
  const std::string tar = dir + "/.source.tar";
  RETURN_IF_ERROR(
      git.Must({git.git(), "-C", mirror, "archive", "--format=tar", "--output=" + tar, tree},
               "git archive " + commit));
  const exec::ProcessResult untar = git.Run({"tar", "-xf", tar, "-C", dir, "--no-same-owner"});
  fs::remove(tar, ec);
  if (!untar.ok()) {
    return absl::UnavailableError(Short("extract " + commit + ": " + GitReason(untar)));
  }
  return SourceResult{commit};
}

}  // namespace provider
