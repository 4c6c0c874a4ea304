// Published host ports reserved for a container's life, as podman's conmon does:
// setup binds every host port (0.0.0.0:PORT, tcp or udp: all the IPv4 addresses the
// DNAT rules cover) before changing anything, so a port a host process already uses
// is refused with "address already in use"; a holder process then keeps the sockets
// (bound, not listening: nothing ever reaches them past the DNAT rules) so no host
// process can take the port while the container runs.
//
// The holder (`oci-run-network hold-ports ID PIDFD FD...`) waits on a pidfd of the
// container's process and exits when it does, however the container ends (kill -9
// of the container and of every oci-run process included); teardown also kills it
// (found by pid and start time through a pidfd) and waits until its sockets are closed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hooks/network/ports.hpp"
#include "runtime/util/fd.hpp"

namespace ocinet {

// One socket bound to 0.0.0.0:HOST_PORT per mapping (calling thread's network namespace).
// Throws naming the port ("host port 8080/tcp is already in use ...: Address already in
// use") and closes what it bound when one fails.
std::vector<oci::UniqueFd> bind_host_ports(const std::vector<PortMapping>& ports);

struct HolderProcess {
  int pid = 0;
  uint64_t start = 0;  // /proc/PID/stat start time (0: it already exited)
};

// Starts the holder of `sockets` for container `id` (process `container_pid` started at
// `container_start`), detached (double fork, own session, cwd /, stdio /dev/null).
HolderProcess spawn_port_holder(const std::string& id, int container_pid, uint64_t container_start,
                                const std::vector<oci::UniqueFd>& sockets);

// Kills the holder if it is still the process recorded, and waits (bounded) until it exited.
void stop_port_holder(int pid, uint64_t start);

// `oci-run-network hold-ports ID PIDFD FD...`: the holder itself. Returns the exit code.
int hold_ports_main(int argc, char** argv);

}  // namespace ocinet
