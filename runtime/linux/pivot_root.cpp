// Entering the container root: pivot_root(2), or MS_MOVE + chroot for --no-pivot.
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include "runtime/linux/rootfs.hpp"
#include "runtime/linux/sys.hpp"
#include "runtime/util/fd.hpp"
#include "spec/error.hpp"

namespace oci::linux_ {

void enter_rootfs(const RootfsContext& ctx) {
  if (ctx.host_mount_ns) {
    // pivot_root or MS_MOVE would act on the caller's mount namespace.
    if (::chdir(ctx.rootfs.c_str()) != 0) throw sys_error("chdir " + ctx.rootfs);
    if (::chroot(".") != 0) throw sys_error("chroot " + ctx.rootfs);
    if (::chdir("/") != 0) throw sys_error("chdir /");
    return;
  }
  if (ctx.no_pivot) {
    if (::chdir(ctx.rootfs.c_str()) != 0) throw sys_error("chdir " + ctx.rootfs);
    if (::mount(ctx.rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr) != 0)
      throw sys_error("move mount " + ctx.rootfs + " to /");
    if (::chroot(".") != 0) throw sys_error("chroot " + ctx.rootfs);
    if (::chdir("/") != 0) throw sys_error("chdir /");
    return;
  }
  UniqueFd oldroot(::open("/", O_DIRECTORY | O_PATH | O_CLOEXEC));
  if (!oldroot) throw sys_error("open /");
  UniqueFd newroot(::open(ctx.rootfs.c_str(), O_DIRECTORY | O_PATH | O_CLOEXEC));
  if (!newroot) throw sys_error("open " + ctx.rootfs);
  if (::fchdir(newroot.get()) != 0) throw sys_error("chdir " + ctx.rootfs);
  // Stack the old root on top of the new one, then detach it.
  if (sys::pivot_root(".", ".") != 0) throw sys_error("pivot_root " + ctx.rootfs);
  if (::fchdir(oldroot.get()) != 0) throw sys_error("chdir old root");
  if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0)
    throw sys_error("make old root rslave");
  if (::umount2(".", MNT_DETACH) != 0) throw sys_error("unmount old root");
  if (::chdir("/") != 0) throw sys_error("chdir /");
}

}  // namespace oci::linux_
