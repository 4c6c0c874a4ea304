#include "hooks/network/iptables.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>

namespace ocinet::ipt {
namespace {

constexpr size_t kMaxTag = 240;  // the comment match keeps at most 255 bytes

std::vector<std::string> comment(const std::string& tag) {
  return {"-m", "comment", "--comment", tag};
}

Rule rule(std::string table, std::string chain, std::vector<std::string> matches,
          const std::string& tag, std::vector<std::string> target, bool insert = false) {
  Rule r{std::move(table), std::move(chain), std::move(matches), insert};
  for (auto& w : comment(tag)) r.args.push_back(std::move(w));
  for (auto& w : target) r.args.push_back(std::move(w));
  return r;
}

bool plain_word(const std::string& w) {
  if (w.empty()) return false;
  for (char c : w) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("_./:=+,!-").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

std::string quote(const std::string& w) {
  if (plain_word(w)) return w;
  std::string out = "\"";
  for (char c : w) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// The chain a "-A CHAIN ..." line belongs to.
std::string chain_of(const std::string& line) {
  if (line.rfind("-A ", 0) != 0) return "";
  size_t end = line.find(' ', 3);
  return line.substr(3, end == std::string::npos ? std::string::npos : end - 3);
}

bool has_tag(const std::string& line, const std::string& tag) {
  for (const std::string& form : {"--comment \"" + tag + "\"", "--comment " + tag}) {
    size_t pos = 0;
    while ((pos = line.find(form, pos)) != std::string::npos) {
      size_t end = pos + form.size();
      if (form.back() == '"' || end == line.size() || line[end] == ' ') return true;
      pos = end;
    }
  }
  return false;
}

std::vector<std::string> own_chains(const std::string& table) {
  if (table == "nat") return {kChainPostrouting, kChainDnat};
  if (table == "filter") return {kChainForward, kChainIsolation};
  return {};
}

}  // namespace

std::string tag_base() { return "oci-run:base"; }
std::string tag_network(const std::string& network) { return "oci-run:net=" + network; }

std::string tag_container(const std::string& id) {
  std::string tag = "oci-run:id=" + id;
  if (tag.size() <= kMaxTag) return tag;
  uint64_t h = 14695981039346656037ULL;  // FNV-1a over the whole id
  for (unsigned char c : id) h = (h ^ c) * 1099511628211ULL;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return "oci-run:id=" + id.substr(0, kMaxTag - 11 - 17) + "~" + hex;
}

std::string Rule::line() const {
  // Appended piece by piece: "literal" + std::string trips a GCC 12 -O3
  // -Wrestrict false positive (PR 105651).
  std::string out = insert ? "-I " : "-A ";
  out += chain;
  if (insert) out += " 1";
  for (const auto& a : args) {
    out += ' ';
    out += quote(a);
  }
  return out;
}

std::vector<std::string> Rule::argv(const std::string& iptables, const std::string& op) const {
  std::vector<std::string> v{iptables, "-w", "-t", table};
  v.push_back(op.empty() ? (insert ? "-I" : "-A") : op);
  v.push_back(chain);
  if (insert && op.empty()) v.push_back("1");
  v.insert(v.end(), args.begin(), args.end());
  return v;
}

std::vector<Rule> base_rules() {
  const std::string t = tag_base();
  const std::vector<std::string> local = {"-m", "addrtype", "--dst-type", "LOCAL"};
  return {
      rule("nat", "POSTROUTING", {}, t, {"-j", kChainPostrouting}),
      rule("nat", "PREROUTING", local, t, {"-j", kChainDnat}),
      rule("nat", "OUTPUT", local, t, {"-j", kChainDnat}),
      rule("filter", "FORWARD", {}, t, {"-j", kChainForward}, true),
  };
}

std::vector<Rule> network_rules(const NetworkRules& n) {
  const std::string t = tag_network(n.network);
  const std::string subnet = n.subnet.str();
  std::vector<Rule> out;
  if (n.nat)  // traffic from the subnet leaving it: the host's address
    out.push_back(rule("nat", kChainPostrouting, {"-s", subnet, "!", "-o", n.bridge}, t,
                       {"-j", "MASQUERADE"}));
  // The host's own connections to a published port on 127.0.0.1 (route_localnet on the bridge).
  out.push_back(rule("nat", kChainPostrouting, {"-s", "127.0.0.0/8", "-o", n.bridge}, t,
                     {"-j", "MASQUERADE"}));
  // Hairpin: a container reaching a published port through the host lands back on the bridge.
  out.push_back(rule("nat", kChainPostrouting,
                     {"-s", subnet, "-o", n.bridge, "-m", "conntrack", "--ctstate", "DNAT"}, t,
                     {"-j", "MASQUERADE"}));
  if (n.isolate) {
    // Isolation in two stages, as docker does: what leaves this bridge for another one
    // goes through OCI-RUN-ISOLATION, which drops it when that one is isolated too.
    // Published ports (DNATed connections, both directions) stay reachable.
    out.push_back(rule("filter", kChainForward,
                       {"-i", n.bridge, "!", "-o", n.bridge, "-m", "conntrack", "!", "--ctstate",
                        "DNAT"},
                       t, {"-j", kChainIsolation}, true));
    out.push_back(rule("filter", kChainIsolation, {"-o", n.bridge}, t, {"-j", "DROP"}));
  }
  out.push_back(rule("filter", kChainForward, {"-i", n.bridge}, t, {"-j", "ACCEPT"}));
  out.push_back(rule("filter", kChainForward,
                     {"-o", n.bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED"}, t,
                     {"-j", "ACCEPT"}));
  return out;
}

std::vector<Rule> container_rules(const ContainerRules& c) {
  const std::string t = tag_container(c.id);
  const std::string ip = format_ipv4(c.ip);
  std::vector<Rule> out;
  for (const auto& p : c.ports) {
    const std::string hp = std::to_string(p.host_port), cp = std::to_string(p.container_port);
    out.push_back(rule("nat", kChainDnat, {"-p", p.proto, "-m", p.proto, "--dport", hp}, t,
                       {"-j", "DNAT", "--to-destination", ip + ":" + cp}));
    out.push_back(
        rule("filter", kChainForward,
             {"-d", ip + "/32", "-o", c.bridge, "-p", p.proto, "-m", p.proto, "--dport", cp}, t,
             {"-j", "ACCEPT"}));
  }
  return out;
}

bool SavedTable::has_chain(const std::string& name) const {
  return std::find(chains.begin(), chains.end(), name) != chains.end();
}

std::vector<std::string> SavedTable::tagged(const std::string& tag) const {
  std::vector<std::string> out;
  for (const auto& r : rules)
    if (has_tag(r, tag)) out.push_back(r);
  return out;
}

std::vector<std::string> SavedTable::in_chain(const std::string& chain) const {
  std::vector<std::string> out;
  for (const auto& r : rules)
    if (chain_of(r) == chain) out.push_back(r);
  return out;
}

SavedTable parse_save(std::string_view text) {
  SavedTable t;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string line(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.size() > 1 && line[0] == ':')
      t.chains.push_back(line.substr(1, line.find(' ') - 1));
    else if (line.rfind("-A ", 0) == 0)
      t.rules.push_back(line);
  }
  return t;
}

std::map<std::string, SavedTable> parse_save_tables(std::string_view text) {
  std::map<std::string, SavedTable> out;
  std::string table;
  size_t begin = 0;
  auto flush = [&](size_t end) {
    if (!table.empty()) out[table] = parse_save(text.substr(begin, end - begin));
  };
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string_view::npos ? text.size() : nl;
    if (text[pos] == '*') {
      flush(pos);
      table = std::string(text.substr(pos + 1, end - pos - 1));
      while (!table.empty() && (table.back() == '\r' || table.back() == ' ')) table.pop_back();
      begin = end;
    }
    pos = end + 1;
  }
  flush(text.size());
  return out;
}

std::string to_delete(const std::string& add_line) {
  if (add_line.rfind("-A ", 0) == 0) return "-D " + add_line.substr(3);
  return add_line;
}

std::vector<std::string> delete_tagged(const SavedTable& saved, const std::string& tag) {
  std::vector<std::string> out;
  for (const auto& r : saved.tagged(tag)) out.push_back(to_delete(r));
  return out;
}

std::vector<std::string> setup_lines(const std::string& table, const SavedTable& saved,
                                     const std::vector<Rule>& network,
                                     const std::vector<Rule>& container, const std::string& id_tag,
                                     const std::string& net_tag) {
  std::vector<std::string> out = delete_tagged(saved, id_tag);
  for (const auto& chain : own_chains(table))
    if (!saved.has_chain(chain)) out.push_back("-N " + chain);
  const std::vector<std::string> base_present = saved.tagged(tag_base());
  for (const auto& r : base_rules()) {
    if (r.table != table) continue;
    bool present = std::any_of(base_present.begin(), base_present.end(),
                               [&](const std::string& l) { return chain_of(l) == r.chain; });
    if (!present) out.push_back(r.line());
  }
  if (saved.tagged(net_tag).empty())
    for (const auto& r : network)
      if (r.table == table) out.push_back(r.line());
  for (const auto& r : container)
    if (r.table == table) out.push_back(r.line());
  return out;
}

std::vector<std::string> base_teardown_lines(const std::string& table, const SavedTable& saved,
                                             const std::vector<std::string>& also_deleted) {
  std::vector<std::string> out;
  const std::vector<std::string> jumps = saved.tagged(tag_base());
  for (const auto& chain : own_chains(table)) {
    if (!saved.has_chain(chain)) continue;
    bool empty = true;
    for (const auto& r : saved.in_chain(chain))
      if (std::find(also_deleted.begin(), also_deleted.end(), r) == also_deleted.end())
        empty = false;
    if (!empty) continue;
    // Every rule jumping to the chain must go first: ours are tagged; a foreign one keeps it.
    std::vector<std::string> ours;
    bool foreign = false;
    for (const auto& j : saved.rules) {
      bool jumps_here =
          j.size() >= chain.size() + 4 &&
          j.compare(j.size() - chain.size() - 4, std::string::npos, " -j " + chain) == 0;
      if (!jumps_here) continue;
      if (std::find(jumps.begin(), jumps.end(), j) != jumps.end())
        ours.push_back(j);
      else if (std::find(also_deleted.begin(), also_deleted.end(), j) == also_deleted.end())
        foreign = true;
    }
    if (foreign) continue;
    for (const auto& j : ours) out.push_back(to_delete(j));
    out.push_back("-X " + chain);
  }
  return out;
}

std::string script(const std::string& table, const std::vector<std::string>& lines) {
  if (lines.empty()) return "";
  std::string s = "*" + table + "\n";
  for (const auto& l : lines) s += l + "\n";
  return s + "COMMIT\n";
}

std::vector<std::string> restore_argv(const std::string& iptables_restore) {
  return {iptables_restore, "-w", "--noflush"};
}

std::vector<std::string> save_argv(const std::string& iptables_save, const std::string& table) {
  return {iptables_save, "-t", table};
}

std::vector<std::string> save_all_argv(const std::string& iptables_save) { return {iptables_save}; }

}  // namespace ocinet::ipt
