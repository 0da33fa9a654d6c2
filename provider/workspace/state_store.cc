#include "provider/workspace/state_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <utility>

#include "common/status_macros.h"
#include "provider/common/crypto.h"
#include "provider/kube/resources.h"

namespace workspace {
namespace {

using kube::Json;

constexpr char kCurrentKey[] = "tfstate";
constexpr char kHistoryPrefix[] = "tfstate.";
// The index's list of versions kept in chunk Secrets: JSON, {"<data key>":
// {"secrets": [names in order], "size": stored bytes, "sha256": of them}}.
constexpr char kChunksKey[] = "chunks";
// A chunk Secret's data key.
constexpr char kChunkKey[] = "chunk";
// Room left in the index for the chunk list and the lock file when deciding
// whether a version sits in it.
constexpr size_t kIndexReserve = 64 * 1024;
constexpr int kAttempts = 10;

// The serial of a history data key ("tfstate.12" -> 12), or nullopt.
std::optional<int64_t> HistorySerial(const std::string& key) {
  const std::string prefix = kHistoryPrefix;
  if (key.size() <= prefix.size() || key.compare(0, prefix.size(), prefix) != 0) {
    return std::nullopt;
  }
  const std::string digits = key.substr(prefix.size());
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      digits.size() > 18) {
    return std::nullopt;
  }
  return std::stoll(digits);
}

std::string HistoryKey(int64_t serial) { return kHistoryPrefix + std::to_string(serial); }

// The bytes a Secret's data takes, keys and (base64) values.
size_t DataSize(const Json& data) {
  size_t size = 0;
  for (const auto& [k, v] : data.items()) {
    size += k.size();
    if (v.is_string()) size += v.get_ref<const std::string&>().size();
  }
  return size;
}

std::string RandomToken() {
  std::random_device rd;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x%02x", rd(), rd() & 0xff);
  return buf;
}

std::string Annotation(const Json& secret, const std::string& name) {
  const Json annotations = secret["metadata"].value("annotations", Json::object());
  const auto it = annotations.find(name);
  return it != annotations.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string JoinSerials(const std::vector<int64_t>& serials) {
  std::string out;
  for (int64_t s : serials) {
    if (!out.empty()) out += ",";
    out += std::to_string(s);
  }
  return out;
}

}  // namespace

// One stored version: inline in the index (its data value), or in chunk
// Secrets.
struct StateStore::Entry {
  std::string inline_b64;
  std::vector<std::string> chunks;  // chunk Secret names, in order
  size_t size = 0;                  // stored bytes
  std::string sha256;               // chunked: of the stored bytes
  bool chunked() const { return !chunks.empty(); }
};

// What the index Secret holds.
struct StateStore::Index {
  std::optional<Json> secret;  // none: nothing is stored
  std::optional<Entry> current;
  std::map<int64_t, Entry> history;
  std::optional<std::string> lock_file;
  std::string version;  // its resourceVersion ("" when there is none)
};

std::string KeyId(const std::string& key_material) {
  return provider::Sha256Hex("key-id:" + provider::Sha256Hex(key_material)).substr(0, 16);
}

absl::StatusOr<State> ParseState(const std::string& state_json, bool with_checksum) {
  const Json doc = Json::parse(state_json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::DataLossError("the state is not a JSON object");
  }
  State s;
  s.json = state_json;
  if (const auto it = doc.find("serial"); it != doc.end() && it->is_number_integer()) {
    s.serial = it->get<int64_t>();
  }
  if (const auto it = doc.find("lineage"); it != doc.end() && it->is_string()) {
    s.lineage = it->get<std::string>();
  }
  if (with_checksum) s.checksum = provider::Sha256Hex(doc.dump());
  return s;
}

StateStore::StateStore(kube::Client& client, Options options)
    : client_(client), options_(std::move(options)) {
  options_.history = std::clamp(options_.history, 0, 20);
  if (options_.key && options_.key->empty()) options_.key.reset();
}

std::string StateStore::SecretName(const std::string& uid) { return "tfstate-" + uid; }

StateStore::IndexRead StateStore::ReadIndexSecret(kube::Client& client, const std::string& ns,
                                                  const std::string& uid,
                                                  const std::string& not_older_than) {
  const kube::ObjectKey key{ns, SecretName(uid)};
  absl::StatusOr<Json> secret = not_older_than.empty()
                                    ? client.Get(kube::kSecrets, key)
                                    : client.GetNotOlderThan(kube::kSecrets, key, not_older_than);
  if (secret.ok()) return std::optional<Json>(*std::move(secret));
  if (kube::IsNotFound(secret.status())) return std::optional<Json>();
  return secret.status();
}

StateStore::IndexRead StateStore::Get() {
  return ReadIndexSecret(client_, options_.ns, options_.uid);
}

absl::StatusOr<StateStore::Index> StateStore::ReadIndex(std::optional<IndexRead> given) {
  version_.clear();
  Index index;
  ASSIGN_OR_RETURN(index.secret, given ? *std::move(given) : Get());
  if (!index.secret) return index;
  const Json& secret = *index.secret;
  index.version = secret["metadata"].value("resourceVersion", "");
  version_ = index.version;
  const Json data = secret.value("data", Json::object());
  auto corrupt = [&](const std::string& what) {
    return absl::DataLossError("state Secret " + Key().String() + ": " + what);
  };
  auto add = [&](const std::string& key, Entry entry) {
    if (key == kCurrentKey) {
      index.current = std::move(entry);
    } else if (const auto serial = HistorySerial(key)) {
      index.history[*serial] = std::move(entry);
    }
  };
  for (const auto& [k, v] : data.items()) {
    if (!v.is_string() || (k != kCurrentKey && !HistorySerial(k))) continue;
    Entry entry;
    entry.inline_b64 = v.get<std::string>();
    entry.size = entry.inline_b64.size() / 4 * 3;
    add(k, std::move(entry));
  }
  if (data.contains(kChunksKey)) {
    if (!data[kChunksKey].is_string()) return corrupt("its chunk list is not a string");
    const absl::StatusOr<std::string> text =
        provider::Base64Decode(data[kChunksKey].get<std::string>());
    if (!text.ok()) return corrupt("its chunk list is not base64");
    const Json list = Json::parse(*text, nullptr, false);
    if (list.is_discarded() || !list.is_object()) return corrupt("its chunk list is not JSON");
    for (const auto& [k, v] : list.items()) {
      Entry entry;
      if (!v.is_object() || !v.contains("secrets") || !v["secrets"].is_array() ||
          v["secrets"].empty() || !v.value("size", Json()).is_number_unsigned() ||
          !v.value("sha256", Json()).is_string()) {
        return corrupt("the chunk list entry of " + k + " is malformed");
      }
      for (const auto& name : v["secrets"]) {
        if (!name.is_string()) return corrupt("the chunk list entry of " + k + " is malformed");
        entry.chunks.push_back(name.get<std::string>());
      }
      entry.size = v["size"].get<size_t>();
      entry.sha256 = v["sha256"].get<std::string>();
      add(k, std::move(entry));
    }
  }
  if (data.contains(kLockFileKey) && data[kLockFileKey].is_string()) {
    absl::StatusOr<std::string> lock =
        provider::Base64Decode(data[kLockFileKey].get<std::string>());
    if (!lock.ok()) return corrupt(std::string("its ") + kLockFileKey + " is not base64");
    index.lock_file = *std::move(lock);
  }
  return index;
}

absl::StatusOr<std::string> StateStore::Encode(const std::string& plaintext) const {
  ASSIGN_OR_RETURN(std::string blob, provider::Gzip(plaintext));
  if (options_.key) {
    ASSIGN_OR_RETURN(blob, provider::Seal(*options_.key, blob));
  }
  return blob;
}

absl::StatusOr<std::string> StateStore::Fetch(const Entry& entry) {
  if (!entry.chunked()) {
    absl::StatusOr<std::string> decoded = provider::Base64Decode(entry.inline_b64);
    if (!decoded.ok()) return absl::DataLossError("state is corrupt (not base64)");
    return decoded;
  }
  std::string blob;
  blob.reserve(entry.size);
  for (const std::string& name : entry.chunks) {
    const absl::StatusOr<Json> chunk = client_.Get(kube::kSecrets, {options_.ns, name});
    if (kube::IsNotFound(chunk.status())) {
      return absl::DataLossError("chunk Secret " + name + " is missing");
    }
    RETURN_IF_ERROR(chunk.status());
    const Json data = chunk->value("data", Json::object());
    if (!data.contains(kChunkKey) || !data[kChunkKey].is_string()) {
      return absl::DataLossError("chunk Secret " + name + " holds no chunk");
    }
    absl::StatusOr<std::string> part = provider::Base64Decode(data[kChunkKey].get<std::string>());
    if (!part.ok()) return absl::DataLossError("chunk Secret " + name + " is not base64");
    blob += *part;
  }
  if (blob.size() != entry.size || provider::Sha256Hex(blob) != entry.sha256) {
    return absl::DataLossError("the chunks " + entry.chunks.front() +
                               "... do not add up to what the index recorded");
  }
  return blob;
}

absl::StatusOr<std::string> StateStore::Decode(const Entry& entry, bool* needs_reseal,
                                               std::string* stored) {
  absl::StatusOr<std::string> blob = Fetch(entry);
  if (blob.ok() && stored != nullptr) *stored = *blob;
  if (blob.ok()) blob = Unseal(*std::move(blob), needs_reseal);
  if (blob.ok()) return blob;
  return absl::Status(blob.status().code(), "state Secret " + Key().String() + ": " +
                                                std::string(blob.status().message()));
}

absl::StatusOr<std::string> StateStore::OpenSealed(const std::string& blob) const {
  bool reseal = false;
  return Unseal(blob, &reseal);
}

SealedState StateStore::SealedAsConfigured(std::string blob, const State& state) const {
  return SealedState{std::move(blob),
                     state.serial,
                     state.lineage,
                     state.checksum,
                     options_.key ? "aes-256-gcm" : "none",
                     options_.key ? KeyId(*options_.key) : ""};
}

absl::StatusOr<std::string> StateStore::Unseal(std::string blob, bool* needs_reseal) const {
  if (provider::IsSealed(blob)) {
    std::vector<std::string> keys;
    if (options_.key) keys.push_back(*options_.key);
    keys.insert(keys.end(), options_.old_keys.begin(), options_.old_keys.end());
    if (keys.empty()) return provider::Open("", blob).status();  // no key is configured
    absl::Status first_error;
    bool opened = false;
    for (size_t i = 0; i < keys.size() && !opened; ++i) {
      absl::StatusOr<std::string> open = provider::Open(keys[i], blob);
      if (open.ok()) {
        blob = *std::move(open);
        opened = true;
        if (i > 0 || !options_.key) *needs_reseal = true;
      } else if (first_error.ok()) {
        first_error = open.status();
      }
    }
    if (!opened) return first_error;
  } else if (options_.key) {
    *needs_reseal = true;
  }
  if (!blob.empty() && blob[0] == '{') return blob;  // plain JSON, written by hand
  return provider::Gunzip(blob);
}

absl::StatusOr<StateStore::Entry> StateStore::Place(const std::string& blob,
                                                    const std::string& base_version,
                                                    bool allow_inline) {
  Entry entry;
  entry.size = blob.size();
  const size_t inline_limit =
      (kMaxDataBytes - kIndexReserve) / static_cast<size_t>(options_.history + 1);
  if (allow_inline && (blob.size() + 2) / 3 * 4 <= inline_limit) {
    entry.inline_b64 = provider::Base64Encode(blob);
    return entry;
  }
  entry.sha256 = provider::Sha256Hex(blob);
  const std::string token = RandomToken();
  Json labels = {{kChunkLabel, "true"}, {kWorkspaceUidLabel, options_.uid}};
  Json annotations = Json::object();
  for (const auto& [k, v] : options_.annotations) annotations[k] = v;
  annotations[kBaseVersionAnnotation] = base_version;
  for (size_t offset = 0, n = 0; offset < blob.size(); offset += kChunkBytes, ++n) {
    const std::string name = ChunkPrefix() + token + "-" + std::to_string(n);
    const Json chunk = {
        {"apiVersion", "v1"},
        {"kind", "Secret"},
        {"metadata",
         {{"name", name},
          {"namespace", options_.ns},
          {"labels", labels},
          {"annotations", annotations}}},
        {"type", "Opaque"},
        {"immutable", true},
        {"data", {{kChunkKey, provider::Base64Encode(blob.substr(offset, kChunkBytes))}}}};
    const absl::Status created = client_.Create(kube::kSecrets, chunk).status();
    if (!created.ok()) {
      return absl::Status(created.code(), "cannot write chunk Secret " + options_.ns + "/" + name +
                                              ": " + std::string(created.message()));
    }
    entry.chunks.push_back(name);
  }
  return entry;
}

absl::Status StateStore::Commit(const Index& index, Entry current, const State& state,
                                std::map<int64_t, Entry> history,
                                std::optional<std::string> lock_file) {
  while (history.size() > static_cast<size_t>(options_.history)) history.erase(history.begin());
  auto stored = [&]() {
    size_t size = current.size;
    for (const auto& [serial, entry] : history) size += entry.size;
    return size;
  };
  while (stored() > options_.max_stored_bytes && !history.empty()) {
    spdlog::warn("state Secret {}: dropping state version {} to keep all versions under {} MiB",
                 Key().String(), history.begin()->first, options_.max_stored_bytes >> 20);
    history.erase(history.begin());
  }

  // The index: versions that fit inline, a list of the others' chunks.
  auto build_data = [&]() {
    Json data = Json::object();
    Json chunks = Json::object();
    auto put = [&](const std::string& key, const Entry& entry) {
      if (entry.chunked()) {
        chunks[key] = {{"secrets", entry.chunks}, {"size", entry.size}, {"sha256", entry.sha256}};
      } else {
        data[key] = entry.inline_b64;
      }
    };
    put(kCurrentKey, current);
    for (const auto& [serial, entry] : history) put(HistoryKey(serial), entry);
    if (!chunks.empty()) data[kChunksKey] = provider::Base64Encode(chunks.dump());
    if (lock_file) data[kLockFileKey] = provider::Base64Encode(*lock_file);
    return data;
  };
  Json data = build_data();
  while (DataSize(data) > kMaxDataBytes) {
    // Moves the biggest version still inline into chunks.
    Entry* biggest = current.chunked() ? nullptr : &current;
    for (auto& [serial, entry] : history) {
      if (!entry.chunked() && (biggest == nullptr || entry.size > biggest->size)) {
        biggest = &entry;
      }
    }
    if (biggest == nullptr) {
      return absl::ResourceExhaustedError("state Secret " + Key().String() + ": the index takes " +
                                          std::to_string(DataSize(data) / 1024) +
                                          " KiB, more than a Secret may hold (" +
                                          std::to_string(kMaxDataBytes / 1024) + " KiB)");
    }
    ASSIGN_OR_RETURN(const std::string blob, Fetch(*biggest));
    ASSIGN_OR_RETURN(*biggest, Place(blob, index.version, false));
    data = build_data();
  }

  Json secret = index.secret ? *index.secret
                             : Json{{"apiVersion", "v1"},
                                    {"kind", "Secret"},
                                    {"metadata", {{"name", Key().name}, {"namespace", Key().ns}}}};
  secret["type"] = "Opaque";
  Json& meta = secret["metadata"];
  meta["labels"][kStateLabel] = "true";
  meta["labels"][kWorkspaceUidLabel] = options_.uid;
  for (const auto& [k, v] : options_.annotations) meta["annotations"][k] = v;
  std::vector<int64_t> kept;
  for (const auto& [serial, entry] : history) kept.push_back(serial);
  secret["data"] = data;
  secret.erase("stringData");
  meta["annotations"][kSerialAnnotation] = std::to_string(state.serial);
  meta["annotations"][kChecksumAnnotation] = state.checksum;
  if (options_.key) {
    meta["annotations"][kKeyIdAnnotation] = KeyId(*options_.key);
  } else if (meta["annotations"].contains(kKeyIdAnnotation)) {
    meta["annotations"].erase(kKeyIdAnnotation);
  }
  meta["annotations"][kLineageAnnotation] = state.lineage;
  meta["annotations"][kVersionsAnnotation] = JoinSerials(kept);
  meta["annotations"][kEncryptionAnnotation] = options_.key ? "aes-256-gcm" : "none";

  // The index last: its resourceVersion makes it fail when another writer
  // went first, and only once it is written may old chunks go.
  // A write that fails may still have been made: the version is unknown.
  version_.clear();
  absl::StatusOr<Json> written = index.secret ? client_.Update(kube::kSecrets, secret)
                                              : client_.Create(kube::kSecrets, secret);
  RETURN_IF_ERROR(written.status());
  version_ = (*written)["metadata"].value("resourceVersion", "");
  std::set<std::string> named(current.chunks.begin(), current.chunks.end());
  for (const auto& [serial, entry] : history)
    named.insert(entry.chunks.begin(), entry.chunks.end());
  if (const absl::Status cleaned =
          DeleteOrphans(named, (*written)["metadata"].value("resourceVersion", ""));
      !cleaned.ok()) {
    spdlog::warn(
        "state Secret {}: cannot delete chunks it no longer names (done by a later "
        "write): {}",
        Key().String(), std::string(cleaned.message()));
  }
  return absl::OkStatus();
}

absl::Status StateStore::DeleteOrphans(const std::set<std::string>& named,
                                       const std::string& index_version) {
  kube::ListOptions list;
  list.label_selector =
      std::string(kChunkLabel) + "=true," + kWorkspaceUidLabel + "=" + options_.uid;
  ASSIGN_OR_RETURN(const Json chunks, client_.List(kube::kSecrets, options_.ns, list));
  for (const auto& chunk : chunks.value("items", Json::array())) {
    const std::string name = chunk["metadata"].value("name", "");
    if (named.count(name) != 0 || name.rfind(ChunkPrefix(), 0) != 0) continue;
    const Json annotations = chunk["metadata"].value("annotations", Json::object());
    if (!index_version.empty() && annotations.value(kBaseVersionAnnotation, "") == index_version) {
      continue;  // a writer that read this index may name it yet
    }
    const absl::Status deleted = client_.Delete(kube::kSecrets, {options_.ns, name});
    if (!deleted.ok() && !kube::IsNotFound(deleted)) return deleted;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<State>> StateStore::Load() { return LoadFrom(Get()); }

absl::StatusOr<std::optional<State>> StateStore::LoadFrom(IndexRead first) {
  std::optional<IndexRead> given(std::move(first));
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(const Index index, ReadIndex(std::exchange(given, std::nullopt)));
    if (!index.current) {
      sealed_.reset();  // nothing stored: nothing an earlier Load saw stands
      return std::optional<State>();
    }
    bool reseal = false;
    std::string stored;
    absl::StatusOr<std::string> json =
        Decode(*index.current, &reseal, options_.keep_sealed ? &stored : nullptr);
    if (!json.ok()) {
      // Chunks go only after an index that no longer names them: one that
      // is missing now was replaced meanwhile, unless the index is the same.
      ASSIGN_OR_RETURN(const std::optional<Json> now, Get());
      const std::string version =
          now ? (*now)["metadata"].value("resourceVersion", "") : std::string();
      if (attempt < 3 && version != index.version) continue;
      return json.status();
    }
    absl::StatusOr<State> parsed = ParseState(*json, false);
    if (!parsed.ok()) {
      return absl::Status(parsed.status().code(), "state Secret " + Key().String() + ": " +
                                                      std::string(parsed.status().message()));
    }
    State state = *std::move(parsed);
    state.checksum = Annotation(*index.secret, kChecksumAnnotation);
    for (const auto& [serial, entry] : index.history) state.versions.push_back(serial);
    state.lock_file = index.lock_file;
    if (options_.keep_sealed) {
      // A version written before the checksum annotation existed has none.
      std::string checksum = state.checksum;
      if (checksum.empty()) {
        ASSIGN_OR_RETURN(const State full, ParseState(*json));
        checksum = full.checksum;
      }
      sealed_ = SealedState{std::move(stored),
                            state.serial,
                            state.lineage,
                            std::move(checksum),
                            Annotation(*index.secret, kEncryptionAnnotation),
                            Annotation(*index.secret, kKeyIdAnnotation)};
      if (sealed_->encryption.empty()) {
        sealed_->encryption = provider::IsSealed(sealed_->blob) ? "aes-256-gcm" : "none";
      }
    }
    return std::optional<State>(std::move(state));
  }
}

absl::StatusOr<bool> StateStore::Save(const std::string& state_json,
                                      const std::optional<std::string>& lock_file) {
  ASSIGN_OR_RETURN(const State state, ParseState(state_json));
  std::optional<std::string> blob;  // encoded once, when it is to be written
  auto encoded = [&]() -> absl::StatusOr<std::string> {
    if (!blob) {
      ASSIGN_OR_RETURN(blob, Encode(state_json));
      if (blob->size() > options_.max_state_bytes) {
        return absl::ResourceExhaustedError(
            "state Secret " + Key().String() + ": the state takes " +
            std::to_string(blob->size() >> 10) + " KiB stored, more than the " +
            std::to_string(options_.max_state_bytes >> 10) + " KiB a state version may take");
      }
    }
    return *blob;
  };
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    ASSIGN_OR_RETURN(const Index index, ReadIndex());
    if (!index.current) {
      // Nothing stored yet (an index without a current state is one whose
      // first write is to come).
      ASSIGN_OR_RETURN(const std::string fresh, encoded());
      ASSIGN_OR_RETURN(Entry current, Place(fresh, index.version, true));
      const absl::Status created = Commit(index, std::move(current), state, index.history,
                                          lock_file ? lock_file : index.lock_file);
      if (kube::IsAlreadyExists(created) || kube::IsConflict(created)) continue;
      RETURN_IF_ERROR(created);
      if (options_.keep_sealed) sealed_ = SealedAsConfigured(fresh, state);
      return true;
    }
    const Json& existing = *index.secret;
    bool reseal =
        Annotation(existing, kEncryptionAnnotation) != (options_.key ? "aes-256-gcm" : "none") ||
        (options_.key && Annotation(existing, kKeyIdAnnotation) != KeyId(*options_.key));
    // What is stored is known from its annotations; it is decrypted only
    // to be re-sealed, or when a Secret written before the checksum
    // annotation existed has none.
    std::string lineage = Annotation(existing, kLineageAnnotation);
    std::string stored_checksum = Annotation(existing, kChecksumAnnotation);
    const std::string serial_text = Annotation(existing, kSerialAnnotation);
    int64_t serial = 0;
    std::string current;
    if (reseal || stored_checksum.empty() || serial_text.empty()) {
      ASSIGN_OR_RETURN(current, Decode(*index.current, &reseal));
      ASSIGN_OR_RETURN(const State stored, ParseState(current));
      if (lineage.empty()) lineage = stored.lineage;
      serial = stored.serial;
      stored_checksum = stored.checksum;
    } else {
      serial = std::strtoll(serial_text.c_str(), nullptr, 10);
    }
    if (!lineage.empty() && state.lineage != lineage) {
      return absl::FailedPreconditionError("state Secret " + Key().String() + " holds lineage " +
                                           lineage +
                                           ", refusing to overwrite it with a state of lineage " +
                                           (state.lineage.empty() ? "(none)" : state.lineage));
    }
    const bool same = stored_checksum == state.checksum;
    const bool same_lock = !lock_file || lock_file == index.lock_file;
    if (same && !reseal && same_lock) return false;
    if (!same && state.serial < serial) {
      // A writer that lost its lock, or a run that started from an older
      // state: storing it would undo what was recorded since.
      return absl::FailedPreconditionError("state Secret " + Key().String() + " holds serial " +
                                           std::to_string(serial) +
                                           ", refusing to overwrite it with the older serial " +
                                           std::to_string(state.serial) + " of the same lineage");
    }

    std::map<int64_t, Entry> history = index.history;
    if (reseal) RETURN_IF_ERROR(Reseal(history, index.version));
    if (!same) {
      if (reseal) {
        ASSIGN_OR_RETURN(const std::string resealed, Encode(current));
        ASSIGN_OR_RETURN(history[serial], Place(resealed, index.version, true));
      } else {
        history[serial] = *index.current;  // as it is stored: its chunks stay
      }
    }
    Entry next;
    const bool rewritten = !same || reseal;  // else only the lock file changes
    if (!rewritten) {
      next = *index.current;
    } else {
      ASSIGN_OR_RETURN(const std::string fresh, encoded());
      ASSIGN_OR_RETURN(next, Place(fresh, index.version, true));
    }
    const absl::Status updated = Commit(index, std::move(next), state, std::move(history),
                                        lock_file ? lock_file : index.lock_file);
    if (kube::IsConflict(updated)) continue;
    RETURN_IF_ERROR(updated);
    if (options_.keep_sealed && rewritten) sealed_ = SealedAsConfigured(*blob, state);
    return true;
  }
  return absl::AbortedError("state Secret " + Key().String() + ": gave up after " +
                            std::to_string(kAttempts) + " conflicting writes");
}

absl::StatusOr<bool> StateStore::SaveLockFile(const std::string& lock_file) {
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    ASSIGN_OR_RETURN(const Index index, ReadIndex());
    if (!index.current || index.lock_file == lock_file) return false;
    Json secret = *index.secret;
    secret["data"][kLockFileKey] = provider::Base64Encode(lock_file);
    if (DataSize(secret["data"]) > kMaxDataBytes) {
      return absl::ResourceExhaustedError(
          "state Secret " + Key().String() + ": the dependency lock file (" +
          std::to_string(lock_file.size() >> 10) + " KiB) does not fit in it");
    }
    version_.clear();
    const absl::StatusOr<Json> updated = client_.Update(kube::kSecrets, secret);
    if (kube::IsConflict(updated.status())) continue;
    RETURN_IF_ERROR(updated.status());
    version_ = (*updated)["metadata"].value("resourceVersion", "");
    return true;
  }
  return absl::AbortedError("state Secret " + Key().String() + ": gave up after " +
                            std::to_string(kAttempts) + " conflicting writes");
}

