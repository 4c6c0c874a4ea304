// linux/lsm.hpp with a fake host: which fields are refused, what would be
// written to /proc/thread-self/attr, which mounts get context=. (This host has
// neither AppArmor nor SELinux; the kernel side cannot be shown here.)
#include <doctest/doctest.h>

#include <string>

#include "runtime/linux/lsm.hpp"
#include "runtime/linux/proc.hpp"
#include "spec/error.hpp"
#include "spec/parse.hpp"

using namespace oci;

namespace {

struct FakeHost final : linux_::LsmHost {
  bool apparmor = false, selinux = false;
  bool apparmor_enabled() const override { return apparmor; }
  bool selinux_enabled() const override { return selinux; }
};

std::string error_of(auto&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

spec::Config config_with(const char* process_extra, const char* linux_extra) {
  std::string text = std::string(R"({"ociVersion": "1.3.0", "root": {"path": "r"},
    "process": {"args": ["sh"], "cwd": "/")") + process_extra + R"(},
    "linux": {"namespaces": [{"type": "mount"}])" + linux_extra + "}}";
  return spec::parse_config(text);
}

}  // namespace

TEST_CASE("LSM fields are refused with the existing wording when the host lacks the LSM") {
  FakeHost none;
  auto aa = config_with(R"(, "apparmorProfile": "p")", "");
  auto se = config_with(R"(, "selinuxLabel": "system_u:system_r:container_t:s0")", "");
  auto ml = config_with("", R"(, "mountLabel": "system_u:object_r:container_file_t:s0")");
  CHECK(error_of([&] { linux_::check_lsm_config(aa, none); }) ==
        "config.json: process.apparmorProfile: AppArmor is not enabled on this host");
  CHECK(error_of([&] { linux_::check_lsm_config(se, none); }) ==
        "config.json: process.selinuxLabel: SELinux is not enabled on this host");
  CHECK(error_of([&] { linux_::check_lsm_config(ml, none); }) ==
        "config.json: linux.mountLabel: SELinux is not enabled on this host");
  CHECK(error_of([&] { linux_::check_lsm_process(*aa.process, none, ""); }) ==
        "process.apparmorProfile: AppArmor is not enabled on this host");

  FakeHost apparmor;
  apparmor.apparmor = true;
  CHECK_NOTHROW(linux_::check_lsm_config(aa, apparmor));
  CHECK_THROWS(linux_::check_lsm_config(se, apparmor));
  CHECK_THROWS(linux_::check_lsm_config(ml, apparmor));
  FakeHost selinux;
  selinux.selinux = true;
  CHECK_THROWS(linux_::check_lsm_config(aa, selinux));
  CHECK_NOTHROW(linux_::check_lsm_config(se, selinux));
  CHECK_NOTHROW(linux_::check_lsm_config(ml, selinux));
  CHECK_NOTHROW(linux_::check_lsm_config(config_with("", ""), none));
}

TEST_CASE("what is written to /proc/thread-self/attr before execve") {
  spec::Process p;
  CHECK(linux_::plan_lsm_exec(p).empty());
  p.apparmor_profile = "container-default";
  p.selinux_label = "system_u:system_r:container_t:s0:c1,c2";
  auto w = linux_::plan_lsm_exec(p);
  REQUIRE(w.size() == 2);
  CHECK(w[0].paths ==
        std::vector<std::string>{"/proc/thread-self/attr/apparmor/exec", "/proc/thread-self/attr/exec"});
  CHECK(w[0].data == "exec container-default");
  CHECK(w[0].field == "process.apparmorProfile");
  CHECK(w[1].paths == std::vector<std::string>{"/proc/thread-self/attr/exec"});
  CHECK(w[1].data == "system_u:system_r:container_t:s0:c1,c2");
  CHECK(w[1].field == "process.selinuxLabel");
}

TEST_CASE("apply_lsm_exec: first existing path wins, the last one must exist, errors name the field") {
  // /proc/thread-self/comm stands in for attr/exec: harmless, writable by us.
  std::string old = linux_::read_pseudo_file(linux_::PseudoFs::Proc, "/proc/thread-self/comm");
  linux_::apply_lsm_exec({{{"/proc/thread-self/attr/no-such-lsm/exec", "/proc/thread-self/comm"},
                           "lsm-fallback",
                           "process.apparmorProfile"}});
  CHECK(linux_::read_pseudo_file(linux_::PseudoFs::Proc, "/proc/thread-self/comm") ==
        "lsm-fallback\n");
  linux_::apply_lsm_exec({{{"/proc/thread-self/comm", "/proc/thread-self/attr/no-such"}, "lsm-first",
                           "process.apparmorProfile"}});
  CHECK(linux_::read_pseudo_file(linux_::PseudoFs::Proc, "/proc/thread-self/comm") == "lsm-first\n");
  linux_::write_pseudo_file(linux_::PseudoFs::Proc, "/proc/thread-self/comm",
                            old.substr(0, old.size() - 1));
  CHECK(error_of([] {
          linux_::apply_lsm_exec({{{"/proc/thread-self/attr/no-such-lsm/exec",
                                    "/proc/thread-self/attr/no-such-lsm/exec2"},
                                   "exec p",
                                   "process.apparmorProfile"}});
        }) == "process.apparmorProfile: open /proc/thread-self/attr/no-such-lsm/exec2: No such file "
              "or directory");
}

TEST_CASE("linux.mountLabel: context= only for the mount types that take it, never for binds") {
  const std::string label = "system_u:object_r:container_file_t:s0:c1,c2";
  const std::string ctx = "context=\"" + label + "\"";
  using linux_::mount_data_with_label;
  CHECK(mount_data_with_label("", "tmpfs", false, label) == ctx);
  CHECK(mount_data_with_label("mode=755,size=65536k", "tmpfs", false, label) ==
        "mode=755,size=65536k," + ctx);
  CHECK(mount_data_with_label("newinstance,ptmxmode=0666", "devpts", false, label) ==
        "newinstance,ptmxmode=0666," + ctx);
  CHECK(mount_data_with_label("", "mqueue", false, label) == ctx);
  // fixed labels from the policy, or the source's own labels
  CHECK(mount_data_with_label("", "proc", false, label) == "");
  CHECK(mount_data_with_label("", "sysfs", false, label) == "");
  CHECK(mount_data_with_label("", "cgroup", false, label) == "");
  CHECK(mount_data_with_label("", "bind", true, label) == "");
  CHECK(mount_data_with_label("", "tmpfs", true, label) == "");  // type tmpfs, options rbind
  // no label, or the user gave a context already
  CHECK(mount_data_with_label("size=1m", "tmpfs", false, "") == "size=1m");
  CHECK(mount_data_with_label("context=\"x\",size=1m", "tmpfs", false, label) == "context=\"x\",size=1m");
  CHECK(mount_data_with_label("size=1m,context=\"x\"", "tmpfs", false, label) == "size=1m,context=\"x\"");
}
