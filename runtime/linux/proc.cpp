#include "runtime/linux/proc.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "runtime/linux/sys.hpp"
#include "runtime/util/fs.hpp"
#include "runtime/util/fd.hpp"
#include "spec/error.hpp"

namespace oci::linux_ {

std::optional<ProcStat> read_proc_stat(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  buf[n] = 0;
  // "pid (comm) S ppid ..." — comm may contain spaces and ')': use the last ')'.
  char* p = strrchr(buf, ')');
  if (!p || p[1] != ' ') return std::nullopt;
  ProcStat st;
  st.state = p[2];
  // Fields after ')' start at field 3 (state); starttime is field 22.
  char* s = p + 2;
  int field = 3;
  while (field < 22 && *s) {
    if (*s == ' ') {
      ++field;
      if (field == 4) st.ppid = static_cast<pid_t>(strtol(s + 1, nullptr, 10));
    }
    ++s;
  }
  if (field != 22) return std::nullopt;
  st.start_time = strtoull(s, nullptr, 10);
  return st;
}

bool process_matches(pid_t pid, unsigned long long start_time) {
  if (pid <= 0) return false;
  auto st = read_proc_stat(pid);
  return st && st->start_time == start_time && st->state != 'Z' && st->state != 'X';
}

unsigned long pseudo_fs_magic(PseudoFs kind) {
  return kind == PseudoFs::Proc ? PROC_SUPER_MAGIC : SYSFS_MAGIC;
}

const char* pseudo_fs_name(PseudoFs kind) { return kind == PseudoFs::Proc ? "procfs" : "sysfs"; }

std::optional<PseudoPath> split_pseudo_path(PseudoFs kind, std::string_view path) {
  std::string_view mount = kind == PseudoFs::Proc ? "/proc" : "/sys";
  if (path.size() <= mount.size() + 1 || path.substr(0, mount.size()) != mount ||
      path[mount.size()] != '/')
    return std::nullopt;
  std::string_view rel = path.substr(mount.size() + 1);
  // Only clean relative paths: no empty, "." or ".." component.
  size_t start = 0;
  for (;;) {
    size_t end = rel.find('/', start);
    std::string_view comp = rel.substr(start, end == std::string_view::npos ? rel.npos : end - start);
    if (comp.empty() || comp == "." || comp == "..") return std::nullopt;
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return PseudoPath{std::string(mount), std::string(rel)};
}

namespace {

void check_fs(int fd, PseudoFs kind, const std::string& op, const std::string& path) {
  struct statfs sfs;
  if (::fstatfs(fd, &sfs) != 0) throw sys_error("fstatfs " + path);
  if (static_cast<unsigned long>(sfs.f_type) != pseudo_fs_magic(kind)) {
    char type[32];
    snprintf(type, sizeof type, "%#lx", static_cast<unsigned long>(sfs.f_type));
    throw Error(op + " " + path + ": is not on " + pseudo_fs_name(kind) + " (filesystem type " +
                type + ")");
  }
}

// open_pseudo_file; with missing_ok, -1 instead of an error when the file
// (or a directory on the way to it) does not exist.
int open_checked(PseudoFs kind, const std::string& path, int flags, int root_fd, bool missing_ok) {
  auto parts = split_pseudo_path(kind, path);
  if (!parts)
    throw Error("open " + path + ": not a clean path below " +
                (kind == PseudoFs::Proc ? "/proc" : "/sys"));
  // The mount point itself: inside root_fd without following any symlink
  // (an image's /proc -> /somewhere must not count), or the host's.
  UniqueFd dir(root_fd == AT_FDCWD
                   ? ::open(parts->mount.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                   : sys::openat2(root_fd, parts->mount.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC, 0,
                                  RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS));
  if (!dir) throw sys_error("open " + parts->mount + " (for " + path + ")");
  check_fs(dir.get(), kind, "open", parts->mount);
  int fd = sys::openat2(dir.get(), parts->rel.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, 0,
                        RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT && missing_ok) return -1;
    if (err == EXDEV)
      throw Error("open " + path + ": not on " + pseudo_fs_name(kind) +
                  " directly: a mount point is in the way (" + strerror(err) + ")");
    if (err == ELOOP)
      throw Error("open " + path + ": resolves through a symlink it must not follow (" +
                  strerror(err) + ")");
    throw sys_error("open " + path, err);
  }
  UniqueFd owner(fd);
  check_fs(fd, kind, "open", path);
  return owner.release();
}

void write_to(int fd, const std::string& path, std::string_view data) {
  ssize_t n;
  while ((n = ::write(fd, data.data(), data.size())) < 0 && errno == EINTR) {
  }
  if (n < 0) throw sys_error("write " + path);
  if (static_cast<size_t>(n) != data.size())
    throw Error("write " + path + ": short write (" + std::to_string(n) + " of " +
                std::to_string(data.size()) + " bytes)");
}

}  // namespace

int open_pseudo_file(PseudoFs kind, const std::string& path, int flags, int root_fd) {
  return open_checked(kind, path, flags, root_fd, false);
}

void write_pseudo_file(PseudoFs kind, const std::string& path, std::string_view data, int root_fd) {
  UniqueFd fd(open_checked(kind, path, O_WRONLY, root_fd, false));
  write_to(fd.get(), path, data);
}

bool write_pseudo_file_if_exists(PseudoFs kind, const std::string& path, std::string_view data,
                                 int root_fd) {
  UniqueFd fd(open_checked(kind, path, O_WRONLY, root_fd, true));
  if (!fd) return false;
  write_to(fd.get(), path, data);
  return true;
}

std::string read_pseudo_file(PseudoFs kind, const std::string& path, int root_fd) {
  UniqueFd fd(open_pseudo_file(kind, path, O_RDONLY, root_fd));
  return fs::read_all(fd.get(), path);
}

std::optional<std::string> read_pseudo_file_if_exists(PseudoFs kind, const std::string& path,
                                                      int root_fd) {
  UniqueFd fd(open_checked(kind, path, O_RDONLY, root_fd, true));
  if (!fd) return std::nullopt;
  return fs::read_all(fd.get(), path);
}

}  // namespace oci::linux_
