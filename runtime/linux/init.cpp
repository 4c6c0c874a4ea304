#include "runtime/linux/init.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

#include "runtime/container/sync.hpp"
#include "runtime/hooks/runner.hpp"
#include "runtime/linux/lsm.hpp"
#include "runtime/linux/process_attrs.hpp"
#include "runtime/linux/process_security.hpp"
#include "runtime/linux/sys.hpp"
#include "runtime/linux/terminal.hpp"
#include "runtime/util/fd.hpp"
#include "runtime/util/fs.hpp"
#include "runtime/util/log.hpp"
#include "runtime/util/timing.hpp"
#include "runtime/util/unix_socket.hpp"
#include "spec/error.hpp"

namespace oci::linux_ {
namespace {

using container::Msg;

std::string wait_for_go(int sync_fd) {
  auto p = container::recv_packet(sync_fd);
  if (!p || p->type != Msg::Go) ::_exit(1);  // the runtime went away
  return p->payload;
}

void become_root_in_userns() {
  if (::setresgid(0, 0, 0) != 0) throw sys_error("setgid 0 in the user namespace");
  if (::setresuid(0, 0, 0) != 0) throw sys_error("setuid 0 in the user namespace");
}

// While blocked before exec, an init that is pid 1 of its namespace would
// ignore TERM/INT/HUP/QUIT (no default action for a namespace init): exit on
// them instead, as a killed process would. exec resets these handlers.
void exit_on_signal(int sig) { ::_exit(128 + sig); }

void prepare_signals() {
  struct sigaction sa {};
  sa.sa_handler = exit_on_signal;
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT}) ::sigaction(sig, &sa, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);  // `run` blocks signals to forward them
}

