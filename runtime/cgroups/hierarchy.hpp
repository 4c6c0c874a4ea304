// Discovery of the host's cgroup hierarchies (v1, v2, hybrid) and cgroup path
// resolution. Parsing is pure (unit-tested); detect() reads /proc/self.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oci::cgroups {

struct Hierarchy {
  std::string mountpoint;               // /sys/fs/cgroup/memory
  std::vector<std::string> controllers; // {"memory"} / {"cpu","cpuacct"} / {"name=systemd"}; empty for v2
  bool v2 = false;
  std::string own;                      // this process's cgroup in it ("/user/1")
};

struct Layout {
  std::vector<Hierarchy> v1;
  std::optional<Hierarchy> unified;  // cgroup2 mount (pure v2 or hybrid)
  bool pure_v2() const { return v1.empty() && unified.has_value(); }
};

// Builds the layout from the text of /proc/self/mountinfo and /proc/self/cgroup.
Layout parse_layout(std::string_view mountinfo, std::string_view proc_cgroup);
// The host's layout, read once per process.
const Layout& detect();

// How a container's cgroup is laid out:
//   V1      one cgroup per v1 hierarchy the runtime is in;
//   V2      one cgroup in the cgroup2 hierarchy, which holds every controller;
//   Hybrid  V1, plus a cgroup in the cgroup2 hierarchy (membership, cgroup.kill,
//           cgroup.freeze and v2-only controllers such as hugetlb there).
enum class Driver { V1, V2, Hybrid };

// Picks the driver for `layout`: by default pure v2 -> V2, v1 with a cgroup2
// mount -> Hybrid, v1 only -> V1. `forced` is $OCI_RUN_CGROUP_DRIVER ("v1",
// "v2", "hybrid"; null/empty/"auto" = default); throws oci::Error when the
// value is unknown or the host lacks what it asks for.
Driver select_driver(const Layout& layout, const char* forced);
const char* driver_name(Driver d);  // "v1", "v2", "hybrid"

// Where a container's cgroup lives inside one hierarchy: absolute cgroupsPath is
// taken as is, a relative one is joined to the process's own cgroup there; an
// empty one defaults to the container id (relative).
std::string resolve_path(const std::string& cgroups_path, const std::string& id,
                         const std::string& own);

}  // namespace oci::cgroups
