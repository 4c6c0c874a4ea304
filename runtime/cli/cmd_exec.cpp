// `exec`: run a process in a running container, from --process FILE or from
// the container's own process with flag overrides (as runc).
#include <sys/ioctl.h>
#include <unistd.h>

#include <charconv>
#include <map>

#include "runtime/cli/commands.hpp"
#include "runtime/cli/foreground.hpp"
#include "runtime/cli/options.hpp"
#include "runtime/container/container.hpp"
#include "runtime/util/fs.hpp"
#include "runtime/util/log.hpp"
#include "spec/error.hpp"
#include "spec/parse.hpp"
#include "spec/tables.hpp"

namespace oci::cli {
namespace {

constexpr OptionSpec kOptions[] = {
    {"process", 'p', true, "process.json describing the process (other process flags are ignored)"},
    {"console-socket", 0, true, "unix socket that receives the pty master"},
    {"cwd", 0, true, "working directory in the container"},
    {"env", 'e', true, "add an environment variable NAME=VALUE (repeatable)"},
    {"tty", 't', false, "allocate a pseudo-terminal"},
    {"user", 'u', true, "UID[:GID]"},
    {"additional-gids", 'g', true, "additional group ids (comma separated, repeatable)"},
    {"cap", 'c', true, "add a capability (comma separated)"},
    {"no-new-privs", 0, false, "set no_new_privs"},
    {"apparmor", 0, true, "AppArmor profile"},
    {"process-label", 0, true, "SELinux label"},
    {"cgroup", 0, true, "run in a sub-cgroup of the container: [CONTROLLER[,CONTROLLER]:]PATH "
                        "(repeatable, with controllers)"},
    {"detach", 'd', false, "return once the process has started"},
    {"pid-file", 0, true, "write the process's pid to this file"},
    {"preserve-fds", 0, true, "pass N additional fds (3 .. 3+N-1)"},
    {"ignore-paused", 0, false, "allow exec in a paused container"},
};

uint32_t parse_id(const std::string& what, const std::string& s) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) throw Error("exec: invalid " + what + " \"" + s + "\"");
  return v;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// --cgroup as runc takes it: PATH alone (every hierarchy; only once), or
// CONTROLLER[,CONTROLLER]:PATH, repeatable. Controller "" means every one.
std::map<std::string, std::string> parse_sub_cgroups(const std::vector<std::string>& args) {
  std::map<std::string, std::string> out;
  for (const auto& arg : args) {
    size_t colon = arg.find(':');
    if (colon == std::string::npos) {
      if (args.size() != 1)
        throw Error("exec: invalid --cgroup \"" + arg + "\": with several --cgroup, each needs a CONTROLLER: prefix");
      out[""] = arg;
      continue;
    }
    std::string path = arg.substr(colon + 1);
    if (path.find(':') != std::string::npos) throw Error("exec: invalid --cgroup \"" + arg + "\"");
    auto ctrls = split_commas(arg.substr(0, colon));
    if (ctrls.empty()) throw Error("exec: invalid --cgroup \"" + arg + "\": no controller before ':'");
    for (auto& c : ctrls) out[c] = path;
  }
  return out;
}

// Errors of `exec` itself exit 255 (as runc's), so that a caller can tell
// them from the exit status of the process; errors in the flags exit 1.
constexpr int kExecFailed = 255;

int run_exec(const GlobalOptions& g, const ParsedArgs& a, int preserve_fds) {
  container::ExecOptions o;
  o.root = g.root;
  o.id = a.positional[0];
  if (a.has("process")) {
    o.process = spec::parse_process(fs::read_file(a.get("process")), a.get("process"));
    if (a.has("tty")) o.process.terminal = true;
  } else {
    if (a.positional.size() < 2) throw Error("exec: a command is required (or --process FILE)");
    spec::Process& p = o.process = container::container_process(g.root, o.id);
    p.args.assign(a.positional.begin() + 1, a.positional.end());
    p.terminal = a.has("tty");
    if (a.has("cwd")) p.cwd = a.get("cwd");
    for (auto& e : a.get_all("env")) p.env.push_back(e);
    if (a.has("user")) {
      std::string u = a.get("user");
      size_t colon = u.find(':');
      p.user.uid = parse_id("uid", u.substr(0, colon));
      if (colon != std::string::npos) p.user.gid = parse_id("gid", u.substr(colon + 1));
    }
    if (a.has("additional-gids")) {
      // Repeated -g appends (runc); each value may also be a comma list.
      p.user.additional_gids.clear();
      for (auto& value : a.get_all("additional-gids"))
        for (auto& gid : split_commas(value)) p.user.additional_gids.push_back(parse_id("gid", gid));
    }
    for (auto& cap : a.get_all("cap")) {
      for (auto& name : split_commas(cap)) {
        if (!spec::find_capability(name)) throw Error("exec: unknown capability \"" + name + "\"");
        if (!p.capabilities) p.capabilities.emplace();
        // As runc (CVE-2022-29162): not inheritable or ambient, so that a
        // non-root exec user does not keep it across its own execve.
        for (auto* set : {&p.capabilities->bounding, &p.capabilities->effective,
                          &p.capabilities->permitted}) {
          if (!*set) set->emplace();
          (*set)->push_back(name);
        }
      }
    }
    if (a.has("no-new-privs")) p.no_new_privileges = true;
    if (a.has("apparmor")) p.apparmor_profile = a.get("apparmor");
    if (a.has("process-label")) p.selinux_label = a.get("process-label");
    if (p.cwd.empty()) p.cwd.assign(1, '/');  // not = "/": GCC 12 -O3 -Wrestrict false positive (PR 105329)
    spec::validate_process(p, "exec", "");
  }
  o.pid_file = a.get("pid-file");
  o.console_socket = a.get("console-socket");
  o.sub_cgroups = parse_sub_cgroups(a.get_all("cgroup"));
  o.preserve_fds = preserve_fds;
  o.ignore_paused = a.has("ignore-paused");

  if (a.has("detach")) {
    container::exec(o);
    return 0;
  }
  if (o.process.terminal && !o.process.console_size && o.console_socket.empty()) {
    // The process may ask for its size before the proxy runs: start it with ours.
    winsize ws{};
    if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
      o.process.console_size = spec::ConsoleSize{ws.ws_row, ws.ws_col};
  }
  UniqueFd sigfd = block_signals_for_forwarding();
  auto [console_recv, console_send] = console_pair();
  o.console_fd = console_send.get();
  pid_t pid = container::exec(o);
  console_send.reset();
  UniqueFd master = take_master(console_recv.get());
  return wait_foreground(pid, sigfd.get(), master.get());
}

}  // namespace

int cmd_exec(const GlobalOptions& g, int argc, char** argv) {
  ParsedArgs a = parse_args("exec", argc, argv, kOptions, true);
  if (a.help) {
    print_usage("exec [options] ID [COMMAND [ARG...]]", "Run a process in a running container.", kOptions);
    return 0;
  }
  if (a.positional.empty()) throw Error("exec: container id is required");
  int preserve_fds = a.get_int("preserve-fds", 0);
  try {
    return run_exec(g, a, preserve_fds);
  } catch (const std::exception& e) {
    log::error(e.what());
    return kExecFailed;
  }
}

}  // namespace oci::cli
