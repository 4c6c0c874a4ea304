#include "hooks/network/hook.hpp"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "hooks/network/dnsfiles.hpp"
#include "hooks/network/error.hpp"
#include "hooks/network/iptables.hpp"
#include "hooks/network/netlink.hpp"
#include "hooks/network/netns.hpp"
#include "hooks/network/portholder.hpp"
#include "hooks/network/process.hpp"

namespace ocinet {
namespace {

constexpr int kLockTimeoutMs = 20000;
constexpr const char* kTables[] = {"nat", "filter"};
constexpr const char* kPeerName = "eth0";

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string now_rfc3339() {
  time_t t = ::time(nullptr);
  tm utc{};
  ::gmtime_r(&t, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

class Iptables {
 public:
  Iptables()
      : save_(find_binary("iptables-save", "iptables")),
        restore_(find_binary("iptables-restore", "iptables")) {}

  // Every table at once (one process instead of one per table).
  std::map<std::string, ipt::SavedTable> save() const {
    ProcessResult r = run_process(ipt::save_all_argv(save_));
    if (r.status != 0)
      throw Error("iptables-save failed (exit " + std::to_string(r.status) + "): " + trim(r.err));
    return ipt::parse_save_tables(r.out);
  }

  // "iptables-restore v1.8.9 (nf_tables)": the backend is in the parentheses
  // ("nf_tables" on Debian 12's default, or "legacy").
  std::string version() const {
    ProcessResult r = run_process({restore_, "--version"});
    if (r.status != 0)
      throw Error(restore_ + " --version failed (exit " + std::to_string(r.status) +
                  "): " + trim(r.err));
    return trim(r.out);
  }

  void restore(const std::string& script) const {
    if (script.empty()) return;
    ProcessResult r = run_process(ipt::restore_argv(restore_), script);
    if (r.status != 0)
      throw Error("iptables-restore failed (exit " + std::to_string(r.status) +
                  "): " + trim(r.err));
  }

 private:
  std::string save_, restore_;
};

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

}  // namespace

// ----------------------------------------------------------------------------- parsing

ContainerState parse_container_state(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("the container state on stdin is not JSON: ") + e.what());
  }
  if (!j.is_object()) throw Error("the container state on stdin is not a JSON object");
  ContainerState st;
  try {
    st.id = j.value("id", "");
    st.status = j.value("status", "");
    st.pid = j.value("pid", 0);
    st.bundle = j.value("bundle", "");
    st.rootfs = j.value("rootfs", "");
    if (j.contains("annotations") && j["annotations"].is_object())
      for (const auto& [k, v] : j["annotations"].items())
        if (v.is_string()) st.annotations[k] = v.get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("the container state on stdin: ") + e.what());
  }
  validate_container_id(st.id);
  return st;
}

void validate_container_id(const std::string& id) {
  if (id.empty()) throw Error("no container id");
  if (id.size() > 255 || id == "." || id == "..")
    throw Error("invalid container id \"" + id + "\"");
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '+' || c == '-' || c == '.';
    if (!ok) throw Error("invalid container id \"" + id + "\": only [A-Za-z0-9_+.-] are allowed");
  }
}

std::string veth_name(const std::string& id, int attempt) {
  uint32_t h = 2166136261u;  // FNV-1a
  for (unsigned char c : id) h = (h ^ c) * 16777619u;
  for (int i = 0; i < attempt; ++i) h = (h ^ static_cast<uint32_t>('#' + i)) * 16777619u;
  char buf[16];
  std::snprintf(buf, sizeof buf, "oci%08x", h);
  return buf;
}

bool lease_alive(const Lease& l) {
  auto start = proc_start_time(l.pid);
  if (!start || *start != l.pid_start) return false;
  auto ino = netns_inode_of(l.pid);
  return ino && *ino == l.netns_inode;
}

// ----------------------------------------------------------------------------- setup

