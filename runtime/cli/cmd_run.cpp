// `run`: create + start; in the foreground also wait (forwarding signals and,
// for a terminal without --console-socket, proxying the pty), then delete.
#include "runtime/cli/commands.hpp"
#include "runtime/cli/foreground.hpp"
#include "runtime/cli/options.hpp"
#include "runtime/container/container.hpp"
#include "runtime/util/fd.hpp"
#include "runtime/util/timing.hpp"
#include "spec/error.hpp"

namespace oci::cli {

extern const OptionSpec kCreateOptions[8];
container::CreateOptions create_options(const GlobalOptions& g, const ParsedArgs& a,
                                        const char* command);

int cmd_run(const GlobalOptions& g, int argc, char** argv) {
  ParsedArgs a = parse_args("run", argc, argv, kCreateOptions);
  if (a.help) {
    print_usage("run [options] ID", "Create and start a container; in the foreground wait for it, "
                "exit with its status and delete it.", kCreateOptions);
    return 0;
  }
  if (g.systemd_cgroup)
    throw Error("systemd not running on this host, cannot use systemd cgroups manager");
  container::CreateOptions o = create_options(g, a, "run");
  o.detached = a.has("detach");
  if (o.detached) {
    container::create(o);
    try {
      container::start(o.root, o.id);
    } catch (...) {
      container::destroy(o.root, o.id, true);
      throw;
    }
    return 0;
  }

  UniqueFd sigfd = block_signals_for_forwarding();
  auto [console_recv, console_send] = console_pair();
  o.console_fd = console_send.get();

  pid_t pid = container::create(o);
  console_send.reset();
  int code;
  try {
    UniqueFd master = take_master(console_recv.get());
    container::start(o.root, o.id);
    code = wait_foreground(pid, sigfd.get(), master.get());
    timing::mark("run: container exited and reaped");
  } catch (...) {
    container::destroy(o.root, o.id, true);
    throw;
  }
  if (!a.has("keep")) container::destroy(o.root, o.id, true);
  return code;
}

}  // namespace oci::cli
