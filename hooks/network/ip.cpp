#include "hooks/network/ip.hpp"

#include <charconv>

namespace ocinet {
namespace {

std::optional<unsigned> parse_uint(std::string_view s, unsigned max) {
  if (s.empty() || s.size() > 3 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > max) return std::nullopt;
  return v;
}

}  // namespace

std::optional<Ipv4> parse_ipv4(std::string_view text) {
  Ipv4 ip = 0;
  for (int i = 0; i < 4; ++i) {
    size_t dot = text.find('.');
    if ((i < 3) != (dot != std::string_view::npos)) return std::nullopt;
    auto part = parse_uint(text.substr(0, dot), 255);
    if (!part) return std::nullopt;
    ip = (ip << 8) | *part;
    text = i < 3 ? text.substr(dot + 1) : std::string_view{};
  }
  return ip;
}

std::string format_ipv4(Ipv4 ip) {
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 255) + "." +
         std::to_string((ip >> 8) & 255) + "." + std::to_string(ip & 255);
}

std::string Cidr::str() const { return format_ipv4(network) + "/" + std::to_string(prefix); }

std::optional<Cidr> parse_cidr(std::string_view text, CidrError* why) {
  if (why) *why = CidrError::kSyntax;
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto ip = parse_ipv4(text.substr(0, slash));
  auto prefix = parse_uint(text.substr(slash + 1), 32);
  if (!ip || !prefix) return std::nullopt;
  Cidr c{*ip, static_cast<int>(*prefix)};
  if ((*ip & c.mask()) != *ip) {
    if (why) *why = CidrError::kHostBits;
    return std::nullopt;
  }
  return c;
}

}  // namespace ocinet
