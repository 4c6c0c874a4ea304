// Semantic checks over a parsed config: names against the option tables, absolute
// paths, namespace requirements, mappings, sysctls... Messages name the JSON path
// of the offending value; the path strings are only built when a check fails.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "spec/cpu_list.hpp"
#include "spec/error.hpp"
#include "spec/json_reader.hpp"
#include "spec/parse.hpp"
#include "spec/tables.hpp"

namespace oci::spec {

namespace {

using json::quote;

// ------------------------------------------------------------ accepted names
// The string-valued enums of the spec that have no table in tables.hpp. seccomp
// values are the constants of libseccomp as listed by runtime-spec 1.3.

constexpr std::string_view kSeccompActions[] = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",          "SCMP_ACT_NOTIFY",
};
constexpr std::string_view kSeccompOperators[] = {
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",        "SCMP_CMP_EQ",
    "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
};
constexpr std::string_view kSeccompArchPrefix = "SCMP_ARCH_";
constexpr std::string_view kSeccompFlags[] = {
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
};
constexpr unsigned kSeccompMaxArgs = 6;  // syscalls take at most 6 arguments

constexpr std::string_view kMemoryPolicyModes[] = {
    "MPOL_DEFAULT",   "MPOL_BIND",           "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
    "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL",
};
constexpr std::string_view kMemoryPolicyFlags[] = {
    "MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"};
// Largest uid/gid a process may take (runc: math.MaxInt32).
constexpr uint32_t kMaxId = 2147483647;
// sethostname/setdomainname accept at most this many bytes (__NEW_UTS_LEN).
constexpr size_t kMaxUtsName = 64;

constexpr std::string_view kTimeOffsetClocks[] = {"monotonic", "boottime"};

// IPC namespace sysctls (besides the fs.mqueue.* prefix).
constexpr std::string_view kIpcSysctls[] = {
    "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
    "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
};

template <size_t N>
bool contains(const std::string_view (&set)[N], std::string_view value) {
  for (auto s : set)
    if (s == value) return true;
  return false;
}

// ------------------------------------------------------------ path helpers
// Used only on failure, so allocation does not matter.

std::string join(std::string_view prefix, std::string_view field) {
  if (prefix.empty()) return std::string(field);
  std::string out(prefix);
  out += '.';
  out += field;
  return out;
}

std::string item(std::string_view base, size_t i) {
  std::string out(base);
  out += '[';
  out += std::to_string(i);
  out += ']';
  return out;
}

std::string item(std::string_view base, size_t i, std::string_view field) {
  return item(base, i) + "." + std::string(field);
}

std::string key(std::string_view base, std::string_view k) {
  return std::string(base) + "." + quote(k);
}

bool is_abs(std::string_view p) { return !p.empty() && p.front() == '/'; }

std::string not_abs(std::string_view value) {
  return "must be an absolute path, got " + quote(value);
}

std::string range_problem(long long lo, long long hi, long long got) {
  return "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " +
         std::to_string(got);
}

// "/a//b/./c/../d" -> "/a/b/d" (absolute paths only; ".." stops at "/").
std::string clean_abs(std::string_view p) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    std::string_view c = p.substr(i, j - i);
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!c.empty() && c != ".") {
      parts.push_back(c);
    }
    i = j + 1;
  }
  std::string out;
  for (auto c : parts) {
    out += '/';
    out += c;
  }
  return out.empty() ? "/" : out;
}

constexpr std::string_view kProcMountAllowList[] = {
    "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat",   "/proc/swaps",
    "/proc/uptime",  "/proc/loadavg",   "/proc/slabinfo", "/proc/sys/kernel/ns_last_pid",
};

// ------------------------------------------------------------ the checks

class Checker {
 public:
  explicit Checker(std::string_view source) : source_(source) {}

  [[noreturn]] void fail(std::string_view path, std::string_view problem) const {
    json::fail(source_, path, problem);
  }

  void config(const Config& c) const;
  void process(const Process& p, std::string_view prefix) const;
  void resources(const Resources& r, std::string_view prefix) const;

