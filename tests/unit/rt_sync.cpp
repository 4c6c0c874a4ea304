// The parent/child sync packets: over-long error messages are cut, not lost.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "runtime/container/sync.hpp"
#include "spec/error.hpp"

using namespace oci::container;

TEST_CASE("truncate_message") {
  CHECK(truncate_message("short", 100) == "short");
  std::string cut = truncate_message(std::string(1000, 'x'), 100);
  CHECK(cut.size() == 100);
  CHECK(cut.find("... (1000 bytes, truncated)") != std::string::npos);
  CHECK(cut.rfind("xxxx", 0) == 0);
}

TEST_CASE("an Error packet larger than a message arrives cut, other packets are refused") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
  send_packet(sv[0], Msg::Error, "chdir " + std::string(300000, 'a'));
  auto p = recv_packet(sv[1]);
  REQUIRE(p);
  CHECK(p->type == Msg::Error);
  CHECK(p->payload.size() == kMaxPayload);
  CHECK(p->payload.rfind("chdir aaa", 0) == 0);
  CHECK(p->payload.find("(300006 bytes, truncated)") != std::string::npos);
  CHECK_THROWS_AS(send_packet(sv[0], Msg::Go, std::string(kMaxPayload + 1, 'g')), oci::Error);
  send_packet(sv[0], Msg::Go, std::string(kMaxPayload, 'g'));
  p = recv_packet(sv[1]);
  REQUIRE(p);
  CHECK(p->payload.size() == kMaxPayload);
  ::close(sv[0]);
  CHECK(!recv_packet(sv[1]));
  ::close(sv[1]);
}
