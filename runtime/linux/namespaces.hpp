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
  // A network namespace of the container's own (not joined by path): its `lo`
  // starts down and the init brings it up, as runc and crun do.
  bool new_net = false;
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
// Sets IFF_UP on `lo` of the calling thread's network namespace.
void bring_up_loopback();

// linux.sysctl keys of a namespace joined by path that is the runtime's own
// (same inode as /proc/self/ns/<type>) would be written on the host: refused,
// as runc ("... not allowed in host network namespace"). Before any side effect.
void check_sysctl_namespaces(const spec::Linux& linux, const std::vector<OpenNs>& joined);

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

// Who may write a map. Root writes any map itself. An unprivileged caller may
// write only a map of its own id (one entry, size 1) itself, and for gid_map
// only after denying setgroups; a larger map needs the setuid helpers
// newuidmap/newgidmap, which check it against /etc/subuid and /etc/subgid.
enum class MapWriter { Direct, DirectDenySetgroups, Helper };
MapWriter map_writer(const std::vector<spec::IdMapping>& maps, bool privileged, unsigned own_id,
                     bool gid);
// Whether /proc/self/uid_map text is the initial user namespace's identity
// map ("0 0 4294967295"); in any other user namespace even uid 0 is rootless.
bool is_initial_uid_map(const std::string& uid_map);
bool in_initial_user_ns();  // reads /proc/self/uid_map

// Writes uid_map and gid_map of `pid` (its new user namespace), as above.
// `privileged`: the caller is root in its own user namespace.
void write_id_maps(pid_t pid, const spec::Linux& linux, bool privileged);
// /proc/self/timens_offsets text for linux.timeOffsets.
std::string format_time_offsets(const spec::Linux& linux);

}  // namespace oci::linux_
