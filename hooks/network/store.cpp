#include "hooks/network/store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "hooks/network/error.hpp"

namespace ocinet {
namespace {

using json = nlohmann::json;

std::string ip_or_empty(Ipv4 ip) { return ip ? format_ipv4(ip) : ""; }

Ipv4 ip_field(const json& j, const char* key, const std::string& source) {
  std::string s = j.value(key, "");
  if (s.empty()) return 0;
  auto ip = parse_ipv4(s);
  if (!ip) throw Error(source + ": " + key + ": \"" + s + "\" is not an IPv4 address");
  return *ip;
}

json lease_to_json(const Lease& l) {
  json ports = json::array();
  for (const auto& p : l.ports) ports.push_back(p.str());
  return {{"id", l.id},
          {"network", l.network},
          {"ip", format_ipv4(l.ip)},
          {"static", l.static_ip},
          {"ports", ports},
          {"veth", l.veth},
          {"pid", l.pid},
          {"pid_start", l.pid_start},
          {"netns_inode", l.netns_inode},
          {"host_netns", l.host_netns},
          {"holder_pid", l.holder_pid},
          {"holder_start", l.holder_start},
          {"created", l.created}};
}

Lease lease_from_json(const json& j, const std::string& source) {
  Lease l;
  l.id = j.value("id", "");
  l.network = j.value("network", "");
  l.ip = ip_field(j, "ip", source);
  l.static_ip = j.value("static", false);
  std::string ports;
  for (const auto& p : j.value("ports", json::array()))
    {
      if (!ports.empty()) ports += ',';  // not ("" or ",") + s: GCC 12 -Wrestrict (PR 105651)
      ports += p.get<std::string>();
    }
  l.ports = parse_ports(ports);
  l.veth = j.value("veth", "");
  l.pid = j.value("pid", 0);
  l.pid_start = j.value("pid_start", uint64_t{0});
  l.netns_inode = j.value("netns_inode", uint64_t{0});
  l.host_netns = j.value("host_netns", uint64_t{0});
  l.holder_pid = j.value("holder_pid", 0);
  l.holder_start = j.value("holder_start", uint64_t{0});
  l.created = j.value("created", "");
  if (l.id.empty() || !l.ip) throw Error(source + ": a lease without id or ip");
  return l;
}

json parse_json(const std::string& text, const std::string& source) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw Error(source + ": corrupt state file: " + e.what());
  }
}

void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

void mkdir_p(const std::string& path) {
  if (path.empty()) return;
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), 0700) != 0 && errno != EEXIST) throw sys_error("mkdir " + cur);
  }
}

}  // namespace

std::string Store::root_from_env() {
  const char* v = std::getenv(kStateEnv);
  return v && *v ? std::string(v) : std::string(kDefaultStateRoot);
}

std::string Store::dir(const std::string& network) const { return root_ + "/" + network; }

oci::UniqueFd Store::lock(int timeout_ms) const {
  mkdir_p(root_);
  std::string path = root_ + "/lock";
  oci::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) throw sys_error("open " + path);
  for (int waited = 0;; waited += 10) {
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return fd;
    if (errno != EWOULDBLOCK && errno != EINTR) throw sys_error("flock " + path);
    if (waited >= timeout_ms)
      throw Error("the network state " + root_ + " stayed locked by another oci-run-network for " +
                  std::to_string(timeout_ms / 1000) + "s");
    timespec ts{0, 10 * 1000 * 1000};
    ::nanosleep(&ts, nullptr);
  }
}

