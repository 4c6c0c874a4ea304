// The seccomp profile that `oci-run spec --seccomp` writes into config.json.
#pragma once

#include <nlohmann/json.hpp>

namespace oci::cli {

// A deny list on top of SCMP_ACT_ALLOW: everything a container process does
// normally keeps working; what only the host's administrator should do
// (modules, kexec, clocks, swap, reboot, keyrings, mounts and namespaces,
// ptrace and cross-process memory access, bpf, perf, userfaultfd, io_uring)
// fails with EPERM. clone with a CLONE_NEW* flag fails with EPERM; clone3,
// whose flags a filter cannot see, fails with ENOSYS so that libc falls back
// to clone.
nlohmann::ordered_json default_seccomp_profile();

}  // namespace oci::cli
