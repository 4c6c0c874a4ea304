// oci-run-network: the network hook of oci-run, and a small CLI around it.
//
//   oci-run-network setup        createRuntime hook: state JSON on stdin
//   oci-run-network teardown     poststop hook: state JSON on stdin
//   oci-run-network hook         either, chosen by the state's status ("stopped": teardown)
//   oci-run-network list [--json]
//   oci-run-network cleanup ID
//   oci-run-network hold-ports ID PIDFD FD...   the port holder setup starts
//
// Environment: OCI_RUN_NETWORK_CONFIG (networks YAML, default
// /etc/oci-run/networks.yaml), OCI_RUN_NETWORK_STATE (state directory, default
// /var/lib/oci-run/network), OCI_RUN_NETWORK_RESOLV_CONF (default /etc/resolv.conf).
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "hooks/network/config.hpp"
#include "hooks/network/error.hpp"
#include "hooks/network/hook.hpp"
#include "hooks/network/portholder.hpp"
#include "hooks/network/store.hpp"
#include "runtime/version/version.hpp"

namespace {

constexpr const char* kUsage =
    "usage: oci-run-network COMMAND\n"
    "\n"
    "Hook modes (the container state JSON on stdin):\n"
    "  setup            createRuntime hook: bridge, veth (eth0 in the container), address,\n"
    "                   default route, forwarding, masquerade and published ports\n"
    "  teardown         poststop hook: remove exactly what setup added (idempotent)\n"
    "  hook             setup or teardown, chosen by the state's status (\"stopped\": teardown)\n"
    "\n"
    "Commands:\n"
    "  list [--json]    networks and leases\n"
    "  cleanup ID       tear down container ID (also when its lease is gone)\n"
    "  hold-ports ...   the published ports' holder (started by setup)\n"
    "\n"
    "Annotations (config.json): org.oci-run.network (network name, default \"default\"),\n"
    "  org.oci-run.network.ip (static address), org.oci-run.network.ports\n"
    "  (\"8080:80/tcp,5353:53/udp\"), org.oci-run.network.config (networks YAML file).\n"
    "Environment: OCI_RUN_NETWORK_CONFIG (default /etc/oci-run/networks.yaml),\n"
    "  OCI_RUN_NETWORK_STATE (default /var/lib/oci-run/network),\n"
    "  OCI_RUN_NETWORK_RESOLV_CONF (the host's resolv.conf, default /etc/resolv.conf).\n";

std::string read_stdin() {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ocinet::sys_error("read stdin");
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

void warn(const std::string& msg) {
  if (!msg.empty()) std::cerr << "oci-run-network: warning: " << msg << "\n";
}

int run(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  std::string cmd = argv[1];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (cmd == "--version" || cmd == "version") {
    std::cout << oci::version::header("oci-run-network");
    return 0;
  }
  if (cmd == "hold-ports") return ocinet::hold_ports_main(argc, argv);
  ocinet::Manager m(ocinet::Store(ocinet::Store::root_from_env()));
  if (cmd == "setup" || cmd == "teardown" || cmd == "hook") {
    if (argc != 2) throw ocinet::Error(cmd + ": unexpected argument " + argv[2]);
    ocinet::ContainerState st = ocinet::parse_container_state(read_stdin());
    bool down = cmd == "teardown" || (cmd == "hook" && st.status == "stopped");
    if (down)
      warn(m.teardown(st.id));
    else
      m.setup(st);
    return 0;
  }
  if (cmd == "cleanup") {
    if (argc != 3) throw ocinet::Error("usage: oci-run-network cleanup ID");
    warn(m.cleanup(argv[2]));
    return 0;
  }
  if (cmd == "list") {
    bool as_json = false;
    for (int i = 2; i < argc; ++i) {
      if (std::strcmp(argv[i], "--json") == 0)
        as_json = true;
      else
        throw ocinet::Error(std::string("list: unknown option ") + argv[i]);
    }
    std::optional<ocinet::Config> cfg;
    std::string cfg_error;
    try {
      cfg = ocinet::load_config(ocinet::config_source({}, std::getenv(ocinet::kConfigEnv)));
    } catch (const std::exception& e) {
      cfg_error = e.what();
    }
    m.list(std::cout, as_json, cfg ? &*cfg : nullptr, cfg_error);
    return 0;
  }
  std::cerr << "oci-run-network: unknown command \"" << cmd << "\"\n" << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "oci-run-network: " << e.what() << "\n";
    return 1;
  }
}
