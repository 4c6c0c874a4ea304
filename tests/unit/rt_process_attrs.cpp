// process.scheduler / ioPriority and linux.personality -> kernel values.
#include <doctest/doctest.h>
#include <sched.h>
#include <sys/personality.h>

#include "runtime/linux/process_attrs.hpp"

using namespace oci;

TEST_CASE("scheduler: sched_attr from names") {
  spec::Scheduler s;
  s.policy = "SCHED_DEADLINE";
  s.flags = {"SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_DL_OVERRUN"};
  s.runtime = 10000000;
  s.deadline = 30000000;
  s.period = 30000000;
  auto a = linux_::sched_attr_for(s);
  CHECK(a.size == 48);  // SCHED_ATTR_SIZE_VER0
  CHECK(a.sched_policy == 6);
  CHECK(a.sched_flags == 0x05);
  CHECK(a.sched_runtime == 10000000);
  CHECK(a.sched_deadline == 30000000);
  CHECK(a.sched_period == 30000000);
  s = {};
  s.policy = "SCHED_FIFO";
  s.priority = 50;
  a = linux_::sched_attr_for(s);
  CHECK(a.sched_policy == SCHED_FIFO);
  CHECK(a.sched_priority == 50);
  s.policy = "SCHED_BATCH";
  s.priority = 0;
  s.nice = -5;
  a = linux_::sched_attr_for(s);
  CHECK(a.sched_policy == SCHED_BATCH);
  CHECK(a.sched_nice == -5);
}

TEST_CASE("ioPriority and personality values") {
  CHECK(linux_::io_priority_value({"IOPRIO_CLASS_RT", 0}) == (1 << 13));
  CHECK(linux_::io_priority_value({"IOPRIO_CLASS_BE", 7}) == ((2 << 13) | 7));
  CHECK(linux_::io_priority_value({"IOPRIO_CLASS_IDLE", 0}) == (3 << 13));
  CHECK(linux_::personality_value({"LINUX", {}}) == PER_LINUX);
  CHECK(linux_::personality_value({"LINUX32", {}}) == PER_LINUX32);
  CHECK_THROWS_WITH(linux_::personality_value({"LINUX64", {}}),
                    "linux.personality.domain: unknown value \"LINUX64\"");
}

TEST_CASE("execCPUAffinity: CPU list to sched_setaffinity mask") {
  using oci::linux_::cpu_mask_for;
  using V = std::vector<unsigned long>;
  CHECK(cpu_mask_for({}) == V{});
  CHECK(cpu_mask_for({0}) == V{1});
  CHECK(cpu_mask_for({0, 1, 2, 3, 7}) == V{0x8f});
  CHECK(cpu_mask_for({64}) == V{0, 1});
  CHECK(cpu_mask_for({63, 65}) == V{1UL << 63, 2});
  // An empty list leaves the process alone (no syscall, no error).
  CHECK_NOTHROW(oci::linux_::set_cpu_affinity(0, "", "process.execCPUAffinity.final"));
}
