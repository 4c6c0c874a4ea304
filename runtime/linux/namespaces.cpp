#include "runtime/linux/namespaces.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>

#include <cerrno>

#include "runtime/linux/sys.hpp"
#include "runtime/util/fs.hpp"
#include "spec/error.hpp"
#include "spec/tables.hpp"

namespace oci::linux_ {

NsPlan plan_namespaces(const spec::Linux* linux) {
  NsPlan plan;
  if (!linux) return plan;
  int new_flags = 0;
  bool user_joined = false;
  for (size_t i = 0; i < linux->namespaces.size(); ++i) {
    const auto& n = linux->namespaces[i];
    const auto* info = spec::find_namespace(n.type);
    if (!info) continue;  // validated earlier
    int flag = info->clone_flag;
    if (!n.path.empty()) {
      JoinNs j{n.type, n.path, flag, i};
      if (flag == CLONE_NEWPID || flag == CLONE_NEWTIME) {
        plan.parent_join.push_back(j);
      } else if (flag == CLONE_NEWUSER) {
        user_joined = true;
        plan.child_join.insert(plan.child_join.begin(), j);
      } else {
        plan.child_join.push_back(j);
      }
      continue;
    }
    switch (flag) {
      case CLONE_NEWTIME: plan.new_time = true; break;
      case CLONE_NEWCGROUP: plan.new_cgroup = true; break;
      case CLONE_NEWUSER: plan.new_user = true; break;
      case CLONE_NEWPID: plan.new_pid = true; [[fallthrough]];
      default: new_flags |= flag;
    }
  }
  bool any_user = plan.new_user || user_joined;
  if (plan.child_join.empty() || !any_user) {
    // One clone creates every new namespace; joins (if any) follow in the child.
    plan.clone_flags = static_cast<uint64_t>(new_flags) | (plan.new_user ? CLONE_NEWUSER : 0);
  } else {
    // Joined namespaces must be entered before the new user namespace exists
    // (or after the joined one), and the new ones must belong to that user
    // namespace: create them by unshare in the child, forking for a pid ns.
    plan.unshare_flags = new_flags;
    plan.user_via_unshare = plan.new_user;
    plan.fork_for_pid = plan.new_pid;
  }
  return plan;
}

std::vector<OpenNs> open_namespaces(const std::vector<JoinNs>& joins) {
  std::vector<OpenNs> out;
  for (const auto& j : joins) {
    std::string field = "config.json: linux.namespaces[" + std::to_string(j.index) + "].path: ";
    UniqueFd fd(::open(j.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw Error(field + sys_error("open " + j.path).what());
    int type = ::ioctl(fd.get(), NS_GET_NSTYPE);
    if (type < 0) throw Error(field + j.path + " is not a namespace file");
    if (type != j.flag) throw Error(field + j.path + " is not a " + j.type + " namespace");
    out.push_back({j, std::move(fd)});
  }
  return out;
}

void join(const OpenNs& ns) {
  if (::setns(ns.fd.get(), ns.ns.flag) != 0)
    throw sys_error("setns " + ns.ns.type + " namespace " + ns.ns.path);
}

PidNsForChildrenRestore::PidNsForChildrenRestore()
    : own_(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC)) {
  if (!own_) throw sys_error("open /proc/self/ns/pid");
}

PidNsForChildrenRestore::~PidNsForChildrenRestore() { ::setns(own_.get(), CLONE_NEWPID); }

std::string format_id_map(const std::vector<spec::IdMapping>& maps) {
  std::string out;
  for (const auto& m : maps)
    out += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
           std::to_string(m.size) + "\n";
  return out;
}

void write_id_maps(pid_t pid, const spec::Linux& linux) {
  std::string base = "/proc/" + std::to_string(pid);
  fs::write_file(base + "/uid_map", format_id_map(linux.uid_mappings));
  fs::write_file(base + "/gid_map", format_id_map(linux.gid_mappings));
}

std::string format_time_offsets(const spec::Linux& linux) {
  std::string out;
  for (const auto& [clock, off] : linux.time_offsets)
    out += clock + " " + std::to_string(off.secs) + " " + std::to_string(off.nanosecs) + "\n";
  return out;
}

}  // namespace oci::linux_
