// OpenTofu state of one Workspace in Kubernetes Secrets (see provider/API.md,
// "State and locks"). The index Secret `tfstate-<uid>` holds the current
// state (`tfstate`) and the previous versions (`tfstate.<serial>`), each
// gzip then, with a key, AES-256-GCM; annotations carry the serial, lineage,
// kept versions and the encryption in use. A version too big to sit in the
// index is split into chunk Secrets `tfstate-<uid>-<token>-<n>` (labelled
// with the uid), which the index's `chunks` entry names with their size and
// checksum. Chunks are written first, the index last (guarded by its
// resourceVersion), and chunks the index no longer names are deleted after
// it: the index never names a chunk that is missing. The index also keeps
// OpenTofu's dependency lock file (`.terraform.lock.hcl`).
#ifndef PROVIDER_WORKSPACE_STATE_STORE_H_
#define PROVIDER_WORKSPACE_STATE_STORE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
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
// Chunk Secrets carry this label ("true") and kWorkspaceUidLabel.
inline constexpr char kChunkLabel[] = "workloads.terraforming.io/state-chunk";
// The index resourceVersion a chunk's writer read ("" when there was no
// index): a writer that read another version cannot write the index any
// more, so its unnamed chunks are orphans.
inline constexpr char kBaseVersionAnnotation[] = "workloads.terraforming.io/index-version";
// The data key of the index that holds OpenTofu's dependency lock file.
inline constexpr char kLockFileKey[] = ".terraform.lock.hcl";

struct State {
  std::string json;
  int64_t serial = 0;
  std::string lineage;
  std::string checksum;           // SHA-256 of the canonical JSON
  std::vector<int64_t> versions;  // Load(): the serials of the kept previous versions
  // Load(): the dependency lock file stored with the state, if any.
  std::optional<std::string> lock_file;
};

