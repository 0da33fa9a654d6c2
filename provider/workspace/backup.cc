#include "provider/workspace/backup.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "common/status_macros.h"
#include "provider/common/crypto.h"

namespace workspace {
namespace {

using kube::Json;

constexpr char kLatest[] = "latest.json";
constexpr char kSuffix[] = ".tfstate";

// A version's object under a base: <lineage>/<serial>.tfstate.
struct Parsed {
  std::string key;
  std::string lineage;
  int64_t serial = 0;
};

std::optional<Parsed> ParseObject(const std::string& base, const std::string& key) {
  if (!key.starts_with(base) || !key.ends_with(kSuffix)) return std::nullopt;
  const std::string rest = key.substr(base.size(), key.size() - base.size() - 8);
  const size_t slash = rest.find('/');
  if (slash == std::string::npos || slash == 0) return std::nullopt;
  const std::string digits = rest.substr(slash + 1);
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return Parsed{key, rest.substr(0, slash), std::strtoll(digits.c_str(), nullptr, 10)};
}

std::string Where(const provider::S3Options& s3, const std::string& key) {
  return "s3://" + s3.bucket + "/" + key;
}

}  // namespace

absl::StatusOr<std::string> OpenBackup(const std::string& blob, const std::string& key_material) {
  std::string gzipped = blob;
  if (provider::IsSealed(blob)) {
    absl::StatusOr<std::string> opened = provider::Open(key_material, blob);
    if (!opened.ok() && key_material.ends_with("\n")) {
      absl::StatusOr<std::string> trimmed =
          provider::Open(key_material.substr(0, key_material.size() - 1), blob);
      if (trimmed.ok()) opened = std::move(trimmed);
    }
    if (!opened.ok()) return opened.status();
    gzipped = *std::move(opened);
  }
  ASSIGN_OR_RETURN(std::string json, provider::Gunzip(gzipped));
  RETURN_IF_ERROR(ParseState(json, false).status());
  return json;
}

StateBackup::StateBackup(BackupOptions options, const kube::ObjectKey& workspace)
    : options_(std::move(options)),
      base_(options_.prefix +
            (workspace.ns.empty() ? "cluster/" : "namespaces/" + workspace.ns + "/") +
            workspace.name + "/"),
      s3_(options_.s3) {}

std::string StateBackup::ObjectKey(const std::string& lineage, int64_t serial) const {
  char digits[32];
  std::snprintf(digits, sizeof(digits), "%012lld", static_cast<long long>(serial));
  return base_ + (lineage.empty() ? "no-lineage" : lineage) + "/" + digits + kSuffix;
}

absl::StatusOr<BackupRecord> StateBackup::Upload(const SealedState& sealed,
                                                 const std::string& uid) {
  // latest.json of another lineage, written by another Workspace and not
  // marked deleted: two Workspaces of one name back up here (two clusters
  // sharing a prefix), or an earlier one's history stands. Neither is
  // replaced silently.
  absl::StatusOr<Pointer> latest = Latest();
  if (!latest.ok() && !absl::IsNotFound(latest.status())) return latest.status();
  if (latest.ok() && !latest->deleted && latest->record.lineage != sealed.lineage &&
      latest->uid != uid) {
    return absl::FailedPreconditionError(
        Where(options_.s3, base_ + kLatest) + " belongs to state lineage " +
        latest->record.lineage + " (Workspace uid " + latest->uid + "), not this state's " +
        sealed.lineage +
        ": another Workspace of this name backs up here (clusters sharing a prefix?) or an "
        "earlier one's backups remain. Give the ProviderConfig its own prefix, restore from "
        "that backup, or delete latest.json to start a new history there");
  }
  BackupRecord record{ObjectKey(sealed.lineage, sealed.serial), sealed.serial, sealed.lineage,
                      sealed.checksum, provider::Sha256Hex(sealed.blob)};
  RETURN_IF_ERROR(s3_.Put(record.object, sealed.blob,
                          {{"serial", std::to_string(sealed.serial)},
                           {"lineage", sealed.lineage},
                           {"checksum", sealed.checksum},
                           {"sha256", record.sha256},
                           {"encryption", sealed.encryption},
                           {"key-id", sealed.key_id},
                           {"workspace-uid", uid}}));
  const Json pointer = {{"object", record.object},   {"serial", record.serial},
                        {"lineage", record.lineage}, {"checksum", record.checksum},
                        {"sha256", record.sha256},   {"encryption", sealed.encryption},
                        {"keyId", sealed.key_id},    {"workspaceUid", uid}};
  RETURN_IF_ERROR(s3_.Put(base_ + kLatest, pointer.dump(2) + "\n", {}));
  RETURN_IF_ERROR(Trim(record));
  return record;
}

absl::Status StateBackup::Trim(const BackupRecord& newest) {
  if (options_.keep <= 0) return absl::OkStatus();
  // Only the newest's lineage: another lineage's objects are another
  // state's history, never this one's to drop.
  const std::string lineage = newest.lineage.empty() ? "no-lineage" : newest.lineage;
  ASSIGN_OR_RETURN(const std::vector<provider::S3Object> objects, s3_.List(base_ + lineage + "/"));
  std::vector<Parsed> versions;
  for (const provider::S3Object& o : objects) {
    if (std::optional<Parsed> p = ParseObject(base_, o.key)) versions.push_back(*std::move(p));
  }
  if (versions.size() <= static_cast<size_t>(options_.keep)) return absl::OkStatus();
  std::sort(versions.begin(), versions.end(), [](const Parsed& a, const Parsed& b) {
    return a.serial != b.serial ? a.serial < b.serial : a.key < b.key;
  });
  for (size_t i = 0; i + options_.keep < versions.size(); ++i) {
    if (versions[i].key == newest.object) continue;
    RETURN_IF_ERROR(s3_.Delete(versions[i].key));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> StateBackup::Present(const BackupRecord& record) {
  ASSIGN_OR_RETURN(const auto metadata, s3_.Head(record.object));
  if (!metadata) return false;
  const auto sha = metadata->find("sha256");
  return sha != metadata->end() && sha->second == record.sha256;
}

absl::StatusOr<StateBackup::Pointer> StateBackup::Latest() {
  ASSIGN_OR_RETURN(const provider::S3Got got, s3_.Get(base_ + kLatest));
  const Json latest = Json::parse(got.body, nullptr, false);
  auto text = [&](const char* name) -> std::string {
    const auto it = latest.find(name);
    return it != latest.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (!latest.is_object() || text("object").empty() || text("sha256").empty()) {
    return absl::DataLossError(Where(options_.s3, base_ + kLatest) +
                               " is not a backup pointer (object and sha256 are required)");
  }
  Pointer p;
  p.record = BackupRecord{text("object"), 0, text("lineage"), text("checksum"), text("sha256")};
  if (const auto serial = latest.find("serial");
      serial != latest.end() && serial->is_number_integer()) {
    p.record.serial = serial->get<int64_t>();
  }
  p.uid = text("workspaceUid");
  const auto deleted = latest.find("deleted");
  p.deleted = deleted != latest.end() && deleted->is_boolean() && deleted->get<bool>();
  return p;
}

absl::Status StateBackup::MarkDeleted(const std::string& lineage) {
  absl::StatusOr<Pointer> latest = Latest();
  if (absl::IsNotFound(latest.status())) return absl::OkStatus();
  RETURN_IF_ERROR(latest.status());
  if (latest->deleted || latest->record.lineage != lineage) return absl::OkStatus();
  const Json marked = {{"object", latest->record.object},
                       {"serial", latest->record.serial},
                       {"lineage", latest->record.lineage},
                       {"checksum", latest->record.checksum},
                       {"sha256", latest->record.sha256},
                       {"workspaceUid", latest->uid},
                       {"deleted", true}};
  return s3_.Put(base_ + kLatest, marked.dump(2) + "\n", {});
}

absl::StatusOr<FetchedBackup> StateBackup::Fetch(std::optional<int64_t> serial) {
  absl::StatusOr<Pointer> pointer = Latest();
  if (!pointer.ok() && !absl::IsNotFound(pointer.status())) return pointer.status();
  std::optional<BackupRecord> latest;
  if (pointer.ok()) latest = pointer->record;
  std::string object;
  int64_t highest = 0;
  if (!serial) {
    if (!latest) {
      return absl::NotFoundError("no backup of this Workspace in " +
                                 Where(options_.s3, base_ + kLatest));
    }
    if (pointer->deleted) {
      return absl::NotFoundError(
          "the Workspace backed up in " + Where(options_.s3, base_) +
          " was deleted after destroying everything; name a serial to restore one of its "
          "versions all the same");
    }
    object = latest->object;
    highest = latest->serial;
  } else {
    ASSIGN_OR_RETURN(const std::vector<provider::S3Object> objects, s3_.List(base_));
    std::vector<Parsed> matches;
    for (const provider::S3Object& o : objects) {
      std::optional<Parsed> p = ParseObject(base_, o.key);
      if (p && p->serial == *serial) matches.push_back(*std::move(p));
    }
    std::string lineage;
    for (const Parsed& p : matches) {
      if (latest && p.lineage == latest->lineage) object = p.key, lineage = p.lineage;
    }
    if (object.empty() && matches.size() == 1)
      object = matches[0].key, lineage = matches[0].lineage;
    for (const provider::S3Object& o : objects) {
      const std::optional<Parsed> p = ParseObject(base_, o.key);
      if (p && p->lineage == lineage) highest = std::max(highest, p->serial);
    }
    if (object.empty()) {
      return matches.empty()
                 ? absl::NotFoundError("no backup of serial " + std::to_string(*serial) + " in " +
                                       Where(options_.s3, base_))
                 : absl::FailedPreconditionError(
                       "serial " + std::to_string(*serial) + " is backed up in " +
                       std::to_string(matches.size()) + " lineages under " +
                       Where(options_.s3, base_) + ", none the latest's");
    }
  }
  ASSIGN_OR_RETURN(provider::S3Got got, s3_.Get(object));
  auto meta = [&](const std::string& name) {
    const auto it = got.metadata.find(name);
    return it == got.metadata.end() ? std::string() : it->second;
  };
  FetchedBackup fetched;
  fetched.record = BackupRecord{object, std::strtoll(meta("serial").c_str(), nullptr, 10),
                                meta("lineage"), meta("checksum"), meta("sha256")};
  const std::string actual = provider::Sha256Hex(got.body);
  fetched.highest_serial = std::max(highest, fetched.record.serial);
  if (fetched.record.sha256.empty() || actual != fetched.record.sha256 ||
      (!serial && actual != latest->sha256)) {
    return absl::DataLossError(Where(options_.s3, object) + ": its bytes have SHA-256 " + actual +
                               ", not the " + fetched.record.sha256 +
                               " recorded when it was backed up");
  }
  fetched.blob = std::move(got.body);
  return fetched;
}

}  // namespace workspace
