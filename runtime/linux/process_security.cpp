#include "runtime/linux/process_security.hpp"

#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "runtime/linux/process_attrs.hpp"
#include "runtime/linux/sys.hpp"
#include "runtime/linux/terminal.hpp"
#include "runtime/util/fs.hpp"
#include "runtime/util/log.hpp"
#include "runtime/util/passwd.hpp"
#include "spec/error.hpp"
#include "spec/tables.hpp"

namespace oci::linux_ {
namespace {

std::vector<cap_value_t> cap_values(const std::optional<std::vector<std::string>>& names) {
  std::vector<cap_value_t> out;
  if (!names) return out;
  for (const auto& n : *names)
    if (auto v = spec::find_capability(n)) out.push_back(*v);
  return out;
}

bool contains(const std::vector<cap_value_t>& v, int c) {
  for (auto x : v)
    if (x == c) return true;
  return false;
}

int last_cap() {
  static int cached = -1;
  if (cached < 0) {
    auto t = fs::try_read_file("/proc/sys/kernel/cap_last_cap");
    cached = t ? std::atoi(t->c_str()) : CAP_LAST_CAP;
  }
  return cached;
}

}  // namespace

void apply_rlimits(const spec::Process& p) {
  for (const auto& r : p.rlimits) {
    rlimit rl{static_cast<rlim_t>(r.soft), static_cast<rlim_t>(r.hard)};
    if (::setrlimit(static_cast<__rlimit_resource>(r.resource), &rl) != 0)
      throw sys_error("setrlimit " + r.type + " soft " + std::to_string(r.soft) + " hard " +
                      std::to_string(r.hard));
  }
}

void apply_user_and_capabilities(const spec::Process& p) {
  // As runc: no capabilities object means every set is empty.
  static const spec::Capabilities kNone;
  const auto& caps = p.capabilities ? *p.capabilities : kNone;
  std::vector<cap_value_t> bounding = cap_values(caps.bounding),
                           effective = cap_values(caps.effective),
                           permitted = cap_values(caps.permitted),
                           inheritable = cap_values(caps.inheritable),
                           ambient = cap_values(caps.ambient);
  for (int c = 0; c <= last_cap(); ++c) {
    if (contains(bounding, c)) continue;
    if (::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL)
      throw sys_error("drop capability " + std::to_string(c) + " from the bounding set");
  }

  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) throw sys_error("prctl PR_SET_KEEPCAPS");
  const auto& u = p.user;
  std::vector<gid_t> groups(u.additional_gids.begin(), u.additional_gids.end());
  if (::setgroups(groups.size(), groups.data()) != 0) {
    // A user namespace whose gid_map an unprivileged runtime wrote itself has
    // setgroups denied: nothing to drop then, unless groups were asked for.
    int err = errno;
    bool denied = err == EPERM && fs::try_read_file("/proc/self/setgroups").value_or("") == "deny\n";
    if (!denied) throw sys_error("setgroups", err);
    if (!groups.empty())
      throw Error("process.user.additionalGids: setgroups is denied in this user namespace "
                  "(a rootless mapping of a single gid cannot have additional groups; map a "
                  "range through /etc/subgid)");
  }
  if (::setresgid(u.gid, u.gid, u.gid) != 0) throw sys_error("setgid " + std::to_string(u.gid));
  if (::setresuid(u.uid, u.uid, u.uid) != 0) throw sys_error("setuid " + std::to_string(u.uid));
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) throw sys_error("prctl PR_SET_KEEPCAPS");
  ::umask(static_cast<mode_t>(u.umask.value_or(022)));

  cap_t set = cap_init();
  if (!set) throw sys_error("cap_init");
  auto put = [&](cap_flag_t flag, std::vector<cap_value_t>& v) {
    if (!v.empty() && cap_set_flag(set, flag, static_cast<int>(v.size()), v.data(), CAP_SET) != 0)
      throw sys_error("cap_set_flag");
  };
  try {
    put(CAP_EFFECTIVE, effective);
    put(CAP_PERMITTED, permitted);
    put(CAP_INHERITABLE, inheritable);
    if (cap_set_proc(set) != 0) {
      int err = errno;
      // Name the culprit: a capability the runtime itself does not hold.
      for (auto* v : {&permitted, &effective, &inheritable})
        for (auto c : *v)
          if (::prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 0 && v != &inheritable) {
            std::string name = std::to_string(c);
            for (const auto& e : spec::capability_table())
              if (e.value == c) name = std::string(e.name);
            throw Error("apply capabilities: " + name +
                        " is not in the bounding set (the runtime's or the config's), so it cannot be granted");
          }
      throw sys_error("apply capabilities", err);
    }
  } catch (...) {
    cap_free(set);
    throw;
  }
  cap_free(set);
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    throw sys_error("clear ambient capabilities");
  // As runc: an ambient capability the kernel refuses to raise (it must be in
  // both the permitted and the inheritable set) is skipped, not fatal. `runc
  // spec` writes ambient caps without an inheritable set, and runc runs that.
  for (auto c : ambient)
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) != 0) {
      int err = errno;
      if (err != EPERM) throw sys_error("raise ambient capability " + std::to_string(c), err);
      log::debug("skip ambient capability " + std::to_string(c) +
                 ": not in the permitted and inheritable sets (" + std::strerror(err) + ")");
    }
}

void apply_no_new_privileges(const spec::Process& p) {
  if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    throw sys_error("prctl PR_SET_NO_NEW_PRIVS");
}

