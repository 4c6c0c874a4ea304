#include "runtime/linux/terminal.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/util/unix_socket.hpp"
#include "spec/error.hpp"

namespace oci::linux_ {

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
  unix_socket::send_fd(console_socket, master.get(), "/dev/ptmx", "send pty master to console socket");
  master.reset();
  new_session();
  if (::ioctl(slave.get(), TIOCSCTTY, 0) != 0) throw sys_error("set controlling terminal");
  for (int i = 0; i < 3; ++i)
    if (::dup2(slave.get(), i) < 0) throw sys_error("dup2 pty slave");
}

// EPERM: already a process group leader, so not in the caller's group.
void new_session() {
  if (::setsid() < 0 && errno != EPERM) throw sys_error("setsid in the container");
}

}  // namespace oci::linux_
