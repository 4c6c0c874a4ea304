// Per-phase timestamps for finding where a command's time goes (issue #18).
// OCI_RUN_TIMING=1 makes every mark() write one line to stderr:
//   oci-run timing: pid 1234 +3.141 ms (+0.512, cpu 0.210) cgroup created
// (milliseconds since the first mark of the process, since the previous mark,
// and the CPU time this process used in between: the rest was spent waiting,
// for the CPU or for something else). Off by default: then mark() is a load and a branch.
#pragma once

namespace oci::timing {

inline constexpr const char* kEnv = "OCI_RUN_TIMING";

// Reads $OCI_RUN_TIMING once; the first call also sets time zero.
void init();
void mark(const char* phase);

}  // namespace oci::timing