 private:
  void id_mappings(const std::vector<IdMapping>& maps, std::string_view base) const;
  void mount(const Mount& m, size_t i, bool userns) const;
  void hooks(const std::vector<Hook>& hooks, std::string_view base) const;
  void namespaces(const Linux& l) const;
  void linux(const Linux& l) const;
  void seccomp(const Seccomp& s) const;
  void sysctl(const Linux& l) const;

  std::string_view source_;
};

void Checker::id_mappings(const std::vector<IdMapping>& maps, std::string_view base) const {
  constexpr uint64_t kIdSpace = uint64_t{1} << 32;
  for (size_t i = 0; i < maps.size(); ++i) {
    const IdMapping& m = maps[i];
    if (m.size == 0) fail(item(base, i, "size"), "must be greater than 0");
    if (uint64_t{m.container_id} + m.size > kIdSpace || uint64_t{m.host_id} + m.size > kIdSpace)
      fail(item(base, i), "range exceeds the 32-bit id space");
  }
}

void Checker::mount(const Mount& m, size_t i, bool userns) const {
  if (m.destination.empty()) fail(item("mounts", i, "destination"), "required");
  if (!is_abs(m.destination)) fail(item("mounts", i, "destination"), not_abs(m.destination));
  bool bind = m.type == "bind";
  std::string_view idmap;  // "idmap" or "ridmap"
  for (size_t j = 0; j < m.options.size(); ++j) {
    const std::string& o = m.options[j];
    if (o.empty()) fail(item(item("mounts", i, "options"), j), "must not be empty");
    if (o == "bind" || o == "rbind") bind = true;
    if (o == "idmap" || o == "ridmap") {
      if (!idmap.empty() && idmap != o)
        fail(item(item("mounts", i, "options"), j), "\"idmap\" and \"ridmap\" exclude each other");
      idmap = o;
    }
  }
  // A bind mount on /proc itself depends on its source: checked at mount time.
  if (std::string problem = proc_destination_problem(m.destination, m.type, bind, bind);
      !problem.empty())
    fail(item("mounts", i, "destination"), problem);
  // Unknown options are passed to the filesystem as data ("mode=755", "size=64k").
  if (m.type.empty() && !bind) fail(item("mounts", i, "type"), "required for non-bind mounts");
  if (!m.uid_mappings.empty()) id_mappings(m.uid_mappings, item("mounts", i, "uidMappings"));
  if (!m.gid_mappings.empty()) id_mappings(m.gid_mappings, item("mounts", i, "gidMappings"));
  // Idmapped mounts (config.md "idmap"/"ridmap", uidMappings/gidMappings).
  bool mappings = !m.uid_mappings.empty() || !m.gid_mappings.empty();
  if (m.uid_mappings.empty() && mappings)
    fail(item("mounts", i, "uidMappings"), "required with gidMappings");
  if (m.gid_mappings.empty() && mappings)
    fail(item("mounts", i, "gidMappings"), "required with uidMappings");
  if ((mappings || !idmap.empty()) && !bind)
    fail(item("mounts", i, mappings ? "uidMappings" : "options"),
         "an idmapped mount must be a bind mount (options \"bind\" or \"rbind\")");
  if (!idmap.empty() && !mappings && !userns)
    fail(item("mounts", i, "options"),
         quote(idmap) + " without uidMappings/gidMappings takes the container's user namespace "
         "mapping, but the container has no user namespace");
}

void Checker::hooks(const std::vector<Hook>& list, std::string_view base) const {
  for (size_t i = 0; i < list.size(); ++i) {
    const Hook& h = list[i];
    if (!is_abs(h.path)) fail(item(base, i, "path"), not_abs(h.path));
    if (h.timeout && *h.timeout <= 0)
      fail(item(base, i, "timeout"), "must be greater than 0, got " + std::to_string(*h.timeout));
  }
}

