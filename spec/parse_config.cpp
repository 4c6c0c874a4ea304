// JSON -> typed model. This file checks JSON types, required properties and numeric
// ranges while walking the document once; semantic checks live in validate.cpp.
// Unknown properties are ignored everywhere, and null means "not set".
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <type_traits>

#include "spec/error.hpp"
#include "spec/json_reader.hpp"
#include "spec/parse.hpp"
#include "spec/tables.hpp"

namespace oci::spec {

namespace {

using json::Node;

template <typename T>
struct optional_of {
  using type = void;
};
template <typename T>
struct optional_of<std::optional<T>> {
  using type = T;
};

template <typename>
inline constexpr bool kAlwaysFalse = false;

template <typename T>
T read(const Node& n) {
  if constexpr (std::is_same_v<T, std::string>) return n.string();
  else if constexpr (std::is_same_v<T, bool>) return n.boolean();
  else if constexpr (std::is_integral_v<T>) return n.integer<T>();
  else if constexpr (std::is_same_v<T, std::vector<std::string>>) return n.strings();
  else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) return n.string_map();
  else static_assert(kAlwaysFalse<T>, "no reader for this type");
}

// Sets `out` from member `key` of `obj` when it is present (and not null).
template <typename T>
void get(const Node& obj, std::string_view key, T& out) {
  Node n = obj[key];
  if (!n.present()) return;
  using Opt = typename optional_of<T>::type;
  if constexpr (std::is_void_v<Opt>) out = read<T>(n);
  else out = read<Opt>(n);
}

// Like get(), but "<path>: required" when the member is absent.
template <typename T>
void need(const Node& obj, std::string_view key, T& out) {
  out = read<T>(obj.required(key));
}

// Parses an array of objects with `parse_one(const Node&) -> T`.
template <typename T, typename F>
void get_list(const Node& obj, std::string_view key, std::vector<T>& out, F&& parse_one) {
  Node n = obj[key];
  if (!n.present()) return;
  n.for_each([&](const Node& e) { out.push_back(parse_one(e)); });
}

// ---------------------------------------------------------------- common pieces

IdMapping parse_id_mapping(const Node& n) {
  n.expect_object();
  IdMapping m;
  need(n, "containerID", m.container_id);
  need(n, "hostID", m.host_id);
  need(n, "size", m.size);
  return m;
}

Mount parse_mount(const Node& n) {
  n.expect_object();
  Mount m;
  need(n, "destination", m.destination);
  get(n, "type", m.type);
  get(n, "source", m.source);
  get(n, "options", m.options);
  get_list(n, "uidMappings", m.uid_mappings, parse_id_mapping);
  get_list(n, "gidMappings", m.gid_mappings, parse_id_mapping);
  return m;
}

Hook parse_hook(const Node& n) {
  n.expect_object();
  Hook h;
  need(n, "path", h.path);
  get(n, "args", h.args);
  get(n, "env", h.env);
  get(n, "timeout", h.timeout);
  return h;
}

Hooks parse_hooks(const Node& n) {
  n.expect_object();
  Hooks h;
  get_list(n, "prestart", h.prestart, parse_hook);
  get_list(n, "createRuntime", h.create_runtime, parse_hook);
  get_list(n, "createContainer", h.create_container, parse_hook);
  get_list(n, "startContainer", h.start_container, parse_hook);
  get_list(n, "poststart", h.poststart, parse_hook);
  get_list(n, "poststop", h.poststop, parse_hook);
  return h;
}

// ---------------------------------------------------------------- process

Rlimit parse_rlimit(const Node& n) {
  n.expect_object();
  Rlimit r;
  need(n, "type", r.type);
  need(n, "soft", r.soft);
  need(n, "hard", r.hard);
  r.resource = find_rlimit(r.type).value_or(-1);  // unknown names: reported by validate
  return r;
}

Process parse_process_node(const Node& n) {
  n.expect_object();
  Process p;
  get(n, "terminal", p.terminal);
  if (Node c = n["consoleSize"]; c.present()) {
    c.expect_object();
    ConsoleSize size;
    get(c, "height", size.height);
    get(c, "width", size.width);
    p.console_size = size;
  }
  need(n, "cwd", p.cwd);
  get(n, "env", p.env);
  get(n, "args", p.args);
  get(n, "commandLine", p.command_line);
  get_list(n, "rlimits", p.rlimits, parse_rlimit);
  get(n, "apparmorProfile", p.apparmor_profile);
  if (Node c = n["capabilities"]; c.present()) {
    c.expect_object();
    Capabilities caps;
    get(c, "bounding", caps.bounding);
    get(c, "effective", caps.effective);
    get(c, "inheritable", caps.inheritable);
    get(c, "permitted", caps.permitted);
    get(c, "ambient", caps.ambient);
    p.capabilities = std::move(caps);
  }
  get(n, "noNewPrivileges", p.no_new_privileges);
  get(n, "oomScoreAdj", p.oom_score_adj);
  if (Node s = n["scheduler"]; s.present()) {
    s.expect_object();
    Scheduler sched;
    need(s, "policy", sched.policy);
    get(s, "nice", sched.nice);
    get(s, "priority", sched.priority);
    get(s, "flags", sched.flags);
    get(s, "runtime", sched.runtime);
    get(s, "deadline", sched.deadline);
    get(s, "period", sched.period);
    p.scheduler = std::move(sched);
  }
  get(n, "selinuxLabel", p.selinux_label);
  if (Node io = n["ioPriority"]; io.present()) {
    io.expect_object();
    IoPriority prio;
    need(io, "class", prio.io_class);
    get(io, "priority", prio.priority);
    p.io_priority = std::move(prio);
  }
  if (Node a = n["execCPUAffinity"]; a.present()) {
    a.expect_object();
    ExecCpuAffinity aff;
    get(a, "initial", aff.initial);
    get(a, "final", aff.final_);
    p.exec_cpu_affinity = std::move(aff);
  }
  // The spec makes user (and uid/gid) required; like runc, absent means 0.
  if (Node u = n["user"]; u.present()) {
    u.expect_object();
    get(u, "uid", p.user.uid);
    get(u, "gid", p.user.gid);
    get(u, "umask", p.user.umask);
    if (Node g = u["additionalGids"]; g.present())
      g.for_each([&](const Node& e) { p.user.additional_gids.push_back(e.integer<uint32_t>()); });
    get(u, "username", p.user.username);
  }
  return p;
}

// ---------------------------------------------------------------- resources

DeviceRule parse_device_rule(const Node& n) {
  n.expect_object();
  DeviceRule r;
  need(n, "allow", r.allow);
  get(n, "type", r.type);
  get(n, "major", r.major);
  get(n, "minor", r.minor);
  get(n, "access", r.access);
  return r;
}

WeightDevice parse_weight_device(const Node& n) {
  n.expect_object();
  WeightDevice d;
  need(n, "major", d.major);
  need(n, "minor", d.minor);
  get(n, "weight", d.weight);
  get(n, "leafWeight", d.leaf_weight);
  return d;
}

ThrottleDevice parse_throttle_device(const Node& n) {
  n.expect_object();
  ThrottleDevice d;
  need(n, "major", d.major);
  need(n, "minor", d.minor);
  need(n, "rate", d.rate);
  return d;
}

Resources parse_resources_node(const Node& n) {
  n.expect_object();
  Resources r;
  get_list(n, "devices", r.devices, parse_device_rule);
  if (Node m = n["memory"]; m.present()) {
    m.expect_object();
    Memory mem;
    get(m, "limit", mem.limit);
    get(m, "reservation", mem.reservation);
    get(m, "swap", mem.swap);
    get(m, "kernel", mem.kernel);
    get(m, "kernelTCP", mem.kernel_tcp);
    get(m, "swappiness", mem.swappiness);
    get(m, "disableOOMKiller", mem.disable_oom_killer);
    get(m, "useHierarchy", mem.use_hierarchy);
    get(m, "checkBeforeUpdate", mem.check_before_update);
    r.memory = mem;
  }
  if (Node c = n["cpu"]; c.present()) {
    c.expect_object();
    Cpu cpu;
    get(c, "shares", cpu.shares);
    get(c, "quota", cpu.quota);
    get(c, "burst", cpu.burst);
    get(c, "period", cpu.period);
    get(c, "realtimeRuntime", cpu.realtime_runtime);
    get(c, "realtimePeriod", cpu.realtime_period);
    get(c, "cpus", cpu.cpus);
    get(c, "mems", cpu.mems);
    get(c, "idle", cpu.idle);
    r.cpu = std::move(cpu);
  }
  if (Node b = n["blockIO"]; b.present()) {
    b.expect_object();
    BlockIo io;
    get(b, "weight", io.weight);
    get(b, "leafWeight", io.leaf_weight);
    get_list(b, "weightDevice", io.weight_device, parse_weight_device);
    get_list(b, "throttleReadBpsDevice", io.throttle_read_bps, parse_throttle_device);
    get_list(b, "throttleWriteBpsDevice", io.throttle_write_bps, parse_throttle_device);
    get_list(b, "throttleReadIOPSDevice", io.throttle_read_iops, parse_throttle_device);
    get_list(b, "throttleWriteIOPSDevice", io.throttle_write_iops, parse_throttle_device);
    r.block_io = std::move(io);
  }
  get_list(n, "hugepageLimits", r.hugepage_limits, [](const Node& e) {
    e.expect_object();
    HugepageLimit h;
    need(e, "pageSize", h.page_size);
    need(e, "limit", h.limit);
    return h;
  });
  if (Node net = n["network"]; net.present()) {
    net.expect_object();
    Network nw;
    get(net, "classID", nw.class_id);
    get_list(net, "priorities", nw.priorities, [](const Node& e) {
      e.expect_object();
      InterfacePriority p;
      need(e, "name", p.name);
      need(e, "priority", p.priority);
      return p;
    });
    r.network = std::move(nw);
  }
  // Since runtime-spec 1.3 pids.limit is optional: without it nothing is set.
  if (Node p = n["pids"]; p.present()) {
    p.expect_object();
    if (Node limit = p["limit"]; limit.present()) r.pids = Pids{limit.integer<int64_t>()};
  }
  if (Node rdma = n["rdma"]; rdma.present()) {
    rdma.for_each_member([&](const std::string& key, const Node& e) {
      Rdma entry;
      if (e.present()) {
        e.expect_object();
        get(e, "hcaHandles", entry.hca_handles);
        get(e, "hcaObjects", entry.hca_objects);
      }
      r.rdma.emplace_hint(r.rdma.end(), key, entry);
    });
  }
  get(n, "unified", r.unified);
  return r;
}

// ---------------------------------------------------------------- linux

Seccomp parse_seccomp(const Node& n) {
  n.expect_object();
  Seccomp s;
  need(n, "defaultAction", s.default_action);
  get(n, "defaultErrnoRet", s.default_errno_ret);
  get(n, "architectures", s.architectures);
  get(n, "flags", s.flags);
  get(n, "listenerPath", s.listener_path);
  get(n, "listenerMetadata", s.listener_metadata);
  get_list(n, "syscalls", s.syscalls, [](const Node& e) {
    e.expect_object();
    SeccompSyscall sc;
    need(e, "names", sc.names);
    need(e, "action", sc.action);
    get(e, "errnoRet", sc.errno_ret);
    get_list(e, "args", sc.args, [](const Node& a) {
      a.expect_object();
      SeccompArg arg;
      need(a, "index", arg.index);
      need(a, "value", arg.value);
      get(a, "valueTwo", arg.value_two);
      need(a, "op", arg.op);
      return arg;
    });
    return sc;
  });
  return s;
}

Device parse_device(const Node& n) {
  n.expect_object();
  Device d;
  need(n, "type", d.type);
  need(n, "path", d.path);
  // major/minor are required unless type is "p"; unknown types are left to validate().
  if (d.type == "c" || d.type == "b" || d.type == "u") {
    Node major = n["major"], minor = n["minor"];
    if (!major.present()) major.fail("required for device type " + json::quote(d.type));
    if (!minor.present()) minor.fail("required for device type " + json::quote(d.type));
    d.major = major.integer<int64_t>();
    d.minor = minor.integer<int64_t>();
  } else {
    get(n, "major", d.major);
    get(n, "minor", d.minor);
  }
  get(n, "fileMode", d.file_mode);
  get(n, "uid", d.uid);
  get(n, "gid", d.gid);
  return d;
}

Linux parse_linux(const Node& n) {
  n.expect_object();
  Linux l;
  get_list(n, "namespaces", l.namespaces, [](const Node& e) {
    e.expect_object();
    Namespace ns;
    need(e, "type", ns.type);
    get(e, "path", ns.path);
    return ns;
  });
  get_list(n, "uidMappings", l.uid_mappings, parse_id_mapping);
  get_list(n, "gidMappings", l.gid_mappings, parse_id_mapping);
  if (Node t = n["timeOffsets"]; t.present()) {
    t.for_each_member([&](const std::string& key, const Node& e) {
      TimeOffset off;
      if (e.present()) {
        e.expect_object();
        get(e, "secs", off.secs);
        get(e, "nanosecs", off.nanosecs);
      }
      l.time_offsets.emplace_hint(l.time_offsets.end(), key, off);
    });
  }
  get_list(n, "devices", l.devices, parse_device);
  if (Node d = n["netDevices"]; d.present()) {
    d.for_each_member([&](const std::string& key, const Node& e) {
      NetDevice dev;
      if (e.present()) {
        e.expect_object();
        get(e, "name", dev.name);
      }
      l.net_devices.emplace_hint(l.net_devices.end(), key, std::move(dev));
    });
  }
  get(n, "cgroupsPath", l.cgroups_path);
  if (Node r = n["resources"]; r.present()) l.resources = parse_resources_node(r);
  get(n, "rootfsPropagation", l.rootfs_propagation);
  if (Node s = n["seccomp"]; s.present()) l.seccomp = parse_seccomp(s);
  get(n, "sysctl", l.sysctl);
  get(n, "maskedPaths", l.masked_paths);
  get(n, "readonlyPaths", l.readonly_paths);
  get(n, "mountLabel", l.mount_label);
  if (Node r = n["intelRdt"]; r.present()) {
    r.expect_object();
    IntelRdt rdt;
    get(r, "closID", rdt.clos_id);
    get(r, "l3CacheSchema", rdt.l3_cache_schema);
    get(r, "memBwSchema", rdt.mem_bw_schema);
    get(r, "schemata", rdt.schemata);
    get(r, "enableMonitoring", rdt.enable_monitoring);
    l.intel_rdt = std::move(rdt);
  }
  if (Node p = n["personality"]; p.present()) {
    p.expect_object();
    Personality pers;
    need(p, "domain", pers.domain);
    get(p, "flags", pers.flags);
    l.personality = std::move(pers);
  }
  if (Node m = n["memoryPolicy"]; m.present()) {
    m.expect_object();
    MemoryPolicy mp;
    need(m, "mode", mp.mode);
    get(m, "nodes", mp.nodes);
    get(m, "flags", mp.flags);
    l.memory_policy = std::move(mp);
  }
  return l;
}

Config parse_config_node(const Node& n) {
  Config c;
  // Checked first: a config for another major version may differ in any field.
  Node version = n.required("ociVersion");
  c.oci_version = version.string();
  if (!is_supported_oci_version(c.oci_version))
    version.fail("unsupported version " + json::quote(c.oci_version) + " (need 1.x.y)");
  Node root = n.required("root");
  root.expect_object();
  c.root.emplace();
  need(root, "path", c.root->path);
  get(root, "readonly", c.root->readonly);
  get_list(n, "mounts", c.mounts, parse_mount);
  if (Node p = n["process"]; p.present()) c.process = parse_process_node(p);
  get(n, "hostname", c.hostname);
  get(n, "domainname", c.domainname);
  if (Node h = n["hooks"]; h.present()) c.hooks = parse_hooks(h);
  get(n, "annotations", c.annotations);
  if (Node l = n["linux"]; l.present()) c.linux = parse_linux(l);
  return c;
}

json::Json parse_document(std::string_view text, std::string_view source) {
  json::Json doc = json::parse(text, source);
  if (!doc.is_object()) json::fail(source, {}, "top level must be a JSON object");
  return doc;
}

}  // namespace

Config parse_config(std::string_view json_text, std::string_view source) {
  json::Json doc = parse_document(json_text, source);
  Config config = parse_config_node(Node(doc, source));
  validate(config, source);
  return config;
}

Config load_config(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw sys_error("open " + path);
  std::string text;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) text.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      throw sys_error("read " + path, err);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return parse_config(text, path);
}

Process parse_process(std::string_view json_text, std::string_view source) {
  json::Json doc = parse_document(json_text, source);
  Process process = parse_process_node(Node(doc, source));
  validate_process(process, source, "");
  return process;
}

Resources parse_resources(std::string_view json_text, std::string_view source) {
  json::Json doc = parse_document(json_text, source);
  Resources resources = parse_resources_node(Node(doc, source));
  validate_resources(resources, source, "");
  return resources;
}

}  // namespace oci::spec