absl::Status StateStore::Reseal(std::map<int64_t, Entry>& history,
                                const std::string& base_version) {
  for (auto& [s, entry] : history) {
    bool ignored = false;
    ASSIGN_OR_RETURN(const std::string plain, Decode(entry, &ignored));
    ASSIGN_OR_RETURN(const std::string blob, Encode(plain));
    ASSIGN_OR_RETURN(entry, Place(blob, base_version, true));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> StateStore::Versions() {
  std::vector<int64_t> out;
  ASSIGN_OR_RETURN(const Index index, ReadIndex());
  for (const auto& [serial, entry] : index.history) out.push_back(serial);
  return out;
}

absl::Status StateStore::Restore(int64_t serial) {
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    ASSIGN_OR_RETURN(const Index index, ReadIndex());
    if (!index.secret) {
      return absl::NotFoundError("state version " + std::to_string(serial) +
                                 " is not kept: no state is stored (Secret " + Key().String() +
                                 ")");
    }
    std::map<int64_t, Entry> history = index.history;
    const auto wanted = history.find(serial);
    if (wanted == history.end()) {
      std::vector<int64_t> kept;
      for (const auto& [s, entry] : history) kept.push_back(s);
      return absl::NotFoundError(
          "state version " + std::to_string(serial) +
          " is not kept; available: " + (kept.empty() ? std::string("none") : JoinSerials(kept)));
    }
    const Json& existing = *index.secret;
    bool reseal =
        Annotation(existing, kEncryptionAnnotation) != (options_.key ? "aes-256-gcm" : "none") ||
        (options_.key && Annotation(existing, kKeyIdAnnotation) != KeyId(*options_.key));
    ASSIGN_OR_RETURN(const std::string restored_plain, Decode(wanted->second, &reseal));
    std::string current;
    int64_t current_serial = 0;
    if (index.current) {
      ASSIGN_OR_RETURN(current, Decode(*index.current, &reseal));
      ASSIGN_OR_RETURN(const State current_state, ParseState(current));
      current_serial = current_state.serial;
    }

    nlohmann::ordered_json doc = nlohmann::ordered_json::parse(restored_plain, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
      return absl::DataLossError("state Secret " + Key().String() + ": state version " +
                                 std::to_string(serial) + " is not a JSON object");
    }
    const int64_t next = std::max(current_serial, history.rbegin()->first) + 1;
    doc["serial"] = next;
    const std::string restored = doc.dump(2) + "\n";

    if (reseal) RETURN_IF_ERROR(Reseal(history, index.version));
    if (index.current) {
      if (reseal) {
        ASSIGN_OR_RETURN(const std::string resealed, Encode(current));
        ASSIGN_OR_RETURN(history[current_serial], Place(resealed, index.version, true));
      } else {
        history[current_serial] = *index.current;
      }
    }
    ASSIGN_OR_RETURN(const State restored_state, ParseState(restored));
    ASSIGN_OR_RETURN(const std::string blob, Encode(restored));
    ASSIGN_OR_RETURN(Entry entry, Place(blob, index.version, true));
    const absl::Status updated =
        Commit(index, std::move(entry), restored_state, std::move(history), index.lock_file);
    if (!kube::IsConflict(updated)) return updated;
  }
  return absl::AbortedError("state Secret " + Key().String() + ": gave up after " +
                            std::to_string(kAttempts) + " conflicting writes");
}

absl::Status StateStore::Remove() {
  // The index first: a crash after it leaves chunks nothing names (deleted
  // by the next Remove), never an index naming a missing chunk.
  version_.clear();
  const absl::Status deleted = client_.Delete(kube::kSecrets, Key());
  if (!deleted.ok() && !kube::IsNotFound(deleted)) return deleted;
  return DeleteOrphans({}, "");
}

}  // namespace workspace
