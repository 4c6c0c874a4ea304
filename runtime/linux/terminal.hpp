// The container's terminal: a pty allocated on the container's own devpts,
// the master sent to --console-socket with SCM_RIGHTS, the slave made the
// controlling terminal and fds 0-2.
#pragma once

#include <optional>
#include <string>

#include "runtime/util/fd.hpp"
#include "spec/config.hpp"

namespace oci::linux_ {

// In the container, after pivot_root.
void setup_terminal(int console_socket, const std::optional<spec::ConsoleSize>& size);

}  // namespace oci::linux_
