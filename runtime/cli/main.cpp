// oci-run: global flags, then one subcommand. Every failure is reported once,
// here, to stderr and (with --log) to the log file.
#include <getopt.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "runtime/cli/commands.hpp"
#include "runtime/linux/namespaces.hpp"
#include "runtime/linux/self_exe.hpp"
#include "runtime/util/log.hpp"
#include "runtime/util/timing.hpp"
#include "spec/error.hpp"
#include "spec/state.hpp"

namespace {

using oci::cli::Command;

struct CommandInfo {
  const char* name;
  Command fn;
  const char* summary;
};

constexpr CommandInfo kCommands[] = {
    {"create", oci::cli::cmd_create, "create a container"},
    {"start", oci::cli::cmd_start, "run the user process of a created container"},
    {"exec", oci::cli::cmd_exec, "run a process in a running container"},
    {"run", oci::cli::cmd_run, "create and start a container, wait for it and delete it"},
    {"state", oci::cli::cmd_state, "print the state of a container"},
    {"kill", oci::cli::cmd_kill, "send a signal to the container's init process"},
    {"delete", oci::cli::cmd_delete, "delete a container and everything it holds"},
    {"list", oci::cli::cmd_list, "list containers"},
    {"ps", oci::cli::cmd_ps, "list the processes of a container"},
    {"pause", oci::cli::cmd_pause, "freeze every process of a container"},
    {"resume", oci::cli::cmd_resume, "thaw a paused container"},
    {"update", oci::cli::cmd_update, "change the resource limits of a container"},
    {"events", oci::cli::cmd_events, "print container stats and OOM events"},
    {"spec", oci::cli::cmd_spec, "write a new config.json"},
    {"features", oci::cli::cmd_features, "print the features this runtime implements"},
};

void usage() {
  std::printf(
      "Usage: oci-run [global options] COMMAND [options] [ID]\n\n"
      "A low-level OCI container runtime with a runc-compatible command line.\n\n"
      "Commands:\n");
  for (const auto& c : kCommands) std::printf("  %-10s %s\n", c.name, c.summary);
  std::printf(
      "\nGlobal options:\n"
      "  --root DIR              state directory (default /run/oci-run)\n"
      "  --log FILE              log file (appended; created even on success)\n"
      "  --log-format text|json  log line format (default text)\n"
      "  --debug                 log debug messages\n"
      "  --systemd-cgroup        use the systemd cgroup driver (not available)\n"
      "  --rootless true|false|auto  rootless mode: cgroups only where delegated\n"
      "                          (default auto: when not run by root)\n"
      "  -v, --version           print the version\n"
      "  -h, --help              show this help\n"
      "\n`oci-run help COMMAND` or `oci-run COMMAND --help` shows a command's options.\n");
}

// Root: /run/oci-run. Another user (or root of a user namespace, with XDG_RUNTIME_DIR set): $XDG_RUNTIME_DIR/oci-run, else
// /run/user/UID/oci-run when that dir is the user's, else /tmp/oci-run-UID
// (the state store refuses a root dir that is not the user's own).
std::string default_root() {
  uid_t uid = ::geteuid();
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  bool has_xdg = xdg && *xdg;
  // Root of a user namespace other than the initial one (podman rootless
  // runs the runtime so, with the user's XDG_RUNTIME_DIR) is a user, too.
  if (uid == 0) return has_xdg && !oci::linux_::in_initial_user_ns() ? std::string(xdg) + "/oci-run" : "/run/oci-run";
  if (has_xdg) return std::string(xdg) + "/oci-run";
  std::string run_user = "/run/user/" + std::to_string(uid);
  struct stat st;
  if (::lstat(run_user.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == uid)
    return run_user + "/oci-run";
  return "/tmp/oci-run-" + std::to_string(uid);
}

}  // namespace

int main(int argc, char** argv) {
  oci::timing::init();
  oci::cli::GlobalOptions g;
  g.root = default_root();
  std::string log_format = "text";
  enum { kRoot = 256, kLog, kLogFormat, kDebug, kSystemd, kRootless, kCriu };
  static const option kGlobal[] = {
      {"root", required_argument, nullptr, kRoot},
      {"log", required_argument, nullptr, kLog},
      {"log-format", required_argument, nullptr, kLogFormat},
      {"debug", no_argument, nullptr, kDebug},
      {"systemd-cgroup", no_argument, nullptr, kSystemd},
      {"rootless", optional_argument, nullptr, kRootless},
      {"criu", required_argument, nullptr, kCriu},
      {"version", no_argument, nullptr, 'v'},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0},
  };
  opterr = 0;
  std::string early_error;
  for (;;) {
    int c = getopt_long(argc, argv, "+vh", kGlobal, nullptr);
    if (c == -1) break;
    switch (c) {
      case kRoot: g.root = optarg; break;
      case kLog: g.log_path = optarg; break;
      case kLogFormat: log_format = optarg; break;
      case kDebug: g.debug = true; break;
      case kSystemd: g.systemd_cgroup = true; break;
      case kRootless: g.rootless = optarg ? optarg : "true"; break;
      case kCriu: break;
      case 'v':
        std::fputs(oci::cli::version_text().c_str(), stdout);
        return 0;
      case 'h': usage(); return 0;
      default:
        if (early_error.empty()) early_error = std::string("unknown global option: ") + argv[optind - 1];
    }
  }
  // Before anything is opened: may re-execute from a protected copy (CVE-2019-5736).
  if (early_error.empty() && optind < argc && oci::linux_::command_spawns_container_processes(argv[optind])) {
    try {
      oci::linux_::ensure_protected_self_exe(argv);
    } catch (const std::exception& e) {
      early_error = e.what();
    }
  }
  g.log_json = log_format == "json";
  if (g.rootless.empty() || g.rootless == "auto")
    g.rootless_mode = ::geteuid() != 0;
  else if (g.rootless == "true" || g.rootless == "false")
    g.rootless_mode = g.rootless == "true";
  else if (early_error.empty())
    early_error = "invalid --rootless \"" + g.rootless + "\": use true, false or auto";
  // A --log file that cannot be opened is an error (as runc), not silence.
  if (std::string err = oci::log::init(g.log_path, g.log_json, g.debug); !err.empty() && early_error.empty())
    early_error = err;
  if (log_format != "json" && log_format != "text" && early_error.empty())
    early_error = "invalid --log-format \"" + log_format + "\": use text or json";
  if (!early_error.empty()) {
    oci::log::error(early_error);
    return 1;
  }
  if (optind >= argc) {
    usage();
    return 1;
  }
  const char* name = argv[optind];
  if (std::strcmp(name, "help") == 0) {  // `help` and `help COMMAND`, as runc
    if (optind + 1 >= argc) {
      usage();
      return 0;
    }
    name = argv[optind + 1];
    static char help_flag[] = "--help";
    char* help_argv[] = {argv[optind + 1], help_flag, nullptr};
    for (const auto& c : kCommands)
      if (std::strcmp(c.name, name) == 0) return c.fn(g, 2, help_argv);
    oci::log::error(std::string("unknown command: ") + name);
    return 1;
  }
  for (const auto& c : kCommands) {
    if (std::strcmp(c.name, name) != 0) continue;
    try {
      return c.fn(g, argc - optind, argv + optind);
    } catch (const std::exception& e) {
      oci::log::error(e.what());
      return 1;
    }
  }
  oci::log::error(std::string("unknown command: ") + name);
  return 3;  // as runc (its CLI library's "no help topic" code)
}
