#include "runtime/linux/process_attrs.hpp"

#include <sched.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "spec/cpu_list.hpp"
#include "spec/error.hpp"
#include "spec/tables.hpp"

namespace oci::linux_ {
namespace {

constexpr int kIoprioWhoProcess = 1;  // IOPRIO_WHO_PROCESS
constexpr int kIoprioClassShift = 13;

uint64_t value_of(std::span<const spec::NamedValue> table, const std::string& name, const char* field) {
  auto v = spec::find_value(table, name);
  if (!v) throw Error(std::string(field) + ": unknown value \"" + name + "\"");  // validated before
  return *v;
}

}  // namespace

SchedAttr sched_attr_for(const spec::Scheduler& s) {
  SchedAttr a{};
  a.size = sizeof a;
  a.sched_policy = static_cast<uint32_t>(value_of(spec::scheduler_policy_table(), s.policy, "process.scheduler.policy"));
  for (const auto& f : s.flags) a.sched_flags |= value_of(spec::scheduler_flag_table(), f, "process.scheduler.flags");
  a.sched_nice = s.nice;
  a.sched_priority = static_cast<uint32_t>(s.priority);
  a.sched_runtime = s.runtime;
  a.sched_deadline = s.deadline;
  a.sched_period = s.period;
  return a;
}

int io_priority_value(const spec::IoPriority& io) {
  auto cls = value_of(spec::io_priority_class_table(), io.io_class, "process.ioPriority.class");
  return static_cast<int>(cls << kIoprioClassShift) | io.priority;
}

unsigned long personality_value(const spec::Personality& p) {
  return value_of(spec::personality_domain_table(), p.domain, "linux.personality.domain");
}

std::vector<unsigned long> cpu_mask_for(const std::vector<uint32_t>& cpus) {
  constexpr size_t kBits = 8 * sizeof(unsigned long);
  std::vector<unsigned long> mask;
  for (uint32_t c : cpus) {
    if (c / kBits >= mask.size()) mask.resize(c / kBits + 1, 0);
    mask[c / kBits] |= 1UL << (c % kBits);
  }
  return mask;
}

void set_cpu_affinity(pid_t pid, const std::string& list, const std::string& field) {
  std::string problem;
  auto cpus = spec::parse_cpu_list(list, &problem);
  if (!cpus) throw Error(field + ": " + problem);  // validated before: not reached
  if (cpus->empty()) return;
  std::vector<unsigned long> mask = cpu_mask_for(*cpus);
  if (::sched_setaffinity(pid, mask.size() * sizeof(unsigned long),
                          reinterpret_cast<const cpu_set_t*>(mask.data())) != 0)
    throw sys_error(field + ": sched_setaffinity " + list + " on pid " + std::to_string(pid));
}

void apply_scheduler(const spec::Scheduler& s) {
  SchedAttr a = sched_attr_for(s);
  if (::syscall(SYS_sched_setattr, 0, &a, 0) != 0) throw sys_error("sched_setattr " + s.policy);
}

void apply_io_priority(const spec::IoPriority& io) {
  if (::syscall(SYS_ioprio_set, kIoprioWhoProcess, 0, io_priority_value(io)) != 0)
    throw sys_error("ioprio_set " + io.io_class + " " + std::to_string(io.priority));
}

void apply_personality(const spec::Personality& p) {
  if (::personality(personality_value(p)) < 0) throw sys_error("personality " + p.domain);
}

}  // namespace oci::linux_
