// The user process's identity and limits: rlimits, capabilities (via libcap),
// uid/gid/groups, umask, no_new_privs; and the executable lookup.
#pragma once

#include <string>
#include <vector>

#include "spec/config.hpp"

namespace oci::linux_ {

void apply_rlimits(const spec::Process& p);
// Bounding set first, then user switch with keepcaps, then the other sets.
void apply_user_and_capabilities(const spec::Process& p);
void apply_no_new_privileges(const spec::Process& p);

// PATH lookup as in the container (after pivot_root). Throws with the wording
// engines match: `exec: "foo": executable file not found in $PATH`.
std::string find_executable(const std::string& arg0, const std::vector<std::string>& env);
// The environment for execve: process.env plus HOME from /etc/passwd if unset.
std::vector<std::string> exec_environment(const spec::Process& p);

// What execve needs, with stable storage for argv/envp.
struct ExecImage {
  std::string path;
  std::vector<std::string> args, env;
  std::vector<char*> argv, envp;
  void exec() const;  // execve; returns only on failure (errno set)
  // execve; on failure write one record "Eexec PATH: REASON" to report_fd
  // and exit_group(127); never returns. Touches nothing but those syscalls: a
  // seccomp filter may be in force. (Not declared [[noreturn]]: ASan puts a
  // call to __asan_handle_no_return, which needs sigaltstack, before those.)
  void exec_or_report(int report_fd) const noexcept;
};

// Close every fd from `first` up except those in `keep` (which become
// close-on-exec). Marking the rest close-on-exec is not enough: they would
// still be open while process.cwd is resolved, and a cwd of
// "/proc/self/fd/N" naming a leaked host directory leads out of the
// container (CVE-2024-21626). Must run before any seccomp filter.
void close_fds_except(int first, std::vector<int> keep);

// Inside the container's root and namespaces: cwd, rlimits, user and
// capabilities, the executable lookup (as the final user) and no_new_privs.
// The last step before exec. A missing cwd is created (as root) only for the
// container's init (`CwdMissing::Create`); an exec into a missing directory
// fails, as runc's.
enum class CwdMissing { Create, Fail };
ExecImage prepare_process(const spec::Process& p, const std::vector<std::string>& extra_env,
                          CwdMissing missing_cwd);

}  // namespace oci::linux_