void Manager::setup(const ContainerState& st) {
  if (st.pid <= 0)
    throw Error("the container state has no pid: setup runs as a createRuntime hook");
  const auto ann = [&](const char* key) -> std::string {
    auto it = st.annotations.find(key);
    return it == st.annotations.end() ? "" : it->second;
  };

  Config cfg = load_config(config_source(st.annotations, std::getenv(kConfigEnv)));
  std::string name = ann(kAnnNetwork).empty() ? kDefaultNetwork : ann(kAnnNetwork);
  const Network* net = cfg.find(name);
  if (!net) {
    std::vector<std::string> names;
    for (const auto& n : cfg.networks) names.push_back(n.name);
    throw Error("unknown network \"" + name + "\" (" + cfg.source +
                " defines: " + join(names, ", ") + ")");
  }
  std::optional<Ipv4> requested;
  if (std::string ip = ann(kAnnIp); !ip.empty()) {
    requested = parse_ipv4(ip);
    if (!requested) throw Error(std::string(kAnnIp) + ": \"" + ip + "\" is not an IPv4 address");
  }
  std::vector<PortMapping> ports = parse_ports(ann(kAnnPorts));

  oci::UniqueFd cns = open_netns(st.pid);
  const uint64_t here = current_netns_inode();
  const uint64_t cns_inode = fd_inode(cns.get());
  if (cns_inode == here)
    throw Error(
        "container " + st.id +
        " shares the hook's network namespace: give it a \"network\" namespace in config.json");
  auto start = proc_start_time(st.pid);
  if (!start) throw Error("container process " + std::to_string(st.pid) + " is gone");

  oci::UniqueFd lock = store_.lock(kLockTimeoutMs);

  std::vector<Lease> reclaim;
  auto add_reclaim = [&](const Lease& l) {
    if (std::none_of(reclaim.begin(), reclaim.end(), [&](const Lease& r) { return r.id == l.id; }))
      reclaim.push_back(l);
  };
  if (auto old = store_.find_lease(st.id)) {
    if (lease_alive(*old))
      throw Error("container " + st.id + " already has address " + format_ipv4(old->ip) +
                  " in network \"" + old->network + "\"");
    add_reclaim(*old);
  }
  LeaseTable table = store_.load_leases(net->name);
  table.remove_id(st.id);
  Allocation a = allocate(*net, table, requested, lease_alive);
  for (const auto& l : a.reclaimed) add_reclaim(l);

  std::vector<Lease> all = store_.all_leases();
  std::vector<const Lease*> others;
  for (const auto& l : all)
    if (l.id != st.id) others.push_back(&l);
  for (const auto& l : check_ports(ports, others, lease_alive)) add_reclaim(l);
  if (!reclaim.empty()) teardown_locked(reclaim, {}, net->name);
  // Published ports a host process uses are refused here, before any change; the
  // sockets then reserve them for the container's life (the holder keeps them).
  std::vector<oci::UniqueFd> host_ports = bind_host_ports(ports);

  Lease lease;
  lease.id = st.id;
  lease.network = net->name;
  lease.ip = a.ip;
  lease.static_ip = requested.has_value();
  lease.ports = ports;
  lease.pid = st.pid;
  lease.pid_start = *start;
  lease.netns_inode = cns_inode;
  lease.host_netns = here;
  lease.created = now_rfc3339();
  {
    std::set<std::string> used;
    for (const auto& l : store_.all_leases()) used.insert(l.veth);
    Netlink host;
    for (int attempt = 0;; ++attempt) {
      if (attempt == 16) throw Error("no free name for the veth of container " + st.id);
      std::string v = veth_name(st.id, attempt);
      if (!used.count(v) && !host.link(v)) {
        lease.veth = v;
        break;
      }
    }
  }

  HolderProcess holder = spawn_port_holder(st.id, st.pid, *start, host_ports);
  host_ports.clear();
  lease.holder_pid = holder.pid;
  lease.holder_start = holder.start;

  // Record the lease first: whatever happens next, teardown knows what to remove.
  try {
    table = store_.load_leases(net->name);
    table.leases.push_back(lease);
    if (!requested) table.last = a.ip;
    store_.save_leases(net->name, table);
  } catch (...) {
    try {
      stop_port_holder(holder.pid, holder.start);
    } catch (const std::exception&) {  // it exits with the container anyway
    }
    throw;
  }
  try {
    apply(*net, lease, cns.get());
    provide_name_resolution(*net, lease, st);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    try {
      teardown_locked({lease}, {}, "");
    } catch (const std::exception& r) {
      msg += " (rolling back also failed: " + std::string(r.what()) + ")";
    }
    throw Error(msg);
  }
}