std::vector<std::string> Store::networks() const {
  std::vector<std::string> out;
  DIR* d = ::opendir(root_.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || !valid_network_name(name)) continue;
    struct stat st;
    if (::stat((root_ + "/" + name).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) out.push_back(name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

LeaseTable Store::load_leases(const std::string& network) const {
  std::string path = dir(network) + "/leases.json";
  auto text = read_file(path);
  if (!text) return {};
  return lease_table_from_json(*text, path);
}

void Store::save_leases(const std::string& network, const LeaseTable& t) const {
  mkdir_p(dir(network));
  write_file_atomic(dir(network) + "/leases.json", lease_table_to_json(t));
}

std::optional<NetworkState> Store::load_network(const std::string& network) const {
  std::string path = dir(network) + "/network.json";
  auto text = read_file(path);
  if (!text) return std::nullopt;
  json j = parse_json(*text, path);
  NetworkState s;
  s.network = j.value("network", network);
  s.bridge = j.value("bridge", "");
  if (auto c = parse_cidr(j.value("subnet", ""))) s.subnet = *c;
  s.gateway = ip_field(j, "gateway", path);
  s.nat = j.value("nat", true);
  s.host_netns = j.value("host_netns", uint64_t{0});
  s.bridge_created = j.value("bridge_created", false);
  s.gateway_added = j.value("gateway_added", false);
  s.route_localnet_prev = j.value("route_localnet_prev", "");
  if (!valid_interface_name(s.bridge)) throw Error(path + ": no valid bridge name");
  return s;
}

void Store::save_network(const NetworkState& s) const {
  json j = {{"network", s.network},
            {"bridge", s.bridge},
            {"subnet", s.subnet.str()},
            {"gateway", ip_or_empty(s.gateway)},
            {"nat", s.nat},
            {"host_netns", s.host_netns},
            {"bridge_created", s.bridge_created},
            {"gateway_added", s.gateway_added},
            {"route_localnet_prev", s.route_localnet_prev}};
  mkdir_p(dir(s.network));
  write_file_atomic(dir(s.network) + "/network.json", j.dump(2) + "\n");
}

std::string Store::container_dir(const std::string& network, const std::string& id) const {
  return dir(network) + "/containers/" + id;
}

std::string Store::write_container_file(const std::string& network, const std::string& id,
                                        const std::string& name,
                                        const std::string& content) const {
  const std::string d = container_dir(network, id);
  mkdir_p(d);
  write_file_atomic(d + "/" + name, content);
  return d + "/" + name;
}

void Store::remove_container_files(const std::string& network, const std::string& id) const {
  const std::string d = container_dir(network, id);
  for (const char* f : {"/resolv.conf", "/hosts"})
    if (::unlink((d + f).c_str()) != 0 && errno != ENOENT) throw sys_error("unlink " + d + f);
  if (::rmdir(d.c_str()) != 0 && errno != ENOENT) throw sys_error("rmdir " + d);
  ::rmdir((dir(network) + "/containers").c_str());  // fails while another container has files
}

void Store::remove_network(const std::string& network) const {
  for (const char* f : {"/leases.json", "/network.json"}) ::unlink((dir(network) + f).c_str());
  ::rmdir((dir(network) + "/containers").c_str());
  if (::rmdir(dir(network).c_str()) == 0) fsync_dir(root_);
}

std::optional<HostState> Store::load_host() const {
  std::string path = root_ + "/host.json";
  auto text = read_file(path);
  if (!text) return std::nullopt;
  json j = parse_json(*text, path);
  HostState s;
  s.host_netns = j.value("host_netns", uint64_t{0});
  return s;
}

void Store::save_host(const HostState& s) const {
  mkdir_p(root_);
  write_file_atomic(
      root_ + "/host.json",
      json{{"host_netns", s.host_netns}}.dump(2) + "\n");
}

void Store::remove_host() const {
  if (::unlink((root_ + "/host.json").c_str()) == 0) fsync_dir(root_);
}

std::optional<Lease> Store::find_lease(const std::string& id) const {
  for (const auto& n : networks()) {
    LeaseTable t = load_leases(n);
    if (const Lease* l = t.find_id(id)) return *l;
  }
  return std::nullopt;
}

std::vector<Lease> Store::all_leases() const {
  std::vector<Lease> out;
  for (const auto& n : networks())
    for (auto& l : load_leases(n).leases) out.push_back(std::move(l));
  return out;
}

std::string lease_table_to_json(const LeaseTable& t) {
  json leases = json::array();
  for (const auto& l : t.leases) leases.push_back(lease_to_json(l));
  return json{{"last", ip_or_empty(t.last)}, {"leases", leases}}.dump(2) + "\n";
}

LeaseTable lease_table_from_json(const std::string& text, const std::string& source) {
  json j = parse_json(text, source);
  LeaseTable t;
  try {
    t.last = ip_field(j, "last", source);
    for (const auto& l : j.value("leases", json::array()))
      t.leases.push_back(lease_from_json(l, source));
  } catch (const json::exception& e) {
    throw Error(source + ": corrupt state file: " + e.what());
  }
  return t;
}

void write_file_atomic(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  oci::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) throw sys_error("create " + tmp);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      throw sys_error("write " + tmp, err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0 || ::close(fd.release()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw sys_error("write " + tmp, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw sys_error("rename " + tmp, err);
  }
  fsync_dir(path.substr(0, path.rfind('/')));
}

std::optional<std::string> read_file(const std::string& path) {
  oci::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return std::nullopt;
    throw sys_error("open " + path);
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw sys_error("read " + path);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace ocinet
