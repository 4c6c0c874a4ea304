// `oci-run spec [-b DIR] [--rootless]`: write a starter config.json.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "runtime/cli/commands.hpp"
#include "runtime/cli/options.hpp"
#include "spec/error.hpp"

namespace oci::cli {
namespace {

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
  };
  ParsedArgs args = parse_args("spec", argc, argv, kOptions);
  if (args.help) {
    print_usage("spec [-b DIR] [--rootless]",
                "Create a new config.json for a bundle; an existing one is never overwritten.",
                kOptions);
    return 0;
  }
  if (!args.positional.empty()) throw Error("spec: unexpected argument: " + args.positional[0]);
  std::string bundle = args.get("bundle");
  std::string path = bundle.empty() ? std::string("config.json") : bundle + "/config.json";
  write_new_file(path, default_spec(args.has("rootless")).dump(2) + "\n");
  return 0;
}

}  // namespace oci::cli
