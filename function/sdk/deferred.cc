#include "function/sdk/deferred.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/unknown_field_set.h>

#include <bit>
#include <cstdint>
#include <vector>

namespace platform::fn::sdk {
namespace {

constexpr int kVarint = 0;
constexpr int kFixed64 = 1;
constexpr int kLengthDelimited = 2;
constexpr int kFixed32 = 5;

// The one-byte tags of a Resource's `resource` (field 1) and of the field
// its body is moved to, both length-delimited.
constexpr char kResourceTag = (1 << 3) | kLengthDelimited;
constexpr char kDeferredTag = (kDeferredResourceField << 3) | kLengthDelimited;
static_assert(kDeferredResourceField < 16, "the tag must stay one byte long");

// Reads protobuf's wire format from a span, checking every bound.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}

  bool done() const { return p_ == end_; }
  const char* at() const { return p_; }

  bool Varint(std::uint64_t& out) {
    out = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return false;
      const auto byte = static_cast<std::uint8_t>(*p_++);
      out |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  }

  bool Tag(int& field, int& type) {
    std::uint64_t tag = 0;
    if (!Varint(tag) || (tag >> 3) == 0 || (tag >> 3) > 0x1FFFFFFF) return false;
    field = static_cast<int>(tag >> 3);
    type = static_cast<int>(tag & 7);
    return true;
  }

  bool Bytes(std::size_t n, std::string_view& out) {
    if (static_cast<std::size_t>(end_ - p_) < n) return false;
    out = std::string_view(p_, n);
    p_ += n;
    return true;
  }

  bool Delimited(std::string_view& out) {
    std::uint64_t n = 0;
    return Varint(n) && n <= static_cast<std::uint64_t>(end_ - p_) &&
           Bytes(static_cast<std::size_t>(n), out);
  }

  bool Skip(int type) {
    std::uint64_t v = 0;
    std::string_view ignored;
    switch (type) {
      case kVarint:
        return Varint(v);
      case kFixed64:
        return Bytes(8, ignored);
      case kLengthDelimited:
        return Delimited(ignored);
      case kFixed32:
        return Bytes(4, ignored);
      default:  // groups: not in these messages
        return false;
    }
  }

