// /dev inside the container: default nodes, linux.devices, and the standard
// symlinks. Nodes are made with mknod, or bind-mounted from the host inside a
// user namespace where mknod is not allowed.
#pragma once

#include <string>
#include <vector>

#include "spec/config.hpp"

namespace oci::linux_ {

// The default devices (null zero full random urandom tty) merged with
// linux.devices; a config entry for the same path replaces the default.
std::vector<spec::Device> device_list(const spec::Config& config);

void create_devices(int rootfd, const spec::Config& config, bool bind_instead_of_mknod);

}  // namespace oci::linux_
