#include "hooks/network/ipam.hpp"

#include <algorithm>

#include "hooks/network/error.hpp"

namespace ocinet {

const Lease* LeaseTable::find_ip(Ipv4 ip) const {
  for (const auto& l : leases)
    if (l.ip == ip) return &l;
  return nullptr;
}

const Lease* LeaseTable::find_id(const std::string& id) const {
  for (const auto& l : leases)
    if (l.id == id) return &l;
  return nullptr;
}

void LeaseTable::remove_id(const std::string& id) {
  std::erase_if(leases, [&](const Lease& l) { return l.id == id; });
}

Allocation allocate(const Network& net, const LeaseTable& table, std::optional<Ipv4> requested,
                    const AliveFn& alive) {
  Allocation a;
  const std::string where = "network \"" + net.name + "\" (" + net.subnet.str() + ")";
  if (requested) {
    Ipv4 ip = *requested;
    if (!net.subnet.is_host(ip))
      throw Error("static address " + format_ipv4(ip) + " is not a host address of " + where);
    if (ip == net.gateway)
      throw Error("static address " + format_ipv4(ip) + " is the gateway of " + where);
    if (const Lease* l = table.find_ip(ip)) {
      if (alive(*l))
        throw Error("static address " + format_ipv4(ip) + " of " + where +
                    " is already leased to container " + l->id);
      a.reclaimed.push_back(*l);
    }
    a.ip = ip;
    return a;
  }

  const uint64_t size = uint64_t{net.range_end} - net.range_start + 1;
  auto candidate = [&](uint64_t i) -> Ipv4 {
    // Resume after the last address handed out, wrapping around the range.
    uint64_t base = (table.last >= net.range_start && table.last <= net.range_end)
                        ? uint64_t{table.last} - net.range_start + 1
                        : 0;
    return static_cast<Ipv4>(net.range_start + (base + i) % size);
  };
  for (uint64_t i = 0; i < size; ++i) {
    Ipv4 ip = candidate(i);
    if (ip != net.gateway && !table.find_ip(ip)) {
      a.ip = ip;
      return a;
    }
  }
  // Exhausted: take back the leases whose containers are gone.
  for (const auto& l : table.leases)
    if (!alive(l)) a.reclaimed.push_back(l);
  for (uint64_t i = 0; i < size; ++i) {
    Ipv4 ip = candidate(i);
    if (ip == net.gateway) continue;
    const Lease* holder = table.find_ip(ip);
    if (holder && std::none_of(a.reclaimed.begin(), a.reclaimed.end(),
                               [&](const Lease& r) { return r.id == holder->id; }))
      continue;
    a.ip = ip;
    return a;
  }
  size_t usable = static_cast<size_t>(size) -
                  (net.gateway >= net.range_start && net.gateway <= net.range_end ? 1 : 0);
  throw Error(where + " has no free address: all " + std::to_string(usable) + " of " +
              format_ipv4(net.range_start) + "-" + format_ipv4(net.range_end) +
              " are leased to running containers");
}

std::vector<Lease> check_ports(const std::vector<PortMapping>& ports,
                               const std::vector<const Lease*>& all_leases, const AliveFn& alive) {
  std::vector<Lease> stale;
  for (const Lease* l : all_leases) {
    for (const auto& theirs : l->ports) {
      for (const auto& mine : ports) {
        if (theirs.host_port != mine.host_port || theirs.proto != mine.proto) continue;
        if (alive(*l))
          throw Error("host port " + std::to_string(mine.host_port) + "/" + mine.proto +
                      " is already mapped to container " + l->id + " (network \"" + l->network +
                      "\")");
        if (std::none_of(stale.begin(), stale.end(), [&](const Lease& s) { return s.id == l->id; }))
          stale.push_back(*l);
      }
    }
  }
  return stale;
}

}  // namespace ocinet