 private:
  const char* p_;
  const char* end_;
};

bool ValidUtf8(std::string_view s) {
  return google::protobuf::internal::IsStructurallyValidUTF8(s.data(), static_cast<int>(s.size()));
}

// Calls `on(key, value)` with each entry of a Struct in the plain form (the
// key, then the value, each once), in order. False when `body` is not in that
// form, or when `on` returns false.
template <typename F>
bool ForEachEntry(std::string_view body, F&& on) {
  Reader r(body);
  while (!r.done()) {
    int field = 0;
    int type = 0;
    std::string_view entry, key, value;
    if (!r.Tag(field, type) || field != 1 || type != kLengthDelimited || !r.Delimited(entry)) {
      return false;
    }
    Reader e(entry);
    if (!e.Tag(field, type) || field != 1 || type != kLengthDelimited || !e.Delimited(key) ||
        !e.Tag(field, type) || field != 2 || type != kLengthDelimited || !e.Delimited(value) ||
        !e.done() || !on(key, value)) {
      return false;
    }
  }
  return true;
}

bool PlainValue(std::string_view body, int depth);

// `depth`: how many objects and lists deep `body` is.
bool PlainStruct(std::string_view body, int depth) {
  return depth <= kMaxDeferredDepth &&
         ForEachEntry(body, [depth](std::string_view key, std::string_view value) {
           return ValidUtf8(key) && PlainValue(value, depth);
         });
}

bool PlainList(std::string_view body, int depth) {
  if (depth > kMaxDeferredDepth) return false;
  Reader r(body);
  while (!r.done()) {
    int field = 0;
    int type = 0;
    std::string_view value;
    if (!r.Tag(field, type) || field != 1 || type != kLengthDelimited || !r.Delimited(value) ||
        !PlainValue(value, depth)) {
      return false;
    }
  }
  return true;
}

// Exactly one kind, with its own wire type.
bool PlainValue(std::string_view body, int depth) {
  Reader r(body);
  int field = 0;
  int type = 0;
  if (!r.Tag(field, type)) return false;
  std::uint64_t v = 0;
  std::string_view bytes;
  bool ok = false;
  switch (field) {
    case 1:  // null_value
    case 4:  // bool_value
      ok = type == kVarint && r.Varint(v);
      break;
    case 2:  // number_value
      ok = type == kFixed64 && r.Bytes(8, bytes);
      break;
    case 3:  // string_value
      ok = type == kLengthDelimited && r.Delimited(bytes) && ValidUtf8(bytes);
      break;
    case 5:  // struct_value
      ok = type == kLengthDelimited && r.Delimited(bytes) && PlainStruct(bytes, depth + 1);
      break;
    case 6:  // list_value
      ok = type == kLengthDelimited && r.Delimited(bytes) && PlainList(bytes, depth + 1);
      break;
    default:
      break;
  }
  return ok && r.done();
}

// Notes where the tag of each `resource` field of the Resource `body` is.
// False when the request is not to be rewritten at all.
bool CollectResource(std::string_view body, const char* wire, std::vector<std::size_t>& tags) {
  Reader r(body);
  while (!r.done()) {
    const char* at = r.at();
    int field = 0;
    int type = 0;
    if (!r.Tag(field, type)) return false;
    if (field == kDeferredResourceField) return false;
    if (field != 1) {
      if (!r.Skip(type)) return false;
      continue;
    }
    std::string_view resource;
    if (type != kLengthDelimited || r.at() != at + 1 || *at != kResourceTag ||
        !r.Delimited(resource) || !PlainStruct(resource, 1)) {
      return false;
    }
    tags.push_back(static_cast<std::size_t>(at - wire));
  }
  return true;
}

// A map entry whose value (field 2) is a message: calls `value` with it.
template <typename F>
bool ForEntryValue(std::string_view entry, F&& value) {
  Reader r(entry);
  while (!r.done()) {
    int field = 0;
    int type = 0;
    if (!r.Tag(field, type)) return false;
    if (field != 2) {
      if (!r.Skip(type)) return false;
      continue;
    }
    std::string_view bytes;
    if (type != kLengthDelimited || !r.Delimited(bytes) || !value(bytes)) return false;
  }
  return true;
}

// Calls `on` with each length-delimited field `number` of `message`; false
// when the message is malformed, `number` comes with another wire type, or
// `on` says so.
template <typename F>
bool ForEachField(std::string_view message, int number, F&& on) {
  Reader r(message);
  while (!r.done()) {
    int field = 0;
    int type = 0;
    if (!r.Tag(field, type)) return false;
    if (field != number) {
      if (!r.Skip(type)) return false;
      continue;
    }
    std::string_view bytes;
    if (type != kLengthDelimited || !r.Delimited(bytes) || !on(bytes)) return false;
  }
  return true;
}

// Every Resource of a State: the composite and each resources entry's value.
bool CollectState(std::string_view state, const char* wire, std::vector<std::size_t>& tags) {
  auto resource = [&](std::string_view b) { return CollectResource(b, wire, tags); };
  return ForEachField(state, pb::State::kCompositeFieldNumber, resource) &&
         ForEachField(state, pb::State::kResourcesFieldNumber,
                      [&](std::string_view entry) { return ForEntryValue(entry, resource); });
}

// Every Resource of a map<string, Resources>'s entries.
bool CollectRequired(std::string_view entry, const char* wire, std::vector<std::size_t>& tags) {
  return ForEntryValue(entry, [&](std::string_view resources) {
    return ForEachField(resources, pb::Resources::kItemsFieldNumber,
                        [&](std::string_view b) { return CollectResource(b, wire, tags); });
  });
}

Json DecodeValue(std::string_view body);

// Decodes a plain Struct's entries into `out`; a key met again replaces the
// value, as protobuf's map does.
void DecodeStructInto(std::string_view body, Json& out) {
  ForEachEntry(body, [&out](std::string_view key, std::string_view value) {
    out[std::string(key)] = DecodeValue(value);
    return true;
  });
}

Json DecodeValue(std::string_view body) {
  Reader r(body);
  int field = 0;
  int type = 0;
  std::uint64_t v = 0;
  std::string_view bytes;
  if (!r.Tag(field, type)) return nullptr;
  switch (field) {
    case 2: {
      if (!r.Bytes(8, bytes)) return nullptr;
      std::uint64_t bits = 0;
      for (int i = 7; i >= 0; --i) bits = (bits << 8) | static_cast<std::uint8_t>(bytes[i]);
      return FromNumber(std::bit_cast<double>(bits));
    }
    case 3:
      if (!r.Delimited(bytes)) return nullptr;
      return std::string(bytes);
    case 4:
      if (!r.Varint(v)) return nullptr;
      return v != 0;
    case 5: {
      Json out = Json::object();
      if (r.Delimited(bytes)) DecodeStructInto(bytes, out);
      return out;
    }
    case 6: {
      Json out = Json::array();
      if (!r.Delimited(bytes)) return out;
      Reader list(bytes);
      std::string_view item;
      while (!list.done() && list.Tag(field, type) && list.Delimited(item)) {
        out.push_back(DecodeValue(item));
      }
      return out;
    }
    default:  // 1, null_value
      return nullptr;
  }
}

// Calls `on` with each deferred body of `resource`, in order.
template <typename F>
bool ForEachDeferred(const pb::Resource& resource, F&& on) {
  const google::protobuf::UnknownFieldSet& unknown =
      resource.GetReflection()->GetUnknownFields(resource);
  bool any = false;
  for (int i = 0; i < unknown.field_count(); ++i) {
    const google::protobuf::UnknownField& f = unknown.field(i);
    if (f.number() != kDeferredResourceField ||
        f.type() != google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) {
      continue;
    }
    any = true;
    on(std::string_view(f.length_delimited()));
  }
  return any;
}

}  // namespace

