#include "hooks/network/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "hooks/network/error.hpp"
#include "runtime/util/fd.hpp"

namespace ocinet {
namespace {

oci::UniqueFd memfd(const char* name) {
  oci::UniqueFd fd(::memfd_create(name, MFD_CLOEXEC));
  if (!fd) throw sys_error("memfd_create");
  return fd;
}

std::string read_all(int fd) {
  std::string out;
  ::lseek(fd, 0, SEEK_SET);
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input) {
  if (argv.empty()) throw Error("run_process: empty argv");
  oci::UniqueFd in = memfd("stdin"), out = memfd("stdout"), err = memfd("stderr");
  for (size_t done = 0; done < input.size();) {
    ssize_t n = ::write(in.get(), input.data() + done, input.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw sys_error("write memfd");
    done += static_cast<size_t>(n);
  }
  ::lseek(in.get(), 0, SEEK_SET);

  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  std::string env_path = "PATH=/usr/sbin:/usr/bin:/sbin:/bin", env_lc = "LC_ALL=C";
  char* envp[] = {env_path.data(), env_lc.data(), nullptr};

  pid_t pid = ::fork();
  if (pid < 0) throw sys_error("fork " + argv[0]);
  if (pid == 0) {
    if (::dup2(in.get(), 0) < 0 || ::dup2(out.get(), 1) < 0 || ::dup2(err.get(), 2) < 0)
      ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(args[0].c_str(), cargv.data(), envp);
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw sys_error("waitpid " + argv[0]);
  }
  ProcessResult r;
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_all(out.get());
  r.err = read_all(err.get());
  if (r.status == 127 && r.err.empty()) r.err = "cannot execute " + argv[0];
  return r;
}

std::string find_binary(const std::string& name, const std::string& package) {
  for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"}) {
    std::string p = dir + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  throw Error(name + " not found in /usr/sbin, /sbin, /usr/bin or /bin (install the " + package +
              " package)");
}

}  // namespace ocinet
