#include "hooks/network/ports.hpp"

#include <charconv>

#include "hooks/network/error.hpp"

namespace ocinet {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

uint16_t parse_port(std::string_view s, std::string_view entry) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v == 0 || v > 65535)
    throw Error("port mapping \"" + std::string(entry) + "\": \"" + std::string(s) +
                "\" is not a port number (1-65535)");
  return static_cast<uint16_t>(v);
}

}  // namespace

std::string PortMapping::str() const {
  return std::to_string(host_port) + ":" + std::to_string(container_port) + "/" + proto;
}

std::vector<PortMapping> parse_ports(std::string_view spec) {
  std::vector<PortMapping> out;
  const std::string all(spec);
  if (trim(spec).empty()) return out;
  while (true) {
    size_t comma = spec.find(',');
    std::string_view entry = trim(spec.substr(0, comma));
    if (entry.empty()) throw Error("port mappings \"" + all + "\": empty entry");
    PortMapping m;
    std::string_view ports = entry;
    if (size_t slash = entry.find('/'); slash != std::string_view::npos) {
      std::string_view proto = entry.substr(slash + 1);
      if (proto != "tcp" && proto != "udp")
        throw Error("port mapping \"" + std::string(entry) + "\": protocol \"" +
                    std::string(proto) + "\" is not tcp or udp");
      m.proto = std::string(proto);
      ports = entry.substr(0, slash);
    }
    size_t colon = ports.find(':');
    if (colon == std::string_view::npos) {
      m.host_port = m.container_port = parse_port(ports, entry);
    } else {
      if (ports.find(':', colon + 1) != std::string_view::npos)
        throw Error("port mapping \"" + std::string(entry) +
                    "\": expected HOST:CONTAINER[/tcp|/udp] (a host address is not supported)");
      m.host_port = parse_port(ports.substr(0, colon), entry);
      m.container_port = parse_port(ports.substr(colon + 1), entry);
    }
    for (const auto& o : out)
      if (o.host_port == m.host_port && o.proto == m.proto)
        throw Error("port mappings: host port " + std::to_string(m.host_port) + "/" + m.proto +
                    " is given twice");
    out.push_back(m);
    if (comma == std::string_view::npos) break;
    spec.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace ocinet
