// Rootless decisions that need no privilege to test: who writes the id maps,
// which cgroup hierarchies are used, what counts as the initial user namespace.
#include <doctest/doctest.h>

#include <set>

#include "runtime/cgroups/delegation.hpp"
#include "runtime/linux/namespaces.hpp"

using oci::linux_::MapWriter;
using oci::linux_::map_writer;

TEST_CASE("id maps: root writes any map itself") {
  std::vector<oci::spec::IdMapping> maps{{0, 100000, 65536}};
  CHECK(map_writer(maps, true, 0, false) == MapWriter::Direct);
  CHECK(map_writer(maps, true, 0, true) == MapWriter::Direct);
}

TEST_CASE("id maps: a user maps its own id itself, gid only after denying setgroups") {
  std::vector<oci::spec::IdMapping> own{{0, 1000, 1}};
  CHECK(map_writer(own, false, 1000, false) == MapWriter::Direct);
  CHECK(map_writer(own, false, 1000, true) == MapWriter::DirectDenySetgroups);
}

TEST_CASE("id maps: anything more needs newuidmap/newgidmap") {
  CHECK(map_writer({{0, 1000, 2}}, false, 1000, false) == MapWriter::Helper);
  CHECK(map_writer({{0, 1001, 1}}, false, 1000, false) == MapWriter::Helper);
  CHECK(map_writer({{0, 1000, 1}, {1, 100000, 65536}}, false, 1000, true) == MapWriter::Helper);
}

TEST_CASE("initial user namespace: only the full identity map") {
  CHECK(oci::linux_::is_initial_uid_map("         0          0 4294967295\n"));
  CHECK_FALSE(oci::linux_::is_initial_uid_map("         0       1000          1\n"));
  CHECK_FALSE(oci::linux_::is_initial_uid_map("0 0 4294967294\n"));
  CHECK_FALSE(oci::linux_::is_initial_uid_map("0 0 1000\n1000 1000 4294966295\n"));
  CHECK_FALSE(oci::linux_::is_initial_uid_map(""));
}

TEST_CASE("rootless cgroups: only delegated hierarchies are kept") {
  oci::cgroups::Layout l;
  l.v1 = {{"/sys/fs/cgroup/memory", {"memory"}, false, "/"},
          {"/sys/fs/cgroup/pids", {"pids"}, false, "/user"}};
  l.unified = oci::cgroups::Hierarchy{"/sys/fs/cgroup/unified", {}, true, "/"};
  std::set<std::string> writable{"/sys/fs/cgroup/pids/user/c"};
  auto d = oci::cgroups::split_delegated(
      l, [](const oci::cgroups::Hierarchy& h) { return h.mountpoint + h.own + (h.own == "/" ? "c" : "/c"); },
      [&](const std::string& dir) { return writable.count(dir) > 0; });
  REQUIRE(d.usable.v1.size() == 1);
  CHECK(d.usable.v1[0].controllers == std::vector<std::string>{"pids"});
  CHECK_FALSE(d.usable.unified.has_value());
  CHECK(d.skipped == std::vector<std::string>{"/sys/fs/cgroup/memory/c", "/sys/fs/cgroup/unified/c"});
}

TEST_CASE("rootless cgroups: nothing delegated leaves an empty layout") {
  oci::cgroups::Layout l;
  l.unified = oci::cgroups::Hierarchy{"/sys/fs/cgroup", {}, true, "/"};
  auto d = oci::cgroups::split_delegated(
      l, [](const oci::cgroups::Hierarchy& h) { return h.mountpoint + "/x"; },
      [](const std::string&) { return false; });
  CHECK(d.usable.v1.empty());
  CHECK_FALSE(d.usable.unified.has_value());
  CHECK(d.skipped.size() == 1);
}
