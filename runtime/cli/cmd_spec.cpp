// `oci-run spec [-b DIR] [--rootless] [--network NAME] [--seccomp]`: write a starter config.json.
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "hooks/network/names.hpp"
#include "runtime/cli/commands.hpp"
#include "runtime/cli/default_seccomp.hpp"
#include "runtime/cli/options.hpp"
#include "runtime/util/log.hpp"
#include "spec/error.hpp"

namespace oci::cli {

// default_spec.cpp: the network namespace, the oci-run-network hooks and the annotation.
void add_network(nlohmann::ordered_json& spec, const std::string& network, const std::string& hook_path);

namespace {

// oci-run-network is installed beside oci-run.
std::string network_hook_path() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw sys_error("readlink /proc/self/exe");
  std::string exe(buf, static_cast<size_t>(n));
  return exe.substr(0, exe.rfind('/') + 1) + "oci-run-network";
}

void write_new_file(const std::string& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) {
    if (errno == EEXIST) throw Error("File config.json exists. Remove it first");
    throw sys_error("open " + path);
  }
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(path.c_str());
      throw sys_error("write " + path, err);
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(path.c_str());
    throw sys_error("close " + path, err);
  }
}

}  // namespace

int cmd_spec(const GlobalOptions& /*global*/, int argc, char** argv) {
  static constexpr OptionSpec kOptions[] = {
      {"bundle", 'b', true, "path to the root of the bundle directory (default: .)"},
      {"rootless", 0, false, "generate a configuration for a rootless container"},
      {"network", 0, true, "connect the container to network NAME with the oci-run-network hook"},
      {"seccomp", 0, false, "add the default seccomp profile (denies module, mount, namespace, ptrace, "
                            "bpf, kexec, clock, swap, reboot and keyring syscalls with EPERM)"},
  };
  ParsedArgs args = parse_args("spec", argc, argv, kOptions);
  if (args.help) {
    print_usage("spec [-b DIR] [--rootless] [--network NAME] [--seccomp]",
                "Create a new config.json for a bundle; an existing one is never overwritten.",
                kOptions);
    return 0;
  }
  if (!args.positional.empty()) throw Error("spec: unexpected argument: " + args.positional[0]);
  std::string bundle = args.get("bundle");
  std::string path = bundle.empty() ? std::string("config.json") : bundle + "/config.json";
  nlohmann::ordered_json spec = default_spec(args.has("rootless"));
  if (args.has("network")) {
    std::string network = args.get("network");
    if (!ocinet::valid_network_name(network))
      throw Error("spec: --network: \"" + network + "\" is not a network name ([A-Za-z0-9][A-Za-z0-9_.-], at most 64)");
    if (args.has("rootless"))
      throw Error("spec: --network needs root (the hook configures the host's network): not with --rootless");
    std::string hook = network_hook_path();
    if (::access(hook.c_str(), X_OK) != 0) log::warn("spec: " + hook + " is not installed (the hooks will fail)");
    add_network(spec, network, hook);
  }
  if (args.has("seccomp")) spec["linux"]["seccomp"] = default_seccomp_profile();
  write_new_file(path, spec.dump(2) + "\n");
  return 0;
}

}  // namespace oci::cli