std::string find_executable(const std::string& arg0, const std::vector<std::string>& env) {
  auto lower_errno = [](int err) {
    std::string s = std::strerror(err);
    if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
    return s;
  };
  auto check = [&](const std::string& path) -> int {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return errno;
    if (S_ISDIR(st.st_mode)) return EISDIR;
    if (::access(path.c_str(), X_OK) != 0) return errno;
    return 0;
  };
  if (arg0.find('/') != std::string::npos) {
    if (int err = check(arg0))
      throw Error("exec: \"" + arg0 + "\": stat " + arg0 + ": " + lower_errno(err));
    return arg0;
  }
  std::string path_var;
  for (const auto& e : env)
    if (e.rfind("PATH=", 0) == 0) path_var = e.substr(5);
  int denied = 0;
  size_t i = 0;
  while (i <= path_var.size() && !path_var.empty()) {
    size_t j = path_var.find(':', i);
    if (j == std::string::npos) j = path_var.size();
    std::string dir = j > i ? path_var.substr(i, j - i) : ".";
    std::string cand = dir + "/" + arg0;
    int err = check(cand);
    if (err == 0) return cand;
    if (err == EACCES) denied = err;
    i = j + 1;
  }
  if (denied)
    throw Error("exec: \"" + arg0 + "\": permission denied");
  throw Error("exec: \"" + arg0 + "\": executable file not found in $PATH");
}

std::vector<std::string> exec_environment(const spec::Process& p) {
  std::vector<std::string> env = p.env;
  for (const auto& e : env)
    if (e.rfind("HOME=", 0) == 0) return env;
  std::string home = "/";
  if (auto text = fs::try_read_file("/etc/passwd"))
    if (auto h = passwd::field_for_uid(*text, p.user.uid, 5)) home = *h;
  env.push_back("HOME=" + home);
  return env;
}

void ExecImage::exec() const {
  ::execve(path.c_str(), const_cast<char* const*>(argv.data()), const_cast<char* const*>(envp.data()));
}

void ExecImage::exec_or_report(int report_fd) const noexcept {
  exec();
  const char* reason = ::strerrordesc_np(errno);
  if (reason == nullptr) reason = "unknown error";
  // One write(2) of a stack buffer: a filter that allows write may still
  // deny writev, and a record on a seqpacket socket must be one call.
  char buf[1024];
  size_t n = 0;
  auto put = [&](std::string_view s) {
    size_t k = std::min(s.size(), sizeof buf - n);
    std::memcpy(buf + n, s.data(), k);
    n += k;
  };
  put("Eexec ");
  put(path);
  put(": ");
  put(reason);
  (void)!::write(report_fd, buf, n);
  ::syscall(SYS_exit_group, 127);
}

void close_fds_except(int first, std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned from = static_cast<unsigned>(first);
  for (int k : keep) {
    if (k < first || static_cast<unsigned>(k) < from) continue;
    if (static_cast<unsigned>(k) > from && sys::close_range(from, static_cast<unsigned>(k) - 1, 0) != 0)
      throw sys_error("close_range: close the runtime's fds");
    if (::fcntl(k, F_SETFD, FD_CLOEXEC) != 0) throw sys_error("mark fd close-on-exec");
    from = static_cast<unsigned>(k) + 1;
  }
  if (sys::close_range(from, ~0U, 0) != 0) throw sys_error("close_range: close the runtime's fds");
}

ExecImage prepare_process(const spec::Process& p, const std::vector<std::string>& extra_env,
                          CwdMissing missing_cwd) {
  if (::chdir(p.cwd.c_str()) != 0) {
    if (errno != ENOENT || missing_cwd == CwdMissing::Fail) throw sys_error("chdir to cwd " + p.cwd);
    fs::mkdir_p(p.cwd, 0755);
    if (::chdir(p.cwd.c_str()) != 0) throw sys_error("chdir " + p.cwd);
  }
  {
    // The cwd must be inside the container's root: a path through a magic
    // link (/proc/<pid>/cwd, /proc/self/fd/N) can lead out of it, and then
    // the kernel's getcwd answers "(unreachable)..." or ENOENT. (A seccomp
    // filter may deny getcwd: no check then.)
    char buf[PATH_MAX];
    long n = ::syscall(SYS_getcwd, buf, sizeof buf);
    if ((n < 0 && errno == ENOENT) || (n > 0 && buf[0] != '/'))
      throw Error("cwd " + p.cwd + " is outside the container's root");
  }
  // While the runtime's privileges (CAP_SYS_NICE for real-time) still apply.
  if (p.scheduler) apply_scheduler(*p.scheduler);
  if (p.io_priority) apply_io_priority(*p.io_priority);
  apply_rlimits(p);
  if (p.terminal) chown_terminal_stdio(p.user.uid);  // our pty, never a tty of the caller
  apply_user_and_capabilities(p);
  ExecImage img;
  img.env = exec_environment(p);
  img.env.insert(img.env.end(), extra_env.begin(), extra_env.end());
  img.args = p.args;
  img.path = find_executable(p.args.at(0), img.env);
  apply_no_new_privileges(p);
  for (auto& a : img.args) img.argv.push_back(a.data());
  img.argv.push_back(nullptr);
  for (auto& e : img.env) img.envp.push_back(e.data());
  img.envp.push_back(nullptr);
  return img;
}

}  // namespace oci::linux_
