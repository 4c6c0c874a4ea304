// Scheduling attributes and execution domain of the container process, set
// by the runtime right before the process's identity is applied:
// process.scheduler (sched_setattr), process.ioPriority (ioprio_set) and
// linux.personality (personality). The names come from spec/tables.
// Also process.execCPUAffinity of `exec`, applied by the runtime to its child.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "spec/config.hpp"

namespace oci::linux_ {

// The kernel's struct sched_attr for `s` (SCHED_* and SCHED_FLAG_* by name).
struct SchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
};
SchedAttr sched_attr_for(const spec::Scheduler& s);
// IOPRIO_PRIO_VALUE(class, priority).
int io_priority_value(const spec::IoPriority& io);
// PER_LINUX or PER_LINUX32.
unsigned long personality_value(const spec::Personality& p);

// The sched_setaffinity mask for a CPU list (as spec::parse_cpu_list gives
// it): bit c of word c / (8 * sizeof(unsigned long)).
std::vector<unsigned long> cpu_mask_for(const std::vector<uint32_t>& cpus);
// sched_setaffinity(pid, list); `field` names the config field in errors:
// "process.execCPUAffinity.final: sched_setaffinity 64 on pid 12: Invalid argument".
// An empty list does nothing.
void set_cpu_affinity(pid_t pid, const std::string& list, const std::string& field);

void apply_scheduler(const spec::Scheduler& s);
void apply_io_priority(const spec::IoPriority& io);
void apply_personality(const spec::Personality& p);

}  // namespace oci::linux_
