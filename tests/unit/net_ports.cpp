// oci-run-network: the org.oci-run.network.ports annotation.
#include <doctest/doctest.h>

#include "hooks/network/error.hpp"
#include "hooks/network/ports.hpp"

using namespace ocinet;

namespace {
std::string error_of(const std::string& spec) {
  try {
    parse_ports(spec);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("ports: mappings with protocols and defaults") {
  auto p = parse_ports("8080:80/tcp, 5353:53/udp,9000:9001,443");
  REQUIRE(p.size() == 4);
  CHECK(p[0] == PortMapping{8080, 80, "tcp"});
  CHECK(p[1] == PortMapping{5353, 53, "udp"});
  CHECK(p[2] == PortMapping{9000, 9001, "tcp"});
  CHECK(p[3] == PortMapping{443, 443, "tcp"});
  CHECK(p[1].str() == "5353:53/udp");
  CHECK(parse_ports("").empty());
  CHECK(parse_ports("  ").empty());
  // The same host port with different protocols is fine.
  CHECK(parse_ports("53:53/tcp,53:53/udp").size() == 2);
}

TEST_CASE("ports: errors") {
  CHECK(error_of("0:80").find("not a port number") != std::string::npos);
  CHECK(error_of("70000:80").find("not a port number") != std::string::npos);
  CHECK(error_of("80:http").find("\"http\" is not a port number") != std::string::npos);
  CHECK(error_of("80:80/sctp").find("\"sctp\" is not tcp or udp") != std::string::npos);
  CHECK(error_of("80,,81").find("empty entry") != std::string::npos);
  CHECK(error_of("127.0.0.1:80:80").find("host address is not supported") != std::string::npos);
  CHECK(error_of("8080:80,8080:81").find("host port 8080/tcp is given twice") != std::string::npos);
  CHECK(error_of("-1:80").find("not a port number") != std::string::npos);
}
