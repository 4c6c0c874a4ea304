#include "runtime/cli/default_seccomp.hpp"

#include <sched.h>

#include <cerrno>
#include <string_view>

namespace oci::cli {
namespace {

// Grouped by why they are denied; one table feeds the profile.
struct DenyGroup {
  std::string_view why;
  std::initializer_list<std::string_view> names;
};
const DenyGroup kDenied[] = {
    {"kernel modules and kexec",
     {"create_module", "delete_module", "finit_module", "init_module", "get_kernel_syms",
      "query_module", "kexec_file_load", "kexec_load"}},
    {"host-wide state: clocks, accounting, swap, quotas, reboot",
     {"acct", "clock_adjtime", "clock_settime", "settimeofday", "stime", "swapon", "swapoff",
      "quotactl", "quotactl_fd", "reboot", "_sysctl", "sysfs", "ustat", "uselib", "nfsservctl",
      "lookup_dcookie"}},
    {"raw hardware access", {"ioperm", "iopl", "vm86", "vm86old"}},
    {"kernel keyrings (not namespaced)", {"add_key", "keyctl", "request_key"}},
    {"mounts and namespaces",
     {"mount", "umount", "umount2", "pivot_root", "unshare", "setns", "fsopen", "fsconfig",
      "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr"}},
    {"other processes' memory and file handles",
     {"ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
      "name_to_handle_at", "open_by_handle_at"}},
    {"large kernel attack surface",
     {"bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
      "io_uring_register"}},
};

// clone's first argument holds the flags on x86 and arm (not on s390).
// (CLONE_NEWTIME is clone3/unshare only: in clone's flags that bit belongs to
// the exit signal.)
constexpr unsigned long kNamespaceFlags[] = {CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                                             CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET};

nlohmann::ordered_json architectures() {
#if defined(__x86_64__)
  return {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
#elif defined(__aarch64__)
  return {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
#else
  return nlohmann::ordered_json::array();  // the native one only
#endif
}

}  // namespace

nlohmann::ordered_json default_seccomp_profile() {
  nlohmann::ordered_json syscalls = nlohmann::ordered_json::array();
  for (const auto& g : kDenied) {
    nlohmann::ordered_json names = nlohmann::ordered_json::array();
    for (auto n : g.names) names.push_back(std::string(n));
    syscalls.push_back({{"names", names}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", EPERM}});
  }
  for (unsigned long flag : kNamespaceFlags)
    syscalls.push_back({{"names", {"clone"}},
                        {"action", "SCMP_ACT_ERRNO"},
                        {"errnoRet", EPERM},
                        {"args", {{{"index", 0}, {"value", flag}, {"valueTwo", flag}, {"op", "SCMP_CMP_MASKED_EQ"}}}}});
  syscalls.push_back({{"names", {"clone3"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", ENOSYS}});
  nlohmann::ordered_json p;
  p["defaultAction"] = "SCMP_ACT_ALLOW";
  p["architectures"] = architectures();
  p["syscalls"] = syscalls;
  return p;
}

}  // namespace oci::cli
