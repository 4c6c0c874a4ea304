// `oci-run features`: the runtime-spec 1.3 features document (features.md).
// Names come from the option tables in spec/tables.hpp; what this build
// implements is stated once, by the constants below.
#include <getopt.h>

#include <cstdio>
#include <string>
#include <string_view>

#include "runtime/cli/commands.hpp"
#include "runtime/linux/idmap_mount.hpp"
#include "runtime/linux/seccomp.hpp"
#include "spec/error.hpp"
#include "spec/state.hpp"
#include "spec/tables.hpp"

#ifndef OCI_RUN_VERSION
#error "OCI_RUN_VERSION must be defined by the build (see CMakeLists.txt)"
#endif

namespace oci::cli {
namespace {

// ---- What this build implements. Flip these as features land. ----

// Every hook name of the runtime-spec; `implemented` decides whether it is listed.
struct HookSupport {
  std::string_view name;
  bool implemented;
};
constexpr HookSupport kHooks[] = {
    {"prestart", true},        {"createRuntime", true}, {"createContainer", true},
    {"startContainer", true},  {"poststart", true},     {"poststop", true},
};

constexpr bool kCgroupV1 = true;
constexpr bool kCgroupV2 = true;
constexpr bool kCgroupSystemd = false;
constexpr bool kCgroupSystemdUser = false;
constexpr bool kCgroupRdma = true;
constexpr bool kSeccompEnabled = true;  // the names come from libseccomp: seccomp_section()
// features-linux.md: whether the runtime supports them, whatever the host has
// (create refuses the fields where the host lacks the LSM: linux/lsm.hpp).
constexpr bool kAppArmorEnabled = true;
constexpr bool kSelinuxEnabled = true;
constexpr bool kIntelRdtEnabled = false;
// mountExtensions.idmap: implemented (linux/idmap_mount.hpp); reported only
// where the kernel can do it (idmap_mounts_supported()).

constexpr const char* kVersionAnnotation = "org.opencontainers.oci-run.version";

// -------------------------------------------------------------------

using json = nlohmann::ordered_json;

json hook_names() {
  json out = json::array();
  for (const auto& h : kHooks)
    if (h.implemented) out.push_back(std::string(h.name));
  return out;
}

json mount_option_names() {
  const bool idmap = linux_::idmap_mounts_supported();
  json out = json::array();
  for (const auto& o : spec::mount_option_table())
    if (o.kind != spec::MountOptionKind::Extension || o.name == "tmpcopyup" ||
        (idmap && (o.name == "idmap" || o.name == "ridmap")))
      out.push_back(std::string(o.name));
  return out;
}

template <typename Table>
json names_of(const Table& table) {
  json out = json::array();
  for (const auto& e : table) out.push_back(std::string(e.name));
  return out;
}

json enabled(bool on) { return json{{"enabled", on}}; }

// Asked of libseccomp and the kernel at run time (linux/seccomp.cpp).
json seccomp_section() {
  json out = enabled(kSeccompEnabled);
  if (!kSeccompEnabled) return out;
  linux_::SeccompFeatures f = linux_::seccomp_features();
  out["actions"] = f.actions;
  out["operators"] = f.operators;
  out["archs"] = f.archs;
  out["knownFlags"] = f.known_flags;
  out["supportedFlags"] = f.supported_flags;
  return out;
}

}  // namespace

nlohmann::ordered_json features() {
  json linux_part;
  linux_part["namespaces"] = names_of(spec::namespace_table());
  linux_part["capabilities"] = names_of(spec::capability_table());
  linux_part["cgroup"] = {{"v1", kCgroupV1},
                          {"v2", kCgroupV2},
                          {"systemd", kCgroupSystemd},
                          {"systemdUser", kCgroupSystemdUser},
                          {"rdma", kCgroupRdma}};
  linux_part["seccomp"] = seccomp_section();
  linux_part["apparmor"] = enabled(kAppArmorEnabled);
  linux_part["selinux"] = enabled(kSelinuxEnabled);
  linux_part["intelRdt"] = enabled(kIntelRdtEnabled);
  linux_part["mountExtensions"] = {{"idmap", enabled(linux_::idmap_mounts_supported())}};

  json f;
  f["ociVersionMin"] = spec::kOciVersionMin;
  f["ociVersionMax"] = spec::kOciVersion;
  f["hooks"] = hook_names();
  f["mountOptions"] = mount_option_names();
  f["linux"] = linux_part;
  f["annotations"] = {{kVersionAnnotation, OCI_RUN_VERSION}};
  return f;
}

int cmd_features(const GlobalOptions& /*global*/, int argc, char** argv) {
  static const option kLong[] = {
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0},
  };
  optind = 0;  // GNU: full re-initialisation, argv[0] is "features"
  opterr = 0;
  for (;;) {
    int c = getopt_long(argc, argv, "+h", kLong, nullptr);
    if (c == -1) break;
    if (c == 'h') {
      std::fputs(
          "Usage: oci-run features\n"
          "\n"
          "Show the enabled features (runtime-spec features document) as JSON.\n",
          stdout);
      return 0;
    }
    if (optopt != 0)
      throw Error(std::string("features: unknown option: -") + static_cast<char>(optopt));
    throw Error(std::string("features: unknown option: ") + argv[optind - 1]);
  }
  if (optind < argc) throw Error(std::string("features: unexpected argument: ") + argv[optind]);

  std::fputs((features().dump(2) + "\n").c_str(), stdout);
  return 0;
}

}  // namespace oci::cli
