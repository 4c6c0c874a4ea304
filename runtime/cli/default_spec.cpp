// The config.json written by `oci-run spec`: the same shape and defaults as
// `runc spec` (and `runc spec --rootless`), with our own hostname.
#include <sys/vfs.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/cli/commands.hpp"
#include "spec/state.hpp"

namespace oci::cli {
namespace {

using json = nlohmann::ordered_json;

constexpr const char* kDefaultHostname = "oci-run";
constexpr const char* kDefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

json string_list(std::initializer_list<std::string_view> items) {
  json out = json::array();
  for (auto s : items) out.push_back(std::string(s));
  return out;
}

json mount(std::string_view destination, std::string_view type, std::string_view source,
           std::initializer_list<std::string_view> options = {}) {
  json m;
  m["destination"] = std::string(destination);
  m["type"] = std::string(type);
  m["source"] = std::string(source);
  if (options.size() > 0) m["options"] = string_list(options);
  return m;
}

json process() {
  json caps = string_list({"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"});
  json p;
  p["terminal"] = true;
  p["user"] = {{"uid", 0}, {"gid", 0}};
  p["args"] = string_list({"sh"});
  p["env"] = string_list({kDefaultPath, "TERM=xterm"});
  p["cwd"] = "/";
  p["capabilities"] = {{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
  p["rlimits"] = json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}});
  p["noNewPrivileges"] = true;
  return p;
}

json mounts(bool rootless) {
  json ms = json::array();
  ms.push_back(mount("/proc", "proc", "proc"));
  ms.push_back(mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  if (rootless)
    // No gid=5: the tty group is not mapped in a single-id user namespace.
    ms.push_back(mount("/dev/pts", "devpts", "devpts",
                       {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}));
  else
    ms.push_back(mount("/dev/pts", "devpts", "devpts",
                       {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}));
  ms.push_back(mount("/dev/shm", "tmpfs", "shm",
                     {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  ms.push_back(mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  if (rootless) {
    // sysfs cannot be mounted without owning the network namespace: bind the host's.
    ms.push_back(mount("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"}));
  } else {
    ms.push_back(mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
    ms.push_back(mount("/sys/fs/cgroup", "cgroup", "cgroup",
                       {"nosuid", "noexec", "nodev", "relatime", "ro"}));
  }
  return ms;
}

json id_mapping(unsigned host_id) {
  return json::array({{{"containerID", 0}, {"hostID", host_id}, {"size", 1}}});
}

// runc's test: /sys/fs/cgroup itself is a cgroup2 mount.
bool unified_cgroup_host() {
  struct statfs st {};
  return ::statfs("/sys/fs/cgroup", &st) == 0 && st.f_type == static_cast<decltype(st.f_type)>(0x63677270);
}

json linux_section(bool rootless) {
  json l;
  if (rootless) {
    l["uidMappings"] = id_mapping(::getuid());
    l["gidMappings"] = id_mapping(::getgid());
  } else {
    l["resources"] = {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}};
  }
  json ns = json::array();
  for (std::string_view type : {"pid", "network", "ipc", "uts", "mount", "cgroup"}) {
    if (rootless && (type == "network" || type == "cgroup")) continue;
    // As runc: a cgroup namespace only on a unified (pure cgroup v2) host.
    if (type == "cgroup" && !unified_cgroup_host()) continue;
    ns.push_back({{"type", std::string(type)}});
  }
  if (rootless) ns.push_back({{"type", "user"}});
  l["namespaces"] = ns;
  l["maskedPaths"] = string_list({"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                                  "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                                  "/proc/sched_debug", "/sys/firmware", "/proc/scsi"});
  l["readonlyPaths"] = string_list(
      {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"});
  return l;
}

}  // namespace

nlohmann::ordered_json default_spec(bool rootless) {
  json s;
  s["ociVersion"] = spec::kOciVersion;
  s["process"] = process();
  s["root"] = {{"path", "rootfs"}, {"readonly", true}};
  s["hostname"] = kDefaultHostname;
  s["mounts"] = mounts(rootless);
  s["linux"] = linux_section(rootless);
  return s;
}

// `oci-run spec --network NAME`: a network namespace of its own, the
// oci-run-network hooks (createRuntime sets up, poststop tears down) and the
// annotation naming the network. The hooks get the networks file and state
// directory of the environment `oci-run spec` ran in, when set there.
void add_network(nlohmann::ordered_json& spec, const std::string& network, const std::string& hook_path) {
  json& ns = spec["linux"]["namespaces"];
  bool has_netns = false;
  for (const auto& n : ns) has_netns = has_netns || n.value("type", "") == "network";
  if (!has_netns) ns.push_back({{"type", "network"}});

  json env = json::array();
  for (const char* var : {"OCI_RUN_NETWORK_CONFIG", "OCI_RUN_NETWORK_STATE"})
    if (const char* v = std::getenv(var); v && *v) env.push_back(std::string(var) + "=" + v);
  auto hook = [&](const char* mode) {
    json h;
    h["path"] = hook_path;
    h["args"] = string_list({"oci-run-network", mode});
    if (!env.empty()) h["env"] = env;
    h["timeout"] = 30;
    return json::array({h});
  };
  spec["hooks"]["createRuntime"] = hook("setup");
  spec["hooks"]["poststop"] = hook("teardown");
  spec["annotations"]["org.oci-run.network"] = network;
}

}  // namespace oci::cli
