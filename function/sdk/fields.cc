#include "function/sdk/fields.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

#include "function/sdk/strings.h"

namespace platform::fn::sdk {
namespace {

std::string_view TypeName(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "an integer";
    case Json::value_t::number_float:
      return "a number";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::array:
      return "a list";
    case Json::value_t::object:
      return "an object";
    default:
      return "an unsupported value";
  }
}

bool IsA(const Json& v, Json::value_t want) {
  if (want == Json::value_t::number_integer) return v.is_number_integer();
  if (want == Json::value_t::number_float) return v.is_number();
  return v.type() == want;
}

// An integer value, or a whole double that Typed() accepted as one.
std::int64_t AsInt(const Json& v) {
  if (v.is_number_float()) return static_cast<std::int64_t>(v.get<double>());
  return v.get<std::int64_t>();
}

}  // namespace

absl::StatusOr<std::vector<PathSegment>> ParseFieldPath(std::string_view path) {
  std::vector<PathSegment> out;
  std::size_t i = 0;
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(sdk::Cat("invalid field path \"", path, "\": ", why));
  };
  while (i < path.size()) {
    if (path[i] == '[') {
      const std::size_t close = path.find(']', i + 1);
      if (close == std::string_view::npos) return bad("unclosed '['");
      const std::string_view inner = path.substr(i + 1, close - i - 1);
      if (inner.empty()) return bad("empty brackets");
      PathSegment seg;
      std::size_t index = 0;
      auto [ptr, ec] = std::from_chars(inner.data(), inner.data() + inner.size(), index);
      if (ec == std::errc() && ptr == inner.data() + inner.size()) {
        seg.index = index;
        seg.is_index = true;
      } else {
        seg.key = std::string(inner);
      }
      out.push_back(std::move(seg));
      i = close + 1;
      if (i < path.size() && path[i] == '.') {
        ++i;
        if (i == path.size()) return bad("trailing '.'");
      } else if (i < path.size() && path[i] != '[') {
        return bad("expected '.' or '[' after ']'");
      }
      continue;
    }
    const std::size_t end = path.find_first_of(".[", i);
    const std::string_view key =
        path.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
    if (key.empty()) return bad("empty field name");
    if (key.find(']') != std::string_view::npos) return bad("unexpected ']'");
    out.push_back(PathSegment{std::string(key)});
    if (end == std::string_view::npos) break;
    i = end;
    if (path[i] == '.') {
      ++i;
      if (i == path.size()) return bad("trailing '.'");
    }
  }
  return out;
}

std::string JoinPath(std::string_view base, std::string_view rel) {
  if (base.empty()) return std::string(rel);
  if (rel.empty()) return std::string(base);
  if (rel.front() == '[') return sdk::Cat(base, rel);
  return sdk::Cat(base, ".", rel);
}

absl::Status FieldError(std::string_view path, std::string_view rule) {
  return absl::InvalidArgumentError(sdk::Cat(path, ": ", rule));
}

Fields::Fields(const Json& root, std::string path) : root_(&root), path_(std::move(path)) {}

namespace {

// The path of the first `count` segments below `base`, as errors name it.
// Built only for an error: reading a field that is there builds no string.
std::string WalkedPath(const std::string& base, const std::vector<PathSegment>& segments,
                       std::size_t count) {
  std::string walked = base;
  for (std::size_t i = 0; i < count; ++i) {
    const PathSegment& seg = segments[i];
    if (seg.is_index) {
      walked = sdk::Cat(walked, "[", seg.index, "]");
    } else {
      walked = seg.key.find_first_of(".[]") == std::string::npos
                   ? JoinPath(walked, seg.key)
                   : sdk::Cat(walked, "[", seg.key, "]");
    }
  }
  return walked;
}

// Names separated by single dots, no brackets: one pass over the path.
// (string_view::find_first_of calls memchr once per character of the path.)
bool PlainDotted(std::string_view rel) {
  if (rel.empty() || rel.front() == '.' || rel.back() == '.') return false;
  char previous = '\0';
  for (const char c : rel) {
    if (c == '[' || c == ']' || (c == '.' && previous == '.')) return false;
    previous = c;
  }
  return true;
}

}  // namespace

