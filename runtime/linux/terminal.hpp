// The container's terminal: a pty allocated on the container's own devpts,
// the master sent to --console-socket with SCM_RIGHTS, the slave made the
// controlling terminal and fds 0-2.
#pragma once

#include <optional>
#include <string>

#include "runtime/util/fd.hpp"
#include "spec/config.hpp"

namespace oci::linux_ {

// Connect to the console socket (done in the runtime before clone).
UniqueFd connect_console_socket(const std::string& path);
// In the container, after pivot_root.
void setup_terminal(int console_socket, const std::optional<spec::ConsoleSize>& size);
// Send an fd with a name over a unix socket / receive it (used by `run -t`).
void send_fd(int sock, int fd, const std::string& name);
UniqueFd recv_fd(int sock);

}  // namespace oci::linux_
