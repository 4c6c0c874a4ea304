#include "runtime/linux/terminal.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

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

void chown_terminal_stdio(uid_t uid) {
  for (int fd = 0; fd < 3; ++fd) {
    if (!::isatty(fd)) continue;
    struct stat st;
    if (::fstat(fd, &st) != 0) throw sys_error("fstat stdio fd " + std::to_string(fd));
    if (st.st_uid == uid) continue;
    // EINVAL: the uid or the tty's gid is not mapped in our user namespace;
    // EPERM: its owner is not (or a seccomp filter denies fchown). As runc: skip.
    if (::fchown(fd, uid, st.st_gid) != 0 && errno != EINVAL && errno != EPERM)
      throw sys_error("chown the terminal (fd " + std::to_string(fd) + ") to uid " + std::to_string(uid));
  }
}

// EPERM: already a process group leader, so not in the caller's group.
void new_session() {
  if (::setsid() < 0 && errno != EPERM) throw sys_error("setsid in the container");
}

}  // namespace oci::linux_
