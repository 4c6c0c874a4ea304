// Opening paths inside the container root so that no symlink (even one swapped
// during create) can lead outside it: openat2(RESOLVE_IN_ROOT) resolves every
// component as if rootfd were "/".
#pragma once

#include <string>

#include "runtime/util/fd.hpp"

namespace oci::linux_ {

enum class Create { None, Dir, File };

// O_PATH fd of `path` (container-absolute) under rootfd. With Create::Dir or
// ::File missing components are created (parents as 0755 dirs, the last one as
// asked). Returns an empty fd for ENOENT when create is None; throws otherwise.
UniqueFd open_in_root(int rootfd, const std::string& path, Create create);

// "/proc/self/fd/N": a mount target that is exactly the opened object.
std::string fd_path(int fd);

// Split "/a/b/c" into parent "/a/b" and name "c".
void split_parent(const std::string& path, std::string& parent, std::string& name);

}  // namespace oci::linux_
