// Rootless cgroups: an unprivileged runtime uses a hierarchy only where the
// container's cgroup is delegated to it (it can create the dir and write its
// cgroup.procs); the others are left out of the container's record, and any
// resource that needs one of them is refused by name.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "runtime/cgroups/hierarchy.hpp"

namespace oci::cgroups {

struct Delegation {
  Layout usable;                     // the hierarchies the container will use
  std::vector<std::string> skipped;  // the container dirs that are not delegated
};

// `dir_of` gives the container's dir in a hierarchy, `delegated` says whether
// the caller may use it. Pure: unit-tested with fake predicates.
Delegation split_delegated(const Layout& layout,
                           const std::function<std::string(const Hierarchy&)>& dir_of,
                           const std::function<bool(const std::string&)>& delegated);

// The kernel answer for `dir`: if it exists, it and its cgroup.procs are
// writable by us; if not, its nearest existing ancestor is writable (we can
// mkdir below it, and a dir we create is ours).
bool delegated_to_caller(const std::string& dir);

}  // namespace oci::cgroups
