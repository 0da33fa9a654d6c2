#include "provider/workspace/state_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/status_macros.h"
#include "provider/common/crypto.h"
#include "provider/kube/resources.h"

namespace workspace {
namespace {

using kube::Json;

constexpr char kCurrentKey[] = "tfstate";
constexpr char kHistoryPrefix[] = "tfstate.";
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

std::map<int64_t, std::string> HistoryOf(const Json& secret) {
  std::map<int64_t, std::string> out;
  const Json data = secret.value("data", Json::object());
  for (const auto& [k, v] : data.items()) {
    if (auto serial = HistorySerial(k); serial && v.is_string())
      out[*serial] = v.get<std::string>();
  }
  return out;
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

absl::StatusOr<std::optional<Json>> StateStore::Get() {
  absl::StatusOr<Json> secret = client_.Get(kube::kSecrets, Key());
  if (secret.ok()) return std::optional<Json>(*std::move(secret));
  if (kube::IsNotFound(secret.status())) return std::optional<Json>();
  return secret.status();
}

absl::StatusOr<std::string> StateStore::Encode(const std::string& plaintext) const {
  ASSIGN_OR_RETURN(std::string blob, provider::Gzip(plaintext));
  if (options_.key) {
    ASSIGN_OR_RETURN(blob, provider::Seal(*options_.key, blob));
  }
  return provider::Base64Encode(blob);
}

absl::StatusOr<std::string> StateStore::Decode(const std::string& b64, bool* needs_reseal) const {
  absl::StatusOr<std::string> plain = Unseal(b64, needs_reseal);
  if (plain.ok()) return plain;
  return absl::Status(plain.status().code(), "state Secret " + Key().String() + ": " +
                                                 std::string(plain.status().message()));
}

absl::StatusOr<std::string> StateStore::Unseal(const std::string& b64, bool* needs_reseal) const {
  absl::StatusOr<std::string> decoded = provider::Base64Decode(b64);
  if (!decoded.ok()) return absl::DataLossError("state is corrupt (not base64)");
  std::string blob = *std::move(decoded);
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

absl::StatusOr<Json> StateStore::Build(const Json* existing, const std::string& current,
                                       const State& state,
                                       std::map<int64_t, std::string> history) const {
  Json secret = existing != nullptr
                    ? *existing
                    : Json{{"apiVersion", "v1"},
                           {"kind", "Secret"},
                           {"metadata", {{"name", Key().name}, {"namespace", Key().ns}}}};
  secret["type"] = "Opaque";
  Json& meta = secret["metadata"];
  meta["labels"][kStateLabel] = "true";
  meta["labels"][kWorkspaceUidLabel] = options_.uid;
  for (const auto& [k, v] : options_.annotations) meta["annotations"][k] = v;

  while (history.size() > static_cast<size_t>(options_.history)) history.erase(history.begin());
  auto data_size = [&]() {
    size_t size = std::char_traits<char>::length(kCurrentKey) + current.size();
    for (const auto& [serial, blob] : history) {
      size += std::char_traits<char>::length(kHistoryPrefix) + std::to_string(serial).size() +
              blob.size();
    }
    return size;
  };
  while (data_size() > kMaxDataBytes && !history.empty()) {
    spdlog::warn("state Secret {}: dropping state version {} to stay under {} KiB", Key().String(),
                 history.begin()->first, kMaxDataBytes / 1024);
    history.erase(history.begin());
  }
  if (data_size() > kMaxDataBytes) {
    return absl::ResourceExhaustedError("state Secret " + Key().String() + ": the state takes " +
                                        std::to_string(data_size() / 1024) +
                                        " KiB stored, more than a Secret may hold (" +
                                        std::to_string(kMaxDataBytes / 1024) + " KiB)");
  }

  Json data = Json::object();
  data[kCurrentKey] = current;
  std::vector<int64_t> kept;
  for (const auto& [serial, blob] : history) {
    data[kHistoryPrefix + std::to_string(serial)] = blob;
    kept.push_back(serial);
  }
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
  return secret;
}

absl::StatusOr<std::optional<State>> StateStore::Load() {
  ASSIGN_OR_RETURN(const std::optional<Json> secret, Get());
  if (!secret) return std::optional<State>();
  const Json data = secret->value("data", Json::object());
  if (!data.contains(kCurrentKey) || !data[kCurrentKey].is_string()) {
    return std::optional<State>();
  }
  bool reseal = false;
  ASSIGN_OR_RETURN(const std::string json, Decode(data[kCurrentKey].get<std::string>(), &reseal));
  absl::StatusOr<State> parsed = ParseState(json, false);
  if (!parsed.ok()) {
    return absl::Status(parsed.status().code(), "state Secret " + Key().String() + ": " +
                                                    std::string(parsed.status().message()));
  }
  State state = *std::move(parsed);
  state.checksum = Annotation(*secret, kChecksumAnnotation);
  for (const auto& [serial, blob] : HistoryOf(*secret)) state.versions.push_back(serial);
  return std::optional<State>(std::move(state));
}

absl::StatusOr<bool> StateStore::Save(const std::string& state_json) {
  ASSIGN_OR_RETURN(const State state, ParseState(state_json));
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    ASSIGN_OR_RETURN(const std::optional<Json> existing, Get());
    if (!existing) {
      const absl::Status created = Put(nullptr, state_json, state, {});
      if (kube::IsAlreadyExists(created) || kube::IsConflict(created)) continue;
      RETURN_IF_ERROR(created);
      return true;
    }
    const Json data = existing->value("data", Json::object());
    const bool has_current = data.contains(kCurrentKey) && data[kCurrentKey].is_string();
    bool reseal =
        Annotation(*existing, kEncryptionAnnotation) != (options_.key ? "aes-256-gcm" : "none") ||
        (options_.key && Annotation(*existing, kKeyIdAnnotation) != KeyId(*options_.key));
    // What is stored is known from its annotations; it is decrypted only
    // to be re-sealed, or when a Secret written before the checksum
    // annotation existed has none.
    std::string lineage = Annotation(*existing, kLineageAnnotation);
    std::string stored_checksum = Annotation(*existing, kChecksumAnnotation);
    const std::string serial_text = Annotation(*existing, kSerialAnnotation);
    int64_t serial = 0;
    std::string current;
    if (has_current && (reseal || stored_checksum.empty() || serial_text.empty())) {
      ASSIGN_OR_RETURN(current, Decode(data[kCurrentKey].get<std::string>(), &reseal));
      ASSIGN_OR_RETURN(const State stored, ParseState(current));
      if (lineage.empty()) lineage = stored.lineage;
      serial = stored.serial;
      stored_checksum = stored.checksum;
    } else if (has_current) {
      serial = std::strtoll(serial_text.c_str(), nullptr, 10);
    }
    if (!lineage.empty() && state.lineage != lineage) {
      return absl::FailedPreconditionError("state Secret " + Key().String() + " holds lineage " +
                                           lineage +
                                           ", refusing to overwrite it with a state of lineage " +
                                           (state.lineage.empty() ? "(none)" : state.lineage));
    }
    const bool same = has_current && stored_checksum == state.checksum;
    if (same && !reseal) return false;
    if (has_current && !same && state.serial < serial) {
      // A writer that lost its lock, or a run that started from an older
      // state: storing it would undo what was recorded since.
      return absl::FailedPreconditionError("state Secret " + Key().String() + " holds serial " +
                                           std::to_string(serial) +
                                           ", refusing to overwrite it with the older serial " +
                                           std::to_string(state.serial) + " of the same lineage");
    }

    std::map<int64_t, std::string> history = HistoryOf(*existing);
    if (reseal) RETURN_IF_ERROR(Reseal(history));
    if (has_current && !same) {
      if (!current.empty() && reseal) {
        ASSIGN_OR_RETURN(history[serial], Encode(current));
      } else {
        history[serial] = data[kCurrentKey].get<std::string>();
      }
    }
    const absl::Status updated = Put(&*existing, state_json, state, std::move(history));
    if (kube::IsConflict(updated)) continue;
    RETURN_IF_ERROR(updated);
    return true;
  }
  return absl::AbortedError("state Secret " + Key().String() + ": gave up after " +
                            std::to_string(kAttempts) + " conflicting writes");
}

absl::Status StateStore::Put(const Json* existing, const std::string& plaintext, const State& state,
                             std::map<int64_t, std::string> history) {
  ASSIGN_OR_RETURN(const std::string encoded, Encode(plaintext));
  ASSIGN_OR_RETURN(const Json secret, Build(existing, encoded, state, std::move(history)));
  return existing == nullptr ? client_.Create(kube::kSecrets, secret).status()
                             : client_.Update(kube::kSecrets, secret).status();
}

absl::Status StateStore::Reseal(std::map<int64_t, std::string>& history) const {
  for (auto& [s, blob] : history) {
    bool ignored = false;
    ASSIGN_OR_RETURN(const std::string plain, Decode(blob, &ignored));
    ASSIGN_OR_RETURN(blob, Encode(plain));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> StateStore::Versions() {
  std::vector<int64_t> out;
  ASSIGN_OR_RETURN(const std::optional<Json> secret, Get());
  if (secret) {
    for (const auto& [serial, blob] : HistoryOf(*secret)) out.push_back(serial);
  }
  return out;
}

absl::Status StateStore::Restore(int64_t serial) {
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    ASSIGN_OR_RETURN(const std::optional<Json> existing, Get());
    if (!existing) {
      return absl::NotFoundError("state version " + std::to_string(serial) +
                                 " is not kept: no state is stored (Secret " + Key().String() +
                                 ")");
    }
    std::map<int64_t, std::string> history = HistoryOf(*existing);
    const auto wanted = history.find(serial);
    if (wanted == history.end()) {
      std::vector<int64_t> kept;
      for (const auto& [s, blob] : history) kept.push_back(s);
      return absl::NotFoundError(
          "state version " + std::to_string(serial) +
          " is not kept; available: " + (kept.empty() ? std::string("none") : JoinSerials(kept)));
    }
    bool reseal =
        Annotation(*existing, kEncryptionAnnotation) != (options_.key ? "aes-256-gcm" : "none") ||
        (options_.key && Annotation(*existing, kKeyIdAnnotation) != KeyId(*options_.key));
    ASSIGN_OR_RETURN(const std::string restored_plain, Decode(wanted->second, &reseal));
    const Json data = existing->value("data", Json::object());
    const bool has_current = data.contains(kCurrentKey) && data[kCurrentKey].is_string();
    std::string current;
    int64_t current_serial = 0;
    if (has_current) {
      ASSIGN_OR_RETURN(current, Decode(data[kCurrentKey].get<std::string>(), &reseal));
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

    if (reseal) RETURN_IF_ERROR(Reseal(history));
    if (has_current) {
      if (reseal) {
        ASSIGN_OR_RETURN(history[current_serial], Encode(current));
      } else {
        history[current_serial] = data[kCurrentKey].get<std::string>();
      }
    }
    ASSIGN_OR_RETURN(const State restored_state, ParseState(restored));
    const absl::Status updated = Put(&*existing, restored, restored_state, std::move(history));
    if (!kube::IsConflict(updated)) return updated;
  }
  return absl::AbortedError("state Secret " + Key().String() + ": gave up after " +
                            std::to_string(kAttempts) + " conflicting writes");
}

absl::Status StateStore::Remove() {
  const absl::Status deleted = client_.Delete(kube::kSecrets, Key());
  return kube::IsNotFound(deleted) ? absl::OkStatus() : deleted;
}

}  // namespace workspace
