// create, start, state, kill, delete, list.
#include <signal.h>

#include <cstdio>
#include <optional>
#include <nlohmann/json.hpp>

#include "runtime/cli/commands.hpp"
#include "runtime/cli/options.hpp"
#include "runtime/container/container.hpp"
#include "runtime/linux/namespaces.hpp"
#include "spec/error.hpp"
#include "spec/tables.hpp"

namespace oci::cli {

namespace {

void refuse_systemd(const GlobalOptions& g) {
  if (g.systemd_cgroup)
    throw Error("systemd not running on this host, cannot use systemd cgroups manager");
}

}  // namespace

// Flags shared by create and run.
extern const OptionSpec kCreateOptions[8];
constexpr OptionSpec kCreateOptions[8] = {
    {"bundle", 'b', true, "path to the bundle directory (default: current directory)"},
    {"pid-file", 0, true, "write the container process's pid to this file"},
    {"console-socket", 0, true, "unix socket that receives the pty master (process.terminal)"},
    {"no-pivot", 0, false, "do not use pivot_root (move the rootfs to / and chroot)"},
    {"no-new-keyring", 0, false, "do not create a new session keyring"},
    {"preserve-fds", 0, true, "pass N additional fds (3 .. 3+N-1) to the container"},
    {"detach", 'd', false, "run: detach from the container process"},
    {"keep", 0, false, "run: keep the container's state after it exits"},
};

container::CreateOptions create_options(const GlobalOptions& g, const ParsedArgs& a,
                                        const char* command) {
  container::CreateOptions o;
  o.root = g.root;
  o.id = require_id(command, a);
  o.bundle = a.get("bundle");
  o.pid_file = a.get("pid-file");
  o.console_socket = a.get("console-socket");
  o.no_pivot = a.has("no-pivot");
  o.no_new_keyring = a.has("no-new-keyring");
  o.preserve_fds = a.get_int("preserve-fds", 0);
  // auto: also root of a user namespace other than the initial one (podman
  // rootless runs the runtime so): it has no rights over the host's cgroups.
  o.rootless = g.rootless_mode || (g.rootless.empty() || g.rootless == "auto" ? !linux_::in_initial_user_ns() : false);
  return o;
}

int cmd_create(const GlobalOptions& g, int argc, char** argv) {
  auto opts = std::span(kCreateOptions).first(6);
  ParsedArgs a = parse_args("create", argc, argv, opts);
  if (a.help) {
    print_usage("create [options] ID", "Create a container from a bundle; `start` runs it.", opts);
    return 0;
  }
  refuse_systemd(g);
  container::create(create_options(g, a, "create"));
  return 0;
}

int cmd_start(const GlobalOptions& g, int argc, char** argv) {
  ParsedArgs a = parse_args("start", argc, argv, {});
  if (a.help) {
    print_usage("start ID", "Run the user process of a created container.", {});
    return 0;
  }
  container::start(g.root, require_id("start", a));
  return 0;
}

int cmd_state(const GlobalOptions& g, int argc, char** argv) {
  ParsedArgs a = parse_args("state", argc, argv, {});
  if (a.help) {
    print_usage("state ID", "Print the state of a container as JSON.", {});
    return 0;
  }
  auto st = container::state(g.root, require_id("state", a));
  std::fputs(spec::to_json(st, 2, true).c_str(), stdout);
  std::fputc('\n', stdout);
  return 0;
}

int cmd_kill(const GlobalOptions& g, int argc, char** argv) {
  static constexpr OptionSpec kOptions[] = {
      {"all", 'a', false, "send the signal to every process of the container"},
  };
  ParsedArgs a = parse_args("kill", argc, argv, kOptions);
  if (a.help) {
    print_usage("kill [-a] ID [SIGNAL]", "Send a signal (default SIGTERM) to a container.", kOptions);
    return 0;
  }
  if (a.positional.empty()) throw Error("kill: container id is required");
  if (a.positional.size() > 2) throw Error("kill: unexpected argument: " + a.positional[2]);
  int sig = SIGTERM;
  if (a.positional.size() == 2) {
    // Signal 0 only checks that the process exists (kill(2)); runc accepts it.
    auto s = a.positional[1] == "0" ? std::optional<int>(0) : spec::parse_signal(a.positional[1]);
    if (!s) throw Error("unknown signal \"" + a.positional[1] + "\"");
    sig = *s;
  }
  container::kill(g.root, a.positional[0], sig, a.has("all"));
  return 0;
}

int cmd_delete(const GlobalOptions& g, int argc, char** argv) {
  static constexpr OptionSpec kOptions[] = {
      {"force", 'f', false, "kill a running container first; an unknown id is not an error"},
  };
  ParsedArgs a = parse_args("delete", argc, argv, kOptions);
  if (a.help) {
    print_usage("delete [-f] ID", "Delete a created or stopped container.", kOptions);
    return 0;
  }
  container::destroy(g.root, require_id("delete", a), a.has("force"));
  return 0;
}

int cmd_list(const GlobalOptions& g, int argc, char** argv) {
  static constexpr OptionSpec kOptions[] = {
      {"format", 'f', true, "table or json"},
      {"quiet", 'q', false, "print only container ids"},
  };
  ParsedArgs a = parse_args("list", argc, argv, kOptions);
  if (a.help) {
    print_usage("list [-f table|json] [-q]", "List the containers under the state root.", kOptions);
    return 0;
  }
  std::string format = a.get("format", "table");
  if (format != "table" && format != "json") throw Error("list: invalid format \"" + format + "\"");
  auto states = container::list(g.root);
  if (a.has("quiet")) {
    for (const auto& s : states) std::printf("%s\n", s.id.c_str());
    return 0;
  }
  if (format == "json") {
    nlohmann::ordered_json arr = nlohmann::ordered_json::array();
    for (const auto& s : states) arr.push_back(nlohmann::ordered_json::parse(spec::to_json(s, -1, true)));
    std::printf("%s\n", arr.dump().c_str());
    return 0;
  }
  std::printf("%-12s %-8s %-10s %-40s %-31s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
  for (const auto& s : states)
    std::printf("%-12s %-8d %-10s %-40s %-31s %s\n", s.id.c_str(), s.pid, s.status.c_str(),
                s.bundle.c_str(), s.created.c_str(), s.owner.c_str());
  return 0;
}

}  // namespace oci::cli
