#include "runtime/linux/self_exe.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "runtime/linux/sys.hpp"
#include "runtime/util/fd.hpp"
#include "spec/error.hpp"

extern char** environ;

namespace oci::linux_ {
namespace {

// Headers older than Linux 6.3 lack these; the kernel refuses what it does not
// know with EINVAL, and we retry without.
constexpr unsigned kMfdExec = 0x0010U;  // MFD_EXEC
constexpr int kSealExec = 0x0020;       // F_SEAL_EXEC
constexpr int kSealsNeeded = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW;

// Set in the environment of our own re-execution only, and removed again at
// once: a copy that is still not protected is an error, never a loop.
constexpr const char* kReexecMarker = "_OCI_RUN_SELF_EXE_REEXEC";
char kReexecMarkerEntry[] = "_OCI_RUN_SELF_EXE_REEXEC=1";

int seals_of(int fd) {
  int seals = ::fcntl(fd, F_GET_SEALS);
  return seals < 0 ? -1 : seals;
}

SelfExeKind inspect(int path_fd) {
  struct statvfs sv;
  if (::fstatvfs(path_fd, &sv) != 0) throw sys_error("fstatvfs /proc/self/exe");
  int seals = -1;
  if ((sv.f_flag & ST_RDONLY) == 0) {
    // F_GET_SEALS needs a real open (not O_PATH). An execute-only binary
    // cannot be read: then it is not a memfd either.
    UniqueFd rd(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
    if (rd) seals = seals_of(rd.get());
  }
  return classify_self_exe(sv.f_flag, seals);
}

std::vector<char*> env_with_marker() {
  std::vector<char*> env;
  for (char** e = environ; e && *e; ++e) env.push_back(*e);
  env.push_back(kReexecMarkerEntry);
  env.push_back(nullptr);
  return env;
}

// A detached, read-only bind clone of the binary; execveat of it. Returns
// only on failure: "step: strerror".
std::string exec_bind_clone(int exe_fd, char** argv, char** envp) {
  UniqueFd tree(sys::open_tree(exe_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH));
  if (!tree) return std::string("open_tree OPEN_TREE_CLONE /proc/self/exe: ") + std::strerror(errno);
  if (sys::mount_setattr(tree.get(), "", AT_EMPTY_PATH, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
                         0) != 0)
    return std::string("mount_setattr MOUNT_ATTR_RDONLY on the clone of /proc/self/exe: ") + std::strerror(errno);
  sys::execveat(tree.get(), "", argv, envp, AT_EMPTY_PATH);
  return std::string("execveat the read-only clone of /proc/self/exe: ") + std::strerror(errno);
}

// A sealed memfd copy of the binary, re-opened read-only; execveat of it.
// Throws on failure.
[[noreturn]] void exec_sealed_memfd(char** argv, char** envp) {
  UniqueFd src(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!src) throw sys_error("open /proc/self/exe for a sealed copy");
  struct stat st;
  if (::fstat(src.get(), &st) != 0) throw sys_error("fstat /proc/self/exe");
  const unsigned base = MFD_CLOEXEC | MFD_ALLOW_SEALING;
  UniqueFd mem(::memfd_create("oci-run", base | kMfdExec));
  if (!mem && errno == EINVAL) mem.reset(::memfd_create("oci-run", base));
  if (!mem) throw sys_error("memfd_create for a sealed copy of /proc/self/exe");
  off_t off = 0;
  while (off < st.st_size) {
    ssize_t n = ::sendfile(mem.get(), src.get(), &off, static_cast<size_t>(st.st_size - off));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw sys_error("sendfile /proc/self/exe to its sealed copy");
    if (n == 0) throw Error("sendfile /proc/self/exe to its sealed copy: file shrank while copying");
  }
  int seals = F_SEAL_SEAL | kSealsNeeded;
  if (::fcntl(mem.get(), F_ADD_SEALS, seals | kSealExec) != 0 &&
      (errno != EINVAL || ::fcntl(mem.get(), F_ADD_SEALS, seals) != 0))
    throw sys_error("fcntl F_ADD_SEALS on the copy of /proc/self/exe");
  // Nothing writable of the copy survives: exec from a read-only open.
  std::string self_fd = "/proc/self/fd/" + std::to_string(mem.get());
  UniqueFd ro(::open(self_fd.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ro) throw sys_error("open " + self_fd + " (the sealed copy) read-only");
  mem.reset();
  sys::execveat(ro.get(), "", argv, envp, AT_EMPTY_PATH);
  throw sys_error("execveat the sealed copy of /proc/self/exe");
}

}  // namespace

bool command_spawns_container_processes(const std::string& command) {
  return command == "create" || command == "run" || command == "exec";
}

SelfExeKind classify_self_exe(uint64_t statfs_flags, int seals) {
  if (statfs_flags & ST_RDONLY) return SelfExeKind::kReadOnlyMount;
  if (seals >= 0 && (seals & kSealsNeeded) == kSealsNeeded) return SelfExeKind::kSealedMemfd;
  return SelfExeKind::kWritable;
}

void ensure_protected_self_exe(char** argv) {
  bool reexecuted = ::getenv(kReexecMarker) != nullptr;
  if (reexecuted) ::unsetenv(kReexecMarker);
  UniqueFd exe(::open("/proc/self/exe", O_PATH | O_CLOEXEC));
  if (!exe) throw sys_error("open /proc/self/exe");
  if (inspect(exe.get()) != SelfExeKind::kWritable) return;
  if (reexecuted)
    throw Error("re-executed from a protected copy, but /proc/self/exe is still writable: refusing to spawn "
                "container processes from it");
  std::vector<char*> env = env_with_marker();
  // Refused (rootless: EPERM; kernel < 5.12: ENOSYS): the sealed memfd copy,
  // as safe but a full copy of the binary (see docs/binary-protection.md).
  std::string bind_failure = "skipped (OCI_RUN_TEST_SELF_EXE=memfd)";
  const char* force = ::getenv("OCI_RUN_TEST_SELF_EXE");
  if (!(force && std::strcmp(force, "memfd") == 0)) {
    bind_failure = exec_bind_clone(exe.get(), argv, env.data());
  }
  exe.reset();
  try {
    exec_sealed_memfd(argv, env.data());
  } catch (const Error& e) {
    throw Error(std::string("cannot run from a protected copy of the runtime binary: ") + e.what() +
                "; read-only bind clone: " + bind_failure);
  }
}

}  // namespace oci::linux_
