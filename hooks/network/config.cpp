#include "hooks/network/config.hpp"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <fstream>
#include <set>
#include <sstream>

#include "hooks/network/dnsfiles.hpp"
#include "hooks/network/error.hpp"

namespace ocinet {
namespace {

class Parser {
 public:
  explicit Parser(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const YAML::Node& at, const std::string& msg) const {
    std::string where = source_;
    if (at.IsDefined() && at.Mark().line >= 0)
      where += ": line " + std::to_string(at.Mark().line + 1);
    throw Error(where + ": " + ctx_ + msg);
  }

  void only_keys(const YAML::Node& map, std::initializer_list<const char*> keys) const {
    for (const auto& kv : map) {
      std::string k = kv.first.Scalar();
      bool known = false;
      for (const char* allowed : keys) known = known || k == allowed;
      if (!known) {
        std::string list;
        for (const char* allowed : keys) list += (list.empty() ? "" : ", ") + std::string(allowed);
        fail(kv.first, "unknown key \"" + k + "\" (expected " + list + ")");
      }
    }
  }

  std::string scalar(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, key + ": expected a string");
    return n.Scalar();
  }

  Ipv4 address(const YAML::Node& n, const std::string& key) const {
    std::string s = scalar(n, key);
    auto ip = parse_ipv4(s);
    if (!ip) fail(n, key + ": \"" + s + "\" is not an IPv4 address");
    return *ip;
  }

  bool boolean(const YAML::Node& n, const std::string& key) const {
    std::string v = scalar(n, key);
    if (v == "true" || v == "on" || v == "yes") return true;
    if (v == "false" || v == "off" || v == "no") return false;
    fail(n, key + ": \"" + v + "\" is not true/false (or on/off)");
  }

  Network network(const YAML::Node& n) {
    Network net;
    if (!n.IsMap()) fail(n, "expected a mapping with name, bridge, subnet, ...");
    only_keys(n, {"name", "bridge", "subnet", "gateway", "range", "nat", "isolate", "dns",
                  "dns_search"});
    for (const char* req : {"name", "bridge", "subnet"})
      if (!n[req]) fail(n, std::string("missing \"") + req + "\"");

    net.name = scalar(n["name"], "name");
    if (!valid_network_name(net.name))
      fail(n["name"],
           "name \"" + net.name + "\" is not valid ([A-Za-z0-9][A-Za-z0-9_.-], at most 64)");
    ctx_ = "network \"" + net.name + "\": ";

    net.bridge = scalar(n["bridge"], "bridge");
    if (!valid_interface_name(net.bridge))
      fail(n["bridge"], "bridge \"" + net.bridge +
                            "\" is not a valid interface name ([A-Za-z0-9_.-], at most 15)");

    std::string subnet = scalar(n["subnet"], "subnet");
    CidrError why;
    auto cidr = parse_cidr(subnet, &why);
    if (!cidr && why == CidrError::kHostBits) {
      auto base = parse_cidr(subnet.substr(0, subnet.find('/')) + "/32");
      Cidr fixed{base ? base->network : 0, std::stoi(subnet.substr(subnet.find('/') + 1))};
      fixed.network &= fixed.mask();
      fail(n["subnet"],
           "subnet \"" + subnet + "\" has host bits set (did you mean " + fixed.str() + "?)");
    }
    if (!cidr)
      fail(n["subnet"], "subnet \"" + subnet + "\" is not an IPv4 CIDR (like 10.89.0.0/24)");
    if (cidr->prefix > 30)
      fail(n["subnet"],
           "subnet " + subnet + " is too small (at most /30: a gateway and one container)");
    if (cidr->prefix < 8) fail(n["subnet"], "subnet " + subnet + " is too large (at least /8)");
    net.subnet = *cidr;

    net.gateway = cidr->network + 1;
    if (n["gateway"]) {
      net.gateway = address(n["gateway"], "gateway");
      if (!net.subnet.is_host(net.gateway))
        fail(n["gateway"],
             "gateway " + format_ipv4(net.gateway) + " is not a host address of " + subnet);
    }

    net.range_start = cidr->network + 1;
    net.range_end = cidr->broadcast() - 1;
    if (const YAML::Node r = n["range"]) {
      if (!r.IsMap()) fail(r, "range: expected a mapping with start and end");
      only_keys(r, {"start", "end"});
      if (r["start"]) net.range_start = address(r["start"], "range.start");
      if (r["end"]) net.range_end = address(r["end"], "range.end");
      for (Ipv4 ip : {net.range_start, net.range_end})
        if (!net.subnet.is_host(ip))
          fail(r, "range: " + format_ipv4(ip) + " is not a host address of " + subnet);
      if (net.range_start > net.range_end)
        fail(r, "range: start " + format_ipv4(net.range_start) + " is after end " +
                    format_ipv4(net.range_end));
      if (net.range_start == net.range_end && net.range_start == net.gateway)
        fail(r, "range: holds only the gateway address");
    }

    if (const YAML::Node nat = n["nat"]) net.nat = boolean(nat, "nat");
    if (const YAML::Node iso = n["isolate"]) net.isolate = boolean(iso, "isolate");

    if (const YAML::Node dns = n["dns"]) {
      if (!dns.IsSequence()) fail(dns, "dns: expected a list of addresses");
      for (const auto& d : dns) {
        std::string s = scalar(d, "dns");
        unsigned char buf[16];
        if (::inet_pton(AF_INET, s.c_str(), buf) != 1 && ::inet_pton(AF_INET6, s.c_str(), buf) != 1)
          fail(d, "dns: \"" + s + "\" is not an IP address");
        net.dns.push_back(s);
      }
    }
    if (const YAML::Node search = n["dns_search"]) {
      if (!search.IsSequence()) fail(search, "dns_search: expected a list of domains");
      for (const auto& d : search) {
        std::string s = scalar(d, "dns_search");
        if (!valid_dns_search_domain(s)) fail(d, "dns_search: \"" + s + "\" is not a domain name");
        net.dns_search.push_back(s);
      }
    }
    ctx_.clear();
    return net;
  }

