#include "runtime/linux/namespaces.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <spawn.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "runtime/linux/proc.hpp"
#include "runtime/linux/sys.hpp"
#include "runtime/util/fs.hpp"
#include "spec/error.hpp"
#include "spec/parse.hpp"
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
      case CLONE_NEWNET: plan.new_net = true; new_flags |= flag; break;
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

void check_sysctl_namespaces(const spec::Linux& linux, const std::vector<OpenNs>& joined) {
  for (const auto& [name, value] : linux.sysctl) {
    std::string_view type = spec::sysctl_namespace(name);
    for (const auto& j : joined) {
      if (j.ns.type != type) continue;
      const auto* info = spec::find_namespace(j.ns.type);
      std::string own = "/proc/self/ns/" + std::string(info ? info->proc : std::string_view(j.ns.type));
      struct stat theirs, ours;
      if (::fstat(j.fd.get(), &theirs) != 0) throw sys_error("stat " + j.ns.path);
      if (::stat(own.c_str(), &ours) != 0) throw sys_error("stat " + own);
      if (theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev)
        throw Error("config.json: linux.sysctl.\"" + name + "\": not allowed in host " + j.ns.type +
                    " namespace (linux.namespaces[" + std::to_string(j.ns.index) + "].path " + j.ns.path +
                    " is the runtime's own)");
    }
  }
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

bool is_initial_uid_map(const std::string& uid_map) {
  unsigned long long inside = 1, outside = 1, count = 0;
  if (std::sscanf(uid_map.c_str(), "%llu %llu %llu", &inside, &outside, &count) != 3) return false;
  return inside == 0 && outside == 0 && count == 4294967295ULL &&
         uid_map.find('\n') >= uid_map.find_last_not_of(" \n");
}

bool in_initial_user_ns() {
  auto text = fs::try_read_file("/proc/self/uid_map");
  return text && is_initial_uid_map(*text);
}

MapWriter map_writer(const std::vector<spec::IdMapping>& maps, bool privileged, unsigned own_id,
                     bool gid) {
  if (privileged) return MapWriter::Direct;
  if (maps.size() == 1 && maps[0].host_id == own_id && maps[0].size == 1)
    return gid ? MapWriter::DirectDenySetgroups : MapWriter::Direct;
  return MapWriter::Helper;
}

namespace {

// newuidmap/newgidmap PID ID HOSTID SIZE...: its stderr becomes the error.
void run_map_helper(const char* helper, pid_t pid, const std::vector<spec::IdMapping>& maps,
                    const char* field) {
  std::vector<std::string> args{helper, std::to_string(pid)};
  for (const auto& m : maps)
    for (auto v : {m.container_id, m.host_id, m.size}) args.push_back(std::to_string(v));
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) throw sys_error("pipe");
  UniqueFd rd(pipefd[0]), wr(pipefd[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 2);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 1);
  pid_t child = -1;
  int rc = ::posix_spawnp(&child, helper, &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  wr.reset();
  if (rc == ENOENT)
    throw Error(std::string("config.json: linux.") + field + ": an unprivileged user can map only its own id; " +
                "more needs " + helper + " (package uidmap), which is not in $PATH");
  if (rc != 0) throw sys_error(std::string("run ") + helper, rc);
  std::string out;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n > 0 && out.size() < 4096) out.append(buf, static_cast<size_t>(n));
    if (n == 0 || (n < 0 && errno != EINTR)) break;
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    throw Error(std::string("config.json: linux.") + field + ": " + helper + " failed" + (out.empty() ? "" : ": " + out));
  }
}

}  // namespace

void bring_up_loopback() {
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) throw sys_error("bring up lo: socket AF_INET");
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) != 0) throw sys_error("bring up lo: SIOCGIFFLAGS lo");
  if (ifr.ifr_flags & IFF_UP) return;
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) != 0) throw sys_error("bring up lo: SIOCSIFFLAGS lo IFF_UP");
}

void write_id_maps(pid_t pid, const spec::Linux& linux, bool privileged) {
  std::string base = "/proc/" + std::to_string(pid);
  switch (map_writer(linux.uid_mappings, privileged, ::geteuid(), false)) {
    case MapWriter::Helper: run_map_helper("newuidmap", pid, linux.uid_mappings, "uidMappings"); break;
    default: write_proc_file(base + "/uid_map", format_id_map(linux.uid_mappings)); break;
  }
  switch (map_writer(linux.gid_mappings, privileged, ::getegid(), true)) {
    case MapWriter::Helper: run_map_helper("newgidmap", pid, linux.gid_mappings, "gidMappings"); break;
    case MapWriter::DirectDenySetgroups:
      write_proc_file(base + "/setgroups", "deny");
      [[fallthrough]];
    case MapWriter::Direct: write_proc_file(base + "/gid_map", format_id_map(linux.gid_mappings)); break;
  }
}

std::string format_time_offsets(const spec::Linux& linux) {
  std::string out;
  for (const auto& [clock, off] : linux.time_offsets)
    out += clock + " " + std::to_string(off.secs) + " " + std::to_string(off.nanosecs) + "\n";
  return out;
}

}  // namespace oci::linux_
