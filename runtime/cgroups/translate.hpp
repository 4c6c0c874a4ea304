// LinuxResources -> cgroup file writes, for cgroup v1 and v2. Pure: no file
// is touched here (the few decisions that depend on the cgroup's current
// values ask a Reader), so every mapping is unit-tested without root.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "spec/config.hpp"

namespace oci::cgroups {

enum class Version { V1, V2 };

struct Write {
  Version version = Version::V1;
  // v1: the controller whose hierarchy holds the file; v2: the controller that
  // must be enabled for the file to exist ("" for core files such as cgroup.*).
  std::string controller;
  std::string file;
  std::string value;
  std::string field;  // what asked for it, relative to linux.resources ("memory.limit")
  // When `file` does not exist: fail, warn and skip, or skip silently.
  enum class Missing : uint8_t { Error, Warn, Ignore } missing = Missing::Error;
  // Tried instead when `file` does not exist (blkio.weight -> blkio.bfq.weight).
  std::string alt_file, alt_value;

  bool operator==(const Write&) const = default;
};

struct Plan {
  std::vector<Write> writes;  // in order
  // Device rules: v1 writes are in `writes`; with v2 they become a BPF program
  // (see bpf_devices.hpp) attached to the v2 dir.
  bool bpf_devices = false;
  std::vector<std::string> warnings;  // ignored deprecated settings
};

// Current contents of one of the container's cgroup files (nullopt: no such
// file or no cgroup yet, i.e. kernel defaults).
using Reader = std::function<std::optional<std::string>(Version, const std::string& controller,
                                                        const std::string& file)>;
// Which version applies a resource group, given its v1 controller name and
// whether the group can be expressed in v2 at all (net_cls cannot). The v1 and
// v2 drivers answer one version; the hybrid one prefers a mounted v1 controller.
using Picker = std::function<Version(const std::string& v1_controller, bool v2_capable)>;

// Throws oci::Error "linux.resources.<field>: <problem>" for what cannot be
// expressed (e.g. network on v2, unified on v1, swap below limit on v2).
Plan translate(const spec::Resources& r, const Picker& pick, const Reader& read);

// Helpers, exposed for the tests.
Plan translate_all(const spec::Resources& r, Version v);  // one version, kernel defaults
uint64_t shares_to_weight(uint64_t shares);               // cpu.shares -> cpu.weight
uint64_t blkio_weight_to_io_weight(uint64_t weight);      // blkio.weight -> io.weight
// "2MB" / "2048KB" -> "2MB"; nullopt if not <digits><KB|MB|GB|TB>.
std::optional<std::string> hugepage_size_name(const std::string& page_size);

// Device rules as applied: the config's rules in order and then, if there are
// any, the devices every container may use (mknod of any char/block device,
// null, zero, full, tty, random, urandom, ptmx, /dev/pts/*, tun), except
// those a config deny rule names: a deny-all keeps them, an explicit deny of
// one of them wins. v1 writes the list to devices.allow/devices.deny; v2
// compiles it into BPF.
std::vector<spec::DeviceRule> effective_device_rules(const std::vector<spec::DeviceRule>& rules);

// v1 "devices.allow"/"devices.deny" lines for effective_device_rules(rules).
struct DeviceWrite {
  bool allow;
  std::string rule;  // "c 1:3 rwm", "a"
};
std::vector<DeviceWrite> v1_device_writes(const std::vector<spec::DeviceRule>& rules);

}  // namespace oci::cgroups