void Checker::process(const Process& p, std::string_view prefix) const {
  if (p.args.empty()) fail(join(prefix, "args"), "must not be empty");
  // setresuid/setresgid take (uid_t)-1 as "leave unchanged": 4294967295 would
  // keep root. runc's range is that of a Go int32.
  if (p.user.uid > kMaxId) fail(join(prefix, "user.uid"), range_problem(0, kMaxId, p.user.uid));
  if (p.user.gid > kMaxId) fail(join(prefix, "user.gid"), range_problem(0, kMaxId, p.user.gid));
  for (size_t i = 0; i < p.user.additional_gids.size(); ++i)
    if (p.user.additional_gids[i] > kMaxId)
      fail(item(join(prefix, "user.additionalGids"), i),
           range_problem(0, kMaxId, p.user.additional_gids[i]));
  if (!is_abs(p.cwd)) fail(join(prefix, "cwd"), not_abs(p.cwd));
  for (size_t i = 0; i < p.env.size(); ++i) {
    const std::string& e = p.env[i];
    auto eq = e.find('=');
    if (eq == std::string::npos || eq == 0 || e.find('\0') != std::string::npos)
      fail(item(join(prefix, "env"), i), "must be NAME=value, got " + quote(e));
  }
  for (size_t i = 0; i < p.rlimits.size(); ++i) {
    const Rlimit& r = p.rlimits[i];
    if (!find_rlimit(r.type))
      fail(item(join(prefix, "rlimits"), i, "type"), "unknown rlimit " + quote(r.type));
    for (size_t j = 0; j < i; ++j)
      if (p.rlimits[j].type == r.type)
        fail(item(join(prefix, "rlimits"), i, "type"), "duplicate rlimit " + quote(r.type));
    if (r.soft > r.hard)
      fail(item(join(prefix, "rlimits"), i), "soft limit " + std::to_string(r.soft) +
                                                  " is greater than hard limit " +
                                                  std::to_string(r.hard));
  }
  if (p.capabilities) {
    const Capabilities& c = *p.capabilities;
    const std::pair<std::string_view, const std::optional<std::vector<std::string>>*> sets[] = {
        {"bounding", &c.bounding},   {"effective", &c.effective},
        {"inheritable", &c.inheritable}, {"permitted", &c.permitted},
        {"ambient", &c.ambient},
    };
    for (const auto& [name, set] : sets) {
      if (!*set) continue;
      for (size_t i = 0; i < (*set)->size(); ++i) {
        const std::string& cap = (**set)[i];
        if (!find_capability(cap))
          fail(item(join(prefix, "capabilities." + std::string(name)), i),
               "unknown capability " + quote(cap));
      }
    }
  }
  if (p.oom_score_adj && (*p.oom_score_adj < -1000 || *p.oom_score_adj > 1000))
    fail(join(prefix, "oomScoreAdj"), range_problem(-1000, 1000, *p.oom_score_adj));
  if (p.scheduler) {
    const Scheduler& s = *p.scheduler;
    if (!find_value(scheduler_policy_table(), s.policy))
      fail(join(prefix, "scheduler.policy"), "unknown policy " + quote(s.policy));
    for (size_t i = 0; i < s.flags.size(); ++i)
      if (!find_value(scheduler_flag_table(), s.flags[i]))
        fail(item(join(prefix, "scheduler.flags"), i), "unknown flag " + quote(s.flags[i]));
    if (s.nice < -20 || s.nice > 19)
      fail(join(prefix, "scheduler.nice"), range_problem(-20, 19, s.nice));
    if (s.priority != 0 && s.policy != "SCHED_FIFO" && s.policy != "SCHED_RR")
      fail(join(prefix, "scheduler.priority"), "only allowed with SCHED_FIFO or SCHED_RR");
  }
  if (p.io_priority) {
    const IoPriority& io = *p.io_priority;
    if (!find_value(io_priority_class_table(), io.io_class))
      fail(join(prefix, "ioPriority.class"), "unknown class " + quote(io.io_class));
    if (io.priority < 0 || io.priority > 7)
      fail(join(prefix, "ioPriority.priority"), range_problem(0, 7, io.priority));
  }
  if (p.exec_cpu_affinity) {
    const std::pair<std::string_view, const std::string*> lists[] = {
        {"execCPUAffinity.initial", &p.exec_cpu_affinity->initial},
        {"execCPUAffinity.final", &p.exec_cpu_affinity->final_},
    };
    for (const auto& [field, text] : lists) {
      std::string problem;
      if (!parse_cpu_list(*text, &problem)) fail(join(prefix, field), problem);
    }
  }
}

