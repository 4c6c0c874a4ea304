// The container's cgroup: created before the container process runs, joined by
// the parent, changed by update/pause/resume, read by events, removed by
// delete. One cgroupfs manager with three layouts (see Driver in
// hierarchy.hpp): v1, v2, and hybrid (v1 controllers + a cgroup2 dir).
//
// Every function that applies resources reports what it cannot do as
// "linux.resources.<field>: <problem>" naming the file or controller, and
// leaves nothing behind when it fails during create.
#pragma once

#include <sys/types.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "runtime/cgroups/hierarchy.hpp"
#include "runtime/cgroups/record.hpp"
#include "runtime/cgroups/translate.hpp"
#include "runtime/util/fd.hpp"
#include "spec/config.hpp"

namespace oci::cgroups {

// The name of the environment variable that forces a driver ("v1", "v2",
// "hybrid"; unset or "auto" = what the host has).
inline constexpr const char* kDriverEnv = "OCI_RUN_CGROUP_DRIVER";

// Rejects, before any side effect, resources this host (with the selected
// driver) cannot apply at all: a controller that is not mounted / not
// available, a field with no equivalent in the cgroup version in use.
// File-level gaps (a kernel without memory.memsw.*) are found when applying.
void check_supported(const spec::Resources& r);

class Cgroup {
 public:
  // Creates (or adopts) the cgroup in every hierarchy of the driver and
  // applies resources. On error everything created so far is removed.
  // `before_mkdir`, if given, is called before the first mkdir with the record
  // as planned, `created` listing the dirs that do not exist yet: a caller can
  // persist it so that the cgroup can be removed even if this process is
  // killed in the middle of create.
  // `rootless`: use only the hierarchies delegated to the caller (see
  // delegation.hpp) and refuse resources that need the others.
  static Cgroup create(const Layout& layout, const spec::Config& config, const std::string& id,
                       bool rootless, const std::function<void(const Record&)>& before_mkdir = {});
  Cgroup(Cgroup&&) noexcept;
  Cgroup& operator=(Cgroup&&) = delete;
  ~Cgroup();

  void add_pid(pid_t pid) const;  // cgroup.procs of every dir (v1 dirs and the cgroup2 dir)
  const Record& record() const { return rec_; }
  void commit() { committed_ = true; }

 private:
  Cgroup() = default;
  Record rec_;
  bool committed_ = false;
};

// Remove what create() made: the container's own cgroup with the cgroups made
// below it (children first), and parents create made only if they are empty
// now (never descending into them: what is below a parent is not the
// container's). Tolerates already-gone dirs. Waits only for tasks that are
// exiting; throws naming the first own dir that stays busy (and a live process
// in it) so that delete keeps the container's state and can be run again,
// instead of leaking the cgroup silently. A busy parent is no error.
void destroy(const Record& rec);
// Host pids in the container's cgroup (first dir that lists them).
std::vector<pid_t> pids(const Record& rec);

// `update`: applies only the fields present in `r` (devices replace the old
// rules: v1 writes them again, v2 swaps the BPF program).
void update(const Record& rec, const spec::Resources& r);

// pause/resume. v1 freezer when mounted, else cgroup.freeze of the cgroup2 dir.
// freeze() waits (bounded, ~5 s) until the kernel reports frozen, else thaws
// again and throws.
void freeze(const Record& rec);
void thaw(const Record& rec);
bool frozen(const Record& rec);

// Sends `sig` to every process of the cgroup: cgroup.kill for SIGKILL when
// there is a cgroup2 dir, else each pid of cgroup.procs (ESRCH ignored).
void signal_all(const Record& rec, int sig);

// runc's `events --stats` "data" object: cpu, memory, pids, blkio, hugetlb
// (an empty object for what the cgroup does not account).
nlohmann::ordered_json stats(const Record& rec);

// OOM kills in the container's memory cgroup. v1: eventfd registered on
// memory.oom_control; v2: inotify on memory.events. fd() becomes readable on
// a change; consume() drains it and says whether to report an OOM event: v2,
// an OOM kill happened since the last call (or since open()); v1, as runc, the
// eventfd fired while the cgroup still exists (the kill itself may follow).
class OomWatcher {
 public:
  static std::optional<OomWatcher> open(const Record& rec);
  int fd() const { return fd_.get(); }
  bool consume();

 private:
  OomWatcher() = default;
  UniqueFd fd_;
  UniqueFd control_;     // v1: memory.oom_control, kept open while registered
  std::string counter_;  // file with the "oom_kill N" line
  uint64_t last_ = 0;
  bool v2_ = false;
};

}  // namespace oci::cgroups
