#include "runtime/linux/mount_options.hpp"

#include <sys/mount.h>
#include <sys/statvfs.h>

#include "spec/tables.hpp"

namespace oci::linux_ {

bool MountPlan::needs_remount() const {
  constexpr unsigned long kRemountable = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC |
                                         MS_NOATIME | MS_NODIRATIME | MS_RELATIME |
                                         MS_STRICTATIME | 256 /*MS_NOSYMFOLLOW*/;
  return bind && (flags & kRemountable) != 0;
}

MountPlan plan_mount(const spec::Mount& m) {
  using K = spec::MountOptionKind;
  MountPlan p;
  for (const auto& opt : m.options) {
    const auto* info = spec::find_mount_option(opt);
    if (!info) {
      if (!p.data.empty()) p.data += ',';
      p.data += opt;
      continue;
    }
    switch (info->kind) {
      case K::Flag: p.flags |= info->flags; break;
      case K::ClearFlag: p.flags &= ~info->flags; break;
      case K::Propagation: p.propagation.push_back(info->flags); break;
      case K::Recursive:
        p.attr_set = (p.attr_set & ~info->attr_clr) | info->attr_set;
        p.attr_clr = (p.attr_clr & ~info->attr_set) | info->attr_clr;
        break;
      case K::Bind:
        p.bind = true;
        if (info->flags & MS_REC) p.recursive_bind = true;
        break;
      case K::Extension:
        if (opt == "tmpcopyup") p.tmpcopyup = true;
        break;
    }
  }
  if (m.type == "bind") p.bind = true;
  if (p.bind) p.flags |= MS_BIND | (p.recursive_bind ? MS_REC : 0);
  return p;
}

unsigned long locked_flags_from_statvfs(unsigned long f) {
  unsigned long out = 0;
  if (f & ST_NOSUID) out |= MS_NOSUID;
  if (f & ST_NODEV) out |= MS_NODEV;
  if (f & ST_NOEXEC) out |= MS_NOEXEC;
  if (f & ST_NOATIME) out |= MS_NOATIME;
  if (f & ST_NODIRATIME) out |= MS_NODIRATIME;
  if (f & ST_RELATIME) out |= MS_RELATIME;
  if (f & ST_RDONLY) out |= MS_RDONLY;
  return out;
}

}  // namespace oci::linux_