void Checker::resources(const Resources& r, std::string_view prefix) const {
  for (size_t i = 0; i < r.devices.size(); ++i) {
    const DeviceRule& d = r.devices[i];
    if (!d.type.empty() && d.type != "a" && d.type != "c" && d.type != "b")
      fail(item(join(prefix, "devices"), i, "type"),
           "unknown device type " + quote(d.type) + " (need a, c or b)");
    if (d.access.find_first_not_of("rwm") != std::string::npos)
      fail(item(join(prefix, "devices"), i, "access"),
           "invalid access " + quote(d.access) + " (only r, w and m are allowed)");
  }
  // unified keys name files in the container's cgroup directory.
  for (const auto& [file, value] : r.unified)
    if (file.empty() || file.find('/') != std::string::npos || file == "." || file == "..")
      fail(key(join(prefix, "unified"), file), "must be a cgroup file name");
}

void Checker::namespaces(const Linux& l) const {
  for (size_t i = 0; i < l.namespaces.size(); ++i) {
    const Namespace& ns = l.namespaces[i];
    if (!spec::find_namespace(ns.type))
      fail(item("linux.namespaces", i, "type"), "unknown namespace type " + quote(ns.type));
    for (size_t j = 0; j < i; ++j)
      if (l.namespaces[j].type == ns.type)
        fail(item("linux.namespaces", i, "type"), "duplicate namespace " + quote(ns.type));
    if (!ns.path.empty() && !is_abs(ns.path))
      fail(item("linux.namespaces", i, "path"), not_abs(ns.path));
  }
}

