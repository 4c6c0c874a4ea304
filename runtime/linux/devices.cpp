#include "runtime/linux/devices.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>

#include "runtime/linux/path_in_root.hpp"
#include "runtime/util/fs.hpp"
#include "spec/error.hpp"

namespace oci::linux_ {

std::vector<spec::Device> device_list(const spec::Config& config) {
  static const struct {
    const char* path;
    int major, minor;
  } kDefaults[] = {{"/dev/null", 1, 3},    {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
                   {"/dev/random", 1, 8},  {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0}};
  std::vector<spec::Device> out;
  const auto* configured = config.linux ? &config.linux->devices : nullptr;
  for (const auto& d : kDefaults) {
    bool overridden = false;
    if (configured)
      for (const auto& c : *configured)
        if (fs::clean(c.path) == d.path) overridden = true;
    if (overridden) continue;
    spec::Device dev;
    dev.type = "c";
    dev.path = d.path;
    dev.major = d.major;
    dev.minor = d.minor;
    dev.file_mode = 0666;
    dev.uid = 0;
    dev.gid = 0;
    out.push_back(dev);
  }
  if (configured) out.insert(out.end(), configured->begin(), configured->end());
  return out;
}

void create_devices(int rootfd, const spec::Config& config, bool bind_instead_of_mknod) {
  for (const auto& d : device_list(config)) {
    std::string path = fs::clean(d.path), parent, name;
    split_parent(path, parent, name);
    UniqueFd dir = open_in_root(rootfd, parent, Create::Dir);
    mode_t perm = static_cast<mode_t>(d.file_mode.value_or(0666) & 07777);
    if (bind_instead_of_mknod) {
      UniqueFd target = open_in_root(rootfd, path, Create::File);
      if (::mount(d.path.c_str(), fd_path(target.get()).c_str(), nullptr, MS_BIND, nullptr) != 0)
        throw sys_error("bind mount device " + d.path);
      continue;
    }
    mode_t type = d.type == "b" ? S_IFBLK : d.type == "p" ? S_IFIFO : S_IFCHR;
    dev_t dev = type == S_IFIFO ? 0
                                : makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor));
    if (::mknodat(dir.get(), name.c_str(), type | perm, dev) != 0) {
      if (errno == EEXIST) continue;  // the image has it already
      throw sys_error("mknod " + path);
    }
    if (::fchownat(dir.get(), name.c_str(), d.uid.value_or(0), d.gid.value_or(0),
                   AT_SYMLINK_NOFOLLOW) != 0)
      throw sys_error("chown " + path);
  }
  // Standard links. /dev/ptmx points at the devpts instance of the container.
  UniqueFd dev = open_in_root(rootfd, "/dev", Create::Dir);
  static const struct {
    const char* target;
    const char* name;
  } kLinks[] = {{"/proc/self/fd", "fd"},     {"/proc/self/fd/0", "stdin"},
                {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
                {"pts/ptmx", "ptmx"}};
  for (const auto& l : kLinks) {
    if (std::string(l.name) == "ptmx") ::unlinkat(dev.get(), "ptmx", 0);
    if (::symlinkat(l.target, dev.get(), l.name) != 0 && errno != EEXIST)
      throw sys_error(std::string("symlink /dev/") + l.name);
  }
  if (::access("/proc/kcore", F_OK) == 0) ::symlinkat("/proc/kcore", dev.get(), "core");
}

}  // namespace oci::linux_
