#include "hooks/network/portholder.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <optional>

#include "hooks/network/error.hpp"
#include "hooks/network/netns.hpp"

extern char** environ;

namespace ocinet {
namespace {

constexpr int kStopTimeoutMs = 5000;

int pidfd_open(int pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

bool write_full(int fd, const void* data, size_t len) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

// Reads up to `len` bytes; returns how many (short only at EOF).
size_t read_full(int fd, void* data, size_t len) {
  char* p = static_cast<char*>(data);
  size_t got = 0;
  while (got < len) {
    ssize_t n = ::read(fd, p + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  return got;
}

std::optional<int> parse_fd(const char* s) {
  int v = -1;
  const char* end = s + std::strlen(s);
  auto [p, ec] = std::from_chars(s, end, v);
  if (ec != std::errc() || p != end || v < 3) return std::nullopt;
  return v;
}

}  // namespace

std::vector<oci::UniqueFd> bind_host_ports(const std::vector<PortMapping>& ports) {
  std::vector<oci::UniqueFd> out;
  for (const auto& p : ports) {
    const bool tcp = p.proto == "tcp";
    const std::string what = "host port " + std::to_string(p.host_port) + "/" + p.proto;
    oci::UniqueFd fd(::socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0));
    if (!fd) throw sys_error(what + ": socket");
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(p.host_port);
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
      int err = errno;
      if (err == EADDRINUSE)
        throw Error(what + " is already in use on the host (bind 0.0.0.0:" +
                    std::to_string(p.host_port) + "): " + std::strerror(err));
      throw sys_error(what + ": bind 0.0.0.0:" + std::to_string(p.host_port), err);
    }
    out.push_back(std::move(fd));
  }
  return out;
}

HolderProcess spawn_port_holder(const std::string& id, int container_pid, uint64_t container_start,
                                const std::vector<oci::UniqueFd>& sockets) {
  if (sockets.empty()) return {};
  oci::UniqueFd pidfd(pidfd_open(container_pid));
  if (!pidfd) throw sys_error("pidfd_open of container process " + std::to_string(container_pid));
  // The pidfd is the process checked now, not a later one with the same pid.
  if (proc_start_time(container_pid) != container_start)
    throw Error("container process " + std::to_string(container_pid) + " is gone");

  char exe[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) throw sys_error("readlink /proc/self/exe");
  exe[n] = '\0';
  oci::UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull) throw sys_error("open /dev/null");

  // Everything the children need is built before fork: they only make raw syscalls.
  std::vector<std::string> args = {"oci-run-network", "hold-ports", id,
                                   std::to_string(pidfd.get())};
  std::vector<int> keep = {pidfd.get()};
  for (const auto& s : sockets) {
    args.push_back(std::to_string(s.get()));
    keep.push_back(s.get());
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) throw sys_error("pipe2");
  oci::UniqueFd rd(pipefd[0]), wr(pipefd[1]);

  pid_t child = ::fork();
  if (child < 0) throw sys_error("fork the port holder");
  if (child == 0) {
    // Intermediate: forks the holder, reports its pid and exits, so the holder is
    // nobody's child here (reparented to the subreaper or init, which reap it).
    ::setsid();
    pid_t holder = ::fork();
    if (holder == 0) {
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      int err = 0;
      if (::dup2(devnull.get(), 0) < 0 || ::dup2(devnull.get(), 1) < 0 ||
          ::dup2(devnull.get(), 2) < 0 || ::chdir("/") != 0)
        err = errno;
      // Nothing of the hook or its caller (state lock, pipes) survives the exec.
      if (!err && ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) err = errno;
      for (int fd : keep)
        if (!err && ::fcntl(fd, F_SETFD, 0) != 0) err = errno;
      if (!err) ::execve(exe, argv.data(), environ);
      err = err ? err : errno;
      (void)write_full(wr.get(), &err, sizeof err);
      ::_exit(127);
    }
    int32_t report = holder < 0 ? -errno : holder;
    (void)write_full(wr.get(), &report, sizeof report);
    ::_exit(0);
  }
  wr.reset();
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  int32_t holder = 0;
  if (read_full(rd.get(), &holder, sizeof holder) != sizeof holder)
    throw Error("starting the port holder of container " + id + ": no report from the fork");
  if (holder < 0) throw sys_error("fork the port holder of container " + id, -holder);
  int err = 0;
  if (read_full(rd.get(), &err, sizeof err) == sizeof err) {
    while (::waitpid(holder, nullptr, WNOHANG) < 0 && errno == EINTR) {
    }
    throw sys_error("execute " + std::string(exe) + " as the port holder of container " + id, err);
  }
  return {holder, proc_start_time(holder).value_or(0)};
}

void stop_port_holder(int pid, uint64_t start) {
  if (pid <= 0 || start == 0) return;
  oci::UniqueFd pfd(pidfd_open(pid));
  if (!pfd) return;                           // gone already
  if (proc_start_time(pid) != start) return;  // exited; the pid is someone else's now
  if (::syscall(SYS_pidfd_send_signal, pfd.get(), SIGKILL, nullptr, 0) != 0 && errno != ESRCH)
    throw sys_error("kill the port holder " + std::to_string(pid));
  // Its sockets are closed before the pidfd reports the exit.
  pollfd p{pfd.get(), POLLIN, 0};
  for (;;) {
    int r = ::poll(&p, 1, kStopTimeoutMs);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw sys_error("wait for the port holder " + std::to_string(pid));
    if (r == 0)
      throw Error("the port holder " + std::to_string(pid) + " did not exit within " +
                  std::to_string(kStopTimeoutMs / 1000) + " s of SIGKILL");
    return;
  }
}

int hold_ports_main(int argc, char** argv) {
  // argv: oci-run-network hold-ports ID PIDFD FD...
  if (argc < 5) throw Error("usage: oci-run-network hold-ports ID PIDFD FD... (started by setup)");
  auto pidfd = parse_fd(argv[3]);
  if (!pidfd || ::fcntl(*pidfd, F_GETFD) < 0)
    throw Error(std::string("hold-ports: \"") + argv[3] + "\" is not an open pidfd");
  for (int i = 4; i < argc; ++i) {
    auto fd = parse_fd(argv[i]);
    if (!fd || ::fcntl(*fd, F_GETFD) < 0)
      throw Error(std::string("hold-ports: \"") + argv[i] + "\" is not an open socket");
  }
  ::signal(SIGHUP, SIG_IGN);
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGPIPE, SIG_IGN);
  // The pidfd becomes readable when the container's process exits; then so do we
  // (the sockets close with us).
  pollfd p{*pidfd, POLLIN, 0};
  for (;;) {
    int r = ::poll(&p, 1, -1);
    if (r < 0 && errno == EINTR) continue;
    return r < 0 ? 1 : 0;
  }
}

}  // namespace ocinet
