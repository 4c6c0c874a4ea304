// Published ports: the `org.oci-run.network.ports` annotation,
// "HOST:CONTAINER[/tcp|/udp]" (or "PORT[/proto]" for the same port on both
// sides), comma separated, e.g. "8080:80/tcp,5353:53/udp".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ocinet {

struct PortMapping {
  uint16_t host_port = 0;
  uint16_t container_port = 0;
  std::string proto = "tcp";  // "tcp" or "udp"

  bool operator==(const PortMapping&) const = default;
  std::string str() const;  // "8080:80/tcp"
};

// Throws ocinet::Error naming the bad entry; a host port+protocol given twice is an error.
std::vector<PortMapping> parse_ports(std::string_view spec);

}  // namespace ocinet