void Manager::apply(const Network& net, const Lease& lease, int container_netns) {
  const uint64_t here = lease.host_netns;
  Netlink host;

  // Where the host-wide rules are (the chains and jumps go with the last container).
  HostState hs = store_.load_host().value_or(HostState{});
  if (hs.host_netns != here) {
    hs.host_netns = here;
    store_.save_host(hs);
  }

  // The network: bridge with the gateway address, up, route_localnet for localhost DNAT.
  std::optional<NetworkState> prev = store_.load_network(net.name);
  if (prev && (prev->bridge != net.bridge || prev->subnet.network != net.subnet.network ||
               prev->subnet.prefix != net.subnet.prefix || prev->gateway != net.gateway))
    throw Error("network \"" + net.name + "\" was set up as bridge " + prev->bridge + ", " +
                prev->subnet.str() + " and its configuration changed while containers use it");
  NetworkState ns = prev.value_or(NetworkState{});
  ns.network = net.name;
  ns.bridge = net.bridge;
  ns.subnet = net.subnet;
  ns.gateway = net.gateway;
  ns.nat = net.nat;
  ns.host_netns = here;
  auto br = host.link(net.bridge);
  if (!br) {
    ns.bridge_created = true;
    store_.save_network(ns);
    host.create_bridge(net.bridge);
    br = host.link(net.bridge);
    if (!br) throw Error("bridge " + net.bridge + " vanished right after it was created");
  } else {
    if (br->type != "bridge")
      throw Error("network \"" + net.name + "\": interface " + net.bridge +
                  " exists and is not a bridge");
    store_.save_network(ns);
  }
  if (!host.has_address(br->ifindex, net.gateway, net.subnet.prefix)) {
    if (!ns.bridge_created && !ns.gateway_added) {
      ns.gateway_added = true;
      store_.save_network(ns);
    }
    host.add_address(br->ifindex, net.gateway, net.subnet.prefix, net.subnet.broadcast());
  }
  host.set_up(net.bridge);
  // Forwarding (this namespace's sysctl): raised when needed, never lowered again, not
  // even by teardown: other containers, runtimes and services may rely on it.
  if (read_sysctl("net/ipv4/ip_forward") != "1") write_sysctl("net/ipv4/ip_forward", "1");
  const std::string localnet = "net/ipv4/conf/" + net.bridge + "/route_localnet";
  if (std::string v = read_sysctl(localnet); v != "1") {
    if (!ns.bridge_created && ns.route_localnet_prev.empty()) {
      ns.route_localnet_prev = v;
      store_.save_network(ns);
    }
    write_sysctl(localnet, "1");
  }

  // The container: veth pair, its end is eth0 in the container with the address and route.
  host.create_veth(lease.veth, kPeerName, container_netns);
  host.set_master(lease.veth, br->ifindex);
  host.set_hairpin(host.ifindex(lease.veth), true);
  host.set_up(lease.veth);
  Netlink inside = Netlink::in(container_netns);
  inside.set_up("lo");
  const int eth0 = inside.ifindex(kPeerName);
  inside.add_address(eth0, lease.ip, net.subnet.prefix, net.subnet.broadcast());
  inside.set_up(kPeerName);
  inside.add_default_route(eth0, net.gateway);

  // Rules: chains and jumps if missing, the network's if missing, the container's.
  Iptables ipt;
  const auto nrules = ipt::network_rules({net.name, net.bridge, net.subnet, net.nat, net.isolate});
  const auto crules = ipt::container_rules({lease.id, net.bridge, lease.ip, lease.ports});
  auto saved = ipt.save();
  std::string script;
  for (const char* table : kTables)
    script += ipt::script(
        table, ipt::setup_lines(table, saved[table], nrules, crules, ipt::tag_container(lease.id),
                                ipt::tag_network(net.name)));
  ipt.restore(script);
}

