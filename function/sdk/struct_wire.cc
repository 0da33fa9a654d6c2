#include "function/sdk/struct_wire.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "function/sdk/strings.h"

namespace platform::fn::sdk {
namespace {

// One-byte tags (field number << 3 | wire type) of the messages in
// google/protobuf/struct.proto.
constexpr char kStructFields = (1 << 3) | 2;  // Struct.fields, one map entry each
constexpr char kEntryKey = (1 << 3) | 2;      // map entry key
constexpr char kEntryValue = (2 << 3) | 2;    // map entry value
constexpr char kNullValue = (1 << 3) | 0;
constexpr char kNumberValue = (2 << 3) | 1;
constexpr char kStringValue = (3 << 3) | 2;
constexpr char kBoolValue = (4 << 3) | 0;
constexpr char kStructValue = (5 << 3) | 2;
constexpr char kListValue = (6 << 3) | 2;
constexpr char kListValues = (1 << 3) | 2;  // ListValue.values

std::size_t VarintSize(std::uint64_t v) {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// A length-delimited field with a one-byte tag and a body of `n` bytes.
std::size_t Delimited(std::size_t n) { return 1 + VarintSize(n) + n; }

// The first pass: the size of every Struct and ListValue body, in the order
// the second pass writes them (pre-order). False when a value cannot be
// encoded; ToStruct then says why.
class Measure {
 public:
  explicit Measure(std::vector<std::size_t>& sizes) : sizes_(sizes) {}

  bool Object(const Json& obj, std::size_t& body) {
    const std::size_t slot = sizes_.size();
    sizes_.push_back(0);
    body = 0;
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      std::size_t value = 0;
      if (!Value(it.value(), value)) return false;
      body += Delimited(Delimited(it.key().size()) + Delimited(value));
    }
    sizes_[slot] = body;
    return true;
  }

  // The size of the Value message body for `v`.
  bool Value(const Json& v, std::size_t& size) {
    switch (v.type()) {
      case Json::value_t::null:
      case Json::value_t::discarded:
      case Json::value_t::boolean:
        size = 2;
        return true;
      case Json::value_t::number_integer: {
        const std::int64_t i = v.get<std::int64_t>();
        size = 9;
        return i <= kMaxExactInteger && i >= -kMaxExactInteger;
      }
      case Json::value_t::number_unsigned:
        size = 9;
        return v.get<std::uint64_t>() <= static_cast<std::uint64_t>(kMaxExactInteger);
      case Json::value_t::number_float:
        size = 9;
        return std::isfinite(v.get<double>());
      case Json::value_t::string:
        size = Delimited(v.get_ref<const std::string&>().size());
        return true;
      case Json::value_t::array: {
        const std::size_t slot = sizes_.size();
        sizes_.push_back(0);
        std::size_t body = 0;
        for (const Json& item : v) {
          std::size_t value = 0;
          if (!Value(item, value)) return false;
          body += Delimited(value);
        }
        sizes_[slot] = body;
        size = Delimited(body);
        return true;
      }
      case Json::value_t::object: {
        std::size_t body = 0;
        if (!Object(v, body)) return false;
        size = Delimited(body);
        return true;
      }
      case Json::value_t::binary:
        return false;
    }
    return false;
  }

 private:
  std::vector<std::size_t>& sizes_;
};

// The second pass: writes into a buffer of exactly the measured size.
class Write {
 public:
  Write(const std::vector<std::size_t>& sizes, char* out) : sizes_(sizes), p_(out) {}

  char* end() const { return p_; }

  // The body of a Struct whose size the caller has taken from the sizes.
  void ObjectBody(const Json& obj) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      const std::string& key = it.key();
      const std::size_t value = ValueSize(it.value());
      *p_++ = kStructFields;
      Varint(Delimited(key.size()) + Delimited(value));
      *p_++ = kEntryKey;
      Varint(key.size());
      Bytes(key);
      *p_++ = kEntryValue;
      Varint(value);
      Value(it.value());
    }
  }

  void Value(const Json& v) {
    switch (v.type()) {
      case Json::value_t::null:
      case Json::value_t::discarded:
      case Json::value_t::binary:  // refused by Measure
        *p_++ = kNullValue;
        *p_++ = 0;
        return;
      case Json::value_t::boolean:
        *p_++ = kBoolValue;
        *p_++ = v.get<bool>() ? 1 : 0;
        return;
      case Json::value_t::number_integer:
        Double(static_cast<double>(v.get<std::int64_t>()));
        return;
      case Json::value_t::number_unsigned:
        Double(static_cast<double>(v.get<std::uint64_t>()));
        return;
      case Json::value_t::number_float:
        Double(v.get<double>());
        return;
      case Json::value_t::string: {
        const std::string& s = v.get_ref<const std::string&>();
        *p_++ = kStringValue;
        Varint(s.size());
        Bytes(s);
        return;
      }
      case Json::value_t::array:
        *p_++ = kListValue;
        Varint(sizes_[next_++]);
        for (const Json& item : v) {
          *p_++ = kListValues;
          Varint(ValueSize(item));
          Value(item);
        }
        return;
      case Json::value_t::object:
        *p_++ = kStructValue;
        Varint(sizes_[next_++]);
        ObjectBody(v);
        return;
    }
  }

  void Skip() { ++next_; }

 private:
  // The Value body size of `v`; a container's is the next size recorded,
  // which is its own since everything before it has been written.
  std::size_t ValueSize(const Json& v) const {
    switch (v.type()) {
      case Json::value_t::string:
        return Delimited(v.get_ref<const std::string&>().size());
      case Json::value_t::number_integer:
      case Json::value_t::number_unsigned:
      case Json::value_t::number_float:
        return 9;
      case Json::value_t::array:
      case Json::value_t::object:
        return Delimited(sizes_[next_]);
      default:
        return 2;
    }
  }

  void Varint(std::uint64_t v) {
    while (v >= 0x80) {
      *p_++ = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<char>(v);
  }

  void Bytes(const std::string& s) {
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }

  // A fixed64, little-endian on the wire whatever the host's order.
  void Double(double d) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &d, sizeof bits);
    *p_++ = kNumberValue;
    for (int i = 0; i < 8; ++i) *p_++ = static_cast<char>(bits >> (8 * i));
  }

  const std::vector<std::size_t>& sizes_;
  std::size_t next_ = 0;
  char* p_;
};

}  // namespace

absl::Status EncodeStruct(const Json& in, std::string_view path, std::string* out) {
  std::vector<std::size_t> sizes;
  std::size_t body = 0;
  if (!in.is_object() || !Measure(sizes).Object(in, body)) {
    // The slow path knows the field's path and the words for it.
    google::protobuf::Struct unused;
    absl::Status s = ToStruct(in, path, &unused);
    if (s.ok()) return absl::InternalError(Cat(path, ": cannot be encoded"));
    return s;
  }
  const std::size_t start = out->size();
  out->resize(start + body);
  Write write(sizes, out->data() + start);
  write.Skip();  // the top object's size, already known
  write.ObjectBody(in);
  if (write.end() != out->data() + out->size()) {
    out->resize(start);
    return absl::InternalError(Cat(path, ": encoded size differs from the measured size"));
  }
  return absl::OkStatus();
}

}  // namespace platform::fn::sdk
