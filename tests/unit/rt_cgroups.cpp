#include <doctest/doctest.h>

#include "runtime/cgroups/hierarchy.hpp"
#include "runtime/cgroups/manager.hpp"

using namespace oci::cgroups;

static const char* kHybridMountinfo =
    "30 25 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "32 30 0:28 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "33 30 0:29 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
    "34 30 0:30 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
    "35 30 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
    "36 25 0:28 /sub /mnt/bound rw,relatime - cgroup cgroup rw,memory\n";
static const char* kHybridCgroup =
    "5:cpu,cpuacct:/\n4:memory:/user/7\n3:name=systemd:/\n2:cpu:/a\n0::/\n";

TEST_CASE("cgroup layout: hybrid host") {
  auto l = parse_layout(kHybridMountinfo, kHybridCgroup);
  REQUIRE(l.v1.size() == 4);
  CHECK(l.v1[0].mountpoint == "/sys/fs/cgroup/cpu");
  CHECK(l.v1[0].own == "/a");
  CHECK(l.v1[1].controllers == std::vector<std::string>{"memory"});
  CHECK(l.v1[1].own == "/user/7");
  CHECK(l.v1[2].controllers == std::vector<std::string>{"name=systemd"});
  CHECK(l.v1[3].controllers == std::vector<std::string>{"cpu", "cpuacct"});
  REQUIRE(l.unified.has_value());
  CHECK(l.unified->mountpoint == "/sys/fs/cgroup/unified");
  CHECK_FALSE(l.pure_v2());
}

TEST_CASE("cgroup layout: pure v2 host") {
  auto l = parse_layout("40 1 0:40 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n",
                        "0::/init.scope\n");
  CHECK(l.pure_v2());
  CHECK(l.unified->own == "/init.scope");
}

TEST_CASE("cgroup path resolution") {
  CHECK(resolve_path("/a/b", "id", "/own") == "/a/b");
  CHECK(resolve_path("a/b", "id", "/own") == "/own/a/b");
  CHECK(resolve_path("", "c1", "/own") == "/own/c1");
  CHECK(resolve_path("", "c1", "/") == "/c1");
  CHECK(resolve_path("/a/../b", "id", "/") == "/b");
}

TEST_CASE("v1 device rules keep config order, then default allows") {
  std::vector<oci::spec::DeviceRule> rules(2);
  rules[0].allow = false;
  rules[0].access = "rwm";
  rules[1].allow = true;
  rules[1].type = "c";
  rules[1].major = 10;
  rules[1].access = "rw";
  auto w = v1_device_writes(rules);
  REQUIRE(w.size() > 3);
  CHECK_FALSE(w[0].allow);
  CHECK(w[0].rule == "a");
  CHECK(w[1].allow);
  CHECK(w[1].rule == "c 10:* rw");
  CHECK(w[2].rule == "c *:* m");
  CHECK(v1_device_writes({}).empty());
}

TEST_CASE("resources not implemented yet are refused by name") {
  oci::spec::Resources r;
  CHECK_NOTHROW(check_supported(r));
  r.pids = oci::spec::Pids{10};
  CHECK_THROWS_WITH(check_supported(r), "linux.resources.pids: not supported by this version of oci-run");
}
