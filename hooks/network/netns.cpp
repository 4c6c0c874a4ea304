#include "hooks/network/netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <thread>

#include "hooks/network/error.hpp"
#include "hooks/network/store.hpp"

namespace ocinet {

uint64_t current_netns_inode() {
  struct stat st;
  if (::stat("/proc/thread-self/ns/net", &st) != 0)
    throw sys_error("stat /proc/thread-self/ns/net");
  return st.st_ino;
}

oci::UniqueFd open_netns(int pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/ns/net";
  oci::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT || errno == ESRCH)
      throw Error("container process " + std::to_string(pid) + " does not exist");
    throw sys_error("open " + path);
  }
  return fd;
}

uint64_t fd_inode(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) throw sys_error("fstat");
  return st.st_ino;
}

std::optional<uint64_t> netns_inode_of(int pid) {
  struct stat st;
  if (pid <= 0 || ::stat(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), &st) != 0)
    return std::nullopt;
  return st.st_ino;
}

std::optional<uint64_t> proc_start_time(int pid) {
  if (pid <= 0) return std::nullopt;
  std::optional<std::string> data;
  try {
    data = read_file("/proc/" + std::to_string(pid) + "/stat");
  } catch (const Error&) {
    return std::nullopt;
  }
  if (!data) return std::nullopt;
  size_t paren = data->rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  // After "pid (comm) ": field 3 (state) ... field 22 (starttime).
  size_t pos = paren + 2;
  for (int field = 3; field < 22; ++field) {
    if (field == 3 && pos < data->size() && ((*data)[pos] == 'Z' || (*data)[pos] == 'X'))
      return std::nullopt;
    pos = data->find(' ', pos);
    if (pos == std::string::npos) return std::nullopt;
    ++pos;
  }
  return std::strtoull(data->c_str() + pos, nullptr, 10);
}

void in_netns(int nsfd, const std::function<void()>& fn) {
  std::exception_ptr failure;
  std::thread t([&] {
    try {
      oci::UniqueFd own(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
      if (!own) throw sys_error("open /proc/thread-self/ns/net");
      if (::setns(nsfd, CLONE_NEWNET) != 0)
        throw sys_error("setns into the container's network namespace");
      struct Back {
        int fd;
        ~Back() { (void)::setns(fd, CLONE_NEWNET); }
      } back{own.get()};
      fn();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  t.join();
  if (failure) std::rethrow_exception(failure);
}

namespace {

oci::UniqueFd open_in_root(int rootfd, const std::string& path, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return oci::UniqueFd(
      static_cast<int>(::syscall(SYS_openat2, rootfd, path.c_str(), &how, sizeof how)));
}

}  // namespace

bool bind_files_into(int pid, const std::string& rootfs, const std::vector<FileMount>& files) {
  const std::string ns_path = "/proc/" + std::to_string(pid) + "/ns/mnt";
  oci::UniqueFd mntns(::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!mntns) throw sys_error("open " + ns_path);
  struct stat own, theirs;
  if (::stat("/proc/thread-self/ns/mnt", &own) != 0) throw sys_error("stat /proc/thread-self/ns/mnt");
  if (::fstat(mntns.get(), &theirs) != 0) throw sys_error("fstat " + ns_path);
  if (own.st_ino == theirs.st_ino && own.st_dev == theirs.st_dev) return false;
  if (rootfs.empty() || rootfs[0] != '/')
    throw Error("the container state has no absolute rootfs path ("" + rootfs + "")");

  // Detached copies of the sources, taken here: the paths mean nothing over there.
  std::vector<oci::UniqueFd> trees;
  for (const auto& f : files) {
    oci::UniqueFd t(::open_tree(AT_FDCWD, f.source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    if (!t) throw sys_error("open_tree " + f.source);
    trees.push_back(std::move(t));
  }
  std::exception_ptr failure;
  std::thread th([&] {
    try {
      // setns(CLONE_NEWNS) needs a filesystem context of this thread's own; it dies with it.
      if (::unshare(CLONE_FS) != 0) throw sys_error("unshare(CLONE_FS)");
      if (::setns(mntns.get(), CLONE_NEWNS) != 0)
        throw sys_error("setns into the mount namespace of process " + std::to_string(pid));
      oci::UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!root) throw sys_error("open the container's rootfs " + rootfs);
      for (size_t i = 0; i < files.size(); ++i) {
        const std::string& rel = files[i].target;
        const std::string where = rootfs + "/" + rel;
        oci::UniqueFd target = open_in_root(root.get(), rel, O_PATH);
        if (!target && errno == ENOENT) {
          // A mount point of our own: the parent directory (one level), then an empty file.
          std::string parent = rel.substr(0, rel.rfind('/'));
          oci::UniqueFd dir = open_in_root(root.get(), parent, O_PATH | O_DIRECTORY);
          if (!dir && errno == ENOENT) {
            if (::mkdirat(root.get(), parent.c_str(), 0755) != 0 && errno != EEXIST)
              throw sys_error("create the mount point directory " + rootfs + "/" + parent);
            dir = open_in_root(root.get(), parent, O_PATH | O_DIRECTORY);
          }
          if (!dir) throw sys_error("open " + rootfs + "/" + parent);
          std::string name = rel.substr(rel.rfind('/') + 1);
          oci::UniqueFd created(::openat(dir.get(), name.c_str(),
                                         O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
          if (!created) throw sys_error("create the mount point " + where);
          target = open_in_root(root.get(), rel, O_PATH);
        }
        if (!target) throw sys_error("open " + where + " (inside the rootfs)");
        struct stat st;
        if (::fstat(target.get(), &st) != 0) throw sys_error("fstat " + where);
        if (!S_ISREG(st.st_mode))
          throw Error(where + " is not a regular file: cannot bind-mount " + files[i].source +
                      " onto it");
        if (::move_mount(trees[i].get(), "", target.get(), "",
                         MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
          throw sys_error("bind-mount " + files[i].source + " onto " + where);
      }
    } catch (...) {
      failure = std::current_exception();
    }
  });
  th.join();
  if (failure) std::rethrow_exception(failure);
  return true;
}

std::string read_sysctl(const std::string& key) {
  auto v = read_file("/proc/sys/" + key);
  if (!v) throw Error("sysctl " + key + " does not exist");
  while (!v->empty() && (v->back() == '\n' || v->back() == ' ')) v->pop_back();
  return *v;
}

void write_sysctl(const std::string& key, const std::string& value) {
  std::string path = "/proc/sys/" + key;
  oci::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) throw sys_error("open " + path);
  if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
    throw sys_error("write " + path);
}

}  // namespace ocinet