void run_init(const InitContext& ctx) {
  const auto& c = *ctx.config;
  const auto& plan = ctx.plan;
  std::string seccomp_payload = wait_for_go(ctx.sync_fd);
  timing::mark("init: go received");
  // Bind sources opened by the runtime on the host side; closed once mounted.
  std::vector<UniqueFd> host_source_fds;
  std::map<size_t, int> host_sources;
  for (size_t index : ctx.host_bind_sources) {
    host_source_fds.push_back(unix_socket::recv_fd(ctx.sync_fd));
    host_sources[index] = host_source_fds.back().get();
  }
  RootfsContext rootfs = ctx.rootfs;
  if (!host_sources.empty()) rootfs.host_sources = &host_sources;
  if (plan.new_user && !plan.user_via_unshare) become_root_in_userns();

  bool joined_user = false;
  for (const auto& ns : *ctx.child_join) {
    join(ns);
    if (ns.ns.flag == CLONE_NEWUSER) joined_user = true;
  }
  if (joined_user) become_root_in_userns();
  if (plan.user_via_unshare) {
    if (::unshare(CLONE_NEWUSER) != 0) throw sys_error("unshare user namespace");
    container::send_packet(ctx.sync_fd, Msg::UserNs);
    wait_for_go(ctx.sync_fd);
    become_root_in_userns();
  }
  if (ctx.dumpable_until_mapped) ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (plan.unshare_flags && ::unshare(plan.unshare_flags) != 0) throw sys_error("unshare namespaces");
  if (plan.fork_for_pid) {
    pid_t pid = ::fork();
    if (pid < 0) throw sys_error("fork into the pid namespace");
    if (pid > 0) {
      container::send_packet(ctx.sync_fd, Msg::Pid, std::to_string(pid));
      ::_exit(0);
    }
    if (ctx.seccomp_listener_fd >= 0) seccomp_payload = wait_for_go(ctx.sync_fd);  // our own pid
  }
  if (plan.new_cgroup && ::unshare(CLONE_NEWCGROUP) != 0) throw sys_error("unshare cgroup namespace");
  if (!ctx.no_new_keyring) {
    // A private session keyring, so keys never leak between containers.
    if (::syscall(SYS_keyctl, 1 /*KEYCTL_JOIN_SESSION_KEYRING*/, ctx.id.c_str()) < 0 &&
        errno != ENOSYS && errno != EACCES)
      throw sys_error("join session keyring");
  }
  if (plan.new_net) bring_up_loopback();
  if (!c.hostname.empty() && ::sethostname(c.hostname.data(), c.hostname.size()) != 0)
    throw sys_error("sethostname " + c.hostname);
  if (!c.domainname.empty() && ::setdomainname(c.domainname.data(), c.domainname.size()) != 0)
    throw sys_error("setdomainname " + c.domainname);

  ::umask(0);  // device nodes and dirs get exactly the modes asked for
  if (log::debug_enabled()) {
    log::debug("init: preparing rootfs " + ctx.rootfs.rootfs + " (" + std::to_string(c.mounts.size()) +
               " mounts, propagation " + (c.linux && !c.linux->rootfs_propagation.empty()
                                             ? c.linux->rootfs_propagation : std::string("default")) + ")");
    for (const auto& m : c.mounts) {
      std::string opts;
      for (const auto& o : m.options) opts += (opts.empty() ? "" : ",") + o;
      log::debug("init: mount " + (m.type.empty() ? std::string("(bind)") : m.type) + " " + m.source + " on " +
                 m.destination + (opts.empty() ? "" : " (" + opts + ")"));
    }
  }
  prepare_rootfs(rootfs);
  timing::mark("init: rootfs prepared");
  host_sources.clear();
  host_source_fds.clear();
  std::string hook_state;
  const auto& h = c.hooks;
  if (!h.prestart.empty() || !h.create_runtime.empty() || !h.create_container.empty() ||
      !h.start_container.empty()) {
    // prestart/createRuntime run in the runtime's namespaces, now; then
    // createContainer here, in the container's mount namespace, before pivot_root.
    container::send_packet(ctx.sync_fd, Msg::Hooks);
    auto reply = container::recv_packet(ctx.sync_fd);
    if (!reply || reply->type != Msg::Go) ::_exit(1);
    hook_state = reply->payload;
    // runc runs them with the (mounted) rootfs as cwd; the spec leaves it open.
    if (!h.create_container.empty() && ::chdir(ctx.rootfs.rootfs.c_str()) != 0)
      throw sys_error("chdir " + ctx.rootfs.rootfs);
    hooks::run(h.create_container, hook_state, "createContainer");
  }
  log::debug(std::string("init: entering the rootfs (") +
             (ctx.rootfs.host_mount_ns ? "chroot, no mount namespace" : ctx.rootfs.no_pivot ? "move + chroot" : "pivot_root") + ")");
  enter_rootfs(ctx.rootfs);
  finalize_rootfs(ctx.rootfs);
  timing::mark("init: pivoted and finalized");

  if (!c.process) {
    // Nothing to run: wait to be killed (`start` refuses such a container).
    container::send_packet(ctx.sync_fd, Msg::Ready);
    ::close(ctx.sync_fd);
    for (;;) ::pause();
  }
  const auto& p = *c.process;
  if (p.terminal) {
    setup_terminal(ctx.console_fd, p.console_size);
    ::close(ctx.console_fd);
  } else {
    new_session();
  }
  // The exec fifo must stay outside the preserved range; it closes on exec,
  // which is how `start` learns that the user process runs.
  int fifo = ctx.fifo_fd;
  int first_closed = 3 + ctx.preserve_fds;
  if (fifo < first_closed) {
    int moved = ::fcntl(fifo, F_DUPFD_CLOEXEC, first_closed);
    if (moved < 0) throw sys_error("move exec fifo fd");
    ::close(fifo);
    fifo = moved;
  }
  // Nothing of the runtime or its caller survives: every fd above the
  // preserved ones is closed here but for the three still needed, before
  // process.cwd is resolved. (Before any filter: profiles made before
  // close_range existed deny it.)
  log::debug("init: rootfs ready; setting up the process " + (p.args.empty() ? std::string() : p.args[0]) + " (uid " + std::to_string(p.user.uid) +
             ", gid " + std::to_string(p.user.gid) + ", cwd " + p.cwd + ")");
  close_fds_except(first_closed, {fifo, ctx.sync_fd, ctx.seccomp_listener_fd});
  log::stop_in_container();
  if (c.linux && c.linux->personality) apply_personality(*c.linux->personality);
  // process.apparmorProfile / selinuxLabel: /proc/thread-self/attr/... takes
  // effect at execve. Written after the startContainer hooks (which must not
  // inherit it) when there is no seccomp filter, else here, before the filter,
  // which may deny openat2.
  std::vector<LsmWrite> lsm = plan_lsm_exec(p);
  bool lsm_early = static_cast<bool>(ctx.seccomp);
  if (lsm_early) apply_lsm_exec(lsm);
  // Without no_new_privs the filter needs CAP_SYS_ADMIN: load it before the
  // process's identity is applied; the rest of this init is filtered (as runc).
  if (ctx.seccomp && !p.no_new_privileges)
    install_seccomp(*ctx.seccomp, ctx.seccomp_listener_fd, seccomp_payload);
  linux_::ExecImage image = prepare_process(p, ctx.extra_env, CwdMissing::Create);
  // With no_new_privs (set by prepare_process) after the identity change, but
  // before `start`: the startContainer hooks run under the filter in both
  // cases, as in runc (which loads it before the fifo wait).
  if (ctx.seccomp && p.no_new_privileges)
    install_seccomp(*ctx.seccomp, ctx.seccomp_listener_fd, seccomp_payload);

  prepare_signals();
  container::send_packet(ctx.sync_fd, Msg::Ready);
  ::close(ctx.sync_fd);

  char byte;
  ssize_t n;
  while ((n = ::read(fifo, &byte, 1)) < 0 && errno == EINTR) {
  }
  if (n != 1) ::_exit(1);
  timing::mark("init: started");
  if (!h.start_container.empty()) {
    try {
      hooks::run(h.start_container, hook_state, "startContainer");
    } catch (const std::exception& e) {
      std::string msg = std::string("E") + e.what();
      (void)!::write(fifo, msg.data(), msg.size());
      ::_exit(1);
    }
  }
  try {
    if (!lsm_early) apply_lsm_exec(lsm);
  } catch (const std::exception& e) {
    std::string msg = std::string("E") + e.what();
    (void)!::write(fifo, msg.data(), msg.size());
    ::_exit(1);
  }
  image.exec_or_report(fifo);
}

}  // namespace

void container_init(const InitContext& ctx) noexcept {
  // Not dumpable until execve (which resets it): a process of the container
  // that shares our pid namespace must not ptrace us or open /proc/<pid>/{exe,
  // fd,mem,cwd} while we hold host fds and run the host's binary.
  if (!ctx.dumpable_until_mapped) ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  for (int fd : ctx.close_in_child) ::close(fd);
  try {
    run_init(ctx);
  } catch (const std::exception& e) {
    try {
      container::send_packet(ctx.sync_fd, Msg::Error, e.what());
    } catch (...) {
    }
  }
  ::_exit(1);
}

}  // namespace oci::linux_
