// Reading /proc/<pid>/stat: process state and start time (pid-reuse guard).
#pragma once

#include <sys/types.h>

#include <optional>

namespace oci::linux_ {

struct ProcStat {
  char state = '?';
  pid_t ppid = 0;
  unsigned long long start_time = 0;  // clock ticks since boot
};

std::optional<ProcStat> read_proc_stat(pid_t pid);

// Alive, not a zombie, and the same process that was recorded.
bool process_matches(pid_t pid, unsigned long long start_time);

}  // namespace oci::linux_
