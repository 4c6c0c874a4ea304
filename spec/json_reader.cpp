#include "spec/json_reader.hpp"

#include <cstdio>
#include <cstring>

#include "spec/error.hpp"

namespace oci::spec::json {

std::string quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (u < 0x20 || u == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", u);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

void fail(std::string_view source, std::string_view path, std::string_view problem) {
  std::string msg;
  msg.reserve(source.size() + path.size() + problem.size() + 4);
  msg.append(source);
  msg += ": ";
  if (!path.empty()) {
    msg.append(path);
    msg += ": ";
  }
  msg.append(problem);
  throw ConfigError(msg);
}

Json parse(std::string_view text, std::string_view source) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {  // parse_error, or out_of_range for 1e400
    // Drop nlohmann's "[json.exception.parse_error.101] " tag, keep the position text.
    std::string_view what = e.what();
    if (!what.empty() && what.front() == '[') {
      auto close = what.find("] ");
      if (close != std::string_view::npos) what.remove_prefix(close + 2);
    }
    std::string problem = "invalid JSON: ";
    problem.append(what);
    fail(source, {}, problem);
  }
}

Node Node::operator[](std::string_view key) const {
  const Json* child = nullptr;
  if (j_ && j_->is_object()) {
    const auto& obj = j_->get_ref<const Json::object_t&>();
    auto it = obj.find(key);  // transparent comparator: no allocation
    if (it != obj.end() && !it->second.is_null()) child = &it->second;
  }
  return Node(child, this, Kind::Key, key, 0);
}

Node Node::required(std::string_view key) const {
  Node child = (*this)[key];
  if (!child.present()) child.fail("required");
  return child;
}

static bool plain_key(std::string_view k) {
  if (k.empty()) return false;
  for (char c : k) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_';
    if (!ok) return false;
  }
  return true;
}

void Node::append_path(std::string& out) const {
  if (kind_ == Kind::Root) return;
  parent_->append_path(out);
  switch (kind_) {
    case Kind::Key:
      if (!out.empty()) out += '.';
      if (plain_key(key_)) out.append(key_);
      else out += quote(key_);
      break;
    case Kind::MapKey:
      if (!out.empty()) out += '.';
      out += quote(key_);
      break;
    case Kind::Index:
      out += '[';
      out += std::to_string(index_);
      out += ']';
      break;
    case Kind::Root:
      break;
  }
}

std::string Node::path() const {
  std::string out;
  append_path(out);
  return out;
}

void Node::fail(std::string_view problem) const { json::fail(source_, path(), problem); }

void Node::expect_object() const {
  if (!j_) fail("required");
  if (!j_->is_object()) fail("expected object");
}

std::string Node::string() const {
  if (!j_) fail("required");
  if (!j_->is_string()) fail("expected string");
  // Every string ends up as a C string (path, argv, env, sysctl): an embedded
  // NUL would silently cut it short.
  if (j_->get_ref<const std::string&>().find('\0') != std::string::npos) fail("contains a NUL byte");
  return j_->get_ref<const std::string&>();
}

bool Node::boolean() const {
  if (!j_) fail("required");
  if (!j_->is_boolean()) fail("expected boolean");
  return j_->get_ref<const Json::boolean_t&>();
}

std::vector<std::string> Node::strings() const {
  if (!j_) fail("required");
  if (!j_->is_array()) fail("expected array of strings");
  const auto& arr = j_->get_ref<const Json::array_t&>();
  std::vector<std::string> out;
  out.reserve(arr.size());
  for (size_t i = 0; i < arr.size(); ++i) {
    if (!arr[i].is_string()) Node(&arr[i], this, Kind::Index, {}, i).fail("expected string");
    if (arr[i].get_ref<const std::string&>().find('\0') != std::string::npos)
      Node(&arr[i], this, Kind::Index, {}, i).fail("contains a NUL byte");
    out.push_back(arr[i].get_ref<const std::string&>());
  }
  return out;
}

std::map<std::string, std::string> Node::string_map() const {
  if (!j_) fail("required");
  if (!j_->is_object()) fail("expected object");
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : j_->get_ref<const Json::object_t&>()) {
    if (!value.is_string()) Node(&value, this, Kind::MapKey, key, 0).fail("expected string");
    if (key.find('\0') != std::string::npos || value.get_ref<const std::string&>().find('\0') != std::string::npos)
      Node(&value, this, Kind::MapKey, key, 0).fail("contains a NUL byte");
    out.emplace_hint(out.end(), key, value.get_ref<const std::string&>());
  }
  return out;
}

void Node::fail_range(std::string_view type) const {
  std::string problem = "value ";
  problem += j_->dump();
  problem += " out of range for ";
  problem.append(type);
  fail(problem);
}

}  // namespace oci::spec::json
