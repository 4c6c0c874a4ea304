// `create`: parse and validate everything, then one clone3 into the new
// namespaces; the child (linux/init.cpp) builds the container and blocks on the
// exec fifo; this process maps ids, joins the cgroup, records state and exits.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <optional>

#include "runtime/cgroups/manager.hpp"
#include "runtime/container/container.hpp"
#include "runtime/container/state_store.hpp"
#include "runtime/container/sync.hpp"
#include "runtime/hooks/runner.hpp"
#include "runtime/linux/idmap_mount.hpp"
#include "runtime/linux/init.hpp"
#include "runtime/linux/lsm.hpp"
#include "runtime/linux/namespaces.hpp"
#include "runtime/linux/proc.hpp"
#include "runtime/linux/rootfs.hpp"
#include "runtime/linux/seccomp.hpp"
#include "runtime/linux/sys.hpp"
#include "runtime/linux/terminal.hpp"
#include "runtime/util/fault.hpp"
#include "runtime/util/fs.hpp"
#include "runtime/util/unix_socket.hpp"
#include "runtime/util/log.hpp"
#include "runtime/util/timing.hpp"
#include "spec/error.hpp"
#include "spec/parse.hpp"

namespace oci::container {
namespace {

// Kills and reaps the child unless released: error paths leave no process.
class ChildGuard {
 public:
  explicit ChildGuard(pid_t pid) : pid_(pid) {}
  ChildGuard(const ChildGuard&) = delete;
  ~ChildGuard() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  void release() { pid_ = -1; }
  void reset(pid_t pid) { pid_ = pid; }
  // Kill and reap now (as the destructor would).
  void kill_now() {
    ChildGuard now(pid_);
    pid_ = -1;
  }

