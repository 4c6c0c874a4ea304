// The option tables: one table per option set. Parsing, validation, `features`
// and the docs all read these, so a name is either in a table (and implemented)
// or rejected.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace oci::spec {

struct NamespaceInfo {
  std::string_view name;  // config.json "type"
  int clone_flag;         // CLONE_NEW*
  std::string_view proc;  // /proc/<pid>/ns/<proc>
};
std::span<const NamespaceInfo> namespace_table();
const NamespaceInfo* find_namespace(std::string_view name);

struct CapabilityInfo {
  std::string_view name;  // "CAP_CHOWN"
  int value;
};
std::span<const CapabilityInfo> capability_table();
std::optional<int> find_capability(std::string_view name);

struct RlimitInfo {
  std::string_view name;  // "RLIMIT_NOFILE"
  int resource;
};
std::span<const RlimitInfo> rlimit_table();
std::optional<int> find_rlimit(std::string_view name);

struct SignalInfo {
  std::string_view name;  // "TERM" (without SIG)
  int number;
};
std::span<const SignalInfo> signal_table();
// Accepts "TERM", "SIGTERM", "sigterm", "15", "RTMIN+3"; nullopt when unknown.
std::optional<int> parse_signal(std::string_view text);

enum class MountOptionKind {
  Flag,         // sets `flags` (ro, nosuid, ...)
  ClearFlag,    // clears `flags` (rw, suid, ...)
  Propagation,  // private, rshared, ...: a separate mount(2) call
  Recursive,    // rro, rnosuid, ...: mount_setattr(AT_RECURSIVE)
  Bind,         // bind / rbind
  Extension,    // tmpcopyup, idmap, ridmap, ... (handled specially)
};

struct MountOptionInfo {
  std::string_view name;
  MountOptionKind kind;
  unsigned long flags;  // MS_* for Flag/ClearFlag/Propagation/Bind
  uint64_t attr_set;    // MOUNT_ATTR_* for Recursive
  uint64_t attr_clr;
};
std::span<const MountOptionInfo> mount_option_table();
const MountOptionInfo* find_mount_option(std::string_view name);

// Names allowed in linux.rootfsPropagation.
std::optional<unsigned long> find_propagation(std::string_view name);

// Named kernel values: process.scheduler.policy (SCHED_*), .flags
// (SCHED_FLAG_*), process.ioPriority.class (IOPRIO_CLASS_*) and
// linux.personality.domain (PER_LINUX, PER_LINUX32).
struct NamedValue {
  std::string_view name;
  uint64_t value;
};
std::span<const NamedValue> scheduler_policy_table();
std::span<const NamedValue> scheduler_flag_table();
std::span<const NamedValue> io_priority_class_table();
std::span<const NamedValue> personality_domain_table();
std::optional<uint64_t> find_value(std::span<const NamedValue> table, std::string_view name);

}  // namespace oci::spec
