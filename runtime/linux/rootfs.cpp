#include "runtime/linux/rootfs.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <map>
#include <optional>

#include "runtime/cgroups/mount.hpp"
#include "runtime/linux/devices.hpp"
#include "runtime/linux/idmap_mount.hpp"
#include "runtime/linux/lsm.hpp"
#include "runtime/linux/mount_util.hpp"
#include "runtime/linux/mount_options.hpp"
#include "runtime/linux/path_in_root.hpp"
#include "runtime/linux/proc.hpp"
#include "runtime/linux/sys.hpp"
#include "runtime/util/fs.hpp"
#include "spec/error.hpp"
#include "spec/parse.hpp"
#include "spec/tables.hpp"

namespace oci::linux_ {
namespace {

void apply_after(int rootfd, const std::string& dest, const MountPlan& plan) {
  if (plan.propagation.empty() && !plan.attr_set && !plan.attr_clr) return;
  UniqueFd fd = open_in_root(rootfd, dest, Create::None);
  if (!fd) throw Error("mount " + dest + ": destination vanished");
  for (unsigned long p : plan.propagation)
    do_mount("", fd_path(fd.get()), nullptr, p, "", "set propagation of " + dest);
  if (plan.attr_set || plan.attr_clr) {
    if (sys::mount_setattr(fd.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, plan.attr_set,
                           plan.attr_clr) != 0)
      throw sys_error("mount_setattr " + dest);
  }
}

// "tmpcopyup" (podman uses it for --tmpfs and --read-only): the new tmpfs
// starts with a copy of what the rootfs has at the destination, and its root
// gets that directory's owner (and mode, unless the options set mode=).
// The directory is opened before the mount, so the copy reads the covered
// files through that fd, never through a path that could have changed.
void mount_tmpfs_copyup(int rootfd, const std::string& dest, const std::string& source,
                        const MountPlan& plan) {
  UniqueFd target = open_in_root(rootfd, dest, Create::Dir);
  UniqueFd below(::openat(target.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!below) throw sys_error("tmpcopyup " + dest + ": open the directory below the tmpfs");
  struct stat st;
  if (::fstat(below.get(), &st) != 0) throw sys_error("tmpcopyup " + dest + ": stat");
  // Writable while the copy runs; the requested flags (ro...) come after.
  const unsigned long flags = plan.flags & ~MS_REMOUNT;
  do_mount(source, fd_path(target.get()), "tmpfs", flags & ~MS_RDONLY, plan.data,
           "mount tmpfs on " + dest);
  UniqueFd mounted_path = open_in_root(rootfd, dest, Create::None);
  if (!mounted_path) throw Error("tmpcopyup " + dest + ": the new tmpfs vanished");
  UniqueFd mounted(::openat(mounted_path.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!mounted) throw sys_error("tmpcopyup " + dest + ": open the new tmpfs");
  fs::copy_tree(below.get(), mounted.get(), "tmpcopyup " + dest);
  if (::fchown(mounted.get(), st.st_uid, st.st_gid) != 0)
    throw sys_error("tmpcopyup " + dest + ": chown the tmpfs root");
  bool has_mode = ("," + plan.data).find(",mode=") != std::string::npos;
  if (!has_mode && ::fchmod(mounted.get(), st.st_mode & 07777) != 0)
    throw sys_error("tmpcopyup " + dest + ": chmod the tmpfs root");
  if (flags & MS_RDONLY)
    do_mount("", fd_path(mounted_path.get()), nullptr, MS_REMOUNT | flags, plan.data,
             "remount tmpfs on " + dest + " read-only");
}

std::string fd_target(int fd) {
  char buf[PATH_MAX + 1];
  std::string link = fd_path(fd);
  ssize_t n = ::readlink(link.c_str(), buf, PATH_MAX);
  if (n < 0) throw sys_error("readlink " + link);
  return std::string(buf, static_cast<size_t>(n));
}

// Where the container path `dest` leads, symlinks resolved inside the root,
// creating nothing: the longest existing prefix, resolved, plus the rest.
std::string resolve_in_root(int rootfd, const std::string& dest) {
  const std::string root = fd_target(rootfd);
  std::string prefix = dest, rest;
  for (;;) {
    if (UniqueFd fd = open_in_root(rootfd, prefix, Create::None)) {
      std::string real = fd_target(fd.get());
      if (real == root) return fs::clean("/" + rest);
      if (real.size() > root.size() && real.compare(0, root.size(), root) == 0 && real[root.size()] == '/')
        return fs::clean(real.substr(root.size()) + rest);
      throw Error("mount " + dest + ": resolves to " + real + ", outside the rootfs " + root);
    }
    if (prefix == "/") return dest;
    std::string parent, name;
    split_parent(prefix, parent, name);
    rest = "/" + name + rest;
    prefix = parent;
  }
}

// runc's rule for destinations inside /proc (spec::proc_destination_problem),
// on the destination as the kernel will resolve it in the rootfs: `mnt ->
// /proc` makes /mnt/sys a mount on /proc/sys.
void check_proc_destination(int rootfd, const std::string& dest, const spec::Mount& m, bool bind,
                            const std::string& bind_source) {
  std::string resolved = resolve_in_root(rootfd, dest);
  bool source_procfs = false;
  if (bind && resolved == "/proc") {
    struct statfs sfs;
    source_procfs = ::statfs(bind_source.c_str(), &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC;
  }
  std::string problem = spec::proc_destination_problem(resolved, m.type, bind, source_procfs);
  if (problem.empty()) return;
  if (resolved != dest) problem += " (destination " + dest + " resolves to " + resolved + " in the rootfs)";
  throw Error("mount " + dest + ": " + problem);
}

// As runc: a read-only tmpfs on /dev is mounted read-write, so that the
// devices, /dev/pts, /dev/shm... can be made in it, and remounted read-only by
// finalize_rootfs. The plan of that mount, or nullopt.
std::optional<MountPlan> deferred_readonly_dev(const spec::Mount& m) {
  if (fs::clean(m.destination) != "/dev" || m.type == "cgroup" || m.type == "cgroup2")
    return std::nullopt;
  MountPlan plan = plan_mount(m);
  if (plan.bind || !(plan.flags & MS_RDONLY)) return std::nullopt;
  return plan;
}

void mount_one(int rootfd, const spec::Mount& given, const RootfsContext& ctx) {
  std::string dest = fs::clean(given.destination);
  MountPlan plan = plan_mount(given);
  {
    std::string src = given.source.empty() || given.source[0] == '/' ? given.source
                                                                     : fs::join(ctx.bundle, given.source);
    check_proc_destination(rootfd, dest, given, plan.bind, src);
  }
  if (deferred_readonly_dev(given)) plan.flags &= ~static_cast<unsigned long>(MS_RDONLY);
  const spec::Mount* mp = &given;
  spec::Mount sys_bind;
  if (given.type == "sysfs" && ctx.in_userns && !ctx.own_netns) {
    // Only the owner of the network namespace may mount sysfs: bind the
    // host's /sys with the requested flags (what `spec --rootless` asks).
    sys_bind = given;
    sys_bind.type = "none";
    sys_bind.source = "/sys";
    plan.bind = true;
    plan.flags |= MS_REC;
    plan.data.clear();
    if (plan.flags & MS_RDONLY) plan.attr_set |= MOUNT_ATTR_RDONLY;  // the cgroup mounts below, too
    mp = &sys_bind;
  }
  const spec::Mount& m = *mp;
  plan.data = mount_data_with_label(plan.data, m.type, plan.bind, ctx.mount_label);
  if (m.type == "cgroup" || m.type == "cgroup2") {
    cgroups::mount_cgroup_fs(rootfd, dest, plan.flags, *ctx.layout, *ctx.cgroup, ctx.new_cgroupns);
    apply_after(rootfd, dest, plan);
    return;
  }
  if (plan.bind) {
    std::string src = m.source.empty() || m.source[0] == '/' ? m.source : fs::join(ctx.bundle, m.source);
    int idmapped = ctx.idmapped ? ctx.idmapped->tree_for(m) : -1;
    int host_fd = -1;
    if (ctx.host_sources && mp == &given) {
      auto it = ctx.host_sources->find(static_cast<size_t>(&given - ctx.config->mounts.data()));
      if (it != ctx.host_sources->end()) host_fd = it->second;
    }
    struct stat st;
    if (idmapped >= 0 ? ::fstat(idmapped, &st) != 0
                      : host_fd >= 0 ? ::fstat(host_fd, &st) != 0 : ::stat(src.c_str(), &st) != 0)
      throw sys_error("mount " + dest + ": stat source " + src);
    if (host_fd >= 0) src = fd_path(host_fd);  // opened by the runtime on the host side
    UniqueFd target = open_in_root(rootfd, dest, S_ISDIR(st.st_mode) ? Create::Dir : Create::File);
    if (idmapped >= 0) {  // made by the runtime (linux/idmap_mount.hpp): only moved here
      attach_tree(idmapped, target.get(), "idmapped bind mount " + src + " on " + dest);
      ::close(idmapped);  // this process's copy, never used again: not even in the preserved fds
    } else {
      do_mount(src, fd_path(target.get()), nullptr, MS_BIND | (plan.flags & MS_REC), "",
               "bind mount " + src + " on " + dest);
    }
    if (plan.needs_remount()) {
      UniqueFd mounted = open_in_root(rootfd, dest, Create::None);
      bind_remount(mounted.get(), plan.flags & ~(MS_BIND | MS_REC), "remount " + dest);
    }
  } else if (plan.tmpcopyup && m.type == "tmpfs") {
    mount_tmpfs_copyup(rootfd, dest, m.source.empty() ? m.type : m.source, plan);
  } else {
    if (m.type.empty()) throw Error("mount " + dest + ": no type given");
    UniqueFd target = open_in_root(rootfd, dest, Create::Dir);
    do_mount(m.source.empty() ? m.type : m.source, fd_path(target.get()), m.type.c_str(),
             plan.flags & ~MS_REMOUNT, plan.data, "mount " + m.type + " on " + dest);
  }
  apply_after(rootfd, dest, plan);
}

std::string bind_source_path(const spec::Mount& m, const std::string& bundle) {
  return m.source.empty() || m.source[0] == '/' ? m.source : fs::join(bundle, m.source);
}

void mask_paths(int rootfd, const std::vector<std::string>& paths, const std::string& label) {
  if (paths.empty()) return;
  // The bind source must really be the null device, never a file an attacker
  // could have placed.
  UniqueFd null(::open("/dev/null", O_PATH | O_CLOEXEC));
  struct stat st;
  if (!null || ::fstat(null.get(), &st) != 0 || !S_ISCHR(st.st_mode) ||
      st.st_rdev != makedev(1, 3))
    throw Error("maskedPaths: /dev/null is not the null device");
  for (const auto& p : paths) {
    UniqueFd fd = open_in_root(rootfd, p, Create::None);
    if (!fd) continue;
    struct stat ps;
    if (::fstat(fd.get(), &ps) != 0) throw sys_error("stat " + p);
    if (S_ISDIR(ps.st_mode))
      do_mount("tmpfs", fd_path(fd.get()), "tmpfs", MS_RDONLY,
               mount_data_with_label("size=0k,mode=0755", "tmpfs", false, label), "mask " + p);
    else
      do_mount(fd_path(null.get()), fd_path(fd.get()), nullptr, MS_BIND, "", "mask " + p);
  }
}

void readonly_paths(int rootfd, const std::vector<std::string>& paths) {
  for (const auto& p : paths) {
    UniqueFd fd = open_in_root(rootfd, p, Create::None);
    if (!fd) continue;
    std::string fp = fd_path(fd.get());
    do_mount(fp, fp, nullptr, MS_BIND | MS_REC, "", "bind " + p);
    UniqueFd m = open_in_root(rootfd, p, Create::None);
    bind_remount(m.get(), MS_RDONLY | MS_REC, "remount " + p + " read-only");
  }
}

// linux.sysctl through the container's /proc (its namespaces), before
// readonlyPaths make /proc/sys read-only. The file must really be the kernel's
// (linux/proc.hpp: procfs, no symlink out, no mount over it).
void write_sysctls(int rootfd, const std::map<std::string, std::string>& sysctl) {
  for (const auto& [key, value] : sysctl) {
    std::string path = "/proc/sys/" + key;
    for (size_t i = 10; i < path.size(); ++i)
      if (path[i] == '.') path[i] = '/';
    try {
      write_pseudo_file(PseudoFs::Proc, path, value, rootfd);
    } catch (const Error& e) {
      throw Error("sysctl " + key + ": " + e.what());
    }
  }
}

}  // namespace

void prepare_rootfs(const RootfsContext& ctx) {
  const auto& c = *ctx.config;
  const std::string prop_name = c.linux ? c.linux->rootfs_propagation : std::string();
  unsigned long initial = MS_PRIVATE;
  if (prop_name.find("slave") != std::string::npos || prop_name.find("shared") != std::string::npos)
    initial = MS_SLAVE;
  if (!ctx.host_mount_ns) do_mount("", "/", nullptr, MS_REC | initial, "", "set propagation of /");
  do_mount(ctx.rootfs, ctx.rootfs, nullptr, MS_BIND | MS_REC, "", "bind mount rootfs " + ctx.rootfs);
  if (ctx.host_mount_ns)  // nothing mounted below the rootfs may propagate to the host's peers
    do_mount("", ctx.rootfs, nullptr, MS_REC | MS_PRIVATE, "", "make rootfs " + ctx.rootfs + " private");
  UniqueFd rootfd(::open(ctx.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rootfd) throw sys_error("open rootfs " + ctx.rootfs);

  for (const auto& m : c.mounts) mount_one(rootfd.get(), m, ctx);
  create_devices(rootfd.get(), c, ctx.in_userns);
  if (c.linux) {
    write_sysctls(rootfd.get(), c.linux->sysctl);
    readonly_paths(rootfd.get(), c.linux->readonly_paths);
    mask_paths(rootfd.get(), c.linux->masked_paths, ctx.mount_label);
  }
}

std::vector<size_t> host_side_bind_mounts(const spec::Config& c) {
  std::vector<size_t> idmapped;
  for (const auto& r : plan_idmap_mounts(c)) idmapped.push_back(r.index);
  std::vector<size_t> out;
  for (size_t i = 0; i < c.mounts.size(); ++i) {
    const auto& m = c.mounts[i];
    if (m.type == "cgroup" || m.type == "cgroup2" || m.type == "sysfs") continue;
    if (std::find(idmapped.begin(), idmapped.end(), i) != idmapped.end()) continue;
    if (plan_mount(m).bind) out.push_back(i);
  }
  return out;
}

UniqueFd open_host_bind_source(pid_t pid, const spec::Mount& m, const std::string& bundle) {
  std::string src = bind_source_path(m, bundle);
  std::string what = "mount " + fs::clean(m.destination) + ": stat source " + src;
  // The mount namespace is a copy of ours: symlinks resolve the same here,
  // and an absolute one followed below /proc/<pid>/root would leave it.
  char* real = ::realpath(src.c_str(), nullptr);
  if (!real) throw sys_error(what);
  std::string resolved(real);
  std::free(real);
  std::string via = "/proc/" + std::to_string(pid) + "/root" + resolved;
  UniqueFd fd(::open(via.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) throw sys_error(what + " (as " + resolved + " in the container's mount namespace)");
  return fd;
}

uint64_t mount_id(const std::string& path) {
  struct statx stx {};
  if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) != 0 ||
      !(stx.stx_mask & STATX_MNT_ID))
    return 0;
  return stx.stx_mnt_id;
}

void detach_host_rootfs(const std::string& rootfs, uint64_t original_mount_id) {
  uint64_t now = mount_id(rootfs);
  if (now == 0 || now == original_mount_id) return;
  if (::umount2(rootfs.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL && errno != ENOENT)
    throw sys_error("unmount " + rootfs);
}

void finalize_rootfs(const RootfsContext& ctx) {
  const auto& c = *ctx.config;
  // The last mount on /dev is the one the container sees.
  for (auto it = c.mounts.rbegin(); it != c.mounts.rend(); ++it) {
    if (fs::clean(it->destination) != "/dev") continue;
    if (auto plan = deferred_readonly_dev(*it)) {
      UniqueFd dev(::open("/dev", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!dev) throw sys_error("open /dev to remount it read-only");
      bind_remount(dev.get(), (plan->flags & ~static_cast<unsigned long>(MS_BIND | MS_REC | MS_REMOUNT)) | MS_RDONLY,
                   "remount /dev read-only");
    }
    break;
  }
  if (c.root && c.root->readonly) {
    UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) throw sys_error("open /");
    do_mount("", "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags(root.get()), "",
             "remount / read-only");
  }
  if (c.linux && !c.linux->rootfs_propagation.empty()) {
    auto prop = spec::find_propagation(c.linux->rootfs_propagation);
    if (prop) do_mount("", "/", nullptr, *prop, "", "set rootfs propagation");
  }
}

}  // namespace oci::linux_
