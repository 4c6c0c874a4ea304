// The container init: what the cloned child does, in order, from the clone
// until it execs the user process. It never returns.
#pragma once

#include <string>
#include <vector>

#include "runtime/linux/namespaces.hpp"
#include "runtime/linux/rootfs.hpp"
#include "runtime/linux/seccomp.hpp"
#include "spec/config.hpp"

namespace oci::linux_ {

struct InitContext {
  const spec::Config* config = nullptr;
  std::string id;
  RootfsContext rootfs;
  NsPlan plan;
  const std::vector<OpenNs>* child_join = nullptr;
  int sync_fd = -1;     // child's end of the sync socketpair
  int fifo_fd = -1;     // exec fifo, O_RDWR: read blocks until `start`
  int console_fd = -1;  // connected --console-socket, or -1
  int preserve_fds = 0; // fds 3 .. 3+preserve_fds-1 pass through
  bool no_new_keyring = false;
  // An unprivileged runtime writes the new user namespace's maps through
  // /proc/<pid>, which only a dumpable process lets its owner open: stay
  // dumpable until the maps are written (nothing else is in that namespace yet).
  bool dumpable_until_mapped = false;
  std::vector<std::string> extra_env;  // LISTEN_FDS/LISTEN_PID
  // linux.seccomp compiled by the runtime, or null. With SCMP_ACT_NOTIFY the
  // socket connected to listenerPath; the payload for it (it holds the
  // container's host pid) arrives as the payload of the first Go message, and
  // of one more Go after the fork into a new pid namespace.
  const SeccompFilter* seccomp = nullptr;
  int seccomp_listener_fd = -1;
  // The runtime's own fds the child must drop at once (the state dir's flock
  // would otherwise be held until exec, the parent's sync end would hide EOF).
  std::vector<int> close_in_child;
  // Bind mounts whose source fd the runtime sends right after the first Go
  // (rootfs.hpp: host_side_bind_mounts), in this order; empty: none.
  std::vector<size_t> host_bind_sources;
};

[[noreturn]] void container_init(const InitContext& ctx) noexcept;

}  // namespace oci::linux_
