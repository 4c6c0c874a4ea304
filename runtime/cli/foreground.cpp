#include "runtime/cli/foreground.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <utility>

#include "runtime/util/unix_socket.hpp"
#include "spec/error.hpp"

namespace oci::cli {
namespace {

// Puts a terminal in raw mode for the proxy and restores it.
class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (::tcgetattr(fd, &saved_) != 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    if (::tcsetattr(fd, TCSANOW, &raw) == 0) active_ = true;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
  }

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

bool copy(int from, int to) {
  char buf[8192];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n <= 0) return n < 0 && (errno == EINTR || errno == EAGAIN);
  for (ssize_t off = 0; off < n;) {
    ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += w;
  }
  return true;
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

int wait_foreground(pid_t pid, int sigfd, int master) {
  std::optional<RawTerminal> raw;
  if (master >= 0 && ::isatty(STDIN_FILENO)) {
    raw.emplace(STDIN_FILENO);
    winsize ws{};
    if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) ::ioctl(master, TIOCSWINSZ, &ws);
  }
  bool stdin_open = master >= 0;
  bool master_open = master >= 0;
  for (;;) {
    pollfd fds[3] = {{sigfd, POLLIN, 0},
                     {master_open ? master : -1, POLLIN, 0},
                     {stdin_open ? STDIN_FILENO : -1, POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      throw sys_error("poll");
    }
    if (fds[1].revents) master_open = copy(master, STDOUT_FILENO);
    if (fds[2].revents) stdin_open = copy(STDIN_FILENO, master);
    if (!(fds[0].revents & POLLIN)) continue;
    signalfd_siginfo si{};
    if (::read(sigfd, &si, sizeof si) != sizeof si) continue;
    int sig = static_cast<int>(si.ssi_signo);
    if (sig == SIGWINCH && master >= 0) {
      winsize ws{};
      if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) ::ioctl(master, TIOCSWINSZ, &ws);
      continue;
    }
    if (sig != SIGCHLD) {
      ::kill(pid, sig);
      continue;
    }
    // Reap everything (we are a subreaper); stop when the container is gone.
    for (;;) {
      int status = 0;
      pid_t r = ::waitpid(-1, &status, WNOHANG);
      if (r <= 0) break;
      if (r == pid) {
        while (master_open && copy(master, STDOUT_FILENO)) {
        }
        return exit_code(status);
      }
    }
  }
}

UniqueFd block_signals_for_forwarding() {
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_BLOCK, &all, nullptr);
  UniqueFd fd(::signalfd(-1, &all, SFD_CLOEXEC));
  if (!fd) throw sys_error("signalfd");
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  return fd;
}

std::pair<UniqueFd, UniqueFd> console_pair() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) throw sys_error("socketpair");
  return {UniqueFd(sv[0]), UniqueFd(sv[1])};
}

UniqueFd take_master(int our_end) {
  // Peek first: the peer may simply have closed its end (no terminal).
  char c;
  ssize_t n = ::recv(our_end, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n <= 0) return UniqueFd();
  return unix_socket::recv_fd(our_end);
}

}  // namespace oci::cli
