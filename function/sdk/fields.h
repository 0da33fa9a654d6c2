// Typed, path-addressed reads of JSON objects, with errors that name the
// field and the rule it broke, e.g. `spec.parameters.region: required`.
//
// Paths are dotted field names with bracketed array indexes or map keys:
// `spec.parameters.zones[0]`, `metadata.labels[app.kubernetes.io/name]`.
// A Fields view remembers the path of the object it looks at, so a renderer
// that hands `spec.parameters` to a helper still gets full paths in errors.
#ifndef PLATFORM_FUNCTION_SDK_FIELDS_H_
#define PLATFORM_FUNCTION_SDK_FIELDS_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "function/sdk/struct_json.h"

namespace platform::fn::sdk {

// One step of a field path: an object key or an array index.
struct PathSegment {
  std::string key;
  std::size_t index = 0;
  bool is_index = false;
};

// Parses a field path; the error names the path and what is wrong with it.
absl::StatusOr<std::vector<PathSegment>> ParseFieldPath(std::string_view path);

// Joins a base path and a relative path: JoinPath("spec", "region") is
// "spec.region"; JoinPath("spec", "[0]") is "spec[0]".
std::string JoinPath(std::string_view base, std::string_view rel);

// An error for one field: InvalidArgument with message "<path>: <rule>".
absl::Status FieldError(std::string_view path, std::string_view rule);

// A read-only view of a JSON value at a known path.
class Fields {
 public:
  // `root` must outlive the view. `path` is the root's own path ("" for the
  // top of an object).
  explicit Fields(const Json& root, std::string path = {});

  const Json& value() const { return *root_; }
  const std::string& path() const { return path_; }

  // The value at `rel`, or nullptr when any step is absent or null. An error
  // only for a malformed path or a step through a non-container.
  absl::StatusOr<const Json*> Find(std::string_view rel) const;
  bool Has(std::string_view rel) const;

  // Required reads: absent or null is `<path>: required`.
  absl::StatusOr<std::string> String(std::string_view rel) const;
  absl::StatusOr<std::int64_t> Int(std::string_view rel) const;
  absl::StatusOr<bool> Bool(std::string_view rel) const;
  absl::StatusOr<double> Number(std::string_view rel) const;
  absl::StatusOr<Fields> Object(std::string_view rel) const;

  // Optional reads: absent or null gives the fallback; a wrong type is still
  // an error.
  absl::StatusOr<std::string> String(std::string_view rel, std::string_view fallback) const;
  absl::StatusOr<std::int64_t> Int(std::string_view rel, std::int64_t fallback) const;
  absl::StatusOr<bool> Bool(std::string_view rel, bool fallback) const;
  // Absent gives an empty list.
  absl::StatusOr<std::vector<std::string>> StringList(std::string_view rel) const;
  // Absent gives an empty list; each item is a view with its own path.
  absl::StatusOr<std::vector<Fields>> ObjectList(std::string_view rel) const;
  // Absent gives an empty map (kept in key order).
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> StringMap(
      std::string_view rel) const;

  // A string that must be one of `allowed`; absent gives `fallback` when it
  // is non-empty, else it is required.
  absl::StatusOr<std::string> Enum(std::string_view rel,
                                   std::initializer_list<std::string_view> allowed,
                                   std::string_view fallback = {}) const;

 private:
  absl::StatusOr<const Json*> Typed(std::string_view rel, bool required, Json::value_t want,
                                    std::string_view type_name) const;

  const Json* root_;
  std::string path_;
};

// Sets `value` at `path` inside `object`, creating intermediate objects as
// needed; an index may address an existing item or append one. Fails for a malformed path or when a
// step runs into a value of another type.
absl::Status SetPath(Json& object, std::string_view path, Json value);

}  // namespace platform::fn::sdk

#endif  // PLATFORM_FUNCTION_SDK_FIELDS_H_
