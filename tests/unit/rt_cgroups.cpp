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

TEST_CASE("v1 device rules: config order first, then the defaults it does not deny") {
  std::vector<oci::spec::DeviceRule> rules(3);
  rules[0].allow = false;
  rules[0].access = "rwm";
  rules[1].allow = true;
  rules[1].type = "c";
  rules[1].major = 10;
  rules[1].access = "rw";
  rules[2].allow = false;
  rules[2].type = "c";
  rules[2].major = 1;
  rules[2].minor = 5;
  auto w = v1_device_writes(rules);
  REQUIRE(w.size() == 13);  // 3 + 11 defaults - c 1:5
  CHECK_FALSE(w[0].allow);
  CHECK(w[0].rule == "a");
  CHECK(w[1].allow);
  CHECK(w[1].rule == "c 10:* rw");
  CHECK_FALSE(w[2].allow);
  CHECK(w[2].rule == "c 1:5 rwm");  // empty access means rwm
  CHECK(w[3].allow);
  CHECK(w[3].rule == "c *:* m");
  CHECK(w[4].rule == "b *:* m");
  CHECK(w[5].rule == "c 1:3 rwm");
  CHECK(w[6].rule == "c 1:7 rwm");  // c 1:5 left out: the config denies it
  CHECK(w[12].rule == "c 10:200 rwm");
  CHECK(v1_device_writes({}).empty());
}

TEST_CASE("v1 device rules: an \"a\" line is written bare; wildcard denies drop the defaults they cover") {
  std::vector<oci::spec::DeviceRule> rules(1);
  rules[0].allow = false;
  rules[0].type = "b";
  rules[0].access = "m";
  auto w = v1_device_writes(rules);
  REQUIRE(w.size() == 11);  // "b *:* m" is denied by the config
  CHECK(w[0].rule == "b *:* m");
  CHECK_FALSE(w[0].allow);
  CHECK(w[1].rule == "c *:* m");
  for (const auto& x : w) CHECK((x.rule != "b *:* m" || !x.allow));
  rules[0].type = "c";
  rules[0].major = 136;
  CHECK(v1_device_writes(rules).size() == 11);  // c 136:* rwm left out
  rules[0].minor = 3;
  CHECK(v1_device_writes(rules).size() == 12);  // a single pts does not cover "c 136:*"
  oci::spec::DeviceRule all;
  all.allow = true;
  all.type = "a";
  all.major = 1;
  all.access = "r";
  CHECK(v1_device_writes({all})[0].rule == "a");
}

TEST_CASE("driver selection") {
  auto hybrid = parse_layout(kHybridMountinfo, kHybridCgroup);
  CHECK(select_driver(hybrid, nullptr) == Driver::Hybrid);
  CHECK(select_driver(hybrid, "") == Driver::Hybrid);
  CHECK(select_driver(hybrid, "auto") == Driver::Hybrid);
  CHECK(select_driver(hybrid, "v2") == Driver::V2);
  CHECK(select_driver(hybrid, "v1") == Driver::V1);
  CHECK(select_driver(hybrid, "hybrid") == Driver::Hybrid);
  CHECK_THROWS_WITH(select_driver(hybrid, "systemd"),
                    "OCI_RUN_CGROUP_DRIVER=systemd: unknown driver (use v1, v2, hybrid or auto)");
  auto v2 = parse_layout("40 1 0:40 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "0::/\n");
  CHECK(select_driver(v2, nullptr) == Driver::V2);
  CHECK_THROWS_WITH(select_driver(v2, "v1"),
                    "OCI_RUN_CGROUP_DRIVER=v1: no cgroup v1 hierarchy is mounted on this host");
  auto v1 =
      parse_layout("31 30 0:27 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n", "2:cpu:/\n");
  CHECK(select_driver(v1, nullptr) == Driver::V1);
  CHECK_THROWS_WITH(select_driver(v1, "v2"),
                    "OCI_RUN_CGROUP_DRIVER=v2: no cgroup2 hierarchy is mounted on this host");
  CHECK(std::string(driver_name(Driver::Hybrid)) == "hybrid");
}

TEST_CASE("cgroup record: JSON round trip and v1 dir lookup") {
  Record r;
  r.path = "/x";
  r.dirs = {"/sys/fs/cgroup/cpu,cpuacct/x", "/sys/fs/cgroup/memory/x"};
  r.controllers = {{"cpu", "cpuacct"}, {"memory"}};
  r.created = r.dirs;
  r.driver = "hybrid";
  r.unified = "/sys/fs/cgroup/unified/x";
  r.unified_mount = "/sys/fs/cgroup/unified";
  Record back = record_from_json(to_json(r));
  CHECK(back.dirs == r.dirs);
  CHECK(back.controllers == r.controllers);
  CHECK(back.driver == "hybrid");
  CHECK(back.unified == r.unified);
  CHECK(back.unified_mount == r.unified_mount);
  CHECK(back.v1_dir("cpuacct") == "/sys/fs/cgroup/cpu,cpuacct/x");
  CHECK(back.v1_dir("memory") == "/sys/fs/cgroup/memory/x");
  CHECK(back.v1_dir("pids").empty());
  CHECK_FALSE(back.v2());
  CHECK(back.all_dirs() == std::vector<std::string>{"/sys/fs/cgroup/cpu,cpuacct/x",
                                                    "/sys/fs/cgroup/memory/x",
                                                    "/sys/fs/cgroup/unified/x"});
  back.driver = "v2";
  back.dirs = {back.unified};
  CHECK(back.all_dirs() == std::vector<std::string>{"/sys/fs/cgroup/unified/x"});
  CHECK(back.v1_dir("memory").empty());
}

TEST_CASE("cgroup record: files from older versions still load") {
  auto j = nlohmann::json::parse(R"({"path":"","dirs":["/nonexistent/cgroup/x"],"created":[]})");
  Record r = record_from_json(j);
  CHECK(r.driver == "v1");
  CHECK(r.controllers.size() == 1);
  CHECK(r.unified.empty());
  Record empty = record_from_json(nlohmann::json::object());
  CHECK(empty.dirs.empty());
  CHECK(empty.driver == "v1");
}
