#include "function/sdk/struct_json.h"

#include <cmath>
#include <string>
#include <vector>

#include "function/sdk/strings.h"

namespace platform::fn::sdk {

Json FromNumber(double v) {
  if (!std::isfinite(v)) return nullptr;
  if (std::trunc(v) == v && std::fabs(v) <= static_cast<double>(kMaxExactInteger)) {
    return static_cast<std::int64_t>(v);
  }
  return v;
}

namespace {

using google::protobuf::Value;

// Builds the dotted path of the field being converted only when an error
// needs it, so the happy path allocates nothing for paths.
class PathStack {
 public:
  explicit PathStack(std::string_view root) : root_(root) {}
  void PushKey(std::string_view key) { segments_.push_back({key, 0, false}); }
  void PushIndex(std::size_t index) { segments_.push_back({{}, index, true}); }
  void Pop() { segments_.pop_back(); }

  std::string Render() const {
    std::string out(root_);
    for (const Segment& s : segments_) {
      if (s.is_index) {
        sdk::Append(out, "[", s.index, "]");
      } else if (s.key.find_first_of(".[]") != std::string_view::npos) {
        sdk::Append(out, "[", s.key, "]");
      } else {
        sdk::Append(out, out.empty() ? "" : ".", s.key);
      }
    }
    return out;
  }

 private:
  struct Segment {
    std::string_view key;
    std::size_t index;
    bool is_index;
  };
  std::string_view root_;
  std::vector<Segment> segments_;
};

absl::Status Convert(const Json& in, PathStack& path, Value* out);

absl::Status ConvertObject(const Json& in, PathStack& path, google::protobuf::Struct* out) {
  auto* fields = out->mutable_fields();
  for (auto it = in.begin(); it != in.end(); ++it) {
    path.PushKey(it.key());
    absl::Status s = Convert(it.value(), path, &(*fields)[it.key()]);
    if (!s.ok()) return s;
    path.Pop();
  }
  return absl::OkStatus();
}

absl::Status Convert(const Json& in, PathStack& path, Value* out) {
  switch (in.type()) {
    case Json::value_t::null:
    case Json::value_t::discarded:
      out->set_null_value(google::protobuf::NULL_VALUE);
      return absl::OkStatus();
    case Json::value_t::boolean:
      out->set_bool_value(in.get<bool>());
      return absl::OkStatus();
    case Json::value_t::number_integer: {
      const std::int64_t v = in.get<std::int64_t>();
      if (v > kMaxExactInteger || v < -kMaxExactInteger) {
        return absl::InvalidArgumentError(
            sdk::Cat(path.Render(), ": integer ", v,
                     " is beyond 2^53 and cannot be sent exactly; use a string"));
      }
      out->set_number_value(static_cast<double>(v));
      return absl::OkStatus();
    }
    case Json::value_t::number_unsigned: {
      const std::uint64_t v = in.get<std::uint64_t>();
      if (v > static_cast<std::uint64_t>(kMaxExactInteger)) {
        return absl::InvalidArgumentError(
            sdk::Cat(path.Render(), ": integer ", v,
                     " is beyond 2^53 and cannot be sent exactly; use a string"));
      }
      out->set_number_value(static_cast<double>(v));
      return absl::OkStatus();
    }
    case Json::value_t::number_float: {
      const double v = in.get<double>();
      if (!std::isfinite(v)) {
        return absl::InvalidArgumentError(sdk::Cat(path.Render(), ": must be a finite number"));
      }
      out->set_number_value(v);
      return absl::OkStatus();
    }
    case Json::value_t::string:
      out->set_string_value(in.get_ref<const std::string&>());
      return absl::OkStatus();
    case Json::value_t::array: {
      auto* list = out->mutable_list_value();
      list->mutable_values()->Reserve(static_cast<int>(in.size()));
      std::size_t i = 0;
      for (const Json& item : in) {
        path.PushIndex(i++);
        absl::Status s = Convert(item, path, list->add_values());
        if (!s.ok()) return s;
        path.Pop();
      }
      return absl::OkStatus();
    }
    case Json::value_t::object:
      return ConvertObject(in, path, out->mutable_struct_value());
    case Json::value_t::binary:
      return absl::InvalidArgumentError(
          sdk::Cat(path.Render(), ": binary values cannot be sent in a Struct"));
  }
  return absl::InternalError(sdk::Cat(path.Render(), ": unknown JSON type"));
}

}  // namespace

Json FromValue(const Value& in) {
  switch (in.kind_case()) {
    case Value::kNullValue:
    case Value::KIND_NOT_SET:
      return nullptr;
    case Value::kNumberValue:
      return FromNumber(in.number_value());
    case Value::kStringValue:
      return in.string_value();
    case Value::kBoolValue:
      return in.bool_value();
    case Value::kStructValue:
      return FromStruct(in.struct_value());
    case Value::kListValue: {
      Json out = Json::array();
      out.get_ref<Json::array_t&>().reserve(
          static_cast<std::size_t>(in.list_value().values_size()));
      for (const Value& v : in.list_value().values()) out.push_back(FromValue(v));
      return out;
    }
  }
  return nullptr;
}

Json FromStruct(const google::protobuf::Struct& in) {
  Json out = Json::object();
  for (const auto& [key, value] : in.fields()) out.emplace(key, FromValue(value));
  return out;
}

absl::Status ToStruct(const Json& in, std::string_view path, google::protobuf::Struct* out) {
  PathStack stack(path);
  if (!in.is_object()) {
    return absl::InvalidArgumentError(sdk::Cat(stack.Render(), ": must be an object"));
  }
  return ConvertObject(in, stack, out);
}

absl::Status ToValue(const Json& in, std::string_view path, Value* out) {
  PathStack stack(path);
  return Convert(in, stack, out);
}

}  // namespace platform::fn::sdk
