// cgroup v2 device access control: a BPF_PROG_TYPE_CGROUP_DEVICE program
// assembled here from the device rules (no libbpf), loaded with bpf(2) and
// attached with BPF_F_ALLOW_MULTI to the container's cgroup.
//
// Semantics are those of the v1 devices controller for a rule list applied in
// order: the last rule that matches a request decides; an "a" rule matches
// everything (v1 resets its whole list on "a"); an allow rule matches when it
// grants every requested access, a deny rule when it forbids any of them;
// nothing matching means allow (what a new v1 cgroup inherits).
#pragma once

#include <linux/bpf.h>

#include <vector>

#include "spec/config.hpp"

namespace oci::cgroups {

// The program for `rules` taken as they are (callers pass
// effective_device_rules(config rules)). Rules shadowed by a later "a" rule
// are left out. Pure: unit-tested.
std::vector<bpf_insn> device_program(const std::vector<spec::DeviceRule>& rules);

// Loads `prog` and attaches it to the cgroup directory `dir`; with `replace`,
// programs attached there before are detached afterwards (update). Throws
// oci::Error naming `dir` (with the verifier log when loading fails).
void attach_device_program(const std::string& dir, const std::vector<bpf_insn>& prog, bool replace);

}  // namespace oci::cgroups
