#include "runtime/util/fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "runtime/util/fd.hpp"
#include "spec/error.hpp"

namespace oci::fs {
namespace {

void write_all(int fd, const std::string& data, const std::string& what) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw sys_error("write " + what);
    }
    off += static_cast<size_t>(n);
  }
}

}  // namespace

std::string read_all(int fd, const std::string& what) {
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw sys_error("read " + what);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw sys_error("open " + path);
  return read_all(fd.get(), path);
}

std::optional<std::string> try_read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return std::nullopt;
    throw sys_error("open " + path);
  }
  return read_all(fd.get(), path);
}

std::string read_file_at(int dirfd, const std::string& name) {
  UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw sys_error("open " + name);
  return read_all(fd.get(), name);
}

void write_file(const std::string& path, const std::string& data, int flags) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | flags, 0644));
  if (!fd) throw sys_error("open " + path);
  write_all(fd.get(), data, path);
}

void write_file_atomic(const std::string& path, const std::string& data, int mode) {
  std::string tmp = path + ".tmp" + std::to_string(::getpid());
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
    if (!fd) throw sys_error("create " + tmp);
    try {
      write_all(fd.get(), data, tmp);
    } catch (...) {
      ::unlink(tmp.c_str());
      throw;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw sys_error("rename " + tmp + " to " + path, err);
  }
}

void mkdir_p(const std::string& path, int mode) {
  if (path.empty()) return;
  std::string cur;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    cur = path.substr(0, j);
    if (!cur.empty() && ::mkdir(cur.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST)
      throw sys_error("mkdir " + cur);
    i = j + 1;
  }
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string join(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  if (a.back() == '/') return b.front() == '/' ? a + b.substr(1) : a + b;
  return b.front() == '/' ? a + b : a + "/" + b;
}

std::string clean(const std::string& path) {
  bool abs = !path.empty() && path[0] == '/';
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string part = path.substr(i, j - i);
    if (part.empty() || part == ".") {
    } else if (part == "..") {
      if (!parts.empty() && parts.back() != "..") parts.pop_back();
      else if (!abs) parts.push_back(part);
    } else {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out = abs ? "/" : "";
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k) out += '/';
    out += parts[k];
  }
  if (out.empty()) out.assign(1, '.');  // not = ".": GCC 12 -O3 -Wrestrict false positive (PR 105329)
  return out;
}

std::string absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') return clean(path);
  char buf[4096];
  if (!::getcwd(buf, sizeof buf)) throw sys_error("getcwd");
  return clean(join(buf, path));
}

namespace {

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

void copy_file_data(int in, int out, const std::string& what) {
  for (;;) {
    ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, 1 << 20, 0);
    if (n == 0) return;
    if (n > 0) continue;
    if (errno == EINTR) continue;
    if (errno != EXDEV && errno != EINVAL && errno != EOPNOTSUPP && errno != ENOSYS)
      throw sys_error("copy " + what);
    break;  // no in-kernel copy between these filesystems: plain read/write
  }
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(in, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw sys_error("read " + what);
    }
    if (n == 0) return;
    ssize_t off = 0;
    while (off < n) {
      ssize_t w = ::write(out, buf + off, static_cast<size_t>(n - off));
      if (w < 0) {
        if (errno == EINTR) continue;
        throw sys_error("write copy of " + what);
      }
      off += w;
    }
  }
}

// Owner first: chown clears the set-id bits that the chmod then restores.
void copy_attrs(int fd, const struct stat& st, const std::string& what) {
  if (::fchown(fd, st.st_uid, st.st_gid) != 0) throw sys_error("chown copy of " + what);
  if (::fchmod(fd, st.st_mode & 07777) != 0) throw sys_error("chmod copy of " + what);
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (::futimens(fd, times) != 0) throw sys_error("set times of copy of " + what);
}

void copy_entry(int src_dir, int dst_dir, const char* name, const std::string& what) {
  struct stat st;
  if (::fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0) throw sys_error("stat " + what);
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  switch (st.st_mode & S_IFMT) {
    case S_IFDIR: {
      if (::mkdirat(dst_dir, name, 0700) != 0) throw sys_error("mkdir copy of " + what);
      UniqueFd in(::openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!in) throw sys_error("open " + what);
      UniqueFd out(::openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!out) throw sys_error("open copy of " + what);
      copy_tree(in.get(), out.get(), what);
      copy_attrs(out.get(), st, what);  // after the contents: they change mtime
      return;
    }
    case S_IFREG: {
      UniqueFd in(::openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!in) throw sys_error("open " + what);
      UniqueFd out(::openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!out) throw sys_error("create copy of " + what);
      copy_file_data(in.get(), out.get(), what);
      copy_attrs(out.get(), st, what);
      return;
    }
    case S_IFLNK: {
      std::vector<char> target(static_cast<size_t>(st.st_size > 0 ? st.st_size : 4095) + 1);
      ssize_t n = ::readlinkat(src_dir, name, target.data(), target.size());
      if (n < 0) throw sys_error("readlink " + what);
      if (static_cast<size_t>(n) >= target.size()) throw Error("readlink " + what + ": link changed while copying");
      target[static_cast<size_t>(n)] = '\0';
      if (::symlinkat(target.data(), dst_dir, name) != 0) throw sys_error("symlink copy of " + what);
      if (::fchownat(dst_dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0)
        throw sys_error("chown copy of " + what);
      if (::utimensat(dst_dir, name, times, AT_SYMLINK_NOFOLLOW) != 0)
        throw sys_error("set times of copy of " + what);
      return;
    }
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO:
    case S_IFSOCK: {
      if (::mknodat(dst_dir, name, st.st_mode & (S_IFMT | 0700), st.st_rdev) != 0)
        throw sys_error("mknod copy of " + what);
      if (::fchownat(dst_dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0)
        throw sys_error("chown copy of " + what);
      if (::fchmodat(dst_dir, name, st.st_mode & 07777, 0) != 0) throw sys_error("chmod copy of " + what);
      if (::utimensat(dst_dir, name, times, AT_SYMLINK_NOFOLLOW) != 0)
        throw sys_error("set times of copy of " + what);
      return;
    }
    default:
      throw Error("copy " + what + ": unsupported file type");
  }
}

}  // namespace

void copy_tree(int src_dir, int dst_dir, const std::string& what) {
  // fdopendir owns its fd: give it a duplicate so that the caller keeps src_dir.
  int dup = ::fcntl(src_dir, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) throw sys_error("dup directory fd of " + what);
  std::unique_ptr<DIR, DirCloser> dir(::fdopendir(dup));
  if (!dir) {
    int err = errno;
    ::close(dup);
    throw sys_error("opendir " + what, err);
  }
  ::rewinddir(dir.get());
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(dir.get());
    if (!e) {
      if (errno != 0) throw sys_error("readdir " + what);
      return;
    }
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    copy_entry(::dirfd(dir.get()), dst_dir, e->d_name, what + "/" + name);
  }
}

}  // namespace oci::fs