int DeferResourceBodies(std::string& wire) {
  // Should a later version of the protocol give Resource a field 15, the
  // bodies would be read as that field: then nothing is deferred.
  static const bool number_free =
      pb::Resource::descriptor()->FindFieldByNumber(kDeferredResourceField) == nullptr;
  if (!number_free) return 0;
  std::vector<std::size_t> tags;
  const char* base = wire.data();
  auto required = [&](std::string_view entry) { return CollectRequired(entry, base, tags); };
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  constexpr int kExtraResources = pb::RunFunctionRequest::kExtraResourcesFieldNumber;
#pragma GCC diagnostic pop
  const bool plain =
      ForEachField(wire, pb::RunFunctionRequest::kObservedFieldNumber,
                   [&](std::string_view state) { return CollectState(state, base, tags); }) &&
      ForEachField(wire, pb::RunFunctionRequest::kRequiredResourcesFieldNumber, required) &&
      ForEachField(wire, kExtraResources, required);
  if (!plain) return 0;
  for (const std::size_t at : tags) wire[at] = kDeferredTag;
  return static_cast<int>(tags.size());
}

Json ResourceJson(const pb::Resource& resource) {
  Json out = resource.has_resource() ? FromStruct(resource.resource()) : Json::object();
  ForEachDeferred(resource, [&](std::string_view body) { DecodeStructInto(body, out); });
  return out;
}

std::string ResourceString(const pb::Resource& resource, std::string_view key) {
  std::string found;
  const bool deferred = ForEachDeferred(resource, [&](std::string_view body) {
    // A later body's field replaces an earlier one's, as when merged.
    ForEachEntry(body, [&](std::string_view k, std::string_view value) {
      if (k != key) return true;
      Reader v(value);
      int field = 0;
      int type = 0;
      std::string_view text;
      found = v.Tag(field, type) && field == 3 && v.Delimited(text) ? std::string(text) : "";
      return true;
    });
  });
  if (deferred) return found;
  const auto& fields = resource.resource().fields();
  const auto it = fields.find(std::string(key));
  return it != fields.end() && it->second.has_string_value() ? it->second.string_value() : "";
}

}  // namespace platform::fn::sdk