void Manager::provide_name_resolution(const Network& net, const Lease& lease,
                                      const ContainerState& st) {
  std::string hostname, rootfs = st.rootfs;
  bool own_resolv = false, own_hosts = false;
  if (!st.bundle.empty()) {
    const std::string path = st.bundle + "/config.json";
    if (auto text = read_file(path)) {
      try {
        nlohmann::json j = nlohmann::json::parse(*text);
        if (j.contains("hostname") && j["hostname"].is_string())
          hostname = j["hostname"].get<std::string>();
        if (rootfs.empty() && j.contains("root") && j["root"].is_object() &&
            j["root"].contains("path") && j["root"]["path"].is_string()) {
          std::string p = j["root"]["path"].get<std::string>();
          rootfs = !p.empty() && p[0] == '/' ? p : st.bundle + "/" + p;
        }
        if (j.contains("mounts") && j["mounts"].is_array())
          for (const auto& m : j["mounts"]) {
            if (!m.is_object() || !m.contains("destination") || !m["destination"].is_string())
              continue;
            std::string dest = m["destination"].get<std::string>();
            while (dest.size() > 1 && dest.back() == '/') dest.pop_back();
            own_resolv = own_resolv || dest == "/etc/resolv.conf";
            own_hosts = own_hosts || dest == "/etc/hosts";
          }
      } catch (const nlohmann::json::exception& e) {
        throw Error(path + ": " + e.what());
      }
    }
  }
  if (own_resolv && own_hosts) return;
  if (rootfs.empty())
    throw Error("container " + st.id +
                ": neither its state nor its bundle's config.json names the rootfs (needed to "
                "mount /etc/resolv.conf and /etc/hosts)");

  std::vector<FileMount> files;
  if (!own_resolv) {
    const char* env = std::getenv(kResolvConfEnv);
    const std::string host_path = env && *env ? env : kDefaultResolvConf;
    std::string host = read_file(host_path).value_or("");
    files.push_back({store_.write_container_file(
                         net.name, lease.id, "resolv.conf",
                         make_resolv_conf(host, net.dns, net.dns_search, lease.id)),
                     "etc/resolv.conf"});
  }
  if (!own_hosts)
    files.push_back({store_.write_container_file(net.name, lease.id, "hosts",
                                                 make_hosts(lease.ip, {hostname, lease.id}, lease.id)),
                     "etc/hosts"});
  bind_files_into(st.pid, rootfs, files);
}

// ----------------------------------------------------------------------------- teardown

void Manager::teardown_locked(const std::vector<Lease>& leases,
                              const std::vector<std::string>& extra_ids,
                              const std::string& keep_network) {
  const uint64_t here = current_netns_inode();
  std::vector<Lease> local;  // the ones whose interfaces and rules are in this namespace
  std::set<std::string> gone;
  for (const auto& l : leases) {
    gone.insert(l.id);
    if (l.host_netns == 0 || l.host_netns == here) local.push_back(l);
  }

  // What is left once these leases are gone.
  std::vector<std::string> unused;  // networks nobody uses any more (set up in this namespace)
  bool any_left = false;
  for (const auto& n : store_.networks()) {
    LeaseTable t = store_.load_leases(n);
    bool used = std::any_of(t.leases.begin(), t.leases.end(),
                            [&](const Lease& l) { return !gone.count(l.id); });
    any_left = any_left || used;
    if (used || n == keep_network) continue;
    auto ns = store_.load_network(n);
    if (!ns || ns->host_netns == 0 || ns->host_netns == here) unused.push_back(n);
  }
  const bool host_unused = !any_left && keep_network.empty();

  // 1. Rules: one restore with every deletion (a transaction per table).
  std::vector<std::string> ids = extra_ids;
  for (const auto& l : local) ids.push_back(l.id);
  std::vector<std::optional<NetworkState>> unused_states;
  for (const auto& n : unused) unused_states.push_back(store_.load_network(n));
  auto hs = store_.load_host();
  bool host_here = !hs || hs->host_netns == 0 || hs->host_netns == here;
  if (!ids.empty() || !unused.empty() || (host_unused && host_here)) {
    Iptables ipt;
    auto all = ipt.save();
    std::string script;
    for (const char* table : kTables) {
      const ipt::SavedTable& saved = all[table];
      std::vector<std::string> lines, deleted;
      auto drop = [&](const std::string& tag) {
        for (const auto& r : saved.tagged(tag)) {
          deleted.push_back(r);
          lines.push_back(ipt::to_delete(r));
        }
      };
      for (const auto& id : ids) drop(ipt::tag_container(id));
      for (const auto& n : unused) drop(ipt::tag_network(n));
      if (host_unused && host_here)
        for (auto& l : ipt::base_teardown_lines(table, saved, deleted))
          lines.push_back(std::move(l));
      script += ipt::script(table, lines);
    }
    ipt.restore(script);
  }

  // 2. Port holders (their ports are free once this returns), host ends of the veth
  // pairs (the container end goes with them).
  std::vector<std::string> errors;
  for (const auto& l : leases) {
    try {
      stop_port_holder(l.holder_pid, l.holder_start);
    } catch (const std::exception& e) {
      errors.push_back("container " + l.id + ": " + e.what());
    }
  }
  std::optional<Netlink> host;
  auto nl = [&]() -> Netlink& {
    if (!host) host.emplace();
    return *host;
  };
  for (const auto& l : local)
    if (!l.veth.empty()) nl().delete_link(l.veth);
  for (const auto& id : extra_ids) {
    // No lease to name the veth: the first-choice name, unless a lease uses it.
    std::string v = veth_name(id);
    bool leased = false;
    for (const auto& l : store_.all_leases()) leased = leased || (l.veth == v && !gone.count(l.id));
    if (!leased) nl().delete_link(v);
  }

  // 3. The leases.
  std::set<std::string> nets;
  for (const auto& l : leases) nets.insert(l.network);
  for (const auto& l : leases) {
    try {
      store_.remove_container_files(l.network, l.id);
    } catch (const std::exception& e) {
      errors.push_back("container " + l.id + ": " + e.what());
    }
  }
  for (const auto& n : nets) {
    LeaseTable t = store_.load_leases(n);
    std::erase_if(t.leases, [&](const Lease& l) { return gone.count(l.id) > 0; });
    store_.save_leases(n, t);
  }

  // 4. Networks nobody uses: bridge (if ours), address, sysctl, state.
  for (size_t i = 0; i < unused.size(); ++i) {
    const auto& ns = unused_states[i];
    try {
      if (ns && ns->bridge_created) {
        nl().delete_link(ns->bridge);
      } else if (ns) {
        if (auto br = nl().link(ns->bridge)) {
          if (ns->gateway_added) nl().delete_address(br->ifindex, ns->gateway, ns->subnet.prefix);
          if (!ns->route_localnet_prev.empty())
            write_sysctl("net/ipv4/conf/" + ns->bridge + "/route_localnet",
                         ns->route_localnet_prev);
        }
      }
      store_.remove_network(unused[i]);
    } catch (const std::exception& e) {
      errors.push_back("network \"" + unused[i] + "\": " + e.what());
    }
  }

  // 5. Host-wide state once no container is left.
  if (host_unused && host_here) {
    try {
      store_.remove_host();  // ip_forward stays as it is: never lowered
    } catch (const std::exception& e) {
      errors.push_back(e.what());
    }
  }
  if (!errors.empty()) throw Error(join(errors, "; "));
}

