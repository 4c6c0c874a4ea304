// What the hook modes and the CLI do: setup (createRuntime), teardown
// (poststop), cleanup ID and list. Everything runs under the state directory's
// lock; setup undoes all it did when any step fails.
#pragma once

#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "hooks/network/config.hpp"
#include "hooks/network/ipam.hpp"
#include "hooks/network/store.hpp"

namespace ocinet {

// The container state a hook reads on stdin.
struct ContainerState {
  std::string id;
  std::string status;
  int pid = 0;
  std::string bundle;
  std::string rootfs;  // oci-run's state has it; else from the bundle's config.json
  std::map<std::string, std::string> annotations;
};
ContainerState parse_container_state(const std::string& json);  // throws ocinet::Error
void validate_container_id(const std::string& id);

// The host end of a container's veth pair: "oci" + 8 hex digits of a hash of the id
// (`attempt` > 0 gives alternatives when that name is taken).
std::string veth_name(const std::string& id, int attempt = 0);

// The container the lease was made for still runs (same pid, start time and netns).
bool lease_alive(const Lease& l);

class Manager {
 public:
  explicit Manager(Store store) : store_(std::move(store)) {}

  // createRuntime: the container's interface, address, route and rules.
  void setup(const ContainerState& st);
  // poststop: everything setup added for `id`; a no-op when it has no lease. Returns a
  // warning (empty if none), e.g. when the lease belongs to another network namespace.
  std::string teardown(const std::string& id);
  // `cleanup ID`: like teardown, and also removes rules tagged with the id (and its
  // veth) when no lease is left; finishes any half-done cleanup of unused networks.
  std::string cleanup(const std::string& id);
  // `list`: networks (from `cfg` when it could be loaded) and leases.
  void list(std::ostream& out, bool as_json, const Config* cfg, const std::string& cfg_error);

 private:
  void apply(const Network& net, const Lease& lease, int container_netns);
  // /etc/resolv.conf and /etc/hosts: written to the state directory, bind-mounted into
  // the container (but those config.json mounts itself).
  void provide_name_resolution(const Network& net, const Lease& lease, const ContainerState& st);
  // Tears down `leases` (their rules, veths and leases), rules tagged with `extra_ids`,
  // then every network no lease uses any more (but `keep_network`), and host-wide state
  // when no lease is left at all (and `keep_network` is empty).
  void teardown_locked(const std::vector<Lease>& leases, const std::vector<std::string>& extra_ids,
                       const std::string& keep_network);

  Store store_;
};

}  // namespace ocinet
