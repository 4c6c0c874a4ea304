// A small path-tracking reader over a parsed nlohmann::json document.
//
// A Node is a view of one JSON value plus the way it was reached (parent node and
// key or index). The path string ("linux.namespaces[2].type") is only built when an
// error is reported, so walking a valid document costs no allocations beyond the
// values that are copied into the model. Nodes refer to their parent: a child must
// not outlive the node it came from (use them as stack values while walking).
//
// Every failure throws oci::ConfigError "<source>: <path>: <problem>".
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace oci::spec::json {

using Json = nlohmann::json;

// `s` in double quotes with JSON escapes (for values quoted in messages).
std::string quote(std::string_view s);

// Throws ConfigError "<source>: <path>: <problem>", or "<source>: <problem>" when
// `path` is empty.
[[noreturn]] void fail(std::string_view source, std::string_view path, std::string_view problem);

// Parses a whole document. Malformed text gives "<source>: invalid JSON: <detail>".
Json parse(std::string_view text, std::string_view source);

// Name used in "out of range for <name>" messages.
template <typename T>
constexpr std::string_view int_type_name() {
  if constexpr (std::is_same_v<T, int16_t>) return "int16";
  else if constexpr (std::is_same_v<T, uint16_t>) return "uint16";
  else if constexpr (std::is_same_v<T, int32_t>) return "int32";
  else if constexpr (std::is_same_v<T, uint32_t>) return "uint32";
  else if constexpr (std::is_same_v<T, int64_t>) return "int64";
  else if constexpr (std::is_same_v<T, uint64_t>) return "uint64";
  else return "integer";
}

class Node {
 public:
  // The document root; `source` names the file in messages and must outlive the node.
  Node(const Json& root, std::string_view source)
      : j_(&root), parent_(nullptr), source_(source), key_(), index_(0), kind_(Kind::Root) {}
  Node(const Json&& root, std::string_view source) = delete;  // would dangle

  // False when the value is absent or JSON null (both mean "not set").
  bool present() const { return j_ != nullptr; }

  // Member `key` of an object (absent when this node is absent or not an object).
  // `key` must outlive the child (string literals, or keys owned by the document).
  Node operator[](std::string_view key) const;
  // Like operator[] but "<path>: required" when the member is absent or null.
  Node required(std::string_view key) const;

  // Path from the document root, e.g. `linux.sysctl."net.ipv4.ip_forward"`.
  std::string path() const;
  [[noreturn]] void fail(std::string_view problem) const;
  std::string_view source() const { return source_; }

  // Type checks and conversions. Each fails with "expected <type>" on a mismatch
  // (and "required" when the node is absent); integers also fail with
  // "value N out of range for <type>".
  void expect_object() const;
  std::string string() const;
  bool boolean() const;
  template <typename T>
  T integer() const;
  std::vector<std::string> strings() const;            // "expected array of strings"
  std::map<std::string, std::string> string_map() const;  // values: "expected string"

  // Calls f(const Node& element) for each element of an array ("expected array";
  // a null element is "unexpected null"). Does nothing when the node is absent.
  template <typename F>
  void for_each(F&& f) const;
  // Calls f(const std::string& key, const Node& value) for each member of an object,
  // in key order; value paths render the key quoted (map semantics). A null value
  // gives an absent child. Does nothing when the node is absent.
  template <typename F>
  void for_each_member(F&& f) const;

 private:
  enum class Kind : uint8_t { Root, Key, MapKey, Index };
  Node(const Json* j, const Node* parent, Kind kind, std::string_view key, size_t index)
      : j_(j), parent_(parent), source_(parent->source_), key_(key), index_(index), kind_(kind) {}
  void append_path(std::string& out) const;
  [[noreturn]] void fail_range(std::string_view type) const;

  const Json* j_;
  const Node* parent_;
  std::string_view source_;
  std::string_view key_;
  size_t index_;
  Kind kind_;
};

template <typename T>
T Node::integer() const {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
  using L = std::numeric_limits<T>;
  constexpr std::string_view kType = int_type_name<T>();
  if (!j_) fail("required");
  switch (j_->type()) {
    case Json::value_t::number_unsigned: {
      uint64_t v = j_->get_ref<const Json::number_unsigned_t&>();
      if (v > static_cast<uint64_t>(L::max())) fail_range(kType);
      return static_cast<T>(v);
    }
    case Json::value_t::number_integer: {
      int64_t v = j_->get_ref<const Json::number_integer_t&>();
      if constexpr (std::is_unsigned_v<T>) {
        if (v < 0 || static_cast<uint64_t>(v) > static_cast<uint64_t>(L::max()))
          fail_range(kType);
      } else {
        if (v < static_cast<int64_t>(L::min()) || v > static_cast<int64_t>(L::max()))
          fail_range(kType);
      }
      return static_cast<T>(v);
    }
    case Json::value_t::number_float: {
      // A fraction/exponent literal, or an integer literal too big for 64 bits.
      double d = j_->get_ref<const Json::number_float_t&>();
      if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) >= 9.2e18)
        fail_range(kType);
      fail("expected integer");
    }
    default:
      fail("expected integer");
  }
}

template <typename F>
void Node::for_each(F&& f) const {
  if (!j_) return;
  if (!j_->is_array()) fail("expected array");
  const auto& arr = j_->get_ref<const Json::array_t&>();
  for (size_t i = 0; i < arr.size(); ++i) {
    const Json* e = arr[i].is_null() ? nullptr : &arr[i];
    Node child(e, this, Kind::Index, {}, i);
    if (!e) child.fail("unexpected null");
    f(static_cast<const Node&>(child));
  }
}

template <typename F>
void Node::for_each_member(F&& f) const {
  if (!j_) return;
  if (!j_->is_object()) fail("expected object");
  for (const auto& [key, value] : j_->get_ref<const Json::object_t&>()) {
    Node child(value.is_null() ? nullptr : &value, this, Kind::MapKey, key, 0);
    f(key, static_cast<const Node&>(child));
  }
}

}  // namespace oci::spec::json
