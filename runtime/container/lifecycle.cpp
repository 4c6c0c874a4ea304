// start, state, list, kill and delete of an existing container.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>

#include "runtime/cgroups/manager.hpp"
#include "runtime/container/container.hpp"
#include "runtime/container/state_store.hpp"
#include "runtime/hooks/runner.hpp"
#include "runtime/linux/proc.hpp"
#include "runtime/linux/rootfs.hpp"
#include "runtime/linux/sys.hpp"
#include "runtime/util/fd.hpp"
#include "runtime/util/fault.hpp"
#include "runtime/util/fs.hpp"
#include "runtime/util/log.hpp"
#include "runtime/util/passwd.hpp"
#include "runtime/util/timing.hpp"
#include "spec/error.hpp"

namespace oci::container {
namespace {

ContainerDir open_existing(const std::string& root, const std::string& id, bool shared = false) {
  validate_id(id);
  auto dir = ContainerDir::open(root, id, shared);
  if (!dir) throw Error("container does not exist");
  return std::move(*dir);
}

std::string status_of(const ContainerDir& dir, const std::optional<PersistedState>& s) {
  if (!s) return "creating";
  if (!linux_::process_matches(s->pid, s->pid_start)) return "stopped";
  struct stat st;
  if (::fstatat(dir.fd(), "exec.fifo", &st, AT_SYMLINK_NOFOLLOW) == 0) {
    // The init holds the fifo open (close-on-exec) until it runs the user
    // program. A `start` killed between its fifo write and the unlink leaves
    // the fifo behind with no reader: then the container is running
    // (a non-blocking open for writing fails with ENXIO). No data is written.
    UniqueFd w(::openat(dir.fd(), "exec.fifo", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW));
    if (w || errno != ENXIO) return "created";
  }
  if (cgroups::frozen(s->cgroup)) return "paused";
  return "running";
}

spec::State make_state(const PersistedState& s, const std::string& status) {
  spec::State out;
  out.id = s.id;
  out.status = status;
  out.pid = status == "stopped" ? 0 : s.pid;
  out.bundle = s.bundle;
  out.rootfs = s.rootfs;
  out.created = s.created;
  out.annotations = s.annotations;
  return out;
}

// A pidfd for the recorded process, or an empty fd if it is gone.
UniqueFd open_pidfd(const PersistedState& s) {
  UniqueFd fd(sys::pidfd_open(s.pid));
  if (!fd) return fd;
  // Checked after opening: the fd now pins this exact process.
  if (!linux_::process_matches(s.pid, s.pid_start)) fd.reset();
  return fd;
}

// Wait until the process has exited (pidfd readable), bounded.
bool wait_exit(int pidfd, int timeout_ms) {
  pollfd p{pidfd, POLLIN, 0};
  for (;;) {
    int r = ::poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    return r > 0;
  }
}

void signal_all(const PersistedState& s, int sig) { cgroups::signal_all(s.cgroup, sig); }

void kill_and_wait(const PersistedState& s) {
  UniqueFd pidfd = open_pidfd(s);
  if (pidfd) {
    if (sys::pidfd_send_signal(pidfd.get(), SIGKILL) != 0 && errno != ESRCH)
      throw sys_error("kill container process");
    if (!wait_exit(pidfd.get(), 10000)) throw Error("container process did not exit after SIGKILL");
  }
  if (!s.new_pid_ns) signal_all(s, SIGKILL);
}

}  // namespace

void start(const std::string& root, const std::string& id) {
  ContainerDir dir = open_existing(root, id);
  auto s = dir.load();
  std::string status = status_of(dir, s);
  if (status == "stopped") throw Error("cannot start a container that has stopped");
  if (status != "created") throw Error("cannot start a container in the " + status + " state");
  if (!s->has_process) throw Error("cannot start a container without a process: config.json has no process");

  UniqueFd pidfd = open_pidfd(*s);
  if (!pidfd) throw Error("cannot start a container that has stopped");
  log::debug("start " + id + ": releasing pid " + std::to_string(s->pid) + " through the exec fifo");
  std::string fifo = dir.fifo_path();
  UniqueFd r(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!r) throw sys_error("open " + fifo);
  fault::fault_point("start:before-fifo-write");
  {
    UniqueFd w(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    if (!w) throw sys_error("open " + fifo);
    if (::write(w.get(), "1", 1) != 1) throw sys_error("write " + fifo);
  }
  fault::fault_point("start:after-fifo-write");
  timing::mark("start: fifo written");
  // The init's fifo fd is close-on-exec: the last writer going away (POLLHUP)
  // means the user program has been exec'd, or the init died.
  pollfd fds[2] = {{r.get(), 0, 0}, {pidfd.get(), POLLIN, 0}};
  for (;;) {
    int n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw sys_error("poll " + fifo);
    if (fds[0].revents & (POLLHUP | POLLERR)) break;
    if (fds[1].revents & POLLIN) break;
  }
  char buf[4096];
  ssize_t len = ::read(r.get(), buf, sizeof buf);
  ::unlinkat(dir.fd(), "exec.fifo", 0);
  timing::mark("start: user program exec'd");
  if (len > 1 && buf[0] == 'E') throw Error(std::string(buf + 1, static_cast<size_t>(len - 1)));
  if (!(fds[0].revents & (POLLHUP | POLLERR)))
    throw Error("container process exited before it could run the user program");
  fault::fault_point("start:before-poststart");
  if (!s->poststart.empty()) {
    try {
      hooks::run(s->poststart, spec::to_json(make_state(*s, "running"), -1, false), "poststart");
    } catch (...) {
      // runtime-spec 1.3: a failed poststart hook stops the container.
      sys::pidfd_send_signal(pidfd.get(), SIGKILL);
      throw;
    }
  }
}

spec::State state(const std::string& root, const std::string& id) {
  ContainerDir dir = open_existing(root, id, true);
  auto s = dir.load();
  if (!s) {
    spec::State st;
    st.id = id;
    st.status = "creating";
    return st;
  }
  return make_state(*s, status_of(dir, s));
}

std::vector<spec::State> list(const std::string& root) {
  std::vector<spec::State> out;
  std::optional<std::string> passwd_text;
  for (const auto& id : list_ids(root)) {
    auto dir = ContainerDir::open(root, id, true);
    if (!dir) continue;
    auto s = dir->load();
    if (!s) continue;
    spec::State st = make_state(*s, status_of(*dir, s));
    if (!passwd_text) passwd_text = fs::try_read_file("/etc/passwd").value_or("");
    st.owner = passwd::field_for_uid(*passwd_text, s->owner, 0).value_or("#" + std::to_string(s->owner));
    out.push_back(std::move(st));
  }
  return out;
}

void kill(const std::string& root, const std::string& id, int sig, bool all) {
  ContainerDir dir = open_existing(root, id);
  auto s = dir.load();
  std::string status = status_of(dir, s);
  // runc 1.1: --all on a stopped container signals what is left in its
  // cgroup (usually nothing) and succeeds.
  bool all_stopped = all && status == "stopped" && s;
  if (status != "created" && status != "running" && status != "paused" && !all_stopped)
    throw Error("container not running");
  if (all_stopped) {
    if (!s->cgroup.dirs.empty()) signal_all(*s, sig);
    return;
  }
  if (all && !s->cgroup.dirs.empty()) {
    signal_all(*s, sig);
    if (status == "paused" && sig == SIGKILL) cgroups::thaw(s->cgroup);
    return;
  }
  UniqueFd pidfd = open_pidfd(*s);
  if (!pidfd) throw Error("container not running");
  if (sys::pidfd_send_signal(pidfd.get(), sig) != 0) {
    if (errno == ESRCH) throw Error("container not running");
    throw sys_error("kill container process");
  }
}

void destroy(const std::string& root, const std::string& id, bool force) {
  validate_id(id);
  auto dir = ContainerDir::open(root, id);
  if (!dir) {
    if (force) return;
    throw Error("container does not exist");
  }
  auto s = dir->load();
  if (s) {
    std::string status = status_of(*dir, s);
    log::debug("delete " + id + ": status " + status + ", removing its cgroup and state");
    if ((status == "running" || status == "paused") && !force)
      throw Error("cannot delete container " + id + " that is not stopped: " + status);
    if (status == "paused") {
      signal_all(*s, SIGKILL);  // queued until thawed
      cgroups::thaw(s->cgroup);
    }
    if (status != "stopped") kill_and_wait(*s);
    else if (!s->new_pid_ns) signal_all(*s, SIGKILL);
    fault::fault_point("delete:after-kill");
    timing::mark("delete: process gone");
    cgroups::destroy(s->cgroup);
    fault::fault_point("delete:after-cgroup");
    timing::mark("delete: cgroup removed");
    if (s->host_rootfs_mount_id) linux_::detach_host_rootfs(s->rootfs, s->host_rootfs_mount_id);
    if (!s->poststop.empty())
      hooks::run_warn(s->poststop, spec::to_json(make_state(*s, "stopped"), -1, false), "poststop");
  } else if (auto text = fs::try_read_file(fs::join(dir->path(), kCreatingCgroupFile))) {
    // `create` died before it wrote state.json (we hold the lock it held):
    // kill what is in the cgroup it recorded and remove it.
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded()) throw Error("corrupt " + fs::join(dir->path(), kCreatingCgroupFile));
    cgroups::Record rec = cgroups::record_from_json(j);
    cgroups::signal_all(rec, SIGKILL);
    cgroups::destroy(rec);
  }
  fault::fault_point("delete:before-remove");
  dir->remove();
  timing::mark("delete: state removed");
}

namespace {

// The container's state, which must be one of `allowed`.
PersistedState require_status(const ContainerDir& dir, std::initializer_list<const char*> allowed,
                              std::string* status_out = nullptr) {
  auto s = dir.load();
  std::string status = status_of(dir, s);
  if (status_out) *status_out = status;
  for (const char* a : allowed)
    if (status == a) return *s;
  if (status == "stopped" || status == "creating") throw Error("container not running");
  throw Error("container " + dir.id() + " is " + status);
}

}  // namespace

void pause(const std::string& root, const std::string& id) {
  ContainerDir dir = open_existing(root, id);
  auto s = require_status(dir, {"running", "created"});
  cgroups::freeze(s.cgroup);
}

void resume(const std::string& root, const std::string& id) {
  ContainerDir dir = open_existing(root, id);
  std::string status;
  auto s = require_status(dir, {"paused", "running", "created"}, &status);
  if (status != "paused") throw Error("container " + id + " is not paused");
  cgroups::thaw(s.cgroup);
}

void update(const std::string& root, const std::string& id, const spec::Resources& r) {
  ContainerDir dir = open_existing(root, id);
  auto s = require_status(dir, {"running", "created", "paused"});
  cgroups::update(s.cgroup, r);
}

namespace {

// A container without a cgroup (rootless, none delegated): the processes of
// its own pid namespace, or else just its init.
std::vector<pid_t> pids_without_cgroup(const PersistedState& s) {
  std::vector<pid_t> out;
  struct stat init_ns;
  if (!s.new_pid_ns || ::stat(("/proc/" + std::to_string(s.pid) + "/ns/pid").c_str(), &init_ns) != 0) {
    if (linux_::process_matches(s.pid, s.pid_start)) out.push_back(s.pid);
    return out;
  }
  DIR* d = ::opendir("/proc");
  if (!d) throw sys_error("open /proc");
  while (auto* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end) continue;
    struct stat st;
    if (::stat(("/proc/" + std::string(e->d_name) + "/ns/pid").c_str(), &st) == 0 &&
        st.st_ino == init_ns.st_ino && st.st_dev == init_ns.st_dev)
      out.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(d);
  return out;
}

}  // namespace

std::vector<pid_t> processes(const std::string& root, const std::string& id) {
  ContainerDir dir = open_existing(root, id, true);
  std::string status;
  auto s = require_status(dir, {"running", "created", "paused", "stopped"}, &status);
  // A stopped container has no processes (runc: `ps` prints the header only).
  if (status == "stopped") return {};
  if (s.cgroup.all_dirs().empty()) return pids_without_cgroup(s);
  return cgroups::pids(s.cgroup);
}

nlohmann::ordered_json stats_event(const std::string& root, const std::string& id) {
  ContainerDir dir = open_existing(root, id, true);
  auto s = require_status(dir, {"running", "created", "paused"});
  nlohmann::ordered_json ev;
  ev["type"] = "stats";
  ev["id"] = id;
  ev["data"] = cgroups::stats(s.cgroup);
  return ev;
}

void stream_events(const std::string& root, const std::string& id, int interval_ms) {
  PersistedState s;
  {
    ContainerDir dir = open_existing(root, id, true);
    s = require_status(dir, {"running", "created", "paused"});
  }
  auto oom = cgroups::OomWatcher::open(s.cgroup);
  UniqueFd pidfd = open_pidfd(s);
  if (!pidfd) throw Error("container not running");
  auto emit = [](const nlohmann::ordered_json& j) {
    std::string line = j.dump() + "\n";
    if (::write(STDOUT_FILENO, line.data(), line.size()) < 0) throw sys_error("write events");
  };
  timespec next{};
  clock_gettime(CLOCK_MONOTONIC, &next);
  for (;;) {
    int timeout = -1;
    if (interval_ms > 0) {
      timespec now{};
      clock_gettime(CLOCK_MONOTONIC, &now);
      long long due = (next.tv_sec - now.tv_sec) * 1000LL + (next.tv_nsec - now.tv_nsec) / 1000000;
      if (due <= 0) {
        nlohmann::ordered_json ev{{"type", "stats"}, {"id", id}, {"data", cgroups::stats(s.cgroup)}};
        emit(ev);
        next.tv_sec += interval_ms / 1000;
        next.tv_nsec += (interval_ms % 1000) * 1000000L;
        if (next.tv_nsec >= 1000000000L) {
          next.tv_sec++;
          next.tv_nsec -= 1000000000L;
        }
        continue;
      }
      timeout = static_cast<int>(due);
    }
    pollfd fds[2] = {{pidfd.get(), POLLIN, 0}, {oom ? oom->fd() : -1, POLLIN, 0}};
    int n = ::poll(fds, 2, timeout);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw sys_error("poll");
    if (fds[1].revents && oom && oom->consume()) emit({{"type", "oom"}, {"id", id}});
    if (fds[0].revents & POLLIN) return;  // the container's init exited
  }
}

}  // namespace oci::container
