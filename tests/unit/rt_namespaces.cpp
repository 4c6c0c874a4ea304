#include <doctest/doctest.h>
#include <sched.h>

#include "runtime/linux/namespaces.hpp"
#include "runtime/linux/sys.hpp"

using oci::linux_::plan_namespaces;

static oci::spec::Linux with_ns(std::vector<std::pair<std::string, std::string>> ns) {
  oci::spec::Linux l;
  for (auto& [t, p] : ns) l.namespaces.push_back({t, p});
  return l;
}

TEST_CASE("namespace plan: all new in one clone") {
  auto l = with_ns({{"pid", ""}, {"network", ""}, {"mount", ""}, {"ipc", ""}, {"uts", ""}});
  auto p = plan_namespaces(&l);
  CHECK(p.clone_flags == (CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS));
  CHECK(p.child_join.empty());
  CHECK(p.parent_join.empty());
  CHECK_FALSE(p.fork_for_pid);
  CHECK(p.new_pid);
}

TEST_CASE("namespace plan: cgroup and time are not clone flags") {
  auto l = with_ns({{"cgroup", ""}, {"time", ""}, {"mount", ""}});
  auto p = plan_namespaces(&l);
  CHECK(p.clone_flags == CLONE_NEWNS);
  CHECK(p.new_cgroup);
  CHECK(p.new_time);
}

TEST_CASE("namespace plan: pid and time paths are joined by the parent") {
  auto l = with_ns({{"pid", "/proc/1/ns/pid"}, {"time", "/proc/1/ns/time"}, {"mount", ""}});
  auto p = plan_namespaces(&l);
  REQUIRE(p.parent_join.size() == 2);
  CHECK(p.parent_join[0].flag == CLONE_NEWPID);
  CHECK(p.clone_flags == CLONE_NEWNS);
  CHECK_FALSE(p.new_pid);
}

TEST_CASE("namespace plan: joins without a user namespace keep the single clone") {
  auto l = with_ns({{"pid", ""}, {"network", "/run/netns/x"}, {"mount", ""}});
  auto p = plan_namespaces(&l);
  CHECK(p.clone_flags == (CLONE_NEWPID | CLONE_NEWNS));
  REQUIRE(p.child_join.size() == 1);
  CHECK(p.child_join[0].flag == CLONE_NEWNET);
  CHECK(p.child_join[0].index == 1);
  CHECK_FALSE(p.fork_for_pid);
}

TEST_CASE("namespace plan: new user ns plus joins unshares after joining") {
  auto l = with_ns({{"user", ""}, {"pid", ""}, {"network", "/run/netns/x"}, {"mount", ""}});
  auto p = plan_namespaces(&l);
  CHECK(p.clone_flags == 0);
  CHECK(p.user_via_unshare);
  CHECK(p.unshare_flags == (CLONE_NEWPID | CLONE_NEWNS));
  CHECK(p.fork_for_pid);
}

TEST_CASE("namespace plan: a joined user namespace is entered first") {
  auto l = with_ns({{"network", "/n"}, {"user", "/u"}, {"mount", ""}});
  auto p = plan_namespaces(&l);
  REQUIRE(p.child_join.size() == 2);
  CHECK(p.child_join[0].flag == CLONE_NEWUSER);
  CHECK(p.child_join[1].flag == CLONE_NEWNET);
  CHECK(p.unshare_flags == CLONE_NEWNS);
  CHECK_FALSE(p.user_via_unshare);
}

TEST_CASE("namespace plan: a new user namespace alone is one clone") {
  auto l = with_ns({{"user", ""}, {"mount", ""}});
  auto p = plan_namespaces(&l);
  CHECK(p.clone_flags == (CLONE_NEWUSER | CLONE_NEWNS));
  CHECK(p.new_user);
  CHECK_FALSE(p.user_via_unshare);
}

TEST_CASE("id map and time offset formatting") {
  oci::spec::Linux l;
  l.uid_mappings = {{0, 1000, 1}, {1, 100000, 65536}};
  CHECK(oci::linux_::format_id_map(l.uid_mappings) == "0 1000 1\n1 100000 65536\n");
  l.time_offsets["monotonic"] = {5, 10};
  l.time_offsets["boottime"] = {-2, 0};
  CHECK(oci::linux_::format_time_offsets(l) == "boottime -2 0\nmonotonic 5 10\n");
}

TEST_CASE("namespace plan: lo is brought up only in a network namespace of the container's own") {
  auto fresh = with_ns({{"network", ""}, {"mount", ""}});
  CHECK(plan_namespaces(&fresh).new_net);
  auto joined = with_ns({{"network", "/run/netns/x"}, {"mount", ""}});
  CHECK_FALSE(plan_namespaces(&joined).new_net);
  auto none = with_ns({{"mount", ""}, {"pid", ""}});
  CHECK_FALSE(plan_namespaces(&none).new_net);
  // Created by unshare after joining a user namespace: still its own.
  auto via_unshare = with_ns({{"user", "/proc/1/ns/user"}, {"network", ""}});
  auto p = plan_namespaces(&via_unshare);
  CHECK(p.new_net);
  CHECK((p.unshare_flags & CLONE_NEWNET) != 0);
}
