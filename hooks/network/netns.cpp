#include "hooks/network/netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
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
