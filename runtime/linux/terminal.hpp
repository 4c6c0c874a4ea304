// The container's terminal: a pty allocated on the container's own devpts,
// the master sent to --console-socket with SCM_RIGHTS, the slave made the
// controlling terminal and fds 0-2.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "runtime/util/fd.hpp"
#include "spec/config.hpp"

namespace oci::linux_ {

// In the container, after pivot_root.
void setup_terminal(int console_socket, const std::optional<spec::ConsoleSize>& size);

// The terminal among fds 0-2 is chowned to the process's uid (its group, tty,
// kept), so the user can use it, as runc does; before the uid changes.
void chown_terminal_stdio(uid_t uid);

// Every container process (init and exec, with or without a terminal) starts
// its own session and process group, as runc and crun do. Callers kill whole
// process groups: conmon's --timeout sends SIGKILL to the container's group,
// and without this that group would be conmon's own.
void new_session();

}  // namespace oci::linux_