// A state version as it is stored (gzip, then AES-256-GCM when a key is
// set), with what names it: what a backup copies.
struct SealedState {
  std::string blob;
  int64_t serial = 0;
  std::string lineage;
  std::string checksum;    // SHA-256 of the plaintext in canonical JSON
  std::string encryption;  // "aes-256-gcm" or "none"
  std::string key_id;      // KeyId of the key that sealed it ("" without)
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
    // The most one state version may take stored (gzipped, sealed).
    size_t max_state_bytes = kMaxStateBytes;
    // The most all kept versions together may take stored: the oldest are
    // dropped to stay under it.
    size_t max_stored_bytes = kMaxStoredBytes;
    // Keep the stored bytes of the current version that Load and Save see
    // (sealed()), for backups.
    bool keep_sealed = false;
  };

  // The most a Secret's data may take (Kubernetes allows 1 MiB in all).
  static constexpr size_t kMaxDataBytes = 900 * 1024;
  // The bytes of a stored version one chunk Secret holds.
  static constexpr size_t kChunkBytes = 768 * 1024;
  static constexpr size_t kMaxStateBytes = size_t{16} << 20;
  static constexpr size_t kMaxStoredBytes = size_t{64} << 20;

  StateStore(kube::Client& client, Options options);

  static std::string SecretName(const std::string& uid);
  kube::ObjectKey Key() const { return {options_.ns, SecretName(options_.uid)}; }

  // The current state; nullopt when nothing is stored. An error when it
  // cannot be read: crypto.h's (wrong or missing key: PermissionDenied,
  // FailedPrecondition; corrupt: DataLoss), named after the Secret, or the
  // API's.
  absl::StatusOr<std::optional<State>> Load();

  // The index Secret as read from the API server: nullopt when there is none.
  using IndexRead = absl::StatusOr<std::optional<kube::Json>>;
  // Reads the index Secret of the Workspace `uid` in `ns`: the first request
  // of a Load, which a caller may send alongside others (LoadFrom).
  // With `not_older_than` (a version of it this process read or wrote), the
  // read may come from the API server's watch cache.
  static IndexRead ReadIndexSecret(kube::Client& client, const std::string& ns,
                                   const std::string& uid, const std::string& not_older_than = "");
  // Load(), starting from the index Secret as ReadIndexSecret read it; what
  // it reads after that goes to the API server as Load's reads do.
  absl::StatusOr<std::optional<State>> LoadFrom(IndexRead first);

  // Stores `state_json` as the current state, with `lock_file` as the
  // dependency lock file (nullopt: keep the stored one); the previous current
  // goes into history (the last `history` versions are kept, fewer when they
  // would take more than max_stored_bytes). Writes nothing and returns false
  // when the state and lock file are unchanged and already sealed as
  // configured. Refuses (FailedPrecondition) a state whose lineage differs
  // from the stored one, unless none is stored, and one of the same lineage
  // with a lower serial than the stored one; ResourceExhausted when it takes
  // more than max_state_bytes stored. Conflicting writers are handled by
  // re-reading and retrying (Aborted after 10 conflicts).
  absl::StatusOr<bool> Save(const std::string& state_json,
                            const std::optional<std::string>& lock_file = std::nullopt);

  // Stores `lock_file` as the dependency lock file next to the stored state,
  // changing nothing else. False when it is already stored, or when no state
  // is (the first Save carries it).
  absl::StatusOr<bool> SaveLockFile(const std::string& lock_file);

  // With keep_sealed: the current version as stored, as the last Load or
  // Save saw it (nullopt before either, or when nothing is stored).
  const std::optional<SealedState>& sealed() const { return sealed_; }

  // The plaintext of a stored version (a backup's), opened with the
  // configured key or an old one. crypto.h's errors.
  absl::StatusOr<std::string> OpenSealed(const std::string& blob) const;

  // Serials of the previous versions kept, ascending.
  absl::StatusOr<std::vector<int64_t>> Versions();

  // Makes the kept version `serial` the current state; the replaced current
  // goes into history. The restored state gets the next serial (one above any
  // stored) so serials keep growing and the next run never collides with a
  // kept version. NotFound naming the serial and the available ones when it
  // is not kept.
  absl::Status Restore(int64_t serial);

  // Deletes the index Secret, then every chunk Secret of the Workspace
  // (nothing stored is fine).
  absl::Status Remove();

  // The name prefix of this Workspace's chunk Secrets.
  std::string ChunkPrefix() const { return Key().name + "-"; }

  // The resourceVersion of the index Secret as this store last read or
  // wrote it: "" before either, when none is stored, after a read that
  // failed, and after a write that failed (it may have been made all the
  // same).
  const std::string& version() const { return version_; }

 private:
  struct Entry;
  struct Index;

  IndexRead Get();
  // The index read (`given`, else from the API server) and parsed.
  absl::StatusOr<Index> ReadIndex(std::optional<IndexRead> given = std::nullopt);
  // gzip, then sealed with the key when one is configured.
  absl::StatusOr<std::string> Encode(const std::string& plaintext) const;
  // The plaintext of a stored version; errors name the Secret. `stored`
  // (optional) receives the bytes as stored.
  absl::StatusOr<std::string> Decode(const Entry& entry, bool* needs_reseal,
                                     std::string* stored = nullptr);
  // What sealed() reports for `blob`, the stored bytes of `state`, sealed
  // as configured.
  SealedState SealedAsConfigured(std::string blob, const State& state) const;
  absl::StatusOr<std::string> Unseal(std::string blob, bool* needs_reseal) const;
  // The stored bytes of a version: inline, or its chunks put together.
  absl::StatusOr<std::string> Fetch(const Entry& entry);
  // An entry holding `blob`, inline when it is small, else in chunk
  // Secrets written now (labelled with `base_version`).
  absl::StatusOr<Entry> Place(const std::string& blob, const std::string& base_version,
                              bool allow_inline);
  // Writes `current` and `history` (trimmed to the history and size limits)
  // as the index over `index.secret` (created
  // when there is none), moving versions into chunks until it fits, then
  // deletes the chunks it no longer names. The API's error as it came.
  absl::Status Commit(const Index& index, Entry current, const State& state,
                      std::map<int64_t, Entry> history, std::optional<std::string> lock_file);
  // Seals every kept version again with the current key.
  absl::Status Reseal(std::map<int64_t, Entry>& history, const std::string& base_version);
  // Deletes the chunk Secrets not in `named`, except those labelled with
  // `index_version` (a writer that read it may still name them): after each
  // index write, which also removes what a crashed writer left.
  absl::Status DeleteOrphans(const std::set<std::string>& named, const std::string& index_version);

  kube::Client& client_;
  Options options_;
  std::optional<SealedState> sealed_;
  std::string version_;
};

}  // namespace workspace

#endif  // PROVIDER_WORKSPACE_STATE_STORE_H_