std::string Manager::teardown(const std::string& id) {
  validate_container_id(id);
  oci::UniqueFd lock = store_.lock(kLockTimeoutMs);
  auto lease = store_.find_lease(id);
  if (!lease) return "";
  if (lease->host_netns && lease->host_netns != current_netns_inode())
    return "container " + id + " was set up in another network namespace (net:[" +
           std::to_string(lease->host_netns) +
           "]); nothing was changed here: run `oci-run-network cleanup " + id + "` there";
  teardown_locked({*lease}, {}, "");
  return "";
}

std::string Manager::cleanup(const std::string& id) {
  validate_container_id(id);
  oci::UniqueFd lock = store_.lock(kLockTimeoutMs);
  auto lease = store_.find_lease(id);
  if (lease && lease->host_netns && lease->host_netns != current_netns_inode())
    return "container " + id + " was set up in another network namespace (net:[" +
           std::to_string(lease->host_netns) + "]); nothing was changed here";
  if (lease)
    teardown_locked({*lease}, {}, "");
  else
    teardown_locked({}, {id}, "");
  return "";
}

// ----------------------------------------------------------------------------- list

void Manager::list(std::ostream& out, bool as_json, const Config* cfg,
                   const std::string& cfg_error) {
  std::vector<Lease> leases = store_.all_leases();
  std::vector<std::string> state_nets = store_.networks();
  using json = nlohmann::ordered_json;
  json nets = json::array();
  std::set<std::string> seen;
  auto count = [&](const std::string& n) {
    return std::count_if(leases.begin(), leases.end(),
                         [&](const Lease& l) { return l.network == n; });
  };
  if (cfg) {
    for (const auto& n : cfg->networks) {
      seen.insert(n.name);
      nets.push_back({{"name", n.name},
                      {"bridge", n.bridge},
                      {"subnet", n.subnet.str()},
                      {"gateway", format_ipv4(n.gateway)},
                      {"range", format_ipv4(n.range_start) + "-" + format_ipv4(n.range_end)},
                      {"nat", n.nat},
                      {"isolate", n.isolate},
                      {"dns", n.dns},
                      {"leases", count(n.name)},
                      {"configured", true}});
    }
  }
  for (const auto& n : state_nets) {
    if (seen.count(n)) continue;
    auto ns = store_.load_network(n);
    json j = {{"name", n}, {"leases", count(n)}, {"configured", false}};
    if (ns) {
      j["bridge"] = ns->bridge;
      j["subnet"] = ns->subnet.str();
      j["gateway"] = format_ipv4(ns->gateway);
      j["nat"] = ns->nat;
    }
    nets.push_back(j);
  }
  json ls = json::array();
  for (const auto& l : leases) {
    json ports = json::array();
    for (const auto& p : l.ports) ports.push_back(p.str());
    const Network* n = cfg ? cfg->find(l.network) : nullptr;
    ls.push_back({{"id", l.id},
                  {"network", l.network},
                  {"ip", format_ipv4(l.ip)},
                  {"static", l.static_ip},
                  {"ports", ports},
                  {"dns", n ? n->dns : std::vector<std::string>{}},
                  {"veth", l.veth},
                  {"pid", l.pid},
                  {"port_holder", l.holder_pid},
                  {"alive", lease_alive(l)},
                  {"created", l.created}});
  }
  // Which iptables (and so which kernel backend) the rules go through.
  json firewall;
  try {
    std::string v = Iptables().version();
    size_t open = v.rfind('('), close = v.rfind(')');
    firewall = {{"iptables", v},
                {"backend", open != std::string::npos && close > open
                                ? v.substr(open + 1, close - open - 1)
                                : "unknown"}};
  } catch (const std::exception& e) {
    firewall = {{"error", e.what()}};
  }
  if (as_json) {
    json doc = {{"state", store_.root()},
                {"firewall", firewall},
                {"networks", nets},
                {"leases", ls}};
    if (!cfg_error.empty()) doc["config_error"] = cfg_error;
    out << doc.dump(2) << "\n";
    return;
  }
  if (!cfg_error.empty()) out << "configuration: " << cfg_error << "\n";
  out << "firewall: "
      << (firewall.contains("iptables") ? firewall["iptables"].get<std::string>()
                                        : firewall["error"].get<std::string>())
      << "\n";
  char line[512];
  std::snprintf(line, sizeof line, "%-16s %-15s %-18s %-15s %-4s %-6s %s\n", "NETWORK", "BRIDGE",
                "SUBNET", "GATEWAY", "NAT", "LEASES", "DNS");
  out << line;
  for (const auto& n : nets) {
    std::string dns;
    if (n.contains("dns"))
      for (const auto& d : n["dns"]) {
      if (!dns.empty()) dns += ',';  // not ("" or ",") + s: GCC 12 -Wrestrict (PR 105651)
      dns += d.get<std::string>();
    }
    std::snprintf(line, sizeof line, "%-16s %-15s %-18s %-15s %-4s %-6lld %s\n",
                  n["name"].get<std::string>().c_str(), n.value("bridge", "-").c_str(),
                  n.value("subnet", "-").c_str(), n.value("gateway", "-").c_str(),
                  n.contains("nat") ? (n["nat"].get<bool>() ? "on" : "off") : "-",
                  static_cast<long long>(n["leases"].get<long long>()),
                  dns.empty() ? "-" : dns.c_str());
    out << line;
  }
  out << "\n";
  std::snprintf(line, sizeof line, "%-24s %-16s %-15s %-12s %-8s %s\n", "CONTAINER", "NETWORK",
                "ADDRESS", "VETH", "STATE", "PORTS");
  out << line;
  for (const auto& l : ls) {
    std::string ports;
    for (const auto& p : l["ports"]) {
      if (!ports.empty()) ports += ',';  // not ("" or ",") + s: GCC 12 -Wrestrict (PR 105651)
      ports += p.get<std::string>();
    }
    std::snprintf(line, sizeof line, "%-24s %-16s %-15s %-12s %-8s %s\n",
                  l["id"].get<std::string>().c_str(), l["network"].get<std::string>().c_str(),
                  l["ip"].get<std::string>().c_str(), l["veth"].get<std::string>().c_str(),
                  l["alive"].get<bool>() ? "running" : "gone", ports.empty() ? "-" : ports.c_str());
    out << line;
  }
}

}  // namespace ocinet