bool valid_ifname(std::string_view name) {
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  for (char c : name)
    if (c == '/' || c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\0')
      return false;
  return true;
}

void Checker::linux(const Linux& l) const {
  // User namespace and id mappings.
  const Namespace* user = l.find_namespace("user");
  if (!user) {
    if (!l.uid_mappings.empty()) fail("linux.uidMappings", "requires a user namespace");
    if (!l.gid_mappings.empty()) fail("linux.gidMappings", "requires a user namespace");
  } else if (user->path.empty()) {
    if (l.uid_mappings.empty())
      fail("linux.uidMappings", "required when creating a new user namespace");
    if (l.gid_mappings.empty())
      fail("linux.gidMappings", "required when creating a new user namespace");
  }
  id_mappings(l.uid_mappings, "linux.uidMappings");
  id_mappings(l.gid_mappings, "linux.gidMappings");

  // Time namespace offsets.
  if (!l.time_offsets.empty()) {
    for (const auto& [clock, off] : l.time_offsets) {
      if (!contains(kTimeOffsetClocks, clock))
        fail(key("linux.timeOffsets", clock), "unknown clock (need \"monotonic\" or \"boottime\")");
      if (off.nanosecs >= 1000000000u)
        fail(key("linux.timeOffsets", clock) + ".nanosecs", "must be less than 1000000000");
    }
    const Namespace* time = l.find_namespace("time");
    if (!time) fail("linux.timeOffsets", "requires a new time namespace");
    if (!time->path.empty())
      fail("linux.timeOffsets", "cannot be set when joining an existing time namespace");
  }

  for (size_t i = 0; i < l.devices.size(); ++i) {
    const Device& d = l.devices[i];
    if (d.type != "c" && d.type != "b" && d.type != "u" && d.type != "p")
      fail(item("linux.devices", i, "type"),
           "unknown device type " + quote(d.type) + " (need c, b, u or p)");
    if (!is_abs(d.path)) fail(item("linux.devices", i, "path"), not_abs(d.path));
  }

  if (!l.net_devices.empty() && !l.has_namespace("network"))
    fail("linux.netDevices", "requires a network namespace");
  for (const auto& [host_name, dev] : l.net_devices) {
    if (!valid_ifname(host_name))
      fail(key("linux.netDevices", host_name), "invalid interface name");
    if (!dev.name.empty() && !valid_ifname(dev.name))
      fail(key("linux.netDevices", host_name) + ".name",
           "invalid interface name " + quote(dev.name));
  }

  if (l.resources) resources(*l.resources, "linux.resources");

  if (!l.rootfs_propagation.empty() && !find_propagation(l.rootfs_propagation))
    fail("linux.rootfsPropagation", "unknown propagation " + quote(l.rootfs_propagation));

  if (l.seccomp) seccomp(*l.seccomp);
  sysctl(l);

  for (size_t i = 0; i < l.masked_paths.size(); ++i)
    if (!is_abs(l.masked_paths[i])) fail(item("linux.maskedPaths", i), not_abs(l.masked_paths[i]));
  for (size_t i = 0; i < l.readonly_paths.size(); ++i)
    if (!is_abs(l.readonly_paths[i]))
      fail(item("linux.readonlyPaths", i), not_abs(l.readonly_paths[i]));

  if (l.intel_rdt) {
    const IntelRdt& rdt = *l.intel_rdt;
    // closID names a resctrl directory; "/" is the default class of service.
    const std::string& id = rdt.clos_id;
    if (id != "/" && (id.find('/') != std::string::npos || id == "." || id == ".."))
      fail("linux.intelRdt.closID", "invalid class of service " + quote(id));
    if (rdt.l3_cache_schema.find('\n') != std::string::npos)
      fail("linux.intelRdt.l3CacheSchema", "must not contain newlines");
    if (!rdt.mem_bw_schema.empty()) {
      if (rdt.mem_bw_schema.rfind("MB:", 0) != 0)
        fail("linux.intelRdt.memBwSchema", "must start with \"MB:\"");
      if (rdt.mem_bw_schema.find('\n') != std::string::npos)
        fail("linux.intelRdt.memBwSchema", "must not contain newlines");
    }
    for (size_t i = 0; i < rdt.schemata.size(); ++i)
      if (rdt.schemata[i].find('\n') != std::string::npos)
        fail(item("linux.intelRdt.schemata", i), "must not contain newlines");
  }

  if (l.personality && !find_value(personality_domain_table(), l.personality->domain))
    fail("linux.personality.domain",
         "unknown domain " + quote(l.personality->domain) + " (need LINUX or LINUX32)");
  if (l.personality && !l.personality->flags.empty())
    fail("linux.personality.flags[0]",
         "unknown flag " + quote(l.personality->flags[0]) + " (runtime-spec defines none)");

  if (l.memory_policy) {
    const MemoryPolicy& mp = *l.memory_policy;
    if (!contains(kMemoryPolicyModes, mp.mode))
      fail("linux.memoryPolicy.mode", "unknown mode " + quote(mp.mode));
    for (size_t i = 0; i < mp.flags.size(); ++i)
      if (!contains(kMemoryPolicyFlags, mp.flags[i]))
        fail(item("linux.memoryPolicy.flags", i), "unknown flag " + quote(mp.flags[i]));
  }
}

bool errno_action(std::string_view action) {
  return action == "SCMP_ACT_ERRNO" || action == "SCMP_ACT_TRACE";
}

void Checker::seccomp(const Seccomp& s) const {
  if (!contains(kSeccompActions, s.default_action))
    fail("linux.seccomp.defaultAction", "unknown action " + quote(s.default_action));
  if (s.default_errno_ret && !errno_action(s.default_action))
    fail("linux.seccomp.defaultErrnoRet", "only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE");
  for (size_t i = 0; i < s.architectures.size(); ++i)
    if (s.architectures[i].rfind(kSeccompArchPrefix, 0) != 0 ||
        s.architectures[i].size() == kSeccompArchPrefix.size())
      fail(item("linux.seccomp.architectures", i),
           "unknown architecture " + quote(s.architectures[i]) + " (must start with SCMP_ARCH_)");
  for (size_t i = 0; i < s.flags.size(); ++i)
    if (!contains(kSeccompFlags, s.flags[i]))
      fail(item("linux.seccomp.flags", i), "unknown flag " + quote(s.flags[i]));
  if (!s.listener_metadata.empty() && s.listener_path.empty())
    fail("linux.seccomp.listenerMetadata", "requires listenerPath");
  for (size_t i = 0; i < s.syscalls.size(); ++i) {
    const SeccompSyscall& sc = s.syscalls[i];
    if (sc.names.empty()) fail(item("linux.seccomp.syscalls", i, "names"), "must not be empty");
    for (size_t j = 0; j < sc.names.size(); ++j)
      if (sc.names[j].empty())
        fail(item(item("linux.seccomp.syscalls", i, "names"), j), "must not be empty");
    if (!contains(kSeccompActions, sc.action))
      fail(item("linux.seccomp.syscalls", i, "action"), "unknown action " + quote(sc.action));
    if (sc.errno_ret && !errno_action(sc.action))
      fail(item("linux.seccomp.syscalls", i, "errnoRet"),
           "only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE");
    for (size_t j = 0; j < sc.args.size(); ++j) {
      const SeccompArg& a = sc.args[j];
      std::string_view base = "linux.seccomp.syscalls";
      if (a.index >= kSeccompMaxArgs)
        fail(item(item(base, i, "args"), j, "index"),
             "must be less than " + std::to_string(kSeccompMaxArgs) + ", got " +
                 std::to_string(a.index));
      if (!contains(kSeccompOperators, a.op))
        fail(item(item(base, i, "args"), j, "op"), "unknown operator " + quote(a.op));
    }
  }
}

bool valid_sysctl_name(std::string_view k) {
  if (k.empty() || k.front() == '.' || k.back() == '.') return false;
  return k.find('/') == std::string_view::npos && k.find("..") == std::string_view::npos &&
         k.find('\0') == std::string_view::npos;
}

void Checker::sysctl(const Linux& l) const {
  for (const auto& [name, value] : l.sysctl) {
    if (!valid_sysctl_name(name))
      fail(key("linux.sysctl", name), "invalid sysctl name (must not contain \"/\" or \"..\")");
    std::string_view ns = sysctl_namespace(name);
    if (ns == "ipc") {
      if (!l.has_namespace("ipc")) fail(key("linux.sysctl", name), "requires an ipc namespace");
    } else if (ns == "network") {
      if (!l.has_namespace("network"))
        fail(key("linux.sysctl", name), "requires a network namespace");
    } else if (ns == "uts") {
      if (!l.has_namespace("uts")) fail(key("linux.sysctl", name), "requires a uts namespace");
    } else {
      fail(key("linux.sysctl", name),
           "not a namespaced sysctl (only IPC sysctls, fs.mqueue.*, net.*, kernel.hostname and "
           "kernel.domainname can be set)");
    }
  }
}

void Checker::config(const Config& c) const {
  if (!is_supported_oci_version(c.oci_version))
    fail("ociVersion", "unsupported version " + quote(c.oci_version) + " (need 1.x.y)");
  if (!c.root) fail("root", "required");
  if (c.root->path.empty()) fail("root.path", "must not be empty");

  if (c.linux) namespaces(*c.linux);
  // A new uts namespace, or one joined by path (as runc): never the host's own.
  bool own_uts = c.linux && c.linux->find_namespace("uts");
  if (!c.hostname.empty() && !own_uts) fail("hostname", "requires a uts namespace (new, or joined by path)");
  if (!c.domainname.empty() && !own_uts) fail("domainname", "requires a uts namespace (new, or joined by path)");
  if (c.hostname.size() > kMaxUtsName)
    fail("hostname", "longer than " + std::to_string(kMaxUtsName) + " bytes (" + std::to_string(c.hostname.size()) + ")");
  if (c.domainname.size() > kMaxUtsName)
    fail("domainname", "longer than " + std::to_string(kMaxUtsName) + " bytes (" + std::to_string(c.domainname.size()) + ")");

  bool userns = c.linux && c.linux->find_namespace("user");
  for (size_t i = 0; i < c.mounts.size(); ++i) mount(c.mounts[i], i, userns);
  if (c.process) process(*c.process, "process");

  hooks(c.hooks.prestart, "hooks.prestart");
  hooks(c.hooks.create_runtime, "hooks.createRuntime");
  hooks(c.hooks.create_container, "hooks.createContainer");
  hooks(c.hooks.start_container, "hooks.startContainer");
  hooks(c.hooks.poststart, "hooks.poststart");
  hooks(c.hooks.poststop, "hooks.poststop");

  if (c.linux) linux(*c.linux);
}

// SemVer 2.0 dot-separated identifiers: non-empty, [0-9A-Za-z-]; numeric
// pre-release identifiers have no leading zeros.
bool valid_identifiers(std::string_view s, bool prerelease) {
  if (s.empty()) return false;
  size_t start = 0;
  for (;;) {
    size_t dot = s.find('.', start);
    std::string_view id = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (id.empty()) return false;
    bool numeric = true;
    for (char c : id) {
      bool digit = c >= '0' && c <= '9';
      bool alnum = digit || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
      if (!alnum) return false;
      if (!digit) numeric = false;
    }
    if (prerelease && numeric && id.size() > 1 && id.front() == '0') return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool valid_number(std::string_view s) {
  if (s.empty() || (s.size() > 1 && s.front() == '0')) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

bool is_supported_oci_version(std::string_view version) {
  std::string_view v = version;
  if (auto plus = v.find('+'); plus != std::string_view::npos) {
    if (!valid_identifiers(v.substr(plus + 1), false)) return false;
    v = v.substr(0, plus);
  }
  if (auto dash = v.find('-'); dash != std::string_view::npos) {
    if (!valid_identifiers(v.substr(dash + 1), true)) return false;
    v = v.substr(0, dash);
  }
  auto dot1 = v.find('.');
  if (dot1 == std::string_view::npos) return false;
  auto dot2 = v.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos) return false;
  std::string_view major = v.substr(0, dot1);
  std::string_view minor = v.substr(dot1 + 1, dot2 - dot1 - 1);
  std::string_view patch = v.substr(dot2 + 1);
  return major == "1" && valid_number(minor) && valid_number(patch);
}

std::string_view sysctl_namespace(std::string_view n) {
  if (contains(kIpcSysctls, n) || n.rfind("fs.mqueue.", 0) == 0) return "ipc";
  if (n.rfind("net.", 0) == 0) return "network";
  if (n == "kernel.hostname" || n == "kernel.domainname") return "uts";
  return "";
}

std::string proc_destination_problem(std::string_view dest, std::string_view type, bool bind,
                                     bool bind_source_is_procfs) {
  std::string d = clean_abs(dest);
  if (d == "/proc") {
    if ((!bind && type == "proc") || (bind && bind_source_is_procfs)) return "";
    return quote(d) + " cannot be mounted because it is not of type proc";
  }
  if (d.rfind("/proc/", 0) != 0) return "";
  if (contains(kProcMountAllowList, d)) return "";
  return quote(d) + " cannot be mounted because it is inside /proc";
}

void validate(const Config& config, std::string_view source) { Checker(source).config(config); }

void validate_process(const Process& process, std::string_view source, std::string_view path) {
  Checker(source).process(process, path);
}

void validate_resources(const Resources& resources, std::string_view source,
                        std::string_view path) {
  Checker(source).resources(resources, path);
}

}  // namespace oci::spec
