#include <doctest/doctest.h>
#include <linux/mount.h>
#include <sys/mount.h>

#include "runtime/linux/mount_options.hpp"
#include "runtime/linux/rootfs.hpp"

using oci::linux_::plan_mount;

static oci::spec::Mount mount_with(std::string type, std::vector<std::string> opts) {
  oci::spec::Mount m;
  m.destination = "/x";
  m.type = std::move(type);
  m.options = std::move(opts);
  return m;
}

TEST_CASE("mount plan: flags, data and clearing") {
  auto p = plan_mount(mount_with("tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  CHECK(p.flags == (MS_NOSUID | MS_STRICTATIME));
  CHECK(p.data == "mode=755,size=65536k");
  CHECK_FALSE(p.bind);

  p = plan_mount(mount_with("proc", {"ro", "rw", "nodev"}));
  CHECK(p.flags == MS_NODEV);  // rw clears the earlier ro
}

TEST_CASE("mount plan: bind mounts and remount need") {
  auto p = plan_mount(mount_with("none", {"rbind", "ro", "nosuid"}));
  CHECK(p.bind);
  CHECK(p.recursive_bind);
  CHECK((p.flags & MS_BIND));
  CHECK((p.flags & MS_REC));
  CHECK(p.needs_remount());

  p = plan_mount(mount_with("bind", {}));
  CHECK(p.bind);
  CHECK_FALSE(p.recursive_bind);
  CHECK_FALSE(p.needs_remount());
}

TEST_CASE("mount plan: propagation is separate, in order") {
  auto p = plan_mount(mount_with("tmpfs", {"rprivate", "shared"}));
  REQUIRE(p.propagation.size() == 2);
  CHECK(p.propagation[0] == (MS_PRIVATE | MS_REC));
  CHECK(p.propagation[1] == MS_SHARED);
  CHECK(p.flags == 0);
}

TEST_CASE("mount plan: recursive attributes for mount_setattr") {
  auto p = plan_mount(mount_with("none", {"rbind", "rro", "rnosuid", "rnoatime"}));
  CHECK((p.attr_set & MOUNT_ATTR_RDONLY));
  CHECK((p.attr_set & MOUNT_ATTR_NOSUID));
  CHECK((p.attr_set & MOUNT_ATTR_NOATIME));
  CHECK((p.attr_clr & MOUNT_ATTR__ATIME));
  p = plan_mount(mount_with("none", {"rbind", "rro", "rrw"}));
  CHECK_FALSE((p.attr_set & MOUNT_ATTR_RDONLY));
  CHECK((p.attr_clr & MOUNT_ATTR_RDONLY));
}

TEST_CASE("mount plan: tmpcopyup is an extension, not mount data") {
  auto p = plan_mount(mount_with("tmpfs", {"rw", "nosuid", "tmpcopyup", "size=1m"}));
  CHECK(p.tmpcopyup);
  CHECK(p.data == "size=1m");
  CHECK(p.flags == MS_NOSUID);
  CHECK_FALSE(plan_mount(mount_with("tmpfs", {"size=1m"})).tmpcopyup);
}

TEST_CASE("host-side bind sources: plain binds only, not idmapped, cgroup or sysfs") {
  oci::spec::Config c;
  c.mounts.push_back(mount_with("proc", {}));
  c.mounts.push_back(mount_with("bind", {"ro"}));            // 1: type bind
  c.mounts.push_back(mount_with("none", {"rbind", "ro"}));   // 2: option rbind
  c.mounts.push_back(mount_with("", {"bind"}));              // 3: option bind, no type
  c.mounts.push_back(mount_with("bind", {"bind", "idmap"})); // idmapped: made by the runtime already
  c.mounts.back().uid_mappings = {{0, 100000, 1}};
  c.mounts.back().gid_mappings = {{0, 100000, 1}};
  c.mounts.push_back(mount_with("cgroup", {"ro"}));
  c.mounts.push_back(mount_with("sysfs", {"ro"}));
  c.mounts.push_back(mount_with("tmpfs", {"mode=755"}));
  CHECK(oci::linux_::host_side_bind_mounts(c) == std::vector<size_t>{1, 2, 3});
}
