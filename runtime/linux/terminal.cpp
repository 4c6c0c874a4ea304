#include "runtime/linux/terminal.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "spec/error.hpp"

namespace oci::linux_ {

UniqueFd connect_console_socket(const std::string& path) {
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) throw sys_error("socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw Error("console socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw sys_error("connect to console socket " + path);
  return s;
}

void send_fd(int sock, int fd, const std::string& name) {
  msghdr msg{};
  iovec iov{const_cast<char*>(name.data()), name.size()};
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
  if (::sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) throw sys_error("send pty master to console socket");
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
  if (::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) < 0) throw sys_error("receive pty master");
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) throw Error("receive pty master: no fd received");
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return UniqueFd(fd);
}

void setup_terminal(int console_socket, const std::optional<spec::ConsoleSize>& size) {
  UniqueFd master(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) throw sys_error("open /dev/ptmx in the container");
  int unlock = 0;
  if (::ioctl(master.get(), TIOCSPTLCK, &unlock) != 0) throw sys_error("unlock pty");
  UniqueFd slave(::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave) throw sys_error("open pty slave");
  if (size && size->height && size->width) {
    winsize ws{};
    ws.ws_row = static_cast<unsigned short>(size->height);
    ws.ws_col = static_cast<unsigned short>(size->width);
    ::ioctl(master.get(), TIOCSWINSZ, &ws);
  }
  send_fd(console_socket, master.get(), "/dev/ptmx");
  master.reset();
  if (::setsid() < 0 && errno != EPERM) throw sys_error("setsid");
  if (::ioctl(slave.get(), TIOCSCTTY, 0) != 0) throw sys_error("set controlling terminal");
  for (int i = 0; i < 3; ++i)
    if (::dup2(slave.get(), i) < 0) throw sys_error("dup2 pty slave");
}

}  // namespace oci::linux_
