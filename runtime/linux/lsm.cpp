#include "runtime/linux/lsm.hpp"

#include <linux/magic.h>
#include <sys/statfs.h>

#include "runtime/linux/proc.hpp"
#include "spec/error.hpp"

#ifndef SELINUX_MAGIC
#define SELINUX_MAGIC 0xf97cff8c
#endif

namespace oci::linux_ {
namespace {

class RealLsmHost final : public LsmHost {
 public:
  RealLsmHost() {
    try {
      // No module: no file (probed without an exception on the common path).
      auto v = read_pseudo_file_if_exists(PseudoFs::Sys, "/sys/module/apparmor/parameters/enabled");
      apparmor_ = v && !v->empty() && (*v)[0] == 'Y';
    } catch (const Error&) {
      apparmor_ = false;  // no module, no sysfs: not enabled
    }
    struct statfs sfs;
    selinux_ = ::statfs("/sys/fs/selinux", &sfs) == 0 &&
               static_cast<unsigned long>(sfs.f_type) == SELINUX_MAGIC;
  }
  bool apparmor_enabled() const override { return apparmor_; }
  bool selinux_enabled() const override { return selinux_; }

 private:
  bool apparmor_ = false;
  bool selinux_ = false;
};

// Types whose mount data takes an SELinux context= option (runtime-created
// pseudo filesystems). Bind mounts keep the source's labels; proc, sysfs and
// cgroup have fixed labels from the policy.
constexpr std::string_view kContextMountTypes[] = {"tmpfs", "devpts", "mqueue", "shm"};

}  // namespace

const LsmHost& host_lsm() {
  static const RealLsmHost host;
  return host;
}

void check_lsm_process(const spec::Process& p, const LsmHost& host, const std::string& source) {
  if (!p.apparmor_profile.empty() && !host.apparmor_enabled())
    throw Error(source + "process.apparmorProfile: AppArmor is not enabled on this host");
  if (!p.selinux_label.empty() && !host.selinux_enabled())
    throw Error(source + "process.selinuxLabel: SELinux is not enabled on this host");
}

void check_lsm_config(const spec::Config& c, const LsmHost& host) {
  if (c.process) check_lsm_process(*c.process, host, "config.json: ");
  if (c.linux && !c.linux->mount_label.empty() && !host.selinux_enabled())
    throw Error("config.json: linux.mountLabel: SELinux is not enabled on this host");
}

std::vector<LsmWrite> plan_lsm_exec(const spec::Process& p) {
  std::vector<LsmWrite> out;
  if (!p.apparmor_profile.empty())
    out.push_back({{"/proc/thread-self/attr/apparmor/exec", "/proc/thread-self/attr/exec"},
                   "exec " + p.apparmor_profile,
                   "process.apparmorProfile"});
  if (!p.selinux_label.empty())
    out.push_back({{"/proc/thread-self/attr/exec"}, p.selinux_label, "process.selinuxLabel"});
  return out;
}

void apply_lsm_exec(const std::vector<LsmWrite>& writes) {
  for (const auto& w : writes) {
    if (w.paths.empty()) continue;
    try {
      bool written = false;
      for (size_t i = 0; i + 1 < w.paths.size() && !written; ++i)
        written = write_pseudo_file_if_exists(PseudoFs::Proc, w.paths[i], w.data);
      // The last path is not optional: its absence is the error.
      if (!written) write_pseudo_file(PseudoFs::Proc, w.paths.back(), w.data);
    } catch (const Error& e) {
      throw Error(w.field + ": " + e.what());
    }
  }
}

bool mount_type_takes_context(std::string_view type) {
  for (auto t : kContextMountTypes)
    if (t == type) return true;
  return false;
}

std::string mount_data_with_label(const std::string& data, std::string_view type, bool bind,
                                  const std::string& label) {
  if (label.empty() || bind || !mount_type_takes_context(type)) return data;
  if (data.rfind("context=", 0) == 0 || data.find(",context=") != std::string::npos) return data;
  std::string opt = "context=\"" + label + "\"";
  return data.empty() ? opt : data + "," + opt;
}

}  // namespace oci::linux_
