// Waiting for a foreground container process (run, exec without -d):
// forwards every signal to it, proxies a pty master if there is one, reaps
// (we are a subreaper) and returns its exit code (128+N for signal N).
#pragma once

#include <sys/types.h>

#include "runtime/util/fd.hpp"

namespace oci::cli {

// Blocks all signals and returns a signalfd for them; call before the clone
// so no signal is lost (the child unblocks its own mask).
UniqueFd block_signals_for_forwarding();
// A socketpair for the pty master of a terminal process without
// --console-socket: first = our end, second = the end given to the child.
std::pair<UniqueFd, UniqueFd> console_pair();
// The master, if the child sent one (it does so before reporting ready).
UniqueFd take_master(int our_end);
int wait_foreground(pid_t pid, int sigfd, int master);

}  // namespace oci::cli