absl::StatusOr<const Json*> Fields::Find(std::string_view rel) const {
  // Most paths are well-formed dotted names ("spec.parameters.region"):
  // those are walked in place, without parsing them into segments. Any
  // other path, and a walk that meets something other than an object (an
  // error naming the walked path), go the parsed way below.
  if (PlainDotted(rel)) {
    const Json* cur = root_;
    for (std::size_t start = 0;;) {
      if (cur->is_null()) return nullptr;
      if (!cur->is_object()) break;
      const std::size_t dot = rel.find('.', start);
      auto it = cur->find(rel.substr(start, dot == std::string_view::npos ? dot : dot - start));
      if (it == cur->end()) return nullptr;
      cur = &*it;
      if (dot == std::string_view::npos) return cur->is_null() ? nullptr : cur;
      start = dot + 1;
    }
  }
  absl::StatusOr<std::vector<PathSegment>> segments = ParseFieldPath(rel);
  if (!segments.ok()) return segments.status();
  const Json* cur = root_;
  for (std::size_t i = 0; i < segments->size(); ++i) {
    const PathSegment& seg = (*segments)[i];
    if (cur->is_null()) return nullptr;
    if (seg.is_index) {
      if (!cur->is_array()) {
        return FieldError(WalkedPath(path_, *segments, i),
                          sdk::Cat("must be a list, not ", TypeName(*cur)));
      }
      if (seg.index >= cur->size()) return nullptr;
      cur = &(*cur)[seg.index];
    } else {
      if (!cur->is_object()) {
        return FieldError(WalkedPath(path_, *segments, i),
                          sdk::Cat("must be an object, not ", TypeName(*cur)));
      }
      auto it = cur->find(seg.key);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    }
  }
  return cur->is_null() ? nullptr : cur;
}

bool Fields::Has(std::string_view rel) const {
  absl::StatusOr<const Json*> v = Find(rel);
  return v.ok() && *v != nullptr;
}

absl::StatusOr<const Json*> Fields::Typed(std::string_view rel, bool required, Json::value_t want,
                                          std::string_view type_name) const {
  absl::StatusOr<const Json*> v = Find(rel);
  if (!v.ok()) return v.status();
  if (*v == nullptr) {
    if (required) return FieldError(JoinPath(path_, rel), "required");
    return nullptr;
  }
  if (want == Json::value_t::number_integer && (*v)->is_number_unsigned() &&
      (*v)->get<std::uint64_t>() >
          static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return FieldError(JoinPath(path_, rel), "is too large for an integer");
  }
  if (!IsA(**v, want)) {
    // A whole number that arrived as a double is still an integer.
    if (want == Json::value_t::number_integer && (*v)->is_number_float()) {
      const double d = (*v)->get<double>();
      if (!std::isfinite(d) || std::trunc(d) != d) {
        return FieldError(JoinPath(path_, rel), "must be a whole number");
      }
      // 2^63 is exact as a double; every whole double below it fits.
      if (d >= 9223372036854775808.0 || d < -9223372036854775808.0) {
        return FieldError(JoinPath(path_, rel), "is too large for an integer");
      }
      return *v;
    }
    return FieldError(JoinPath(path_, rel),
                      sdk::Cat("must be ", type_name, ", not ", TypeName(**v)));
  }
  return *v;
}

absl::StatusOr<std::string> Fields::String(std::string_view rel) const {
  absl::StatusOr<const Json*> v = Typed(rel, true, Json::value_t::string, "a string");
  if (!v.ok()) return v.status();
  return (*v)->get<std::string>();
}

absl::StatusOr<std::string> Fields::String(std::string_view rel, std::string_view fallback) const {
  absl::StatusOr<const Json*> v = Typed(rel, false, Json::value_t::string, "a string");
  if (!v.ok()) return v.status();
  return *v == nullptr ? std::string(fallback) : (*v)->get<std::string>();
}

absl::StatusOr<std::int64_t> Fields::Int(std::string_view rel) const {
  absl::StatusOr<const Json*> v = Typed(rel, true, Json::value_t::number_integer, "an integer");
  if (!v.ok()) return v.status();
  return AsInt(**v);
}

absl::StatusOr<std::int64_t> Fields::Int(std::string_view rel, std::int64_t fallback) const {
  absl::StatusOr<const Json*> v = Typed(rel, false, Json::value_t::number_integer, "an integer");
  if (!v.ok()) return v.status();
  return *v == nullptr ? fallback : AsInt(**v);
}

absl::StatusOr<bool> Fields::Bool(std::string_view rel) const {
  absl::StatusOr<const Json*> v = Typed(rel, true, Json::value_t::boolean, "a boolean");
  if (!v.ok()) return v.status();
  return (*v)->get<bool>();
}

absl::StatusOr<bool> Fields::Bool(std::string_view rel, bool fallback) const {
  absl::StatusOr<const Json*> v = Typed(rel, false, Json::value_t::boolean, "a boolean");
  if (!v.ok()) return v.status();
  return *v == nullptr ? fallback : (*v)->get<bool>();
}

absl::StatusOr<double> Fields::Number(std::string_view rel) const {
  absl::StatusOr<const Json*> v = Typed(rel, true, Json::value_t::number_float, "a number");
  if (!v.ok()) return v.status();
  return (*v)->get<double>();
}

absl::StatusOr<Fields> Fields::Object(std::string_view rel) const {
  absl::StatusOr<const Json*> v = Typed(rel, true, Json::value_t::object, "an object");
  if (!v.ok()) return v.status();
  return Fields(**v, JoinPath(path_, rel));
}

