// Parse and validate config.json, process.json (exec --process) and
// LinuxResources JSON (update -r). Every function throws oci::ConfigError whose
// message is "<source>: <json.path>: <problem>", e.g.
//   config.json: linux.namespaces[2].type: unknown namespace type "foo"
// and never has side effects.
#pragma once

#include <string>
#include <string_view>

#include "spec/config.hpp"

namespace oci::spec {

// Parse + validate a whole config. `source` names the file in messages.
Config parse_config(std::string_view json_text, std::string_view source = "config.json");
// Reads `path` (error "open <path>: No such file or directory" style when missing).
Config load_config(const std::string& path);

// A process object as given to `exec --process FILE`.
Process parse_process(std::string_view json_text, std::string_view source = "process.json");
// A LinuxResources object as given to `update --resources`.
Resources parse_resources(std::string_view json_text, std::string_view source = "resources");

// Semantic checks over a parsed config (called by parse_config): namespaces,
// paths, mappings, ids, sysctls... `source` prefixes messages.
void validate(const Config& config, std::string_view source = "config.json");
void validate_process(const Process& process, std::string_view source, std::string_view path);
// `path` prefixes the field paths ("linux.resources" or "").
void validate_resources(const Resources& resources, std::string_view source,
                        std::string_view path);

// The namespace type ("network", "ipc", "uts") a namespaced sysctl belongs
// to; "" for any other name (validation refuses those).
std::string_view sysctl_namespace(std::string_view name);

// Mount destinations inside /proc (runc's rule): a procfs on /proc itself and
// the few files lxcfs emulates (/proc/{cpuinfo,diskstats,meminfo,stat,swaps,
// uptime,loadavg,slabinfo}, /proc/sys/kernel/ns_last_pid) are the only ones
// allowed. `dest` is container-absolute, resolved or not (it is cleaned
// lexically here). Returns "" when allowed, else the problem; a bind mount on
// /proc itself is allowed only when `bind_source_is_procfs`.
std::string proc_destination_problem(std::string_view dest, std::string_view type, bool bind,
                                     bool bind_source_is_procfs);

// True for "1.0.0", "1.3.0", "1.0.2-dev", "1.1.0-rc.1": a SemVer 2.0 with major 1.
bool is_supported_oci_version(std::string_view version);

}  // namespace oci::spec
