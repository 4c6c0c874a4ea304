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

}  // namespace oci::linux_
