// oci-run-network: address allocation, reclaiming and port conflicts.
#include <doctest/doctest.h>

#include <set>

#include "hooks/network/error.hpp"
#include "hooks/network/ipam.hpp"
#include "hooks/network/store.hpp"

using namespace ocinet;

namespace {

Network net(const std::string& subnet, const std::string& start = "", const std::string& end = "") {
  Network n;
  n.name = "t";
  n.bridge = "brt";
  n.subnet = *parse_cidr(subnet);
  n.gateway = n.subnet.network + 1;
  n.range_start = start.empty() ? n.subnet.network + 1 : *parse_ipv4(start);
  n.range_end = end.empty() ? n.subnet.broadcast() - 1 : *parse_ipv4(end);
  return n;
}

Lease lease(const std::string& id, const std::string& ip, std::vector<PortMapping> ports = {}) {
  Lease l;
  l.id = id;
  l.network = "t";
  l.ip = *parse_ipv4(ip);
  l.ports = std::move(ports);
  return l;
}

// Containers whose ids are in `dead` no longer exist.
AliveFn alive_except(std::set<std::string> dead) {
  return [dead](const Lease& l) { return !dead.count(l.id); };
}

std::string ip(Ipv4 v) { return format_ipv4(v); }

}  // namespace

TEST_CASE("ipam: sequential allocation skips the gateway and resumes after the last") {
  Network n = net("192.0.2.0/29");  // hosts .1-.6, gateway .1
  LeaseTable t;
  Allocation a = allocate(n, t, std::nullopt, alive_except({}));
  CHECK(ip(a.ip) == "192.0.2.2");
  t.leases.push_back(lease("a", "192.0.2.2"));
  t.last = a.ip;
  a = allocate(n, t, std::nullopt, alive_except({}));
  CHECK(ip(a.ip) == "192.0.2.3");
  // A released address is not handed out again at once: allocation goes on after `last`.
  t.leases.clear();
  t.last = *parse_ipv4("192.0.2.3");
  CHECK(ip(allocate(n, t, std::nullopt, alive_except({})).ip) == "192.0.2.4");
  // Wraps around the end of the range.
  t.last = *parse_ipv4("192.0.2.6");
  CHECK(ip(allocate(n, t, std::nullopt, alive_except({})).ip) == "192.0.2.2");
  CHECK(a.reclaimed.empty());
}

TEST_CASE("ipam: a configured range") {
  Network n = net("192.0.2.0/24", "192.0.2.100", "192.0.2.101");
  LeaseTable t;
  t.leases.push_back(lease("a", "192.0.2.100"));
  CHECK(ip(allocate(n, t, std::nullopt, alive_except({})).ip) == "192.0.2.101");
  t.leases.push_back(lease("b", "192.0.2.101"));
  CHECK_THROWS_WITH_AS(allocate(n, t, std::nullopt, alive_except({})),
                       doctest::Contains("no free address: all 2 of 192.0.2.100-192.0.2.101"),
                       Error);
}

TEST_CASE("ipam: an exhausted /30 and reclaiming dead containers' leases") {
  Network n = net("192.0.2.0/30");  // .1 gateway, .2 the only address
  LeaseTable t;
  Allocation a = allocate(n, t, std::nullopt, alive_except({}));
  CHECK(ip(a.ip) == "192.0.2.2");
  t.leases.push_back(lease("first", "192.0.2.2"));
  t.last = a.ip;
  CHECK_THROWS_WITH_AS(allocate(n, t, std::nullopt, alive_except({})),
                       doctest::Contains("network \"t\" (192.0.2.0/30) has no free address"),
                       Error);
  // The holder is gone: its lease is reclaimed.
  a = allocate(n, t, std::nullopt, alive_except({"first"}));
  CHECK(ip(a.ip) == "192.0.2.2");
  REQUIRE(a.reclaimed.size() == 1);
  CHECK(a.reclaimed[0].id == "first");
}