  Config parse(const std::string& text) {
    Config c;
    c.source = source_;
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      throw Error(source_ + ": invalid YAML at line " + std::to_string(e.mark.line + 1) +
                  ", column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
    }
    if (!root.IsMap()) fail(root, "expected a mapping with a \"networks\" list");
    only_keys(root, {"networks"});
    const YAML::Node list = root["networks"];
    if (!list || !list.IsSequence() || list.size() == 0)
      fail(list ? list : root, "\"networks\" must be a non-empty list");
    for (const auto& n : list) {
      Network net = network(n);
      for (const auto& o : c.networks) {
        if (o.name == net.name) fail(n, "network \"" + net.name + "\" is defined twice");
        if (o.bridge == net.bridge)
          fail(n, "network \"" + net.name + "\": bridge " + net.bridge +
                      " is already used by network \"" + o.name + "\"");
        if (o.subnet.overlaps(net.subnet))
          fail(n, "network \"" + net.name + "\": subnet " + net.subnet.str() +
                      " overlaps the subnet " + o.subnet.str() + " of network \"" + o.name + "\"");
      }
      c.networks.push_back(std::move(net));
    }
    return c;
  }

 private:
  std::string source_;
  std::string ctx_;
};

}  // namespace

const Network* Config::find(const std::string& name) const {
  for (const auto& n : networks)
    if (n.name == name) return &n;
  return nullptr;
}

bool valid_interface_name(const std::string& name) {
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Config parse_config(const std::string& yaml, const std::string& source) {
  return Parser(source).parse(yaml);
}

ConfigSource config_source(const std::map<std::string, std::string>& annotations,
                           const char* env_value) {
  if (auto it = annotations.find(kAnnConfig); it != annotations.end() && !it->second.empty())
    return {it->second, true};
  if (env_value && *env_value) return {env_value, true};
  return {kDefaultConfigPath, false};
}

Config builtin_config() {
  return parse_config(
      "networks:\n"
      "  - name: default\n"
      "    bridge: ocirun0\n"
      "    subnet: 10.89.0.0/24\n",
      "built-in configuration");
}

Config load_config(const ConfigSource& src) {
  std::ifstream in(src.path);
  if (!in) {
    int err = errno;
    if (err == ENOENT && !src.chosen) return builtin_config();
    throw sys_error("network configuration " + src.path, err);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), src.path);
}

}  // namespace ocinet
