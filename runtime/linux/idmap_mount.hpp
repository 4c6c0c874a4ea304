// Idmapped bind mounts: mounts[].uidMappings/gidMappings and the options
// "idmap" / "ridmap" (runtime-spec config.md).
//
// Where: MOUNT_ATTR_IDMAP needs CAP_SYS_ADMIN over the user namespace of the
// source's filesystem (the host's for ext4, xfs, tmpfs...), which the
// container init no longer has once it is root of its own user namespace. So
// the runtime makes every idmapped mount before clone3, as a detached tree
// (open_tree OPEN_TREE_CLONE, then mount_setattr MOUNT_ATTR_IDMAP with a user
// namespace holding the mapping); the init inherits the fds and only moves each
// tree onto its destination (move_mount), in the container's mount namespace.
//
// Mapping semantics (as the kernel's user namespace maps, and as runc/crun):
// an entry {containerID: C, hostID: H, size: N} shows a file owned on disk by
// C+k as owned by the host id H+k (so inside a container whose user namespace
// maps H to some id, by that id). Without mounts[].uidMappings, "idmap" uses
// the container's own mapping: linux.uidMappings/gidMappings of a new user
// namespace, or the user namespace joined by path.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "runtime/util/fd.hpp"
#include "spec/config.hpp"

namespace oci::linux_ {

// What one idmapped mount needs. Pure data from the config (unit-tested).
struct IdmapRequest {
  size_t index = 0;              // in config.mounts
  bool recursive_bind = false;   // "rbind": the tree takes the submounts along
  bool recursive_idmap = false;  // "ridmap": and the mapping covers them too
  std::vector<spec::IdMapping> uids, gids;  // the mapping of the helper user namespace...
  std::string userns_path;                  // ...or the container's, joined by path
};
// Every mount of `c` that is idmapped ("idmap", "ridmap", or mappings given):
// validation (spec/validate.cpp) has refused the impossible combinations.
std::vector<IdmapRequest> plan_idmap_mounts(const spec::Config& c);

// A new user namespace with the given mappings: a helper process unshares it
// (clone3 CLONE_NEWUSER), the mappings are written, its ns file is opened and
// the helper is killed and reaped before this returns (RAII owner inside). The
// returned fd keeps the namespace alive.
UniqueFd make_userns(const std::vector<spec::IdMapping>& uids,
                     const std::vector<spec::IdMapping>& gids);

// The detached idmapped trees of one container, made by the runtime before
// clone3 (the init inherits them). Closing a tree that was never attached
// unmounts it: nothing is left behind on any failure.
class IdmappedMounts {
 public:
  IdmappedMounts() = default;
  // Makes every tree of `c` (bind sources relative to `bundle`). Errors name the mount:
  //   "mounts[2]: idmap /srv/data: mount_setattr MOUNT_ATTR_IDMAP: Invalid argument
  //    (the source's filesystem, sysfs, does not support idmapped mounts)"
  static IdmappedMounts prepare(const spec::Config& c, const std::string& bundle);
  // The tree for config mount `m` (same object as in the config), or -1.
  int tree_for(const spec::Mount& m) const;
  bool empty() const { return trees_.empty(); }
  void close_all() { trees_.clear(); }

 private:
  std::map<const spec::Mount*, UniqueFd> trees_;
};

// Moves a detached tree onto `target_fd` (O_PATH fd of the destination).
void attach_tree(int tree_fd, int target_fd, const std::string& what);

// Whether this kernel has mount_setattr (and with it MOUNT_ATTR_IDMAP, both
// Linux 5.12): asked without privileges, for `features` and create.
bool idmap_mounts_supported();

}  // namespace oci::linux_
