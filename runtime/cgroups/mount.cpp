#include "runtime/cgroups/mount.hpp"

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>

#include "runtime/linux/mount_util.hpp"
#include "runtime/linux/path_in_root.hpp"
#include "spec/error.hpp"

namespace oci::cgroups {

using linux_::bind_remount;
using linux_::Create;
using linux_::do_mount;
using linux_::fd_path;
using linux_::open_in_root;

namespace {

std::string hierarchy_dir_name(const cgroups::Hierarchy& h) {
  std::string name;
  for (const auto& c : h.controllers) {
    if (!name.empty()) name += ',';
    name += c.rfind("name=", 0) == 0 ? c.substr(5) : c;
  }
  return name;
}

}  // namespace

void mount_cgroup_fs(int rootfd, const std::string& dest, unsigned long flags, const Layout& layout,
                     const container::CgroupRecord& record, bool new_cgroupns) {
  const auto& dirs = record.dirs;
  unsigned long ro = flags & MS_RDONLY;
  unsigned long base = flags & ~(MS_RDONLY | MS_BIND | MS_REC | MS_REMOUNT);
  UniqueFd target = open_in_root(rootfd, dest, Create::Dir);
  // The v2 driver (also when forced on a hybrid host) shows the cgroup2 tree.
  if (record.v2() || (record.driver.empty() && layout.pure_v2())) {
    if (new_cgroupns) {
      do_mount("cgroup2", fd_path(target.get()), "cgroup2", flags, "", "mount cgroup2 on " + dest);
    } else {
      do_mount(dirs.at(0), fd_path(target.get()), nullptr, MS_BIND, "", "bind cgroup on " + dest);
      UniqueFd m = open_in_root(rootfd, dest, Create::None);
      bind_remount(m.get(), base | ro, "remount cgroup on " + dest);
    }
    return;
  }
  do_mount("tmpfs", fd_path(target.get()), "tmpfs", base, "mode=755", "mount tmpfs on " + dest);
  for (size_t i = 0; i < layout.v1.size() && i < dirs.size(); ++i) {
    const auto& h = layout.v1[i];
    std::string name = hierarchy_dir_name(h);
    std::string sub = dest + "/" + name;
    UniqueFd subfd = open_in_root(rootfd, sub, Create::Dir);
    if (new_cgroupns) {
      std::string opts;
      for (const auto& c : h.controllers) opts += (opts.empty() ? "" : ",") + c;
      if (h.controllers.size() == 1 && h.controllers[0].rfind("name=", 0) == 0) opts = "none," + opts;
      do_mount("cgroup", fd_path(subfd.get()), "cgroup", base | ro, opts, "mount cgroup on " + sub);
    } else {
      do_mount(dirs[i], fd_path(subfd.get()), nullptr, MS_BIND, "", "bind cgroup on " + sub);
      UniqueFd m = open_in_root(rootfd, sub, Create::None);
      bind_remount(m.get(), base | ro, "remount cgroup on " + sub);
    }
    if (h.controllers.size() > 1) {  // cpu,cpuacct: links for each controller
      UniqueFd dir = open_in_root(rootfd, dest, Create::None);
      for (const auto& c : h.controllers)
        if (::symlinkat(name.c_str(), dir.get(), c.c_str()) != 0 && errno != EEXIST)
          throw sys_error("symlink " + dest + "/" + c);
    }
  }
  if (ro) {
    UniqueFd m = open_in_root(rootfd, dest, Create::None);
    do_mount("", fd_path(m.get()), nullptr, MS_REMOUNT | MS_RDONLY | base, "",
             "remount " + dest + " read-only");
  }
}

}  // namespace oci::cgroups
