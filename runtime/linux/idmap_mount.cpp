#include "runtime/linux/idmap_mount.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "runtime/linux/namespaces.hpp"
#include "runtime/linux/proc.hpp"
#include "runtime/linux/sys.hpp"
#include "runtime/util/fs.hpp"
#include "spec/error.hpp"

namespace oci::linux_ {
namespace {

// The helper holding a fresh user namespace: blocks until release_ is
// closed; the destructor kills and reaps it in any case.
class UsernsHelper {
 public:
  UsernsHelper() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) throw sys_error("pipe for the user namespace helper");
    UniqueFd r(p[0]);
    release_.reset(p[1]);
    sys::CloneArgs args;
    args.flags = CLONE_NEWUSER;
    args.exit_signal = SIGCHLD;
    pid_ = sys::clone3(args);
    if (pid_ < 0) throw sys_error("clone3 user namespace helper");
    if (pid_ == 0) {
      ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);  // the runtime's image: nobody may reach it
      ::close(release_.get());
      char c;
      while (::read(r.get(), &c, 1) < 0 && errno == EINTR) {
      }
      ::_exit(0);
    }
  }
  UsernsHelper(const UsernsHelper&) = delete;
  UsernsHelper& operator=(const UsernsHelper&) = delete;
  ~UsernsHelper() {
    release_.reset();
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  UniqueFd release_;
};

bool has_option(const spec::Mount& m, const char* name) {
  for (const auto& o : m.options)
    if (o == name) return true;
  return false;
}

std::string fs_type_of(int fd) {
  struct statfs sfs;
  if (::fstatfs(fd, &sfs) != 0) return "?";
  char buf[32];
  snprintf(buf, sizeof buf, "%#lx", static_cast<unsigned long>(sfs.f_type));
  return buf;
}

}  // namespace

std::vector<IdmapRequest> plan_idmap_mounts(const spec::Config& c) {
  std::vector<IdmapRequest> out;
  for (size_t i = 0; i < c.mounts.size(); ++i) {
    const auto& m = c.mounts[i];
    bool idmap = has_option(m, "idmap"), ridmap = has_option(m, "ridmap");
    bool mappings = !m.uid_mappings.empty() || !m.gid_mappings.empty();
    if (!idmap && !ridmap && !mappings) continue;
    IdmapRequest r;
    r.index = i;
    r.recursive_bind = has_option(m, "rbind");
    r.recursive_idmap = ridmap;
    if (mappings) {
      r.uids = m.uid_mappings;
      r.gids = m.gid_mappings;
    } else if (c.linux && !c.linux->uid_mappings.empty()) {
      r.uids = c.linux->uid_mappings;
      r.gids = c.linux->gid_mappings;
    } else if (const auto* ns = c.linux ? c.linux->find_namespace("user") : nullptr;
               ns && !ns->path.empty()) {
      r.userns_path = ns->path;
    } else {
      // validate.cpp refuses this; kept as a clear error should that change.
      throw Error("config.json: mounts[" + std::to_string(i) +
                  "].options: idmap without mappings needs the container's user namespace");
    }
    out.push_back(std::move(r));
  }
  return out;
}

UniqueFd make_userns(const std::vector<spec::IdMapping>& uids,
                     const std::vector<spec::IdMapping>& gids) {
  UsernsHelper helper;
  std::string base = "/proc/" + std::to_string(helper.pid());
  write_proc_file(base + "/uid_map", format_id_map(uids));
  write_proc_file(base + "/gid_map", format_id_map(gids));
  // A magic link (ns/user), so not through open_pseudo_file: it is our own
  // unreaped child's, in the host's /proc.
  UniqueFd ns(::open((base + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) throw sys_error("open " + base + "/ns/user");
  return ns;
}

IdmappedMounts IdmappedMounts::prepare(const spec::Config& c, const std::string& bundle) {
  IdmappedMounts out;
  for (const auto& r : plan_idmap_mounts(c)) {
    const spec::Mount& m = c.mounts[r.index];
    std::string src = m.source.empty() || m.source[0] == '/' ? m.source : fs::join(bundle, m.source);
    std::string what = "mounts[" + std::to_string(r.index) + "]: idmap " + src;
    UniqueFd userns;
    if (!r.userns_path.empty()) {
      userns.reset(::open(r.userns_path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!userns) throw sys_error(what + ": open user namespace " + r.userns_path);
    } else {
      try {
        userns = make_userns(r.uids, r.gids);
      } catch (const Error& e) {
        throw Error(what + ": " + e.what());
      }
    }
    unsigned tree_flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (r.recursive_bind ? AT_RECURSIVE : 0);
    UniqueFd tree(sys::open_tree(AT_FDCWD, src.c_str(), tree_flags));
    if (!tree) throw sys_error(what + ": open_tree");
    unsigned attr_flags = AT_EMPTY_PATH | (r.recursive_idmap ? AT_RECURSIVE : 0);
    if (sys::mount_setattr_idmap(tree.get(), "", attr_flags, userns.get()) != 0) {
      int err = errno;
      std::string msg = what + ": mount_setattr MOUNT_ATTR_IDMAP: " + strerror(err);
      if (err == EINVAL)
        msg += " (the source's filesystem, type " + fs_type_of(tree.get()) +
               ", does not support idmapped mounts, or the source is idmapped already)";
      throw Error(msg);
    }
    out.trees_.emplace(&m, std::move(tree));
  }
  return out;
}

int IdmappedMounts::tree_for(const spec::Mount& m) const {
  auto it = trees_.find(&m);
  return it == trees_.end() ? -1 : it->second.get();
}

void attach_tree(int tree_fd, int target_fd, const std::string& what) {
  if (sys::move_mount(tree_fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
    throw sys_error(what + ": move_mount");
}

bool idmap_mounts_supported() {
  // Nothing to change: 0 (or EBADF for fd -1) when the call exists, ENOSYS when not.
  return sys::mount_setattr(-1, "", 0, 0, 0) == 0 || errno != ENOSYS;
}

}  // namespace oci::linux_
