// Backups of Workspace state to S3-compatible object storage (a
// ProviderConfig's spec.state.backup; see provider/API.md, "State backups").
// Each version is copied as it is stored, gzipped and sealed, so the bucket
// never sees plaintext state when a key is set. A Workspace's objects live
// under <prefix><scope>/<name>/, where scope is "cluster" for a
// cluster-scoped Workspace and "namespaces/<namespace>" for a namespaced one,
// so a Workspace re-created with the same name (in a rebuilt cluster, with a
// new uid) finds them:
//   <lineage>/<serial, 12 digits>.tfstate   one per version, with metadata
//                                            (serial, lineage, checksum,
//                                            sha256, encryption, key-id)
//   latest.json                              the version uploaded last
// Retention keeps the newest `keep` versions of the current lineage; the
// objects of another lineage are left alone.
#ifndef PROVIDER_WORKSPACE_BACKUP_H_
#define PROVIDER_WORKSPACE_BACKUP_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "provider/common/s3.h"
#include "provider/kube/client.h"
#include "provider/workspace/state_store.h"

namespace workspace {

struct BackupOptions {
  provider::S3Options s3;
  std::string prefix;  // "" or ending in "/"
  int keep = 30;       // versions kept for each Workspace; 0 keeps all
  // How often the newest backup is checked to still be in the bucket (and
  // uploaded again when it is not).
  std::chrono::milliseconds interval{std::chrono::hours(1)};
  // A Workspace with no state of its own takes its latest backup.
  bool restore_if_missing = false;
};

// One backed-up version.
struct BackupRecord {
  std::string object;  // its key in the bucket
  int64_t serial = 0;
  std::string lineage;
  std::string checksum;  // of the plaintext (StateStore's)
  std::string sha256;    // of the stored bytes
};

// A version fetched from the bucket, its bytes checked against the SHA-256
// recorded when it was uploaded.
struct FetchedBackup {
  BackupRecord record;
  std::string blob;
  // The highest serial backed up in its lineage: a restored older version
  // must be stored above it, or the next save would overwrite a newer copy.
  int64_t highest_serial = 0;
};

// The state JSON of a backup object's bytes, outside any cluster (disaster
// recovery: `provider-workloads --open-backup=<file> --open-backup-key-file=
// <file>`): opened with `key_material` when sealed (also tried without one
// trailing newline, which a key file written by hand often has), then
// gunzipped. crypto.h's errors; DataLoss when the result is not a state.
absl::StatusOr<std::string> OpenBackup(const std::string& blob, const std::string& key_material);

class StateBackup {
 public:
  StateBackup(BackupOptions options, const kube::ObjectKey& workspace);

  // Where the Workspace's objects go (ends in "/").
  const std::string& base() const { return base_; }
  const BackupOptions& options() const { return options_; }

  // Copies `sealed` to the bucket, points latest.json at it, then drops the
  // versions of its lineage retention no longer keeps. FailedPrecondition
  // when latest.json names another lineage written by another Workspace
  // (`uid`) and not marked deleted. Errors name the bucket and object.
  absl::StatusOr<BackupRecord> Upload(const SealedState& sealed, const std::string& uid);

  // Whether `record`'s object is still in the bucket with its checksum.
  absl::StatusOr<bool> Present(const BackupRecord& record);

  // Marks latest.json deleted when it names `lineage` (the Workspace
  // destroyed everything and its state is gone): a Workspace of the same
  // name later starts anew instead of taking it back, and may back up a
  // new lineage there. The objects stay until retention or lifecycle rules
  // remove them.
  absl::Status MarkDeleted(const std::string& lineage);

  // The latest version (serial nullopt) or the one of `serial` (in the
  // latest's lineage when several lineages hold it). NotFound when the bucket
  // holds none, or when latest.json is marked deleted and no serial is
  // named; DataLoss when the bytes do not match their SHA-256.
  absl::StatusOr<FetchedBackup> Fetch(std::optional<int64_t> serial = std::nullopt);

 private:
  // What latest.json says.
  struct Pointer {
    BackupRecord record;
    std::string uid;  // the Workspace that wrote it
    bool deleted = false;
  };
  std::string ObjectKey(const std::string& lineage, int64_t serial) const;
  // NotFound when there is none; DataLoss when it is not a pointer.
  absl::StatusOr<Pointer> Latest();
  absl::Status Trim(const BackupRecord& newest);

  BackupOptions options_;
  std::string base_;
  provider::S3Client s3_;
};

}  // namespace workspace

#endif  // PROVIDER_WORKSPACE_BACKUP_H_
