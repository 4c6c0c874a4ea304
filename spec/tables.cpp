#include "spec/tables.hpp"

#include <linux/capability.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <string>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

namespace oci::spec {
namespace {

constexpr NamespaceInfo kNamespaces[] = {
    {"pid", CLONE_NEWPID, "pid"},      {"network", CLONE_NEWNET, "net"},
    {"mount", CLONE_NEWNS, "mnt"},     {"ipc", CLONE_NEWIPC, "ipc"},
    {"uts", CLONE_NEWUTS, "uts"},      {"user", CLONE_NEWUSER, "user"},
    {"cgroup", CLONE_NEWCGROUP, "cgroup"}, {"time", CLONE_NEWTIME, "time"},
};

#define CAP(n) {"CAP_" #n, CAP_##n}
constexpr CapabilityInfo kCapabilities[] = {
    CAP(CHOWN),          CAP(DAC_OVERRIDE),     CAP(DAC_READ_SEARCH), CAP(FOWNER),
    CAP(FSETID),         CAP(KILL),             CAP(SETGID),          CAP(SETUID),
    CAP(SETPCAP),        CAP(LINUX_IMMUTABLE),  CAP(NET_BIND_SERVICE), CAP(NET_BROADCAST),
    CAP(NET_ADMIN),      CAP(NET_RAW),          CAP(IPC_LOCK),        CAP(IPC_OWNER),
    CAP(SYS_MODULE),     CAP(SYS_RAWIO),        CAP(SYS_CHROOT),      CAP(SYS_PTRACE),
    CAP(SYS_PACCT),      CAP(SYS_ADMIN),        CAP(SYS_BOOT),        CAP(SYS_NICE),
    CAP(SYS_RESOURCE),   CAP(SYS_TIME),         CAP(SYS_TTY_CONFIG),  CAP(MKNOD),
    CAP(LEASE),          CAP(AUDIT_WRITE),      CAP(AUDIT_CONTROL),   CAP(SETFCAP),
    CAP(MAC_OVERRIDE),   CAP(MAC_ADMIN),        CAP(SYSLOG),          CAP(WAKE_ALARM),
    CAP(BLOCK_SUSPEND),  CAP(AUDIT_READ),       CAP(PERFMON),         CAP(BPF),
    CAP(CHECKPOINT_RESTORE),
};
#undef CAP

#define RL(n) {"RLIMIT_" #n, RLIMIT_##n}
constexpr RlimitInfo kRlimits[] = {
    RL(AS),     RL(CORE),    RL(CPU),        RL(DATA),       RL(FSIZE),
    RL(LOCKS),  RL(MEMLOCK), RL(MSGQUEUE),   RL(NICE),       RL(NOFILE),
    RL(NPROC),  RL(RSS),     RL(RTPRIO),     RL(RTTIME),     RL(SIGPENDING),
    RL(STACK),
};
#undef RL

#define SIG(n) {#n, SIG##n}
constexpr SignalInfo kSignals[] = {
    SIG(ABRT), SIG(ALRM), SIG(BUS),  SIG(CHLD), SIG(CONT),   SIG(FPE),  SIG(HUP),
    SIG(ILL),  SIG(INT),  SIG(IO),   SIG(IOT),  SIG(KILL),   SIG(PIPE), SIG(PROF),
    SIG(PWR),  SIG(QUIT), SIG(SEGV), SIG(STKFLT), SIG(STOP), SIG(SYS),  SIG(TERM),
    SIG(TRAP), SIG(TSTP), SIG(TTIN), SIG(TTOU), SIG(URG),    SIG(USR1), SIG(USR2),
    SIG(VTALRM), SIG(WINCH), SIG(XCPU), SIG(XFSZ),
};
#undef SIG

using K = MountOptionKind;
constexpr MountOptionInfo kMountOptions[] = {
    {"defaults", K::Flag, 0, 0, 0},
    {"ro", K::Flag, MS_RDONLY, 0, 0},
    {"rw", K::ClearFlag, MS_RDONLY, 0, 0},
    {"nosuid", K::Flag, MS_NOSUID, 0, 0},
    {"suid", K::ClearFlag, MS_NOSUID, 0, 0},
    {"nodev", K::Flag, MS_NODEV, 0, 0},
    {"dev", K::ClearFlag, MS_NODEV, 0, 0},
    {"noexec", K::Flag, MS_NOEXEC, 0, 0},
    {"exec", K::ClearFlag, MS_NOEXEC, 0, 0},
    {"sync", K::Flag, MS_SYNCHRONOUS, 0, 0},
    {"async", K::ClearFlag, MS_SYNCHRONOUS, 0, 0},
    {"dirsync", K::Flag, MS_DIRSYNC, 0, 0},
    {"remount", K::Flag, MS_REMOUNT, 0, 0},
    {"mand", K::Flag, MS_MANDLOCK, 0, 0},
    {"nomand", K::ClearFlag, MS_MANDLOCK, 0, 0},
    {"atime", K::ClearFlag, MS_NOATIME, 0, 0},
    {"noatime", K::Flag, MS_NOATIME, 0, 0},
    {"diratime", K::ClearFlag, MS_NODIRATIME, 0, 0},
    {"nodiratime", K::Flag, MS_NODIRATIME, 0, 0},
    {"relatime", K::Flag, MS_RELATIME, 0, 0},
    {"norelatime", K::ClearFlag, MS_RELATIME, 0, 0},
    {"strictatime", K::Flag, MS_STRICTATIME, 0, 0},
    {"nostrictatime", K::ClearFlag, MS_STRICTATIME, 0, 0},
    {"silent", K::Flag, MS_SILENT, 0, 0},
    {"loud", K::ClearFlag, MS_SILENT, 0, 0},
    {"iversion", K::Flag, MS_I_VERSION, 0, 0},
    {"noiversion", K::ClearFlag, MS_I_VERSION, 0, 0},
    {"lazytime", K::Flag, MS_LAZYTIME, 0, 0},
    {"nolazytime", K::ClearFlag, MS_LAZYTIME, 0, 0},
    {"nosymfollow", K::Flag, MS_NOSYMFOLLOW, 0, 0},
    {"symfollow", K::ClearFlag, MS_NOSYMFOLLOW, 0, 0},
    {"bind", K::Bind, MS_BIND, 0, 0},
    {"rbind", K::Bind, MS_BIND | MS_REC, 0, 0},
    {"private", K::Propagation, MS_PRIVATE, 0, 0},
    {"rprivate", K::Propagation, MS_PRIVATE | MS_REC, 0, 0},
    {"shared", K::Propagation, MS_SHARED, 0, 0},
    {"rshared", K::Propagation, MS_SHARED | MS_REC, 0, 0},
    {"slave", K::Propagation, MS_SLAVE, 0, 0},
    {"rslave", K::Propagation, MS_SLAVE | MS_REC, 0, 0},
    {"unbindable", K::Propagation, MS_UNBINDABLE, 0, 0},
    {"runbindable", K::Propagation, MS_UNBINDABLE | MS_REC, 0, 0},
    {"rro", K::Recursive, 0, MOUNT_ATTR_RDONLY, 0},
    {"rrw", K::Recursive, 0, 0, MOUNT_ATTR_RDONLY},
    {"rnosuid", K::Recursive, 0, MOUNT_ATTR_NOSUID, 0},
    {"rsuid", K::Recursive, 0, 0, MOUNT_ATTR_NOSUID},
    {"rnodev", K::Recursive, 0, MOUNT_ATTR_NODEV, 0},
    {"rdev", K::Recursive, 0, 0, MOUNT_ATTR_NODEV},
    {"rnoexec", K::Recursive, 0, MOUNT_ATTR_NOEXEC, 0},
    {"rexec", K::Recursive, 0, 0, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", K::Recursive, 0, MOUNT_ATTR_NODIRATIME, 0},
    {"rdiratime", K::Recursive, 0, 0, MOUNT_ATTR_NODIRATIME},
    {"rrelatime", K::Recursive, 0, MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
    {"rnorelatime", K::Recursive, 0, 0, MOUNT_ATTR_RELATIME},
    {"rnoatime", K::Recursive, 0, MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME},
    {"ratime", K::Recursive, 0, 0, MOUNT_ATTR_NOATIME},
    {"rstrictatime", K::Recursive, 0, MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME},
    {"rnostrictatime", K::Recursive, 0, 0, MOUNT_ATTR_STRICTATIME},
    {"rnosymfollow", K::Recursive, 0, MOUNT_ATTR_NOSYMFOLLOW, 0},
    {"rsymfollow", K::Recursive, 0, 0, MOUNT_ATTR_NOSYMFOLLOW},
    {"tmpcopyup", K::Extension, 0, 0, 0},
    {"idmap", K::Extension, 0, 0, 0},   // mount_setattr(MOUNT_ATTR_IDMAP), never mount data
    {"ridmap", K::Extension, 0, 0, 0},  // the same, AT_RECURSIVE
};

template <typename T, size_t N>
const T* find_by_name(const T (&table)[N], std::string_view name) {
  for (const auto& e : table)
    if (e.name == name) return &e;
  return nullptr;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::span<const NamespaceInfo> namespace_table() { return kNamespaces; }
const NamespaceInfo* find_namespace(std::string_view name) { return find_by_name(kNamespaces, name); }

std::span<const CapabilityInfo> capability_table() { return kCapabilities; }
std::optional<int> find_capability(std::string_view name) {
  if (auto* e = find_by_name(kCapabilities, name)) return e->value;
  return std::nullopt;
}

std::span<const RlimitInfo> rlimit_table() { return kRlimits; }
std::optional<int> find_rlimit(std::string_view name) {
  if (auto* e = find_by_name(kRlimits, name)) return e->resource;
  return std::nullopt;
}

std::span<const SignalInfo> signal_table() { return kSignals; }

std::optional<int> parse_signal(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc() && p == text.data() + text.size()) {
    if (n <= 0 || n > SIGRTMAX) return std::nullopt;
    return n;
  }
  std::string name = upper(text);
  if (name.rfind("SIG", 0) == 0) name.erase(0, 3);
  if (auto* e = find_by_name(kSignals, name)) return e->number;
  // RTMIN, RTMIN+n, RTMAX, RTMAX-n
  auto rt = [&](std::string_view base, int value, char sign) -> std::optional<int> {
    if (name == base) return value;
    if (name.size() > base.size() + 1 && name.compare(0, base.size(), base) == 0 &&
        name[base.size()] == sign) {
      int off = 0;
      const char* b = name.data() + base.size() + 1;
      const char* e = name.data() + name.size();
      auto [q, ec2] = std::from_chars(b, e, off);
      if (ec2 != std::errc() || q != e) return std::nullopt;
      int v = sign == '+' ? value + off : value - off;
      if (v < SIGRTMIN || v > SIGRTMAX) return std::nullopt;
      return v;
    }
    return std::nullopt;
  };
  if (auto v = rt("RTMIN", SIGRTMIN, '+')) return v;
  if (auto v = rt("RTMAX", SIGRTMAX, '-')) return v;
  return std::nullopt;
}

std::span<const MountOptionInfo> mount_option_table() { return kMountOptions; }
const MountOptionInfo* find_mount_option(std::string_view name) {
  return find_by_name(kMountOptions, name);
}

namespace {
// Values from the kernel's uapi (sched.h, ioprio.h, personality.h).
constexpr NamedValue kSchedulerPolicies[] = {
    {"SCHED_OTHER", 0}, {"SCHED_FIFO", 1}, {"SCHED_RR", 2},      {"SCHED_BATCH", 3},
    {"SCHED_ISO", 4},   {"SCHED_IDLE", 5}, {"SCHED_DEADLINE", 6},
};
constexpr NamedValue kSchedulerFlags[] = {
    {"SCHED_FLAG_RESET_ON_FORK", 0x01}, {"SCHED_FLAG_RECLAIM", 0x02},
    {"SCHED_FLAG_DL_OVERRUN", 0x04},    {"SCHED_FLAG_KEEP_POLICY", 0x08},
    {"SCHED_FLAG_KEEP_PARAMS", 0x10},   {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
    {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40},
};
constexpr NamedValue kIoPriorityClasses[] = {
    {"IOPRIO_CLASS_RT", 1}, {"IOPRIO_CLASS_BE", 2}, {"IOPRIO_CLASS_IDLE", 3}};
constexpr NamedValue kPersonalityDomains[] = {{"LINUX", 0x0000}, {"LINUX32", 0x0008}};
}  // namespace

std::span<const NamedValue> scheduler_policy_table() { return kSchedulerPolicies; }
std::span<const NamedValue> scheduler_flag_table() { return kSchedulerFlags; }
std::span<const NamedValue> io_priority_class_table() { return kIoPriorityClasses; }
std::span<const NamedValue> personality_domain_table() { return kPersonalityDomains; }
std::optional<uint64_t> find_value(std::span<const NamedValue> table, std::string_view name) {
  for (const auto& e : table)
    if (e.name == name) return e.value;
  return std::nullopt;
}

std::optional<unsigned long> find_propagation(std::string_view name) {
  auto* e = find_by_name(kMountOptions, name);
  if (e && e->kind == MountOptionKind::Propagation) return e->flags;
  return std::nullopt;
}

}  // namespace oci::spec
