#include "runtime/linux/path_in_root.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "runtime/linux/sys.hpp"
#include "spec/error.hpp"

namespace oci::linux_ {
namespace {

constexpr uint64_t kResolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;

int open_path(int rootfd, const std::string& path) {
  return sys::openat2(rootfd, path.c_str(), O_PATH | O_CLOEXEC, 0, kResolve);
}

}  // namespace

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

void split_parent(const std::string& path, std::string& parent, std::string& name) {
  size_t end = path.find_last_not_of('/');
  if (end == std::string::npos) {
    parent.assign(1, '/');  // not = "/": GCC 12 -O3 -Wrestrict false positive (PR 105329)
    name.clear();
    return;
  }
  size_t slash = path.rfind('/', end);
  name = path.substr(slash + 1, end - slash);
  parent = slash == std::string::npos || slash == 0 ? "/" : path.substr(0, slash);
}

UniqueFd open_in_root(int rootfd, const std::string& path, Create create) {
  int fd = open_path(rootfd, path);
  if (fd >= 0) return UniqueFd(fd);
  if (errno != ENOENT) throw sys_error("open " + path + " in container root");
  if (create == Create::None) return UniqueFd();

  std::string parent, name;
  split_parent(path, parent, name);
  if (name.empty() || name == "." || name == "..")
    throw Error("open " + path + " in container root: invalid path");
  UniqueFd dir = open_in_root(rootfd, parent, Create::Dir);
  if (create == Create::Dir) {
    if (::mkdirat(dir.get(), name.c_str(), 0755) != 0 && errno != EEXIST)
      throw sys_error("mkdir " + path + " in container root");
  } else {
    int f = ::openat(dir.get(), name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW,
                     0644);
    if (f < 0 && errno != EEXIST) throw sys_error("create " + path + " in container root");
    if (f >= 0) ::close(f);
  }
  fd = open_path(rootfd, path);
  if (fd < 0) {
    // EEXIST above on a dangling symlink lands here with ENOENT.
    throw sys_error("open " + path + " in container root");
  }
  return UniqueFd(fd);
}

}  // namespace oci::linux_
