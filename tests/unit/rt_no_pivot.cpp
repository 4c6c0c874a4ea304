// --no-pivot: which host procfs/sysfs mounts are hidden before the chroot.
#include <doctest/doctest.h>

#include "runtime/linux/rootfs.hpp"

using oci::linux_::revealing_mounts_outside;

TEST_CASE("revealing_mounts_outside: full procfs and sysfs outside the rootfs") {
  const char* mi =
      "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
      "23 1 0:22 / /sys rw,nosuid - sysfs sysfs rw\n"
      "24 23 0:23 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
      "25 1 0:21 /sys /mnt/procsys ro - proc proc rw\n"
      "26 1 8:1 / /b/rootfs rw - ext4 /dev/sda1 rw\n"
      "27 26 0:40 / /b/rootfs/proc rw - proc proc rw\n"
      "28 26 0:41 / /b/rootfs/sys ro - sysfs sysfs rw\n"
      "29 1 0:42 / /b/rootfs2/proc rw - proc proc rw\n"
      "30 1 0:43 / /with\\040space rw - proc proc rw\n"
      "31 1 0:44 / /opt shared:5 rw - sysfs sysfs rw\n"
      "garbage line\n";
  auto got = revealing_mounts_outside(mi, "/b/rootfs");
  std::vector<std::string> want = {"/proc", "/sys", "/b/rootfs2/proc", "/with space", "/opt"};
  CHECK(got == want);
}

TEST_CASE("revealing_mounts_outside: nothing to hide") {
  CHECK(revealing_mounts_outside("", "/r").empty());
  CHECK(revealing_mounts_outside("1 0 0:1 / /r/proc rw - proc proc rw\n", "/r").empty());
}
