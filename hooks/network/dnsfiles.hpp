// The container's /etc/resolv.conf and /etc/hosts (pure text; hook.cpp writes them to
// the state directory and bind-mounts them into the container).
#pragma once

#include <string>
#include <vector>

#include "hooks/network/ip.hpp"

namespace ocinet {

inline constexpr const char* kResolvConfEnv = "OCI_RUN_NETWORK_RESOLV_CONF";
inline constexpr const char* kDefaultResolvConf = "/etc/resolv.conf";

// From the host's resolv.conf text: its nameservers but the loopback ones (127.0.0.0/8,
// ::1: they mean the host's own resolver, unreachable from the container), or the
// network's `dns` servers instead when it has some; its search domains, or the
// network's `dns_search` instead when it has some; its options.
std::string make_resolv_conf(const std::string& host_resolv_conf,
                             const std::vector<std::string>& dns,
                             const std::vector<std::string>& search, const std::string& id);

// localhost entries and "IP NAME..." for the container (its hostname and id).
std::string make_hosts(Ipv4 ip, const std::vector<std::string>& names, const std::string& id);

bool valid_dns_search_domain(const std::string& domain);

}  // namespace ocinet
