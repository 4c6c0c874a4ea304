// oci-run-network: the state directory (leases, network records, lock).
#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include "hooks/network/error.hpp"
#include "hooks/network/store.hpp"

using namespace ocinet;
namespace stdfs = std::filesystem;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/net-store-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    path = tmpl;
  }
  ~TempDir() { stdfs::remove_all(path); }
};

Lease lease(const std::string& id, const std::string& network, const std::string& ip) {
  Lease l;
  l.id = id;
  l.network = network;
  l.ip = *parse_ipv4(ip);
  return l;
}

}  // namespace

TEST_CASE("store: leases per network, found by id, removed with the network") {
  TempDir tmp;
  Store s(tmp.path + "/state");
  CHECK(s.networks().empty());
  CHECK(s.load_leases("a").leases.empty());

  LeaseTable t;
  t.leases.push_back(lease("c1", "a", "192.0.2.2"));
  t.last = t.leases[0].ip;
  s.save_leases("a", t);
  LeaseTable u;
  u.leases.push_back(lease("c2", "b", "198.51.100.2"));
  s.save_leases("b", u);

  CHECK(s.networks() == std::vector<std::string>{"a", "b"});
  CHECK(s.load_leases("a").last == t.last);
  REQUIRE(s.find_lease("c2"));
  CHECK(s.find_lease("c2")->network == "b");
  CHECK_FALSE(s.find_lease("c3"));
  CHECK(s.all_leases().size() == 2);
  // No temporary files are left beside the state.
  for (const auto& e : stdfs::recursive_directory_iterator(tmp.path))
    CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);

  NetworkState ns;
  ns.network = "a";
  ns.bridge = "bra";
  ns.subnet = *parse_cidr("192.0.2.0/24");
  ns.gateway = *parse_ipv4("192.0.2.1");
  ns.bridge_created = true;
  ns.route_localnet_prev = "0";
  ns.host_netns = 4026531840;
  s.save_network(ns);
  auto back = s.load_network("a");
  REQUIRE(back);
  CHECK(back->bridge == "bra");
  CHECK(back->subnet.str() == "192.0.2.0/24");
  CHECK(back->bridge_created);
  CHECK_FALSE(back->gateway_added);
  CHECK(back->route_localnet_prev == "0");
  CHECK(back->host_netns == 4026531840);

  s.remove_network("a");
  CHECK(s.networks() == std::vector<std::string>{"b"});
  CHECK_FALSE(s.load_network("a"));

  CHECK_FALSE(s.load_host());
  s.save_host({77});
  REQUIRE(s.load_host());
  CHECK(s.load_host()->host_netns == 77);
  s.remove_host();
  CHECK_FALSE(s.load_host());
}

TEST_CASE("store: the lock is exclusive and released with its fd") {
  TempDir tmp;
  Store s(tmp.path);
  {
    auto held = s.lock(1000);
    // flock belongs to the open file: a second open in the same process conflicts.
    CHECK_THROWS_WITH_AS(s.lock(50), doctest::Contains("stayed locked"), Error);
  }
  CHECK_NOTHROW(s.lock(50));
}

TEST_CASE("store: a corrupt state file is an error naming it") {
  TempDir tmp;
  Store s(tmp.path);
  stdfs::create_directories(tmp.path + "/n");
  write_file_atomic(tmp.path + "/n/leases.json", "{\"leases\": [{\"id\": \"x\"}]}");
  CHECK_THROWS_WITH_AS(s.load_leases("n"),
                       doctest::Contains("leases.json: a lease without id or ip"), Error);
  write_file_atomic(tmp.path + "/n/leases.json", "not json");
  CHECK_THROWS_WITH_AS(s.load_leases("n"), doctest::Contains("corrupt state file"), Error);
}
