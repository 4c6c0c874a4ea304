// Translation of a config.json mount's options into mount(2)/mount_setattr(2)
// arguments. Pure logic: unit-tested without root.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "spec/config.hpp"

namespace oci::linux_ {

struct MountPlan {
  unsigned long flags = 0;                 // MS_* for the first mount(2)
  std::vector<unsigned long> propagation;  // MS_SHARED|MS_REC ... applied after
  uint64_t attr_set = 0;                   // mount_setattr(AT_RECURSIVE)
  uint64_t attr_clr = 0;
  std::string data;                        // comma-joined filesystem options
  bool bind = false;
  bool recursive_bind = false;
  // tmpfs only: fill the new tmpfs with what the destination held before.
  bool tmpcopyup = false;
  // A bind mount whose flags (ro, nosuid...) need a MS_REMOUNT|MS_BIND pass.
  bool needs_remount() const;
};

MountPlan plan_mount(const spec::Mount& m);

// The flags a bind remount must keep (locked flags in a user namespace) given
// the statvfs f_flag bits of the mount.
unsigned long locked_flags_from_statvfs(unsigned long f_flag);

}  // namespace oci::linux_
