// The state root: one directory per container under --root, holding
//   state.json   what later commands need (pid + start time, bundle, cgroups...)
//   exec.fifo    present while the container is "created" (start removes it)
//   config.json  the bundle's config.json as `create` read it: what `exec`
//                takes from the config (process defaults, seccomp,
//                personality) comes from here, never from the bundle again
// Every command that changes a container holds an exclusive flock on its dir.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runtime/cgroups/record.hpp"
#include "spec/config.hpp"
#include "runtime/util/fd.hpp"

namespace oci::container {

// Throws oci::Error "invalid container id ..." unless id is 1..255 chars of
// [A-Za-z0-9_+.-] and not "." or "..".
void validate_id(const std::string& id);

using CgroupRecord = cgroups::Record;

struct PersistedState {
  std::string id;
  pid_t pid = 0;
  unsigned long long pid_start = 0;  // /proc/<pid>/stat field 22, guards pid reuse
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339 nanos
  uid_t owner = 0;
  bool has_process = true;
  bool new_pid_ns = false;
  // No mount namespace: delete detaches the rootfs bind if the mount at rootfs
  // is no longer this one (the mount id before create; 0 = nothing to do).
  uint64_t host_rootfs_mount_id = 0;
  std::map<std::string, std::string> annotations;
  CgroupRecord cgroup;
  std::vector<spec::Hook> poststart, poststop;  // run by start and delete
};

std::string to_json(const PersistedState& s);
PersistedState state_from_json(const std::string& text);

// Written by `create` right after it makes the cgroup, so that `delete` can
// remove the cgroup of a create that was killed before state.json existed.
inline constexpr const char* kCreatingCgroupFile = "cgroup.json";

// A locked container directory.
class ContainerDir {
 public:
  // mkdir <root>/<id> exclusively; "container with id exists: <id>" if taken.
  // The directory is removed again unless commit() is called.
  static ContainerDir create(const std::string& root, const std::string& id);
  // Opens and locks an existing container; "container does not exist" if not.
  // `shared` takes a read lock (state, list) instead of an exclusive one.
  static std::optional<ContainerDir> open(const std::string& root, const std::string& id,
                                          bool shared = false);

  ContainerDir(ContainerDir&&) noexcept;
  ContainerDir& operator=(ContainerDir&&) = delete;
  ~ContainerDir();

  const std::string& path() const { return path_; }
  const std::string& id() const { return id_; }
  int fd() const { return fd_.get(); }

  std::optional<PersistedState> load() const;  // nullopt while still being created
  void save(const PersistedState& s) const;    // atomic
  std::string fifo_path() const { return path_ + "/exec.fifo"; }
  // The config text `create` used (atomic, 0600), and that config parsed.
  void save_config(const std::string& text) const;
  spec::Config load_config() const;

  void commit() { remove_on_destroy_ = false; }
  void remove();  // remove files and the dir (delete)

 private:
  ContainerDir(std::string root, std::string id, UniqueFd fd, bool remove);
  std::string path_;
  std::string id_;
  UniqueFd fd_;
  bool remove_on_destroy_;
};

// Ensure the root exists (0700). Returns its path.
void ensure_root(const std::string& root);
// Container ids present under root (sorted).
std::vector<std::string> list_ids(const std::string& root);

}  // namespace oci::container
