// OpenTofu state of one Workspace in a Kubernetes Secret (see provider/API.md,
// "State and locks"): Secret `tfstate-<uid>`, data `tfstate` (current) and
// `tfstate.<serial>` (previous versions), each gzip then, with a key,
// AES-256-GCM; annotations carry the serial, lineage, kept versions and the
// encryption in use.
#ifndef PROVIDER_WORKSPACE_STATE_STORE_H_
#define PROVIDER_WORKSPACE_STATE_STORE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "provider/kube/client.h"

namespace workspace {

inline constexpr char kStateLabel[] = "workloads.terraforming.io/state";
inline constexpr char kWorkspaceUidLabel[] = "workloads.terraforming.io/workspace-uid";
inline constexpr char kSerialAnnotation[] = "workloads.terraforming.io/serial";
inline constexpr char kLineageAnnotation[] = "workloads.terraforming.io/lineage";
inline constexpr char kVersionsAnnotation[] = "workloads.terraforming.io/versions";
inline constexpr char kEncryptionAnnotation[] = "workloads.terraforming.io/encryption";
// SHA-256 of the current state in canonical JSON: whether a save changes
// anything is known without decrypting what is stored.
// Which key sealed the data: a fingerprint (a hash of a hash of the key
// material), so a changed key is noticed without trying to decrypt.
inline constexpr char kKeyIdAnnotation[] = "workloads.terraforming.io/key-id";
inline constexpr char kChecksumAnnotation[] = "workloads.terraforming.io/checksum";

struct State {
  std::string json;
  int64_t serial = 0;
  std::string lineage;
  std::string checksum;           // SHA-256 of the canonical JSON
  std::vector<int64_t> versions;  // Load(): the serials of the kept previous versions
};

// The serial and lineage of an OpenTofu state document (0 and "" when absent);
// DataLoss when it is not a JSON object.
// Without `with_checksum` the checksum stays empty (it costs a canonical dump
// and a hash, which only a save needs).
absl::StatusOr<State> ParseState(const std::string& state_json, bool with_checksum = true);
// The fingerprint of key material written to kKeyIdAnnotation.
std::string KeyId(const std::string& key_material);

class StateStore {
 public:
  struct Options {
    std::string ns;                  // the state namespace
    std::string uid;                 // the Workspace's uid
    int history = 5;                 // previous versions kept (0-20)
    std::optional<std::string> key;  // encryption key material; none = plain gzip
    // Earlier key material still accepted when reading (key rotation, or
    // turning encryption off): the next Save re-seals everything with `key`.
    std::vector<std::string> old_keys;
    // Added to the Secret (who owns it: the Workspace's kind, namespace, name).
    std::map<std::string, std::string> annotations;
  };

  // The most a Secret's data may take (Kubernetes allows 1 MiB in all).
  static constexpr size_t kMaxDataBytes = 900 * 1024;

  StateStore(kube::Client& client, Options options);

  static std::string SecretName(const std::string& uid);
  kube::ObjectKey Key() const { return {options_.ns, SecretName(options_.uid)}; }

  // The current state; nullopt when nothing is stored. An error when it
  // cannot be read: crypto.h's (wrong or missing key: PermissionDenied,
  // FailedPrecondition; corrupt: DataLoss), named after the Secret, or the
  // API's.
  absl::StatusOr<std::optional<State>> Load();

  // Stores `state_json` as the current state; the previous current goes into
  // history (the last `history` versions are kept, fewer when the Secret would
  // exceed kMaxDataBytes). Writes nothing and returns false when the state is
  // unchanged and already sealed as configured. Refuses (FailedPrecondition)
  // a state whose lineage differs from the stored one, unless none is stored,
  // and one of the same lineage with a lower serial than the stored one;
  // ResourceExhausted when it does not fit in a Secret. Conflicting writers
  // are handled by re-reading and retrying (Aborted after 10 conflicts).
  absl::StatusOr<bool> Save(const std::string& state_json);

  // Serials of the previous versions kept, ascending.
  absl::StatusOr<std::vector<int64_t>> Versions();

  // Makes the kept version `serial` the current state; the replaced current
  // goes into history. The restored state gets the next serial (one above any
  // stored) so serials keep growing and the next run never collides with a
  // kept version. NotFound naming the serial and the available ones when it
  // is not kept.
  absl::Status Restore(int64_t serial);

  // Deletes the Secret (nothing stored is fine).
  absl::Status Remove();

 private:
  absl::StatusOr<std::optional<kube::Json>> Get();
  absl::StatusOr<std::string> Encode(const std::string& plaintext) const;
  // The plaintext of a data value; errors name the Secret.
  absl::StatusOr<std::string> Decode(const std::string& b64, bool* needs_reseal) const;
  absl::StatusOr<std::string> Unseal(const std::string& b64, bool* needs_reseal) const;
  // Writes `plaintext` as the current state over `existing` (creates the
  // Secret when null), with `history`; the API's error as it came.
  absl::Status Put(const kube::Json* existing, const std::string& plaintext, const State& state,
                   std::map<int64_t, std::string> history);
  // Seals every kept version again with the current key.
  absl::Status Reseal(std::map<int64_t, std::string>& history) const;
  absl::StatusOr<kube::Json> Build(const kube::Json* existing, const std::string& current,
                                   const State& state,
                                   std::map<int64_t, std::string> history) const;

  kube::Client& client_;
  Options options_;
};

}  // namespace workspace

#endif  // PROVIDER_WORKSPACE_STATE_STORE_H_
