// Sources from Git: a folder of a repository at a pinned ref, exported into
// a working folder, and the credentials git uses to fetch it. Kind-neutral:
// Workspaces and AnsibleRuns both fetch their sources this way.
#ifndef PROVIDER_COMMON_SOURCE_H_
#define PROVIDER_COMMON_SOURCE_H_

#include <atomic>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace provider {

struct SourceResult {
  std::string commit;  // Git: the resolved commit; "" for inline
};

struct GitSource {
  std::string url;   // https, ssh or file
  std::string ref;   // a commit SHA or a tag
  std::string path;  // folder inside the repository ("" = its root); no ".."
};

struct GitOptions {
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  const std::atomic<bool>* cancel = nullptr;
  std::string git = "git";  // the git binary (looked up in the PATH of env)
};

// The file name a ProviderConfig credential takes to be git's credentials
// (git's credential-store format: https://user:token@host, one a line).
inline constexpr char kGitCredentialsFile[] = ".git-credentials";

// Environment that makes git read its credentials from `credentials_file`
// (credential.helper "store --file=..." through GIT_CONFIG_COUNT, so no
// configuration file is written and nothing shows on a command line).
std::vector<std::string> GitCredentialEnv(const std::string& credentials_file);

// The file names ProviderConfig credentials take to be git's SSH key (an
// OpenSSH private key without a passphrase) and the host keys git's ssh
// trusts (known_hosts format). A key needs the host keys: no host is trusted
// on first use.
inline constexpr char kGitSshKeyFile[] = ".git-ssh-key";
inline constexpr char kGitKnownHostsFile[] = ".git-known-hosts";

// Environment that makes git's ssh authenticate with `key_file` only (no
// agent, no user or system configuration, no prompt) and trust only the
// hosts in `known_hosts_file`, through GIT_SSH_COMMAND.
std::vector<std::string> GitSshEnv(const std::string& key_file,
                                   const std::string& known_hosts_file);

// Writes the files a ProviderConfig puts in the working folder `dir` (0600)
// and returns what git's environment needs for those that are git's:
// GitCredentialEnv for kGitCredentialsFile, GitSshEnv for kGitSshKeyFile.
// InvalidArgument when a key comes without kGitKnownHostsFile; a file that
// cannot be written is WritePrivateFile's error.
absl::StatusOr<std::vector<std::string>> WriteCredentialFiles(
    const std::string& dir, const std::vector<std::pair<std::string, std::string>>& files);

// A fingerprint of the credentials git's environment `env` gives it: the
// SHA-256 of its GIT_* and SSH_* entries (not GIT_AUTHOR_* and
// GIT_COMMITTER_*), where the files that GitCredentialEnv and GitSshEnv name
// count by their content, not their path. "" when there are none.
std::string GitCredentialFingerprint(const std::vector<std::string>& env);

// Fetches `ref` (depth 1) into a bare mirror per URL and credential identity
// under cache_dir (named by the SHA-256 of the URL and
// GitCredentialFingerprint(env), guarded by an flock so workspaces sharing
// them take turns): a mirror filled with some credentials is never read for a
// caller with other credentials or none. Then it exports the folder `path` of the resolved commit
// into `dir` (the contents of `path` become the root of `dir`). `env` is git's environment
// (credentials helpers, SSH settings, HOME); GIT_TERMINAL_PROMPT=0 is added.
// An error has a short message, credentials in URLs redacted:
// InvalidArgument for a bad url, ref or path, NotFound when the path is not
// a folder at that commit, Unavailable when git fails (the reason is git's).
absl::StatusOr<SourceResult> PrepareGit(const std::string& dir, const GitSource& source,
                                        const std::string& cache_dir, std::vector<std::string> env,
                                        const GitOptions& options = {});

// Checks a repository folder: relative, no ".." component. Returns it
// normalised ("" for the root; no "./" or trailing "/"); InvalidArgument
// otherwise.
absl::StatusOr<std::string> CheckGitPath(const std::string& path);

}  // namespace provider

#endif  // PROVIDER_COMMON_SOURCE_H_
