#include "runtime/util/unix_socket.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include "spec/error.hpp"

namespace oci::unix_socket {

UniqueFd connect(const std::string& path, const std::string& what) {
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) throw sys_error("socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw Error(what + " path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw sys_error("connect to " + what + " " + path);
  return s;
}

void send_fd(int sock, int fd, const std::string& payload, const std::string& what) {
  msghdr msg{};
  iovec iov{const_cast<char*>(payload.data()), payload.size()};
  alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = buf;
  msg.msg_controllen = sizeof buf;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t n;
  while ((n = ::sendmsg(sock, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
  }
  if (n < 0) throw sys_error(what);
  // A stream socket may take a long payload in pieces.
  for (size_t off = static_cast<size_t>(n); off < payload.size();) {
    ssize_t m = ::send(sock, payload.data() + off, payload.size() - off, MSG_NOSIGNAL);
    if (m < 0 && errno == EINTR) continue;
    if (m < 0) throw sys_error(what);
    off += static_cast<size_t>(m);
  }
}

UniqueFd recv_fd(int sock) {
  msghdr msg{};
  char name[4096];
  iovec iov{name, sizeof name};
  alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = buf;
  msg.msg_controllen = sizeof buf;
  if (::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) < 0) throw sys_error("receive an fd");
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) throw Error("receive an fd: none was sent");
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return UniqueFd(fd);
}

}  // namespace oci::unix_socket
