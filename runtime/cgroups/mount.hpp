// The container's view of cgroupfs at a `cgroup` mount destination: with a new
// cgroup namespace real cgroup mounts (rooted at the container's cgroup),
// otherwise binds of the container's own cgroup dirs; one per v1 hierarchy
// under a tmpfs (v1 and hybrid drivers), or the cgroup2 tree (v2 driver).
#pragma once

#include <string>

#include "runtime/cgroups/hierarchy.hpp"
#include "runtime/container/state_store.hpp"

namespace oci::cgroups {

void mount_cgroup_fs(int rootfd, const std::string& dest, unsigned long flags, const Layout& layout,
                     const container::CgroupRecord& record, bool new_cgroupns);

}  // namespace oci::cgroups
