// Network namespaces and the /proc and /proc/sys bits the hook needs.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "runtime/util/fd.hpp"

namespace ocinet {

// The inode of the calling thread's network namespace.
uint64_t current_netns_inode();
// An fd for the network namespace of `pid` (throws when the process is gone).
oci::UniqueFd open_netns(int pid);
uint64_t fd_inode(int fd);
// The inode of /proc/PID/ns/net, if the process exists.
std::optional<uint64_t> netns_inode_of(int pid);
// Field 22 of /proc/PID/stat (start time in clock ticks), if the process exists and is no zombie.
std::optional<uint64_t> proc_start_time(int pid);

// Runs `fn` on a dedicated thread that first enters the network namespace `nsfd`
// (setns affects only that thread) and goes back to its original namespace after;
// the caller's namespace never changes. Exceptions are rethrown in the caller.
void in_netns(int nsfd, const std::function<void()>& fn);

// A file bind-mounted into a container: `source` (a path of the caller's mount
// namespace) onto `target`, relative to the rootfs ("etc/resolv.conf").
struct FileMount {
  std::string source;
  std::string target;
};
// In the mount namespace of `pid` (a dedicated thread enters it), before pivot_root:
// bind-mounts each source onto ROOTFS/target, the target resolved inside the rootfs
// (symlinks cannot lead out of it) and created as an empty file (and its parent
// directory) when missing. Returns false, doing nothing, when `pid` shares the
// caller's mount namespace (the mounts would land in the host's).
bool bind_files_into(int pid, const std::string& rootfs, const std::vector<FileMount>& files);

// net.* sysctls of the calling thread's namespace, e.g. "net/ipv4/ip_forward".
std::string read_sysctl(const std::string& key);
void write_sysctl(const std::string& key, const std::string& value);

}  // namespace ocinet
