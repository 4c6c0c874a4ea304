// Address management over a network's leases: pure logic, no files (those are
// in store.cpp). Whether a lease's container still exists is asked through a
// callback, so allocation and reclaiming are testable without processes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hooks/network/config.hpp"
#include "hooks/network/ip.hpp"
#include "hooks/network/ports.hpp"

namespace ocinet {

struct Lease {
  std::string id;       // container id
  std::string network;  // network name
  Ipv4 ip = 0;
  bool static_ip = false;
  std::vector<PortMapping> ports;
  std::string veth;          // host end of the veth pair
  int pid = 0;               // container process at setup
  uint64_t pid_start = 0;    // its start time (/proc/PID/stat field 22)
  uint64_t netns_inode = 0;  // the container's network namespace
  uint64_t host_netns = 0;   // the namespace the hook ran in (where bridge and rules are)
  int holder_pid = 0;        // the process holding the published host ports (0: none)
  uint64_t holder_start = 0; // its start time
  std::string created;       // RFC 3339 time
};

// Everything recorded for one network: its leases and where dynamic allocation resumes.
struct LeaseTable {
  Ipv4 last = 0;  // the last dynamically allocated address (0: none yet)
  std::vector<Lease> leases;

  const Lease* find_ip(Ipv4 ip) const;
  const Lease* find_id(const std::string& id) const;
  void remove_id(const std::string& id);
};

using AliveFn = std::function<bool(const Lease&)>;

struct Allocation {
  Ipv4 ip = 0;
  std::vector<Lease> reclaimed;  // stale leases taken back (their leftovers must be torn down)
};

// Picks an address for a new container of `net`:
//  * `requested` (a static address): must be a host address of the subnet other than the
//    gateway, and not leased to a live container (a dead one's lease is reclaimed);
//  * otherwise the next free address of the range after the last one handed out; when none
//    is free, the leases of containers that no longer exist are reclaimed.
// Throws ocinet::Error with a clear message when no address can be had. Does not modify
// `table`: the caller removes `reclaimed` and adds the new lease.
Allocation allocate(const Network& net, const LeaseTable& table, std::optional<Ipv4> requested,
                    const AliveFn& alive);

// Host ports must be unique across every network (the host has one set of ports).
// Returns the stale leases that hold any of `ports` (to reclaim); throws if a live one does.
std::vector<Lease> check_ports(const std::vector<PortMapping>& ports,
                               const std::vector<const Lease*>& all_leases, const AliveFn& alive);

}  // namespace ocinet