absl::StatusOr<std::vector<std::string>> Fields::StringList(std::string_view rel) const {
  absl::StatusOr<const Json*> v = Typed(rel, false, Json::value_t::array, "a list");
  if (!v.ok()) return v.status();
  std::vector<std::string> out;
  if (*v == nullptr) return out;
  out.reserve((*v)->size());
  std::size_t i = 0;
  for (const Json& item : **v) {
    if (!item.is_string()) {
      return FieldError(sdk::Cat(JoinPath(path_, rel), "[", i, "]"),
                        sdk::Cat("must be a string, not ", TypeName(item)));
    }
    out.push_back(item.get<std::string>());
    ++i;
  }
  return out;
}

absl::StatusOr<std::vector<Fields>> Fields::ObjectList(std::string_view rel) const {
  absl::StatusOr<const Json*> v = Typed(rel, false, Json::value_t::array, "a list");
  if (!v.ok()) return v.status();
  std::vector<Fields> out;
  if (*v == nullptr) return out;
  out.reserve((*v)->size());
  const std::string base = JoinPath(path_, rel);
  std::size_t i = 0;
  for (const Json& item : **v) {
    std::string item_path = sdk::Cat(base, "[", i++, "]");
    if (!item.is_object()) {
      return FieldError(item_path, sdk::Cat("must be an object, not ", TypeName(item)));
    }
    out.emplace_back(item, std::move(item_path));
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Fields::StringMap(
    std::string_view rel) const {
  absl::StatusOr<const Json*> v = Typed(rel, false, Json::value_t::object, "an object");
  if (!v.ok()) return v.status();
  std::vector<std::pair<std::string, std::string>> out;
  if (*v == nullptr) return out;
  for (auto it = (*v)->begin(); it != (*v)->end(); ++it) {
    if (!it.value().is_string()) {
      return FieldError(sdk::Cat(JoinPath(path_, rel), "[", it.key(), "]"),
                        sdk::Cat("must be a string, not ", TypeName(it.value())));
    }
    out.emplace_back(it.key(), it.value().get<std::string>());
  }
  return out;
}

absl::StatusOr<std::string> Fields::Enum(std::string_view rel,
                                         std::initializer_list<std::string_view> allowed,
                                         std::string_view fallback) const {
  absl::StatusOr<std::string> v = fallback.empty() ? String(rel) : String(rel, fallback);
  if (!v.ok()) return v.status();
  for (std::string_view a : allowed) {
    if (*v == a) return v;
  }
  return FieldError(JoinPath(path_, rel),
                    fmt::format("must be one of {}, not \"{}\"", fmt::join(allowed, ", "), *v));
}

absl::Status SetPath(Json& object, std::string_view path, Json value) {
  absl::StatusOr<std::vector<PathSegment>> segments = ParseFieldPath(path);
  if (!segments.ok()) return segments.status();
  if (segments->empty()) return absl::InvalidArgumentError("empty field path");
  // Check every step first, so that a failure leaves `object` unchanged.
  const Json* probe = &object;
  for (const PathSegment& seg : *segments) {
    if (probe == nullptr || probe->is_null()) {
      // From here on every step is created: a new list is empty.
      if (seg.is_index && seg.index > 0) {
        return absl::InvalidArgumentError(
            sdk::Cat(path, ": index ", seg.index, " is past the end of the list"));
      }
      probe = nullptr;
      continue;
    }
    if (seg.is_index) {
      if (!probe->is_array()) {
        return absl::InvalidArgumentError(sdk::Cat(path, ": cannot index into ", TypeName(*probe)));
      }
      if (seg.index > probe->size()) {
        return absl::InvalidArgumentError(
            sdk::Cat(path, ": index ", seg.index, " is past the end of the list"));
      }
      probe = seg.index == probe->size() ? nullptr : &(*probe)[seg.index];
    } else {
      if (!probe->is_object()) {
        return absl::InvalidArgumentError(
            sdk::Cat(path, ": cannot set field \"", seg.key, "\" in ", TypeName(*probe)));
      }
      auto it = probe->find(seg.key);
      probe = it == probe->end() ? nullptr : &*it;
    }
  }
  Json* cur = &object;
  for (const PathSegment& seg : *segments) {
    if (seg.is_index) {
      if (cur->is_null()) *cur = Json::array();
      if (!cur->is_array()) {
        return absl::InvalidArgumentError(sdk::Cat(path, ": cannot index into ", TypeName(*cur)));
      }
      if (seg.index > cur->size()) {
        return absl::InvalidArgumentError(
            sdk::Cat(path, ": index ", seg.index, " is past the end of the list"));
      }
      if (seg.index == cur->size()) cur->push_back(nullptr);
      cur = &(*cur)[seg.index];
    } else {
      if (cur->is_null()) *cur = Json::object();
      if (!cur->is_object()) {
        return absl::InvalidArgumentError(
            sdk::Cat(path, ": cannot set field \"", seg.key, "\" in ", TypeName(*cur)));
      }
      cur = &(*cur)[seg.key];
    }
  }
  *cur = std::move(value);
  return absl::OkStatus();
}

}  // namespace platform::fn::sdk
