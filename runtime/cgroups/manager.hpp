// The container's cgroup: created before the container process runs, joined by
// the parent, removed by delete. Drivers: cgroupfs v1 (every v1 hierarchy the
// runtime is in) and cgroupfs v2 (pure cgroup2 hosts).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "runtime/cgroups/hierarchy.hpp"
#include "runtime/container/state_store.hpp"
#include "spec/config.hpp"

namespace oci::cgroups {

// v1 "devices.allow"/"devices.deny" lines for the config's rules followed by
// the devices every container gets (null, zero, full, tty, random, urandom,
// ptmx, pts, tun). Pure: unit-tested.
struct DeviceWrite {
  bool allow;
  std::string rule;  // "c 1:3 rwm", "a"
};
std::vector<DeviceWrite> v1_device_writes(const std::vector<spec::DeviceRule>& rules);

// Rejects resources this build cannot apply yet, naming the field.
void check_supported(const spec::Resources& r);

class Cgroup {
 public:
  // Creates (or adopts) the cgroup in every hierarchy and applies resources.
  // On error everything created so far is removed.
  static Cgroup create(const Layout& layout, const spec::Config& config, const std::string& id);
  Cgroup(Cgroup&&) noexcept;
  Cgroup& operator=(Cgroup&&) = delete;
  ~Cgroup();

  void add_pid(pid_t pid) const;  // cgroup.procs in every hierarchy
  const container::CgroupRecord& record() const { return rec_; }
  void commit() { committed_ = true; }

 private:
  Cgroup() = default;
  container::CgroupRecord rec_;
  bool committed_ = false;
};

// Remove what create() made (children first); tolerates already-gone dirs.
void destroy(const container::CgroupRecord& rec);
// Host pids in the container's cgroup (first hierarchy that lists them).
std::vector<pid_t> pids(const container::CgroupRecord& rec);

}  // namespace oci::cgroups
