#include "runtime/container/sync.hpp"

#include <sys/socket.h>

#include <cerrno>

#include "spec/error.hpp"

namespace oci::container {

void send_packet(int fd, Msg type, const std::string& payload) {
  std::string buf(1, static_cast<char>(type));
  buf += payload;
  while (::send(fd, buf.data(), buf.size(), MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) throw sys_error("sync send");
  }
}

std::optional<Packet> recv_packet(int fd) {
  char buf[65536];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) < 0) {
    if (errno != EINTR) throw sys_error("sync receive");
  }
  if (n == 0) return std::nullopt;
  return Packet{static_cast<Msg>(buf[0]), std::string(buf + 1, static_cast<size_t>(n - 1))};
}

}  // namespace oci::container
