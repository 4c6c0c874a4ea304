// mount(2) helpers shared by the rootfs and cgroup mount code.
#pragma once

#include <string>

namespace oci::linux_ {

// mount(2) throwing oci::Error("<what>: <errno text>").
void do_mount(const std::string& src, const std::string& target, const char* type,
              unsigned long flags, const std::string& data, const std::string& what);
// MS_BIND|MS_REMOUNT of the mount `fd` refers to, applying `flags` and keeping
// the flags the kernel locks (nosuid, nodev, ... inherited in a user namespace).
void bind_remount(int fd, unsigned long flags, const std::string& what);
// The MS_* flags of the mount `fd` is on that a remount must keep (no MS_RDONLY).
unsigned long locked_flags(int fd);

}  // namespace oci::linux_
