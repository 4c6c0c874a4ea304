// `exec`: a new process in a running container. One clone3: the pid and time
// namespaces are entered by the runtime first (they apply to children), the
// child enters the others (user first), the container's root and cgroup,
// then takes on the process's identity and execs.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include <sys/wait.h>

#include "runtime/cgroups/manager.hpp"
#include "runtime/container/container.hpp"
#include "runtime/container/state_store.hpp"
#include "runtime/container/sync.hpp"
#include "runtime/linux/lsm.hpp"
#include "runtime/linux/namespaces.hpp"
#include "runtime/linux/process_attrs.hpp"
#include "runtime/linux/process_security.hpp"
#include "runtime/linux/proc.hpp"
#include "runtime/linux/seccomp.hpp"
#include "runtime/linux/sys.hpp"
#include "runtime/linux/terminal.hpp"
#include "runtime/util/fs.hpp"
#include "runtime/util/unix_socket.hpp"
#include "spec/error.hpp"
#include "spec/parse.hpp"

namespace oci::container {
namespace {

struct NsFile {
  const char* name;  // /proc/<pid>/ns/<name>
  int flag;
};
// User first: it grants the rights to enter the others.
constexpr NsFile kNamespaces[] = {
    {"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS},      {"net", CLONE_NEWNET},
    {"ipc", CLONE_NEWIPC},   {"uts", CLONE_NEWUTS},     {"cgroup", CLONE_NEWCGROUP},
    {"pid", CLONE_NEWPID},   {"time", CLONE_NEWTIME},
};

struct Joined {
  int flag;
  UniqueFd fd;
};

// The container's namespaces that differ from ours.
std::vector<Joined> container_namespaces(pid_t pid) {
  std::vector<Joined> out;
  std::string base = "/proc/" + std::to_string(pid) + "/ns/";
  for (const auto& ns : kNamespaces) {
    struct stat theirs, ours;
    std::string path = base + ns.name;
    if (::stat(path.c_str(), &theirs) != 0) {
      if (errno == ENOENT) continue;  // kernel without this namespace type
      throw sys_error("stat " + path);
    }
    if (::stat((std::string("/proc/self/ns/") + ns.name).c_str(), &ours) == 0 &&
        ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev)
      continue;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw sys_error("open " + path);
    out.push_back({ns.flag, std::move(fd)});
  }
  return out;
}

struct ChildCtx {
  const spec::Process* process;
  const std::vector<Joined>* ns;
  int root_fd;
  int sync_fd;
  int console_fd;
  int preserve_fds;
  std::vector<int> close_in_child;
  const linux_::SeccompFilter* seccomp;  // the container's linux.seccomp, or null
  int seccomp_listener_fd;               // NOTIFY: connected to listenerPath
  const spec::Personality* personality;  // the container's linux.personality, or null
  bool user_joined_by_parent;
};

[[noreturn]] void exec_child(const ChildCtx& c) noexcept {
  // Not dumpable until execve: once in the container's pid namespace, its
  // processes must not reach our host fds or /proc/<pid>/exe (the runtime).
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  for (int fd : c.close_in_child) ::close(fd);
  try {
    auto go = recv_packet(c.sync_fd);
    if (!go || go->type != Msg::Go) ::_exit(1);  // payload: for the seccomp agent
    for (const auto& j : *c.ns) {
      if (j.flag == CLONE_NEWPID || j.flag == CLONE_NEWTIME) continue;  // done by the parent
      if (j.flag == CLONE_NEWUSER && c.user_joined_by_parent) continue;
      if (::setns(j.fd.get(), j.flag) != 0) throw sys_error("setns into the container");
    }
    // The container's root as its init sees it (also right for --no-pivot).
    if (::fchdir(c.root_fd) != 0 || ::chroot(".") != 0 || ::chdir("/") != 0)
      throw sys_error("enter the container root");
    ::close(c.root_fd);
    if (c.process->terminal) {
      linux_::setup_terminal(c.console_fd, c.process->console_size);
      ::close(c.console_fd);
    } else {
      linux_::new_session();
    }
    // Before any filter (older profiles deny close_range): nothing of the
    // runtime survives exec.
    linux_::close_fds_except(3 + c.preserve_fds, {c.sync_fd, c.seccomp_listener_fd});
    if (c.personality) linux_::apply_personality(*c.personality);
    // process.apparmorProfile / selinuxLabel (effective at execve), in the
    // container's /proc, before any seccomp filter (which may deny openat2).
    linux_::apply_lsm_exec(linux_::plan_lsm_exec(*c.process));
    // As in the container init: without no_new_privs while CAP_SYS_ADMIN is
    // held, with it right before execve.
    if (c.seccomp && !c.process->no_new_privileges)
      linux_::install_seccomp(*c.seccomp, c.seccomp_listener_fd, go->payload);
    linux_::ExecImage image = linux_::prepare_process(*c.process, {}, linux_::CwdMissing::Fail);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (c.seccomp && c.process->no_new_privileges)
      linux_::install_seccomp(*c.seccomp, c.seccomp_listener_fd, go->payload);
    // The sync socket is close-on-exec: EOF tells the runtime exec worked.
    image.exec_or_report(c.sync_fd);
  } catch (const std::exception& e) {
    try {
      send_packet(c.sync_fd, Msg::Error, e.what());
    } catch (...) {
    }
  }
  ::_exit(127);
}

}  // namespace

spec::Process container_process(const std::string& root, const std::string& id) {
  validate_id(id);
  auto dir = ContainerDir::open(root, id, true);
  if (!dir) throw Error("container does not exist");
  auto s = dir->load();
  if (!s) throw Error("container " + id + " is being created");
  spec::Config c = dir->load_config();
  return c.process ? *c.process : spec::Process{};
}

namespace {

// The dirs an exec'd process joins: the container's (v1 dirs + the cgroup2
// dir), each descended into the --cgroup path given for one of its
// controllers, else the one given for all (""). A named controller the
// container has no hierarchy for is an error, as in runc.
std::vector<std::string> sub_cgroup_dirs(const cgroups::Record& rec,
                                         const std::map<std::string, std::string>& sub) {
  std::vector<std::string> dirs = rec.all_dirs();
  if (sub.empty()) return dirs;
  for (const auto& [ctrl, path] : sub) {
    if (path.find("..") != std::string::npos)
      throw Error("exec: --cgroup \"" + path + "\" must not contain ..");
    if (ctrl.empty()) continue;
    bool known = false;
    for (const auto& cs : rec.controllers)
      known = known || std::find(cs.begin(), cs.end(), ctrl) != cs.end();
    if (!known) throw Error("exec: --cgroup: unknown controller \"" + ctrl + "\" (the container has no such hierarchy)");
  }
  auto all = sub.find("");
  for (size_t i = 0; i < dirs.size(); ++i) {
    const std::string* path = all == sub.end() ? nullptr : &all->second;
    if (i < rec.dirs.size() && i < rec.controllers.size())
      for (const auto& c : rec.controllers[i])
        if (auto it = sub.find(c); it != sub.end()) path = &it->second;
    if (!path) continue;
    dirs[i] = fs::join(dirs[i], *path);
    if (!fs::exists(dirs[i])) throw Error("exec: --cgroup: " + dirs[i] + " does not exist");
  }
  return dirs;
}

}  // namespace

pid_t exec(const ExecOptions& o) {
  validate_id(o.id);
  const spec::Process& p = o.process;
  linux_::check_lsm_process(p, linux_::host_lsm(), "");
  if (p.args.empty()) throw Error("exec: process.args must not be empty");
  if (p.terminal && o.console_socket.empty() && o.console_fd < 0)
    throw Error("process.terminal is true but no --console-socket was given");
  if (!o.console_socket.empty() && !p.terminal)
    throw Error("--console-socket " + o.console_socket +
                ": cannot use a console socket when process.terminal is false (use --tty)");

  auto dir = ContainerDir::open(o.root, o.id, true);
  if (!dir) throw Error("container does not exist");
  auto s = dir->load();
  if (!s || !linux_::process_matches(s->pid, s->pid_start))
    throw Error("cannot exec in a stopped container");

  if (cgroups::frozen(s->cgroup) && !o.ignore_paused)
    throw Error("cannot exec in a paused container (use --ignore-paused to override)");
  UniqueFd pidfd(sys::pidfd_open(s->pid));
  if (!pidfd || !linux_::process_matches(s->pid, s->pid_start))
    throw Error("cannot exec in a stopped container");
  std::vector<Joined> ns = container_namespaces(s->pid);
  std::string root_path = "/proc/" + std::to_string(s->pid) + "/root";
  UniqueFd rootfd(::open(root_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rootfd) throw sys_error("open " + root_path);
  // The container's linux.seccomp filters every process in it.
  std::optional<linux_::SeccompFilter> seccomp;
  UniqueFd seccomp_listener;
  std::string seccomp_metadata, seccomp_status;
  spec::Config c = dir->load_config();  // as create read it, not the bundle's current file
  // linux.personality applies to every process of the container (as runc).
  std::optional<spec::Personality> personality;
  if (c.linux) personality = c.linux->personality;
  if (c.linux && c.linux->seccomp) {
    seccomp.emplace(*c.linux->seccomp);
    if (seccomp->uses_notify()) {
      seccomp_listener = unix_socket::connect(seccomp->listener_path(), "the seccomp listener");
      seccomp_metadata = c.linux->seccomp->listener_metadata;
      seccomp_status = state(o.root, o.id).status;
    }
  }
  UniqueFd console;
  if (p.terminal) {
    if (!o.console_socket.empty()) console = unix_socket::connect(o.console_socket, "console socket");
    else console.reset(::fcntl(o.console_fd, F_DUPFD_CLOEXEC, 3));
  }
  std::vector<std::string> cgroup_dirs = sub_cgroup_dirs(s->cgroup, o.sub_cgroups);

  // Everything needed from the state is read and the init is pinned by its
  // pidfd: drop the lock, so a long-running or frozen exec never blocks
  // delete/kill/pause of the container.
  dir.reset();

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) throw sys_error("socketpair");
  UniqueFd parent_sock(sv[0]), child_sock(sv[1]);
  // pid and time namespaces apply to our children: enter them here, and go
  // back once the child exists.
  std::optional<linux_::PidNsForChildrenRestore> restore_pid_ns;
  for (const auto& j : ns)
    if (j.flag == CLONE_NEWPID) restore_pid_ns.emplace();
  // Rootless: the container's pid namespace belongs to its user namespace,
  // where we have rights only once we are in it. This process stays there
  // (it only writes the user's own cgroup and pid files afterwards).
  bool user_joined = false;
  if (::geteuid() != 0)
    for (const auto& j : ns)
      if (j.flag == CLONE_NEWUSER) {
        // In there, a container process of our uid could ptrace us (with a
        // shared pid namespace) and reach our host mounts and fds: not dumpable.
        ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#if defined(__SANITIZE_ADDRESS__)
        // LeakSanitizer's exit-time check ptraces this process, which hangs
        // once we are in the container's user namespace: check here instead.
        __lsan_do_leak_check();
#endif
        if (::setns(j.fd.get(), CLONE_NEWUSER) != 0) throw sys_error("setns into the container's user namespace");
        user_joined = true;
      }
  for (const auto& j : ns)
    if ((j.flag == CLONE_NEWPID || j.flag == CLONE_NEWTIME) && ::setns(j.fd.get(), j.flag) != 0)
      throw sys_error("setns into the container's pid/time namespace");

  ChildCtx ctx{&p, &ns, rootfd.get(), child_sock.get(), console.get(), o.preserve_fds,
               {parent_sock.get(), pidfd.get()},
               seccomp ? &*seccomp : nullptr, seccomp_listener.get(),
               personality ? &*personality : nullptr, user_joined};
  sys::CloneArgs args;
  args.exit_signal = SIGCHLD;
  pid_t child = sys::clone3(args);
  if (child < 0) throw sys_error("clone3");
  if (child == 0) exec_child(ctx);
  restore_pid_ns.reset();
  child_sock.reset();
  console.reset();
  rootfd.reset();
  bool seccomp_notify = static_cast<bool>(seccomp_listener);
  seccomp_listener.reset();

  auto kill_child = [&] {
    ::kill(child, SIGKILL);
    while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
    }
  };
  try {
    std::string pid_s = std::to_string(child);
    // process.execCPUAffinity: `initial` while the child is still outside the
    // container's cgroup, `final` once it is in (the join may change the
    // mask: before Linux 6.2 it became the cpuset's CPUs, since then the
    // kernel keeps it within them). Without `final` the mask is what the
    // kernel left after the join (runtime-spec: the runtime SHOULD NOT change
    // it). The child waits for Go, so both are in place before it runs any of
    // the container's setup.
    const auto& aff = p.exec_cpu_affinity;
    if (aff) linux_::set_cpu_affinity(child, aff->initial, "process.execCPUAffinity.initial");
    for (const auto& d : cgroup_dirs) fs::write_file(d + "/cgroup.procs", pid_s);
    if (aff) linux_::set_cpu_affinity(child, aff->final_, "process.execCPUAffinity.final");
    std::string go_payload;
    if (seccomp_notify) {
      spec::State st;
      st.id = s->id;
      st.status = seccomp_status;
      st.pid = s->pid;
      st.bundle = s->bundle;
      st.annotations = s->annotations;
      go_payload = linux_::seccomp_listener_payload(st, child, seccomp_metadata);
    }
    send_packet(parent_sock.get(), Msg::Go, go_payload);
    auto reply = recv_packet(parent_sock.get());
    if (reply && reply->type == Msg::Error) throw Error(reply->payload);
    if (!o.pid_file.empty()) fs::write_file_atomic(fs::absolute(o.pid_file), pid_s);
  } catch (...) {
    kill_child();
    throw;
  }
  return child;
}

}  // namespace oci::container
