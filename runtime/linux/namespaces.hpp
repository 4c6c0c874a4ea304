// Which namespaces are created, joined or inherited, and how: the plan is pure
// logic (unit-tested); the helpers below it touch the kernel.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/util/fd.hpp"
#include "spec/config.hpp"

namespace oci::linux_ {

struct JoinNs {
  std::string type;  // "network"
  std::string path;
  int flag = 0;      // CLONE_NEWNET
  size_t index = 0;  // position in linux.namespaces (for messages)
};

struct NsPlan {
  uint64_t clone_flags = 0;        // new namespaces created by clone3 itself
  std::vector<JoinNs> parent_join; // pid, time: setns in the runtime before clone
  std::vector<JoinNs> child_join;  // setns in the child, user first
  int unshare_flags = 0;           // unshare in the child after joining (user excluded)
  bool user_via_unshare = false;   // child unshares a new user ns (maps round trip)
  bool new_user = false;           // a new user namespace, by clone or unshare
  bool new_time = false;           // unshare(CLONE_NEWTIME) + offsets in the parent
  bool new_cgroup = false;         // unshare(CLONE_NEWCGROUP) after joining the cgroup
  bool new_pid = false;
  bool fork_for_pid = false;       // unshare(CLONE_NEWPID) needs a fork in the child
};

NsPlan plan_namespaces(const spec::Linux* linux);

// An opened namespace file, checked to be of the expected type.
struct OpenNs {
  JoinNs ns;
  UniqueFd fd;
};
// Opens every path in the plan (parent and child joins) and checks its type:
// "config.json: linux.namespaces[2].path: /proc/1/ns/ipc is not a network namespace".
std::vector<OpenNs> open_namespaces(const std::vector<JoinNs>& joins);
void join(const OpenNs& ns);  // setns

// Remembers this process's pid namespace for children and switches back to it
// on destruction: after a clone into a joined pid namespace, our own later
// children (hooks, sanitizer helpers) must not land in the container's.
class PidNsForChildrenRestore {
 public:
  PidNsForChildrenRestore();  // opens /proc/self/ns/pid (our active pid ns)
  ~PidNsForChildrenRestore();
  PidNsForChildrenRestore(const PidNsForChildrenRestore&) = delete;
  PidNsForChildrenRestore& operator=(const PidNsForChildrenRestore&) = delete;

 private:
  UniqueFd own_;
};

// "0 1000 1\n..." for /proc/<pid>/uid_map.
std::string format_id_map(const std::vector<spec::IdMapping>& maps);
void write_id_maps(pid_t pid, const spec::Linux& linux);
// /proc/self/timens_offsets text for linux.timeOffsets.
std::string format_time_offsets(const spec::Linux& linux);

}  // namespace oci::linux_
