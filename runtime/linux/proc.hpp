// Reading /proc/<pid>/stat: process state and start time (pid-reuse guard);
// and the one way the runtime writes (or reads) a procfs/sysfs file.
#pragma once

#include <fcntl.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace oci::linux_ {

struct ProcStat {
  char state = '?';
  pid_t ppid = 0;
  unsigned long long start_time = 0;  // clock ticks since boot
};

std::optional<ProcStat> read_proc_stat(pid_t pid);

// Alive, not a zombie, and the same process that was recorded.
bool process_matches(pid_t pid, unsigned long long start_time);

// ---- Verified procfs/sysfs access (the CVE-2025-52881 class) ----
// A file the runtime writes under /proc or /sys must be the kernel's file,
// not one a container (or its image) redirected with a symlink or a mount:
//   * the first component ("/proc" or "/sys") is opened as a directory and
//     must be a procfs (PROC_SUPER_MAGIC) or sysfs (SYSFS_MAGIC) mount;
//   * the rest is resolved below it with openat2 RESOLVE_BENEATH |
//     RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS and O_NOFOLLOW: no "..", no
//     magic link (/proc/<pid>/fd/N, .../root), no mount crossing, so a file
//     bind-mounted over the target (e.g. another procfs file) is refused;
//     plain symlinks inside the same mount ("self", "thread-self") resolve;
//   * the opened file is checked again with fstatfs;
// and only then is `data` written, in one write(2).
// `path` is absolute: "/proc/123/oom_score_adj", "/proc/sys/net/ipv4/ip_forward".
// With root_fd != AT_FDCWD it is taken inside that root (the container's rootfs
// before pivot_root): its first component is resolved with RESOLVE_IN_ROOT.
// Errors name the operation and the path:
//   "write /proc/123/oom_score_adj: Permission denied"
//   "open /proc/sys/kernel/x: is not on procfs (filesystem type 0x1021994)"
//   "open /proc/sys/kernel/msgmax: not on procfs directly: a mount point is in
//    the way (Invalid cross-device link)"
enum class PseudoFs { Proc, Sys };

// The filesystem magic `kind` demands and its name for messages.
unsigned long pseudo_fs_magic(PseudoFs kind);
const char* pseudo_fs_name(PseudoFs kind);
// The part of `path` that is the mount point ("/proc", "/sys") and the rest,
// or nullopt when `path` does not start with it or is not clean (".." etc.).
// Pure logic, unit-tested.
struct PseudoPath {
  std::string mount;  // "/proc"
  std::string rel;    // "123/oom_score_adj"
};
std::optional<PseudoPath> split_pseudo_path(PseudoFs kind, std::string_view path);

// Opens `path` with `flags` (O_CLOEXEC|O_NOFOLLOW added) after the checks
// above; returns the fd (caller owns it) or throws oci::Error.
int open_pseudo_file(PseudoFs kind, const std::string& path, int flags, int root_fd = AT_FDCWD);
void write_pseudo_file(PseudoFs kind, const std::string& path, std::string_view data,
                       int root_fd = AT_FDCWD);
// As write_pseudo_file, but false (nothing written) when `path` or a directory
// on the way does not exist (e.g. /proc/thread-self/attr/apparmor on a kernel
// without it); every other failure still throws.
bool write_pseudo_file_if_exists(PseudoFs kind, const std::string& path, std::string_view data,
                                 int root_fd = AT_FDCWD);
std::string read_pseudo_file(PseudoFs kind, const std::string& path, int root_fd = AT_FDCWD);
// As read_pseudo_file, but nullopt when `path` or a directory on the way does
// not exist, without throwing: host probes on the path of every create (the
// first exception of a process costs ~1.5 ms of unwinder set-up in this
// static binary).
std::optional<std::string> read_pseudo_file_if_exists(PseudoFs kind, const std::string& path,
                                                      int root_fd = AT_FDCWD);

// Shorthands for the host's (or, after pivot_root, the container's) /proc.
inline void write_proc_file(const std::string& path, std::string_view data) {
  write_pseudo_file(PseudoFs::Proc, path, data);
}

}  // namespace oci::linux_
