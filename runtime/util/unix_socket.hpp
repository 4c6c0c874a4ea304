// Unix stream sockets that carry an fd: the console socket (pty master) and
// the seccomp listener (notify fd) use the same two operations.
#pragma once

#include <string>

#include "runtime/util/fd.hpp"

namespace oci::unix_socket {

// Connects a SOCK_STREAM|SOCK_CLOEXEC socket to `path`; `what` names it in errors.
UniqueFd connect(const std::string& path, const std::string& what);
// Sends `fd` with SCM_RIGHTS along with `payload` (all of it; the fd travels
// with the first piece). `what` names the operation in errors.
void send_fd(int sock, int fd, const std::string& payload, const std::string& what);
// Receives one fd sent by send_fd (close-on-exec).
UniqueFd recv_fd(int sock);

}  // namespace oci::unix_socket
