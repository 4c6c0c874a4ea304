// iptables rules of oci-run-network, as text for `iptables-restore --noflush`
// (one atomic transaction per table with the nft backend). Pure: building the
// rules and scripts and reading `iptables-save` output; running the binaries is
// in hook.cpp through process.hpp.
//
// Chains of our own, jumped to from the built-in chains:
//   nat    OCI-RUN-POSTROUTING  <- POSTROUTING          masquerade
//   nat    OCI-RUN-DNAT         <- PREROUTING, OUTPUT   published ports (to local addresses)
//   filter OCI-RUN-FORWARD      <- FORWARD (inserted first)
//   filter OCI-RUN-ISOLATION    <- OCI-RUN-FORWARD, per isolated network (from its bridge
//                                  to another one, not DNATed): DROP to each isolated bridge
// Every rule carries a comment naming who added it:
//   "oci-run:base"        the jumps (removed with the chains when no container is left)
//   "oci-run:net=NAME"    a network's rules (removed when its last container goes)
//   "oci-run:id=ID"       a container's rules (removed at its teardown)
// so teardown deletes exactly the lines setup added, found again in iptables-save.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "hooks/network/ip.hpp"
#include "hooks/network/ports.hpp"

namespace ocinet::ipt {

inline constexpr const char* kChainPostrouting = "OCI-RUN-POSTROUTING";
inline constexpr const char* kChainDnat = "OCI-RUN-DNAT";
inline constexpr const char* kChainForward = "OCI-RUN-FORWARD";
inline constexpr const char* kChainIsolation = "OCI-RUN-ISOLATION";

std::string tag_base();
std::string tag_network(const std::string& network);
std::string tag_container(const std::string& id);  // long ids are shortened with a hash (255 max)

struct Rule {
  std::string table;  // "nat" or "filter"
  std::string chain;
  std::vector<std::string> args;  // matches, comment and target, as iptables argv words
  bool insert = false;            // -I CHAIN 1 instead of -A CHAIN

  // "-A CHAIN args..." as a line of an iptables-restore script (words quoted when needed).
  std::string line() const;
  // The full iptables argv (for running the rule on its own).
  std::vector<std::string> argv(const std::string& iptables, const std::string& op = "") const;
};

std::vector<Rule> base_rules();

struct NetworkRules {
  std::string network;
  std::string bridge;
  Cidr subnet;
  bool nat = true;
  bool isolate = true;
};
std::vector<Rule> network_rules(const NetworkRules& n);

struct ContainerRules {
  std::string id;
  std::string bridge;
  Ipv4 ip = 0;
  std::vector<PortMapping> ports;
};
std::vector<Rule> container_rules(const ContainerRules& c);

// One table of `iptables-save -t TABLE`.
struct SavedTable {
  std::vector<std::string> chains;  // every chain declared (":NAME POLICY [..]")
  std::vector<std::string> rules;   // every "-A CHAIN ..." line, verbatim

  bool has_chain(const std::string& name) const;
  std::vector<std::string> tagged(const std::string& tag) const;  // rules carrying the comment
  std::vector<std::string> in_chain(const std::string& chain) const;
};
SavedTable parse_save(std::string_view text);  // one table (or every table merged)
// Every table of a full `iptables-save`, by name ("nat", "filter", ...).
std::map<std::string, SavedTable> parse_save_tables(std::string_view text);

// Restore-script builders. Each returns the body lines for one table; wrap with script().
// Setup: create missing chains and jumps, the network's rules when none of them exist,
// then the container's rules (replacing leftovers carrying the same container tag).
std::vector<std::string> setup_lines(const std::string& table, const SavedTable& saved,
                                     const std::vector<Rule>& network,
                                     const std::vector<Rule>& container, const std::string& id_tag,
                                     const std::string& net_tag);
// Delete every rule carrying `tag`.
std::vector<std::string> delete_tagged(const SavedTable& saved, const std::string& tag);
// Base teardown: delete the jumps and our chains of `table`, for each chain only when no
// rule is left in it once `also_deleted` are gone (a foreign rule keeps chain and jump).
std::vector<std::string> base_teardown_lines(const std::string& table, const SavedTable& saved,
                                             const std::vector<std::string>& also_deleted);

// "*TABLE\n<lines>\nCOMMIT\n", or "" when there are no lines.
std::string script(const std::string& table, const std::vector<std::string>& lines);

// Fixed argvs of the binaries (no shell).
std::vector<std::string> restore_argv(const std::string& iptables_restore);
std::vector<std::string> save_argv(const std::string& iptables_save, const std::string& table);
std::vector<std::string> save_all_argv(const std::string& iptables_save);

// "-A CHAIN rest" -> "-D CHAIN rest".
std::string to_delete(const std::string& add_line);

}  // namespace ocinet::ipt
