// linux.seccomp through libseccomp. The filter is compiled to BPF by the
// runtime before clone (so a bad profile fails `create` before any side
// effect), then loaded with one seccomp(2) call in the container at the last
// possible point, allocating nothing (a filter may deny brk/mmap):
//   * process.noNewPrivileges true: after capabilities are dropped and
//     no_new_privs is set, before the init tells `create` it is ready (as
//     runc), so the startContainer hooks run under it; the runtime's signal
//     setup, ready message, exec fifo read and error report (and with
//     SCMP_ACT_NOTIFY the sendmsg to the agent) are then filtered, too.
// With a default action that denies and listed architectures, syscalls newer
// than the newest the profile names return ENOSYS (runc's stub; see .cpp).
//   * noNewPrivileges false: loading needs CAP_SYS_ADMIN, so it happens before
//     the process's identity is applied; the runtime's remaining syscalls (cwd,
//     rlimits, setgroups/setresuid/capset/prctl, the exec fifo, execve) are
//     then subject to the filter, as with runc.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/util/fd.hpp"
#include "spec/config.hpp"
#include "spec/state.hpp"

namespace oci::linux_ {

class SeccompFilter {
 public:
  // Compiles `config`. Throws ConfigError "<source>: linux.seccomp...: ..." for
  // what this libseccomp or kernel cannot do (architecture, flag, NOTIFY
  // without listenerPath). Syscall names libseccomp does not know are skipped
  // (debug log), as are rules whose action is the default action.
  explicit SeccompFilter(const spec::Seccomp& config, const std::string& source = "config.json");
  ~SeccompFilter();
  SeccompFilter(const SeccompFilter&) = delete;
  SeccompFilter& operator=(const SeccompFilter&) = delete;

  // Some rule (or the default action) is SCMP_ACT_NOTIFY: the listener fd must
  // go to linux.seccomp.listenerPath.
  bool uses_notify() const { return notify_; }
  const std::string& listener_path() const { return listener_path_; }
  // The operation named if sending the listener fd fails (composed up front).
  const std::string& send_listener_what() const { return send_listener_what_; }
  // libseccomp rules added (one per syscall, or per argument for OR rules).
  int rule_count() const { return rules_; }
  // libseccomp's pseudo filter code (human-readable; for tests and debugging).
  std::string pfc() const;

  // seccomp(SECCOMP_SET_MODE_FILTER) with the compiled program; with NOTIFY,
  // returns the listener fd (close-on-exec). Allocates only to throw.
  UniqueFd load() const;

 private:
  void* ctx_ = nullptr;  // scmp_filter_ctx
  bool notify_ = false;
  int rules_ = 0;
  unsigned long flags_ = 0;  // SECCOMP_FILTER_FLAG_*
  std::vector<sock_filter> program_;
  std::string listener_path_;
  std::string send_listener_what_;
};

// The "container process state" sent with the listener fd (runtime-spec
// config-linux.md, seccomp listener): ociVersion, fds ["seccompFd"], pid (the
// filtered process as the runtime sees it), metadata and the container state
// (ociVersion, id, status, pid, bundle, annotations).
std::string seccomp_listener_payload(const spec::State& state, int pid, const std::string& metadata);

// Connect to linux.seccomp.listenerPath (in the runtime, before clone).

// In the container: load `filter`; with NOTIFY send the listener fd and
// `payload` in one SCM_RIGHTS message over `listener_sock`, then close the
// listener fd and the socket. Everything after this call is filtered.
void install_seccomp(const SeccompFilter& filter, int listener_sock, const std::string& payload);

// For `features`: everything computed from this libseccomp and kernel.
struct SeccompFeatures {
  std::vector<std::string> actions, operators, archs, known_flags, supported_flags;
};
SeccompFeatures seccomp_features();

}  // namespace oci::linux_