 private:
  pid_t pid_;
};

// Fields this build cannot honour yet are refused before any side effect.
void check_implemented(const spec::Config& c) {
  // AppArmor / SELinux fields: only where the host has that LSM.
  linux_::check_lsm_config(c, linux_::host_lsm());
  auto reject = [](const std::string& field) {
    throw Error("config.json: " + field + ": not supported by this version of oci-run");
  };
  // process.execCPUAffinity is validated with the rest and, as the spec says,
  // not applicable to the init process: only `exec` applies it.
  // Idmapped mounts: validated with the config; here only the kernel.
  if (auto idmapped = linux_::plan_idmap_mounts(c);
      !idmapped.empty() && !linux_::idmap_mounts_supported())
    throw Error("config.json: mounts[" + std::to_string(idmapped[0].index) +
                "]: idmapped mounts need mount_setattr (Linux 5.12), which this kernel lacks");
  if (c.linux) {
    const auto& l = *c.linux;
    if (l.intel_rdt) reject("linux.intelRdt");
    if (l.memory_policy) reject("linux.memoryPolicy");
    if (!l.net_devices.empty()) reject("linux.netDevices");
    if (l.resources) {
      try {
        cgroups::check_supported(*l.resources);
      } catch (const Error& e) {
        throw Error(std::string("config.json: ") + e.what());
      }
    }
  }
}

int listen_fds_count() {
  const char* fds = ::getenv("LISTEN_FDS");
  const char* pid = ::getenv("LISTEN_PID");
  if (!fds || !pid || std::atoi(pid) != ::getpid()) return 0;
  int n = std::atoi(fds);
  return n > 0 ? n : 0;
}

// --debug: one line per phase of create (what a person debugging a failed
// start needs), built only when asked for.
std::string describe_namespaces(const spec::Config& c) {
  std::string out;
  if (c.linux)
    for (const auto& ns : c.linux->namespaces)
      out += (out.empty() ? "" : ", ") + ns.type + (ns.path.empty() ? " (new)" : " (join " + ns.path + ")");
  return out.empty() ? "none: every namespace is the runtime's" : out;
}

std::string join_list(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}

void wait_child(pid_t pid) {
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

pid_t create(const CreateOptions& opts) {
  validate_id(opts.id);
  std::string bundle = fs::absolute(opts.bundle.empty() ? "." : opts.bundle);
  const std::string config_path = fs::join(bundle, "config.json");
  // Kept in the state dir: exec never reads the bundle's file again.
  const std::string config_text = fs::read_file(config_path);
  spec::Config config = spec::parse_config(config_text, config_path);
  check_implemented(config);
  if (!config.root) throw Error("config.json: root: missing");
  std::string rootfs = config.root->path[0] == '/' ? fs::clean(config.root->path)
                                                   : fs::clean(fs::join(bundle, config.root->path));
  struct stat st;
  if (::stat(rootfs.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw Error("config.json: root.path: rootfs " + rootfs + " does not exist or is not a directory");
  bool has_process = config.process.has_value();
  if (log::debug_enabled())
    log::debug("create " + opts.id + ": bundle " + bundle + ", rootfs " + rootfs + ", process " +
               (has_process ? join_list(config.process->args) : std::string("none")) + ", state root " +
               opts.root);
  if (has_process && config.process->terminal && opts.console_socket.empty() && opts.detached)
    throw Error("process.terminal is true but no --console-socket was given");
  if (!opts.console_socket.empty() && !(has_process && config.process->terminal))
    throw Error("--console-socket " + opts.console_socket +
                ": cannot use a console socket when process.terminal is false");

  // Compiled here so that a profile libseccomp cannot express fails before any
  // side effect; the child loads it. NOTIFY: the agent is connected now, too.
  std::optional<linux_::SeccompFilter> seccomp;
  UniqueFd seccomp_listener;
  if (config.linux && config.linux->seccomp) {
    seccomp.emplace(*config.linux->seccomp);
    if (has_process && seccomp->uses_notify())
      seccomp_listener = unix_socket::connect(seccomp->listener_path(), "the seccomp listener");
  }

  linux_::NsPlan plan = linux_::plan_namespaces(config.linux ? &*config.linux : nullptr);
  if (log::debug_enabled()) log::debug("namespaces: " + describe_namespaces(config));
  std::vector<linux_::OpenNs> parent_ns = linux_::open_namespaces(plan.parent_join);
  std::vector<linux_::OpenNs> child_ns = linux_::open_namespaces(plan.child_join);
  if (config.linux) linux_::check_sysctl_namespaces(*config.linux, child_ns);
  UniqueFd console;
  if (has_process && config.process->terminal) {
    if (!opts.console_socket.empty()) console = unix_socket::connect(opts.console_socket, "console socket");
    else if (opts.console_fd >= 0) console.reset(::fcntl(opts.console_fd, F_DUPFD_CLOEXEC, 3));
  }
  cgroups::Layout layout = cgroups::detect();
  timing::mark("create: config loaded and checked");

  // Side effects start here; each owner undoes its part if we fail.
  ContainerDir dir = ContainerDir::create(opts.root, opts.id);
  fault::fault_point("create:after-state-dir");
  dir.save_config(config_text);
  // Recorded before the first mkdir (as planned) and again at once after
  // (exactly): if this process is killed before state.json exists, `delete`
  // still finds the cgroup to remove (kCreatingCgroupFile).
  std::string planned;
  auto record_cgroup = [&dir, &planned](const cgroups::Record& rec) {
    planned = cgroups::to_json(rec).dump();
    fs::write_file_atomic(fs::join(dir.path(), kCreatingCgroupFile), planned, 0600);
    fault::fault_point("create:cgroup-planned");
  };
  cgroups::Cgroup cgroup = cgroups::Cgroup::create(layout, config, opts.id, opts.rootless, record_cgroup);
  // Rewritten only if it differs from the plan (almost never): on ext4 a
  // rename over an existing file starts writeback of the new one at once
  // (auto_da_alloc), and unlinking it in `delete` then waits for that I/O,
  // 0.3-4 ms on a busy disk.
  if (std::string exact = cgroups::to_json(cgroup.record()).dump(); exact != planned)
    fs::write_file_atomic(fs::join(dir.path(), kCreatingCgroupFile), exact, 0600);
  fault::fault_point("create:after-cgroup");
  // Another container's (or anyone's) processes already there share our
  // limits and are frozen, killed and counted with us: runc warns.
  if (auto others = cgroups::pids(cgroup.record()); !others.empty())
    log::warn("container's cgroup is not empty: " + std::to_string(others.size()) + " process(es) found");
  timing::mark("create: cgroup made");
  if (log::debug_enabled())
    log::debug("cgroup (" + cgroup.record().driver + ", path \"" + cgroup.record().path +
               "\"): " + join_list(cgroup.record().all_dirs()) +
               (opts.rootless ? " (rootless: only delegated hierarchies)" : ""));
  if (::mkfifo(dir.fifo_path().c_str(), 0600) != 0) throw sys_error("mkfifo " + dir.fifo_path());
  UniqueFd fifo(::open(dir.fifo_path().c_str(), O_RDWR | O_CLOEXEC));
  if (!fifo) throw sys_error("open " + dir.fifo_path());
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) throw sys_error("socketpair");
  UniqueFd parent_sock(sv[0]), child_sock(sv[1]);
  // Made here, in the host's user namespace (see linux/idmap_mount.hpp), and
  // before joining any pid namespace below: the helper process that holds
  // each mapping must never be visible to another container. The init
  // inherits the detached trees and moves them into place.
  linux_::IdmappedMounts idmapped = linux_::IdmappedMounts::prepare(config, bundle);

  std::optional<linux_::PidNsForChildrenRestore> restore_pid_ns;
  for (const auto& ns : parent_ns)
    if (ns.ns.flag == CLONE_NEWPID) restore_pid_ns.emplace();
  for (const auto& ns : parent_ns) linux_::join(ns);
  if (plan.new_time) {
    if (::unshare(CLONE_NEWTIME) != 0) throw sys_error("unshare time namespace");
    std::string offsets = linux_::format_time_offsets(*config.linux);
    if (!offsets.empty()) linux_::write_proc_file("/proc/self/timens_offsets", offsets);
  }

  int preserve = opts.preserve_fds + listen_fds_count();
  linux_::InitContext ctx;
  ctx.config = &config;
  ctx.id = opts.id;
  ctx.rootfs.config = &config;
  ctx.rootfs.rootfs = rootfs;
  ctx.rootfs.bundle = bundle;
  ctx.rootfs.no_pivot = opts.no_pivot;
  ctx.rootfs.host_mount_ns = !(config.linux && config.linux->has_namespace("mount"));
  // Rootless includes root of a non-initial user namespace (podman rootless):
  // no mknod there either.
  ctx.rootfs.in_userns = plan.new_user || opts.rootless ||
                         (!plan.child_join.empty() && plan.child_join[0].flag == CLONE_NEWUSER);
  ctx.rootfs.own_netns =
      ctx.rootfs.in_userns && ((plan.clone_flags | static_cast<uint64_t>(plan.unshare_flags)) & CLONE_NEWNET);
  ctx.rootfs.new_cgroupns = plan.new_cgroup;
  if (config.linux) ctx.rootfs.mount_label = config.linux->mount_label;  // SELinux hosts only
  ctx.rootfs.layout = &layout;
  ctx.rootfs.idmapped = &idmapped;
  ctx.rootfs.cgroup = &cgroup.record();
  ctx.plan = plan;
  ctx.child_join = &child_ns;
  ctx.sync_fd = child_sock.get();
  ctx.fifo_fd = fifo.get();
  ctx.console_fd = console.get();
  ctx.preserve_fds = preserve;
  ctx.no_new_keyring = opts.no_new_keyring;
  ctx.dumpable_until_mapped = plan.new_user && ::geteuid() != 0;
  if (seccomp) ctx.seccomp = &*seccomp;
  ctx.seccomp_listener_fd = seccomp_listener.get();
  ctx.close_in_child = {dir.fd(), parent_sock.get()};
  // As runc: bind sources are opened by us, with host credentials, in the
  // container's mount namespace (made by the clone), not by its root, which a
  // new user namespace may keep out of them. Only where the clone makes both.
  if (plan.new_user && !plan.user_via_unshare && (plan.clone_flags & CLONE_NEWNS) &&
      ::geteuid() == 0 && !opts.rootless)
    ctx.host_bind_sources = linux_::host_side_bind_mounts(config);
  if (int lfds = listen_fds_count()) {
    ctx.extra_env.push_back("LISTEN_FDS=" + std::to_string(lfds));
    ctx.extra_env.push_back("LISTEN_PID=1");
  }

  uint64_t host_rootfs_id = ctx.rootfs.host_mount_ns ? linux_::mount_id(rootfs) : 0;
  sys::CloneArgs args;
  args.flags = plan.clone_flags;
  args.exit_signal = SIGCHLD;
  pid_t child = sys::clone3(args);
  if (child < 0) throw sys_error("clone3");
  if (child == 0) linux_::container_init(ctx);
  fault::fault_point("create:after-clone");
  timing::mark("create: cloned");
  log::debug("container init cloned: pid " + std::to_string(child));
  restore_pid_ns.reset();  // hooks we run later stay in our pid namespace
  idmapped.close_all();    // the child has its copies

  // Without a mount namespace the child's mounts land in ours: undo on failure.
  struct HostMounts {
    const std::string* rootfs;
    uint64_t original;
    ~HostMounts() {
      if (rootfs) try {
          linux_::detach_host_rootfs(*rootfs, original);
        } catch (...) {
        }
    }
  } host_mounts{ctx.rootfs.host_mount_ns ? &rootfs : nullptr, host_rootfs_id};
  ChildGuard guard(child);
  // runtime-spec: a create that fails once the prestart/createRuntime stage
  // has begun continues at "delete", whose poststop hooks undo what those
  // hooks set up (e.g. the network hook's veth, NAT rules and lease). Run
  // them after the container is gone, with warnings only.
  struct PoststopOnFailure {
    const std::vector<spec::Hook>& hooks;
    ChildGuard& child;
    std::string state_json;  // set when the hooks stage begins
    ~PoststopOnFailure() {
      if (state_json.empty() || hooks.empty()) return;
      child.kill_now();
      hooks::run_warn(hooks, state_json, "poststop");
    }
  } poststop_on_failure{config.hooks.poststop, guard, {}};
  child_sock.reset();
  console.reset();
  fifo.reset();
  bool seccomp_notify = static_cast<bool>(seccomp_listener);
  seccomp_listener.reset();
  pid_t container_pid = child;
  // What the seccomp agent receives with the listener fd (the Go payload).
  auto seccomp_state = [&](pid_t pid) -> std::string {
    if (!seccomp_notify) return "";
    spec::State st;
    st.id = opts.id;
    st.status = "creating";
    st.pid = pid;
    st.bundle = bundle;
    st.annotations = config.annotations;
    return linux_::seccomp_listener_payload(st, pid, config.linux->seccomp->listener_metadata);
  };

  if (plan.new_user && !plan.user_via_unshare) {
    linux_::write_id_maps(child, *config.linux, ::geteuid() == 0);
    log::debug("uid/gid maps written for pid " + std::to_string(child));
  }
  cgroup.add_pid(child);
  log::debug("pid " + std::to_string(child) + " joined the cgroup; init continues");
  if (has_process && config.process->oom_score_adj)
    linux_::write_proc_file("/proc/" + std::to_string(child) + "/oom_score_adj",
                            std::to_string(*config.process->oom_score_adj));
  send_packet(parent_sock.get(), Msg::Go, seccomp_state(child));
  timing::mark("create: child joined the cgroup, go sent");
  for (size_t index : ctx.host_bind_sources) {
    UniqueFd src = linux_::open_host_bind_source(child, config.mounts[index], bundle);
    unix_socket::send_fd(parent_sock.get(), src.get(), "M",
                         "send the source of mounts[" + std::to_string(index) + "] to the container init");
  }

  for (;;) {
    auto p = recv_packet(parent_sock.get());
    if (!p) throw Error("container init exited before it was ready");
    if (p->type == Msg::Error) throw Error(p->payload);
    if (p->type == Msg::UserNs) {
      log::debug("init unshared its user namespace: writing uid/gid maps");
      linux_::write_id_maps(child, *config.linux, ::geteuid() == 0);
      send_packet(parent_sock.get(), Msg::Go);
    } else if (p->type == Msg::Pid) {
      container_pid = static_cast<pid_t>(std::atoi(p->payload.c_str()));
      log::debug("init forked into the new pid namespace: container pid " + std::to_string(container_pid));
      wait_child(child);  // the intermediate process exits right away
      guard.reset(container_pid);
      if (seccomp_notify) send_packet(parent_sock.get(), Msg::Go, seccomp_state(container_pid));
    } else if (p->type == Msg::Hooks) {
      spec::State st;
      st.id = opts.id;
      st.status = "created";
      st.pid = container_pid;
      st.bundle = bundle;
      st.rootfs = rootfs;
      st.annotations = config.annotations;
      std::string state_json = spec::to_json(st, -1, false);
      st.status = "stopped";
      poststop_on_failure.state_json = spec::to_json(st, -1, false);
      hooks::run(config.hooks.prestart, state_json, "prestart");
      hooks::run(config.hooks.create_runtime, state_json, "createRuntime");
      send_packet(parent_sock.get(), Msg::Go, state_json);
      fault::fault_point("create:after-hooks");
    } else if (p->type == Msg::Ready) {
      timing::mark("create: init ready");
      log::debug("container init ready: rootfs entered, waiting on the exec fifo for start");
      break;
    }
  }

  auto pstat = linux_::read_proc_stat(container_pid);
  if (!pstat) throw Error("container process " + std::to_string(container_pid) + " vanished");
  PersistedState s;
  s.id = opts.id;
  s.pid = container_pid;
  s.pid_start = pstat->start_time;
  s.bundle = bundle;
  s.rootfs = rootfs;
  s.created = log::rfc3339_now(true);
  s.owner = ::getuid();
  s.has_process = has_process;
  s.new_pid_ns = plan.new_pid;
  s.host_rootfs_mount_id = host_rootfs_id;
  s.annotations = config.annotations;
  s.cgroup = cgroup.record();
  s.poststart = config.hooks.poststart;
  s.poststop = config.hooks.poststop;
  dir.save(s);
  fault::fault_point("create:after-save");
  timing::mark("create: state saved");
  log::debug("state saved in " + dir.path() + ": container " + opts.id + " created, pid " +
             std::to_string(container_pid));
  if (!opts.pid_file.empty())
    fs::write_file_atomic(fs::absolute(opts.pid_file), std::to_string(container_pid));
  cgroup.commit();
  dir.commit();
  poststop_on_failure.state_json.clear();
  guard.release();
  host_mounts.rootfs = nullptr;
  return container_pid;
}

}  // namespace oci::container
