// The state directory (default /var/lib/oci-run/network, or
// $OCI_RUN_NETWORK_STATE):
//
//   lock                     flock(2)ed for the whole of a setup or teardown
//   host.json                the namespace of the host-wide rules, while any lease exists
//   <network>/leases.json    the network's leases and where allocation resumes
//   <network>/network.json   what setup created for the network (bridge, address, sysctl)
//
// Every file is replaced atomically (write, fsync, rename, fsync the directory),
// so a crash leaves either the old or the new version.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hooks/network/ipam.hpp"
#include "runtime/util/fd.hpp"

namespace ocinet {

inline constexpr const char* kDefaultStateRoot = "/var/lib/oci-run/network";
inline constexpr const char* kStateEnv = "OCI_RUN_NETWORK_STATE";

struct NetworkState {
  std::string network;
  std::string bridge;
  Cidr subnet;
  Ipv4 gateway = 0;
  bool nat = true;
  uint64_t host_netns = 0;          // where the bridge and rules are
  bool bridge_created = false;      // we created the bridge: delete it with the last container
  bool gateway_added = false;       // we added the gateway address to an existing bridge
  std::string route_localnet_prev;  // the bridge's value before we set it ("" untouched)
};

struct HostState {
  uint64_t host_netns = 0;  // where the jumps and chains are
};

class Store {
 public:
  explicit Store(std::string root) : root_(std::move(root)) {}
  static std::string root_from_env();

  const std::string& root() const { return root_; }

  // Exclusive lock of the whole state directory (created if missing); waits up to
  // `timeout_ms`. Released when the returned fd is closed.
  oci::UniqueFd lock(int timeout_ms) const;

  std::vector<std::string> networks() const;  // networks with a state directory
  LeaseTable load_leases(const std::string& network) const;
  void save_leases(const std::string& network, const LeaseTable& t) const;

  std::optional<NetworkState> load_network(const std::string& network) const;
  void save_network(const NetworkState& s) const;
  void remove_network(const std::string& network) const;  // its directory and files

  std::optional<HostState> load_host() const;
  void save_host(const HostState& s) const;
  void remove_host() const;

  // The container's generated files (resolv.conf, hosts): <network>/containers/<id>/.
  std::string container_dir(const std::string& network, const std::string& id) const;
  // Writes (atomically) one of them, creating the directories; returns its path.
  std::string write_container_file(const std::string& network, const std::string& id,
                                   const std::string& name, const std::string& content) const;
  void remove_container_files(const std::string& network, const std::string& id) const;

  // The lease of container `id` in any network.
  std::optional<Lease> find_lease(const std::string& id) const;
  std::vector<Lease> all_leases() const;

 private:
  std::string dir(const std::string& network) const;
  std::string root_;
};

// Serialization, exposed for tests.
std::string lease_table_to_json(const LeaseTable& t);
LeaseTable lease_table_from_json(const std::string& text, const std::string& source);

// Atomic replace of `path` with `content`.
void write_file_atomic(const std::string& path, const std::string& content);
// std::nullopt when the file does not exist.
std::optional<std::string> read_file(const std::string& path);

}  // namespace ocinet
