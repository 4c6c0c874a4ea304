// The networks configuration (YAML):
//
//   networks:
//     - name: default          # [A-Za-z0-9][A-Za-z0-9_.-]{0,63}
//       bridge: ocirun0        # Linux interface name, at most 15 characters
//       subnet: 10.89.0.0/24   # IPv4 CIDR, /30 or larger
//       gateway: 10.89.0.1     # optional: default the first host address
//       range:                 # optional: the addresses handed out
//         start: 10.89.0.10    #   default: every host address but the gateway
//         end: 10.89.0.200
//       nat: true              # optional (default true): masquerade traffic leaving the subnet
//       isolate: true          # optional (default true): no forwarding between this network's
//                              #   bridge and another isolated network's (false: connected)
//       dns: [192.0.2.53]      # optional: the container's nameservers (default: the host's
//                              #   but loopback ones)
//       dns_search: [example.org]  # optional: its search domains (default: the host's)
//
// Parsing validates everything; errors name the file, line and network.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "hooks/network/ip.hpp"
#include "hooks/network/names.hpp"

namespace ocinet {

inline constexpr const char* kDefaultConfigPath = "/etc/oci-run/networks.yaml";
inline constexpr const char* kConfigEnv = "OCI_RUN_NETWORK_CONFIG";
inline constexpr const char* kDefaultNetwork = "default";

// Annotations a container uses to choose (config.json "annotations").
inline constexpr const char* kAnnNetwork = "org.oci-run.network";
inline constexpr const char* kAnnIp = "org.oci-run.network.ip";
inline constexpr const char* kAnnPorts = "org.oci-run.network.ports";
inline constexpr const char* kAnnConfig = "org.oci-run.network.config";

struct Network {
  std::string name;
  std::string bridge;
  Cidr subnet;
  Ipv4 gateway = 0;
  Ipv4 range_start = 0;
  Ipv4 range_end = 0;
  bool nat = true;
  bool isolate = true;  // drop forwarding to and from other isolated networks' bridges
  std::vector<std::string> dns;         // nameservers of the container's resolv.conf
  std::vector<std::string> dns_search;  // its search domains
};

struct Config {
  std::string source;  // the file it came from, or "built-in"
  std::vector<Network> networks;

  const Network* find(const std::string& name) const;
};

// Parses and validates YAML text; `source` names it in errors. Throws ocinet::Error.
Config parse_config(const std::string& yaml, const std::string& source);

// The file to use: the annotation, else $OCI_RUN_NETWORK_CONFIG, else the default path.
struct ConfigSource {
  std::string path;
  bool chosen = false;  // named by the annotation or the environment (then it must exist)
};
ConfigSource config_source(const std::map<std::string, std::string>& annotations,
                           const char* env_value);

// Reads and parses the file. Only the default path may be missing: then the
// built-in configuration (one network "default", bridge ocirun0, 10.89.0.0/24).
Config load_config(const ConfigSource& src);
Config builtin_config();

bool valid_interface_name(const std::string& name);

}  // namespace ocinet
