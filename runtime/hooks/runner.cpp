#include "runtime/hooks/runner.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/linux/sys.hpp"
#include "runtime/util/fd.hpp"
#include "runtime/util/log.hpp"
#include "spec/error.hpp"

namespace oci::hooks {
namespace {

constexpr size_t kMaxOutput = 4096;

long long now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

// Writes the state to the hook's stdin. A hook that exits without reading it
// (/bin/true) closes the pipe: the write then fails with EPIPE and raises
// SIGPIPE, which would kill the runtime mid-delete. SIGPIPE is blocked around
// the write and a pending one is consumed; the hook's disposition is untouched
// because it was forked before.
void write_state(int fd, const std::string& state, const std::string& path) {
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  sigset_t pending;
  sigemptyset(&pending);
  bool was_pending = ::sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
  size_t off = 0;
  bool epipe = false;
  while (off < state.size()) {
    ssize_t n = ::write(fd, state.data() + off, state.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EPIPE) epipe = true;
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  if (epipe && !was_pending) {
    timespec zero{};
    while (::sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (epipe) log::debug("hook " + path + " did not read its state (EPIPE)");
}

// Runs one hook; returns an empty string on success, else the failure text.
std::string run_one(const spec::Hook& h, const std::string& state) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) throw sys_error("pipe");
  UniqueFd in_r(in[0]), in_w(in[1]), out_r(out[0]), out_w(out[1]);

  std::vector<std::string> args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = h.env;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) throw sys_error("fork hook " + h.path);
  if (pid == 0) {
    ::dup2(in_r.get(), 0);
    ::dup2(out_w.get(), 1);
    ::dup2(out_w.get(), 2);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    sys::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    ::execve(h.path.c_str(), argv.data(), envp.data());
    std::string msg = std::string("exec: ") + std::strerror(errno);
    (void)!::write(1, msg.data(), msg.size());
    ::_exit(127);
  }
  in_r.reset();
  out_w.reset();
  UniqueFd pidfd(sys::pidfd_open(pid));

  // The hook may not read its stdin: a full pipe or EPIPE is not an error.
  ::fcntl(in_w.get(), F_SETFL, O_NONBLOCK);
  write_state(in_w.get(), state, h.path);
  in_w.reset();

  std::string output;
  long long deadline = h.timeout ? now_ms() + *h.timeout * 1000LL : -1;
  bool exited = false, timed_out = false;
  while (!exited) {
    int timeout = -1;
    if (deadline >= 0) {
      long long left = deadline - now_ms();
      if (left <= 0) {
        timed_out = true;
        break;
      }
      timeout = static_cast<int>(left);
    }
    pollfd fds[2] = {{pidfd.get(), POLLIN, 0}, {out_r ? out_r.get() : -1, POLLIN, 0}};
    int n = ::poll(fds, 2, timeout);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw sys_error("poll hook " + h.path);
    if (fds[1].revents) {
      char buf[1024];
      ssize_t r = ::read(out_r.get(), buf, sizeof buf);
      if (r <= 0) out_r.reset();
      else if (output.size() < kMaxOutput) output.append(buf, static_cast<size_t>(r));
    }
    if (fds[0].revents & POLLIN) exited = true;
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (out_r) {  // whatever is left, without waiting for a background child
    ::fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
    char buf[1024];
    ssize_t r;
    while (output.size() < kMaxOutput && (r = ::read(out_r.get(), buf, sizeof buf)) > 0)
      output.append(buf, static_cast<size_t>(r));
  }
  while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
  std::string why;
  if (timed_out) why = "timed out after " + std::to_string(*h.timeout) + "s and was killed";
  else if (WIFSIGNALED(status)) why = "killed by signal " + std::to_string(WTERMSIG(status));
  else if (WEXITSTATUS(status) != 0) why = "exit status " + std::to_string(WEXITSTATUS(status));
  if (why.empty()) return "";
  return output.empty() ? why : why + ": " + output;
}

std::string describe(const char* phase, size_t i, const spec::Hook& h) {
  return std::string(phase) + " hook #" + std::to_string(i) + " (" + h.path + ")";
}

void debug_start(const char* phase, size_t i, const spec::Hook& h) {
  if (!log::debug_enabled()) return;
  std::string args;
  for (const auto& a : h.args) args += " " + a;
  log::debug("running " + describe(phase, i, h) + (args.empty() ? "" : ", args:" + args) +
             (h.timeout ? ", timeout " + std::to_string(*h.timeout) + "s" : ""));
}

}  // namespace

void run(const std::vector<spec::Hook>& hooks, const std::string& state_json, const char* phase) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    debug_start(phase, i, hooks[i]);
    std::string err = run_one(hooks[i], state_json);
    if (!err.empty()) throw Error(describe(phase, i, hooks[i]) + " failed: " + err);
    log::debug(describe(phase, i, hooks[i]) + " succeeded");
  }
}

void run_warn(const std::vector<spec::Hook>& hooks, const std::string& state_json,
              const char* phase) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    debug_start(phase, i, hooks[i]);
    try {
      std::string err = run_one(hooks[i], state_json);
      if (!err.empty()) log::warn(describe(phase, i, hooks[i]) + " failed: " + err);
      else log::debug(describe(phase, i, hooks[i]) + " succeeded");
    } catch (const std::exception& e) {
      log::warn(describe(phase, i, hooks[i]) + " failed: " + e.what());
    }
  }
}

nlohmann::json to_json(const std::vector<spec::Hook>& hooks) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& h : hooks) {
    nlohmann::json j{{"path", h.path}};
    if (!h.args.empty()) j["args"] = h.args;
    if (!h.env.empty()) j["env"] = h.env;
    if (h.timeout) j["timeout"] = *h.timeout;
    arr.push_back(std::move(j));
  }
  return arr;
}

std::vector<spec::Hook> from_json(const nlohmann::json& j) {
  std::vector<spec::Hook> out;
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    spec::Hook h;
    h.path = e.value("path", "");
    h.args = e.value("args", std::vector<std::string>{});
    h.env = e.value("env", std::vector<std::string>{});
    if (e.contains("timeout")) h.timeout = e["timeout"].get<int>();
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace oci::hooks
