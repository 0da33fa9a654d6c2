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
  const Json latest = {{"object", record.object},   {"serial", record.serial},
                       {"lineage", record.lineage}, {"checksum", record.checksum},
                       {"sha256", record.sha256},   {"encryption", sealed.encryption},
                       {"keyId", sealed.key_id},    {"workspaceUid", uid}};
  RETURN_IF_ERROR(s3_.Put(base_ + kLatest, latest.dump(2) + "\n", {}));
  RETURN_IF_ERROR(Trim(record));
  return record;
}

absl::Status StateBackup::Trim(const BackupRecord& newest) {
  if (options_.keep <= 0) return absl::OkStatus();
  ASSIGN_OR_RETURN(const std::vector<provider::S3Object> objects, s3_.List(base_));
  std::vector<Parsed> versions;
  for (const provider::S3Object& o : objects) {
    if (std::optional<Parsed> p = ParseObject(base_, o.key)) versions.push_back(*std::move(p));
  }
  if (versions.size() <= static_cast<size_t>(options_.keep)) return absl::OkStatus();
  // Oldest first: other lineages (superseded), then the newest's by serial.
  const std::string current = newest.lineage.empty() ? "no-lineage" : newest.lineage;
  std::sort(versions.begin(), versions.end(), [&](const Parsed& a, const Parsed& b) {
    const bool a_current = a.lineage == current, b_current = b.lineage == current;
    if (a_current != b_current) return !a_current;
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

absl::StatusOr<BackupRecord> StateBackup::Latest() {
  ASSIGN_OR_RETURN(const provider::S3Got got, s3_.Get(base_ + kLatest));
  const Json latest = Json::parse(got.body, nullptr, false);
  if (latest.is_discarded() || !latest.is_object() || !latest["object"].is_string() ||
      !latest["sha256"].is_string()) {
    return absl::DataLossError(Where(options_.s3, base_ + kLatest) +
                               " is not a backup pointer (object and sha256 are required)");
  }
  return BackupRecord{latest["object"], latest.value("serial", int64_t{0}),
                      latest.value("lineage", ""), latest.value("checksum", ""), latest["sha256"]};
}

absl::StatusOr<FetchedBackup> StateBackup::Fetch(std::optional<int64_t> serial) {
  absl::StatusOr<BackupRecord> latest = Latest();
  if (!latest.ok() && !absl::IsNotFound(latest.status())) return latest.status();
  std::string object;
  if (!serial) {
    if (!latest.ok()) {
      return absl::NotFoundError("no backup of this Workspace in " +
                                 Where(options_.s3, base_ + kLatest));
    }
    object = latest->object;
  } else {
    ASSIGN_OR_RETURN(const std::vector<provider::S3Object> objects, s3_.List(base_));
    std::vector<Parsed> matches;
    for (const provider::S3Object& o : objects) {
      std::optional<Parsed> p = ParseObject(base_, o.key);
      if (p && p->serial == *serial) matches.push_back(*std::move(p));
    }
    for (const Parsed& p : matches) {
      if (latest.ok() && p.lineage == latest->lineage) object = p.key;
    }
    if (object.empty() && matches.size() == 1) object = matches[0].key;
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
