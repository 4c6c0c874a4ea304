// Building the container's filesystem view inside its mount namespace:
// propagation, the rootfs bind, config mounts in order (incl. cgroup mounts),
// /dev, maskedPaths and readonlyPaths; then entering it (pivot_root.cpp).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/cgroups/hierarchy.hpp"
#include "runtime/container/state_store.hpp"
#include "runtime/util/fd.hpp"
#include "spec/config.hpp"

namespace oci::linux_ {

class IdmappedMounts;  // linux/idmap_mount.hpp

struct RootfsContext {
  const spec::Config* config = nullptr;
  std::string rootfs;  // absolute host path
  std::string bundle;  // for relative bind sources
  bool no_pivot = false;
  // No mount namespace in the config: everything happens in the caller's
  // mount namespace, so "/" is left alone, the rootfs bind is made private and
  // entered with chroot; delete detaches it (see detach_host_rootfs).
  bool host_mount_ns = false;
  bool in_userns = false;  // no mknod: bind-mount device nodes instead
  // The container's network namespace is new in its user namespace: it may
  // mount sysfs. In a user namespace without one, sysfs is a bind of /sys.
  bool own_netns = false;
  bool new_cgroupns = false;
  // linux.mountLabel (checked: SELinux hosts only): context= for the
  // non-bind mounts that take it (linux/lsm.hpp) and the maskedPaths tmpfs.
  std::string mount_label;
  const cgroups::Layout* layout = nullptr;
  const container::CgroupRecord* cgroup = nullptr;
  // Detached idmapped trees made by the runtime, moved onto their
  // destinations by mount_one; null when there are none.
  const IdmappedMounts* idmapped = nullptr;
  // Bind sources the runtime opened on the host side (host_side_bind_mounts):
  // config mount index -> O_PATH fd in this process; null when there are none.
  const std::map<size_t, int>* host_sources = nullptr;
};

// As runc: in a new user namespace the container's root may be unable to
// reach a bind source (a 0700 root-owned directory on the way). The runtime
// opens those sources itself, with its host credentials, in the container's
// mount namespace, and hands the fds to the init, which binds from them.
// The plain bind mounts of `c` (not idmapped, not cgroup), as indexes in
// config.mounts, in order. Pure.
std::vector<size_t> host_side_bind_mounts(const spec::Config& c);
// O_PATH fd of mount `m`'s source (relative to `bundle` if relative), looked
// up in the mount namespace of process `pid` (through /proc/<pid>/root, after
// resolving symlinks as the host sees them), with this process's credentials.
// "mount /data: stat source /srv/x: No such file or directory" if missing.
UniqueFd open_host_bind_source(pid_t pid, const spec::Mount& m, const std::string& bundle);

// Everything that happens before pivot_root.
void prepare_rootfs(const RootfsContext& ctx);
// pivot_root (or MS_MOVE + chroot with --no-pivot); cwd becomes "/".
void enter_rootfs(const RootfsContext& ctx);
// --no-pivot: the mount points of every full procfs and sysfs (root "/") of
// the mountinfo text that are outside `rootfs` (a real path), in mountinfo
// order. Left in the container's mount namespace they would let a process
// with a user namespace of its own mount a fresh, unmasked procfs (the
// kernel's mnt_too_revealing check passes while a full one is mounted).
std::vector<std::string> revealing_mounts_outside(std::string_view mountinfo, const std::string& rootfs);

// After entering: root.readonly and rootfsPropagation.
void finalize_rootfs(const RootfsContext& ctx);
// The id of the mount `path` is on (statx STATX_MNT_ID); 0 if unknown.
uint64_t mount_id(const std::string& path);
// Lazily unmount the rootfs bind (and all below it) left in the caller's mount
// namespace by a container without a mount namespace: only if the mount at
// rootfs is no longer `original_mount_id` (so a user's own mount is never touched).
void detach_host_rootfs(const std::string& rootfs, uint64_t original_mount_id);

}  // namespace oci::linux_