TEST_CASE("ipam: dead leases are only reclaimed when addresses run out") {
  Network n = net("192.0.2.0/29");
  LeaseTable t;
  t.leases.push_back(lease("dead", "192.0.2.2"));
  Allocation a = allocate(n, t, std::nullopt, alive_except({"dead"}));
  CHECK(ip(a.ip) == "192.0.2.3");
  CHECK(a.reclaimed.empty());
}

TEST_CASE("ipam: static addresses") {
  Network n = net("192.0.2.0/24");
  LeaseTable t;
  t.leases.push_back(lease("holder", "192.0.2.7"));
  CHECK(ip(allocate(n, t, *parse_ipv4("192.0.2.50"), alive_except({})).ip) == "192.0.2.50");
  CHECK_THROWS_WITH_AS(
      allocate(n, t, *parse_ipv4("192.0.2.7"), alive_except({})),
      doctest::Contains("static address 192.0.2.7 of network \"t\" (192.0.2.0/24) is already "
                        "leased to container holder"),
      Error);
  CHECK_THROWS_WITH_AS(allocate(n, t, *parse_ipv4("198.51.100.7"), alive_except({})),
                       doctest::Contains("is not a host address"), Error);
  CHECK_THROWS_WITH_AS(allocate(n, t, *parse_ipv4("192.0.2.255"), alive_except({})),
                       doctest::Contains("is not a host address"), Error);
  CHECK_THROWS_WITH_AS(allocate(n, t, *parse_ipv4("192.0.2.1"), alive_except({})),
                       doctest::Contains("is the gateway"), Error);
  // Held by a container that is gone: reclaimed.
  Allocation a = allocate(n, t, *parse_ipv4("192.0.2.7"), alive_except({"holder"}));
  CHECK(ip(a.ip) == "192.0.2.7");
  REQUIRE(a.reclaimed.size() == 1);
  CHECK(a.reclaimed[0].id == "holder");
}

TEST_CASE("ipam: host ports are unique across networks") {
  Lease a = lease("a", "192.0.2.2", {{8080, 80, "tcp"}});
  Lease b = lease("b", "192.0.2.3", {{5353, 53, "udp"}});
  b.network = "other";
  std::vector<const Lease*> all{&a, &b};
  CHECK(check_ports({{8081, 80, "tcp"}, {8080, 80, "udp"}}, all, alive_except({})).empty());
  CHECK_THROWS_WITH_AS(
      check_ports({{5353, 53, "udp"}}, all, alive_except({})),
      doctest::Contains("host port 5353/udp is already mapped to container b (network \"other\")"),
      Error);
  auto stale = check_ports({{8080, 8080, "tcp"}}, all, alive_except({"a"}));
  REQUIRE(stale.size() == 1);
  CHECK(stale[0].id == "a");
}

TEST_CASE("ipam: lease tables survive a round trip through JSON") {
  LeaseTable t;
  t.last = *parse_ipv4("192.0.2.9");
  Lease l = lease("c1", "192.0.2.9", {{8080, 80, "tcp"}, {53, 53, "udp"}});
  l.veth = "oci0011aabb";
  l.pid = 1234;
  l.pid_start = 99887766;
  l.netns_inode = 4026532000;
  l.host_netns = 4026531840;
  l.static_ip = true;
  l.created = "2024-01-01T00:00:00Z";
  t.leases.push_back(l);
  LeaseTable back = lease_table_from_json(lease_table_to_json(t), "leases.json");
  CHECK(back.last == t.last);
  REQUIRE(back.leases.size() == 1);
  const Lease& r = back.leases[0];
  CHECK(r.id == "c1");
  CHECK(r.ip == l.ip);
  CHECK(r.ports == l.ports);
  CHECK(r.veth == l.veth);
  CHECK(r.pid == 1234);
  CHECK(r.pid_start == 99887766);
  CHECK(r.netns_inode == 4026532000);
  CHECK(r.host_netns == 4026531840);
  CHECK(r.static_ip);
  CHECK_THROWS_WITH_AS(lease_table_from_json("{nope", "leases.json"),
                       doctest::Contains("corrupt state file"), Error);
}
