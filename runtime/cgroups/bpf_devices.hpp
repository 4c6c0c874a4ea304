// cgroup v2 device access control: a BPF_PROG_TYPE_CGROUP_DEVICE program
// assembled here from the device rules (no libbpf), loaded with bpf(2) and
// attached with BPF_F_ALLOW_MULTI to the container's cgroup.
//
// The program enforces exactly what the v1 devices controller ends up with
// after the same rules are written to devices.allow/devices.deny in order:
// device_state() replays the kernel's bookkeeping (an "a" rule sets the
// default and clears the exception list; a rule of the default's kind takes
// access away from an identical exception, the other kind adds or widens
// one), and the program checks the request against that list: with a deny
// default an exception must grant every requested access; with an allow
// default an exception denies when it covers any requested access. A cgroup
// starts as allow-all (what it inherits).
#pragma once

#include <linux/bpf.h>

#include <vector>

#include "spec/config.hpp"

namespace oci::cgroups {

struct DeviceException {
  bool block = false;              // else char
  int64_t major = -1, minor = -1;  // -1: any
  int32_t access = 0;              // BPF_DEVCG_ACC_* bits
};
struct DeviceState {
  bool default_allow = true;
  std::vector<DeviceException> exceptions;  // in the order they were added
};
DeviceState device_state(const std::vector<spec::DeviceRule>& rules);

// The program for `rules` taken as they are (callers pass
// effective_device_rules(config rules)): 6 instructions to load the request,
// one block per exception (type, [access: 3], [major], [minor], r0, exit),
// then the default. Pure: unit-tested.
std::vector<bpf_insn> device_program(const std::vector<spec::DeviceRule>& rules);

// Loads `prog` and attaches it to the cgroup directory `dir`; with `replace`,
// programs attached there before are detached afterwards (update). Throws
// oci::Error naming `dir` (with the verifier log when loading fails).
void attach_device_program(const std::string& dir, const std::vector<bpf_insn>& prog, bool replace);

}  // namespace oci::cgroups
