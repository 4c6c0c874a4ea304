#include "runtime/linux/mount_util.hpp"

#include <sys/mount.h>
#include <sys/statvfs.h>

#include "runtime/linux/mount_options.hpp"
#include "runtime/linux/path_in_root.hpp"
#include "spec/error.hpp"

namespace oci::linux_ {

void do_mount(const std::string& src, const std::string& target, const char* type,
              unsigned long flags, const std::string& data, const std::string& what) {
  if (::mount(src.empty() ? nullptr : src.c_str(), target.c_str(), type, flags,
              data.empty() ? nullptr : data.c_str()) != 0)
    throw sys_error(what);
}

unsigned long locked_flags(int fd) {
  struct statvfs sv;
  if (::fstatvfs(fd, &sv) != 0) return 0;
  return locked_flags_from_statvfs(sv.f_flag) & ~static_cast<unsigned long>(MS_RDONLY);
}

// Bind remount applying `flags` while keeping flags the kernel locks.
void bind_remount(int fd, unsigned long flags, const std::string& what) {
  unsigned long keep = locked_flags(fd);
  do_mount("", fd_path(fd), nullptr, MS_BIND | MS_REMOUNT | flags | keep, "", what);
}

}  // namespace oci::linux_
