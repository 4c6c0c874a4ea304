// Building the container's filesystem view inside its mount namespace:
// propagation, the rootfs bind, config mounts in order (incl. cgroup mounts),
// /dev, maskedPaths and readonlyPaths; then entering it (pivot_root.cpp).
#pragma once

#include <string>

#include "runtime/cgroups/hierarchy.hpp"
#include "runtime/container/state_store.hpp"
#include "spec/config.hpp"

namespace oci::linux_ {

struct RootfsContext {
  const spec::Config* config = nullptr;
  std::string rootfs;  // absolute host path
  std::string bundle;  // for relative bind sources
  bool no_pivot = false;
  bool in_userns = false;  // no mknod: bind-mount device nodes instead
  bool new_cgroupns = false;
  const cgroups::Layout* layout = nullptr;
  const container::CgroupRecord* cgroup = nullptr;
};

// Everything that happens before pivot_root.
void prepare_rootfs(const RootfsContext& ctx);
// pivot_root (or MS_MOVE + chroot with --no-pivot); cwd becomes "/".
void enter_rootfs(const RootfsContext& ctx);
// After entering: root.readonly and rootfsPropagation.
void finalize_rootfs(const RootfsContext& ctx);

}  // namespace oci::linux_
