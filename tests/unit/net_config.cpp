// oci-run-network: the networks YAML (parsing, defaults, validation errors).
#include <doctest/doctest.h>

#include <string>

#include "hooks/network/config.hpp"
#include "hooks/network/error.hpp"

using namespace ocinet;

namespace {

std::string error_of(const std::string& yaml) {
  try {
    parse_config(yaml, "nets.yaml");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("network config: a full network and defaults") {
  Config c = parse_config(
      "networks:\n"
      "  - name: web\n"
      "    bridge: ocibr1\n"
      "    subnet: 192.0.2.0/24\n"
      "    gateway: 192.0.2.254\n"
      "    range: {start: 192.0.2.10, end: 192.0.2.20}\n"
      "    nat: off\n"
      "    dns: [192.0.2.53, '2001:db8::53']\n"
      "  - name: default\n"
      "    bridge: ocirun0\n"
      "    subnet: 198.51.100.0/30\n",
      "nets.yaml");
  REQUIRE(c.networks.size() == 2);
  const Network* web = c.find("web");
  REQUIRE(web);
  CHECK(web->bridge == "ocibr1");
  CHECK(web->subnet.str() == "192.0.2.0/24");
  CHECK(web->gateway == *parse_ipv4("192.0.2.254"));
  CHECK(web->range_start == *parse_ipv4("192.0.2.10"));
  CHECK(web->range_end == *parse_ipv4("192.0.2.20"));
  CHECK_FALSE(web->nat);
  CHECK(web->dns == std::vector<std::string>{"192.0.2.53", "2001:db8::53"});

  const Network* d = c.find("default");
  REQUIRE(d);
  CHECK(d->gateway == *parse_ipv4("198.51.100.1"));      // first host
  CHECK(d->range_start == *parse_ipv4("198.51.100.1"));  // every host (the gateway is skipped)
  CHECK(d->range_end == *parse_ipv4("198.51.100.2"));
  CHECK(d->nat);
  CHECK(c.find("nope") == nullptr);
}

TEST_CASE("network config: the built-in default") {
  Config c = builtin_config();
  REQUIRE(c.find("default"));
  CHECK(c.find("default")->bridge == "ocirun0");
}

TEST_CASE("network config: bad YAML names file and line") {
  std::string e = error_of("networks:\n  - name: [unclosed\n");
  CHECK(contains(e, "nets.yaml: invalid YAML at line"));
  CHECK(contains(error_of(""), "expected a mapping"));
  CHECK(contains(error_of("networks: []\n"), "non-empty list"));
  CHECK(contains(error_of("networks:\n  - 3\n"), "expected a mapping"));
  CHECK(contains(error_of("nets: []\n"), "unknown key \"nets\""));
}

TEST_CASE("network config: validation errors") {
  const std::string head = "networks:\n  - name: n1\n    bridge: br1\n";
  CHECK(contains(error_of("networks:\n  - bridge: b\n    subnet: 192.0.2.0/24\n"),
                 "missing \"name\""));
  CHECK(contains(error_of(head), "missing \"subnet\""));
  CHECK(contains(error_of(head + "    subnet: 192.0.2.0\n"), "is not an IPv4 CIDR"));
  CHECK(contains(error_of(head + "    subnet: 192.0.2.300/24\n"), "is not an IPv4 CIDR"));
  CHECK(contains(error_of(head + "    subnet: 192.0.2.1/24\n"), "did you mean 192.0.2.0/24?"));
  CHECK(contains(error_of(head + "    subnet: 192.0.2.0/31\n"), "too small"));
  CHECK(contains(error_of(head + "    subnet: 192.0.2.0/24\n    gateway: 198.51.100.1\n"),
                 "not a host address of 192.0.2.0/24"));
  CHECK(contains(error_of(head + "    subnet: 192.0.2.0/24\n    gateway: 192.0.2.255\n"),
                 "not a host address"));
  CHECK(contains(
      error_of(head + "    subnet: 192.0.2.0/24\n    range: {start: 192.0.2.9, end: 192.0.2.3}\n"),
      "is after end"));
  CHECK(contains(error_of(head + "    subnet: 192.0.2.0/24\n    range: {start: 192.0.2.0}\n"),
                 "192.0.2.0 is not a host address"));
  CHECK(contains(error_of(head + "    subnet: 192.0.2.0/24\n    range: {begin: 192.0.2.2}\n"),
                 "unknown key \"begin\""));
  CHECK(contains(error_of(head + "    subnet: 192.0.2.0/24\n    nat: maybe\n"), "nat: \"maybe\""));
  CHECK(contains(error_of(head + "    subnet: 192.0.2.0/24\n    dns: [nope]\n"),
                 "not an IP address"));
  CHECK(contains(error_of(head + "    subnet: 192.0.2.0/24\n    mtu: 1500\n"),
                 "unknown key \"mtu\""));
  CHECK(contains(
      error_of(
          "networks:\n  - name: n1\n    bridge: a-very-long-bridge\n    subnet: 192.0.2.0/24\n"),
      "not a valid interface name"));
  CHECK(contains(error_of("networks:\n  - name: ../x\n    bridge: b\n    subnet: 192.0.2.0/24\n"),
                 "is not valid"));
  // The error names the network and the line.
  std::string e = error_of(head + "    subnet: 192.0.2.0/24\n    gateway: nope\n");
  CHECK(contains(e, "nets.yaml: line 5: network \"n1\": gateway: \"nope\" is not an IPv4 address"));
}

TEST_CASE("network config: networks must not clash") {
  const std::string a = "networks:\n  - name: a\n    bridge: bra\n    subnet: 192.0.2.0/24\n";
  CHECK(contains(error_of(a + "  - name: a\n    bridge: brb\n    subnet: 198.51.100.0/24\n"),
                 "defined twice"));
  CHECK(contains(error_of(a + "  - name: b\n    bridge: bra\n    subnet: 198.51.100.0/24\n"),
                 "bridge bra is already used"));
  CHECK(contains(error_of(a + "  - name: b\n    bridge: brb\n    subnet: 192.0.2.128/25\n"),
                 "overlaps"));
}

TEST_CASE("network config: which file") {
  std::map<std::string, std::string> none;
  CHECK(config_source(none, nullptr).path == kDefaultConfigPath);
  CHECK_FALSE(config_source(none, nullptr).chosen);
  CHECK(config_source(none, "/tmp/x.yaml").path == "/tmp/x.yaml");
  CHECK(config_source(none, "/tmp/x.yaml").chosen);
  std::map<std::string, std::string> ann{{kAnnConfig, "/etc/n.yaml"}};
  CHECK(config_source(ann, "/tmp/x.yaml").path == "/etc/n.yaml");
  // A chosen file must exist; only the default path falls back to the built-in network.
  CHECK_THROWS_AS(load_config({"/nonexistent/oci-run-net.yaml", true}), Error);
  CHECK(load_config({"/nonexistent/oci-run-net.yaml", false}).source == "built-in configuration");
}

TEST_CASE("network config: isolate and dns_search") {
  const std::string head = "networks:\n  - name: n\n    bridge: b\n    subnet: 192.0.2.0/24\n";
  Config d = parse_config(head, "nets.yaml");
  CHECK(d.networks[0].isolate);
  CHECK(d.networks[0].dns_search.empty());
  Config c = parse_config(head + "    isolate: false\n    dns_search: [svc.example, b.example]\n",
                          "nets.yaml");
  CHECK_FALSE(c.networks[0].isolate);
  CHECK(c.networks[0].dns_search == std::vector<std::string>{"svc.example", "b.example"});
  CHECK(contains(error_of(head + "    isolate: maybe\n"), "isolate: \"maybe\" is not true/false"));
  CHECK(contains(error_of(head + "    dns_search: [\"bad domain\"]\n"),
                 "dns_search: \"bad domain\" is not a domain name"));
  CHECK(contains(error_of(head + "    dns_search: svc.example\n"), "expected a list of domains"));
}
