// Linux security modules: process.apparmorProfile, process.selinuxLabel and
// linux.mountLabel. What the host has is asked through LsmHost (faked in unit
// tests); what is written where is planned by pure functions, and only
// apply_lsm_exec touches the kernel (through the verified procfs writes of
// linux/proc.hpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "spec/config.hpp"

namespace oci::linux_ {

class LsmHost {
 public:
  virtual ~LsmHost() = default;
  virtual bool apparmor_enabled() const = 0;
  virtual bool selinux_enabled() const = 0;
};

// The running host: AppArmor when /sys/module/apparmor/parameters/enabled
// reads "Y"; SELinux when selinuxfs is mounted at /sys/fs/selinux. Probed once.
const LsmHost& host_lsm();

// Refuses, before any side effect, what the host cannot apply. `source`
// prefixes the field ("config.json: " or "" for exec):
//   "config.json: process.apparmorProfile: AppArmor is not enabled on this host"
void check_lsm_process(const spec::Process& p, const LsmHost& host, const std::string& source);
void check_lsm_config(const spec::Config& c, const LsmHost& host);

// One write to /proc/thread-self/attr/... right before execve. `paths` are
// tried in order; a path that does not exist moves on to the next one.
struct LsmWrite {
  std::vector<std::string> paths;
  std::string data;
  std::string field;  // for messages: "process.apparmorProfile"
};
std::vector<LsmWrite> plan_lsm_exec(const spec::Process& p);
// Performs the writes (in the container's /proc: call after entering its root).
void apply_lsm_exec(const std::vector<LsmWrite>& writes);

// linux.mountLabel: filesystem types whose mount data takes context=.
bool mount_type_takes_context(std::string_view type);
// `data` with context="<label>" appended when the mount takes it (not a bind
// mount, a type from the table, the data has no context= yet, label set).
std::string mount_data_with_label(const std::string& data, std::string_view type, bool bind,
                                  const std::string& label);

}  // namespace oci::linux_
