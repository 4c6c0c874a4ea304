// Entering the container root: pivot_root(2), or MS_MOVE + chroot for --no-pivot.
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

#include "runtime/linux/rootfs.hpp"
#include "runtime/linux/sys.hpp"
#include "runtime/util/fd.hpp"
#include "runtime/util/fs.hpp"
#include "spec/error.hpp"

namespace oci::linux_ {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_mountinfo(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string_view> fields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(' ', i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// runc's msMoveRoot: detach every full procfs/sysfs outside the rootfs (made
// slave first, so nothing propagates to the host); where that is not allowed
// (locked mounts in a user namespace) cover it with an empty tmpfs.
void hide_revealing_mounts(const std::string& rootfs) {
  char real[PATH_MAX];
  if (!::realpath(rootfs.c_str(), real)) throw sys_error("realpath " + rootfs);
  std::string text = fs::read_file("/proc/self/mountinfo");
  for (const auto& mp : revealing_mounts_outside(text, real)) {
    if (::mount(nullptr, mp.c_str(), nullptr, MS_SLAVE | MS_REC, nullptr) != 0) {
      if (errno == ENOENT || errno == EINVAL) continue;  // gone with a parent detached before
      throw sys_error("no-pivot: make " + mp + " rslave");
    }
    if (::umount2(mp.c_str(), MNT_DETACH) == 0) continue;
    if (errno != EINVAL && errno != EPERM) throw sys_error("no-pivot: unmount " + mp);
    if (::mount("tmpfs", mp.c_str(), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0k") != 0)
      throw sys_error("no-pivot: cover " + mp + " with a tmpfs");
  }
}

}  // namespace

std::vector<std::string> revealing_mounts_outside(std::string_view mountinfo, const std::string& rootfs) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < mountinfo.size()) {
    size_t nl = mountinfo.find('\n', pos);
    if (nl == std::string_view::npos) nl = mountinfo.size();
    std::string_view line = mountinfo.substr(pos, nl - pos);
    pos = nl + 1;
    // id parent maj:min root mountpoint opts [optional...] - fstype source superopts
    size_t dash = line.find(" - ");
    if (dash == std::string_view::npos) continue;
    auto left = fields(line.substr(0, dash));
    auto right = fields(line.substr(dash + 3));
    if (left.size() < 5 || right.empty()) continue;
    if (right[0] != "proc" && right[0] != "sysfs") continue;
    if (left[3] != "/") continue;  // a bind of a part: not a full procfs/sysfs
    std::string mp = unescape_mountinfo(left[4]);
    if (mp == rootfs || (mp.size() > rootfs.size() && mp.compare(0, rootfs.size(), rootfs) == 0 &&
                         (rootfs == "/" || mp[rootfs.size()] == '/')))
      continue;  // the container's own
    out.push_back(std::move(mp));
  }
  return out;
}

void enter_rootfs(const RootfsContext& ctx) {
  if (ctx.host_mount_ns) {
    // pivot_root or MS_MOVE would act on the caller's mount namespace.
    if (::chdir(ctx.rootfs.c_str()) != 0) throw sys_error("chdir " + ctx.rootfs);
    if (::chroot(".") != 0) throw sys_error("chroot " + ctx.rootfs);
    if (::chdir("/") != 0) throw sys_error("chdir /");
    return;
  }
  if (ctx.no_pivot) {
    hide_revealing_mounts(ctx.rootfs);
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
