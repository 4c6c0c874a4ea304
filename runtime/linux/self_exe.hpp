// CVE-2019-5736 class: the container init and every exec child are clones of
// this process, so their /proc/PID/exe is whatever file oci-run runs from. A
// container that gets hold of that link (a `#!/proc/self/exe` script, ptrace
// of the waiting init, a process joining the pid namespace) may reopen it for
// writing and replace the host's runtime. Commands that spawn such processes
// therefore re-execute themselves, before they open anything, from a copy the
// container cannot write:
//   1. a detached read-only bind clone of the binary (open_tree
//      OPEN_TREE_CLONE + mount_setattr MOUNT_ATTR_RDONLY + execveat): no copy,
//      the page cache is shared, nothing appears in any mount table;
//   2. where that is not permitted (rootless, kernel < 5.12): a sealed memfd
//      copy (F_SEAL_SEAL|SHRINK|GROW|WRITE).
// A binary already on a read-only mount, or already a sealed memfd, is run as
// is. See docs/binary-protection.md.
#pragma once

#include <cstdint>
#include <string>

namespace oci::linux_ {

// create, run and exec: the commands whose children a container can reach.
bool command_spawns_container_processes(const std::string& command);

enum class SelfExeKind {
  kWritable,      // an ordinary file on a writable mount: must be protected
  kReadOnlyMount, // on a mount with MNT_READONLY (our bind clone, or a ro /usr)
  kSealedMemfd,   // a memfd with F_SEAL_WRITE|F_SEAL_SHRINK|F_SEAL_GROW
};

// Pure: what statfs f_flags and F_GET_SEALS (-1: not sealable) say.
SelfExeKind classify_self_exe(uint64_t statfs_flags, int seals);

// Returns when /proc/self/exe is protected; otherwise re-executes this program
// (same argv, environment and inherited fds) from a protected copy and does not
// return. Throws Error when neither way works, or when the re-executed copy is
// still not protected (never loops). Call before opening any fd that must not
// survive: every fd this opens is close-on-exec.
//
// Tests only: OCI_RUN_TEST_SELF_EXE=memfd skips the bind clone (both ways are
// protected; the variable cannot turn protection off).
void ensure_protected_self_exe(char** argv);

}  // namespace oci::linux_
