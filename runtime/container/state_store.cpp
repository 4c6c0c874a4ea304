#include "runtime/container/state_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>

#include "runtime/hooks/runner.hpp"
#include "runtime/util/fs.hpp"
#include "spec/error.hpp"
#include "spec/parse.hpp"

namespace oci::container {

void validate_id(const std::string& id) {
  if (id.empty()) throw Error("invalid container id: must not be empty");
  if (id.size() > 255) throw Error("invalid container id: longer than 255 characters");
  if (id == "." || id == "..") throw Error("invalid container id: \"" + id + "\"");
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '+' || c == '-' || c == '.';
    if (!ok) throw Error("invalid container id \"" + id + "\": only [A-Za-z0-9_+.-] are allowed");
  }
}

std::string to_json(const PersistedState& s) {
  nlohmann::json j;
  j["id"] = s.id;
  j["pid"] = s.pid;
  j["pid_start"] = s.pid_start;
  j["bundle"] = s.bundle;
  j["rootfs"] = s.rootfs;
  j["created"] = s.created;
  j["owner"] = s.owner;
  j["has_process"] = s.has_process;
  j["new_pid_ns"] = s.new_pid_ns;
  if (s.host_rootfs_mount_id) j["host_rootfs_mount_id"] = s.host_rootfs_mount_id;
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  j["cgroup"] = cgroups::to_json(s.cgroup);
  if (!s.poststart.empty()) j["poststart"] = hooks::to_json(s.poststart);
  if (!s.poststop.empty()) j["poststop"] = hooks::to_json(s.poststop);
  return j.dump();
}

PersistedState state_from_json(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error("corrupt state file");
  PersistedState s;
  try {
    s.id = j.at("id");
    s.pid = j.at("pid");
    s.pid_start = j.at("pid_start");
    s.bundle = j.at("bundle");
    s.rootfs = j.at("rootfs");
    s.created = j.at("created");
    s.owner = j.at("owner");
    s.has_process = j.value("has_process", true);
    s.new_pid_ns = j.value("new_pid_ns", false);
    s.host_rootfs_mount_id = j.value("host_rootfs_mount_id", uint64_t{0});
    if (j.contains("annotations")) s.annotations = j["annotations"];
    if (j.contains("cgroup")) s.cgroup = cgroups::record_from_json(j["cgroup"]);
    if (j.contains("poststart")) s.poststart = hooks::from_json(j["poststart"]);
    if (j.contains("poststop")) s.poststop = hooks::from_json(j["poststop"]);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("corrupt state file: ") + e.what());
  }
  return s;
}

void ensure_root(const std::string& root) {
  if (::mkdir(root.c_str(), 0700) == 0) return;
  if (errno == ENOENT) {
    fs::mkdir_p(root, 0700);
    return;
  }
  if (errno != EEXIST) throw sys_error("mkdir " + root);
  // An unprivileged user's state root may be in a shared place (/tmp): one
  // somebody else made (or a symlink) could be used to read or redirect state.
  if (::geteuid() == 0) return;
  struct stat st;
  if (::lstat(root.c_str(), &st) != 0) throw sys_error("stat " + root);
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 022))
    throw Error("state root " + root + ": not a directory of uid " + std::to_string(::geteuid()) +
                " writable only by it; refusing to use it");
}

ContainerDir::ContainerDir(std::string root, std::string id, UniqueFd fd, bool remove)
    : path_(fs::join(root, id)), id_(std::move(id)), fd_(std::move(fd)), remove_on_destroy_(remove) {}

ContainerDir::ContainerDir(ContainerDir&& o) noexcept
    : path_(std::move(o.path_)),
      id_(std::move(o.id_)),
      fd_(std::move(o.fd_)),
      remove_on_destroy_(std::exchange(o.remove_on_destroy_, false)) {}

ContainerDir::~ContainerDir() {
  if (remove_on_destroy_) {
    try {
      remove();
    } catch (...) {
    }
  }
}

ContainerDir ContainerDir::create(const std::string& root, const std::string& id) {
  ensure_root(root);
  std::string path = fs::join(root, id);
  if (::mkdir(path.c_str(), 0700) != 0) {
    if (errno == EEXIST) throw Error("container with id exists: " + id);
    throw sys_error("mkdir " + path);
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) {
    int err = errno;
    ::rmdir(path.c_str());
    throw sys_error("open " + path, err);
  }
  ContainerDir dir(root, id, std::move(fd), true);
  if (::flock(dir.fd(), LOCK_EX) != 0) throw sys_error("lock " + path);
  return dir;
}

std::optional<ContainerDir> ContainerDir::open(const std::string& root, const std::string& id,
                                               bool shared) {
  std::string path = fs::join(root, id);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    throw sys_error("open " + path);
  }
  if (::flock(fd.get(), shared ? LOCK_SH : LOCK_EX) != 0) throw sys_error("lock " + path);
  // A concurrent delete may have removed it while we waited for the lock.
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || st.st_nlink == 0) return std::nullopt;
  return ContainerDir(root, id, std::move(fd), false);
}

std::optional<PersistedState> ContainerDir::load() const {
  int f = ::openat(fd(), "state.json", O_RDONLY | O_CLOEXEC);
  if (f < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw sys_error("open " + path_ + "/state.json");
  }
  ::close(f);
  return state_from_json(fs::read_file_at(fd(), "state.json"));
}

void ContainerDir::save(const PersistedState& s) const {
  fs::write_file_atomic(path_ + "/state.json", to_json(s), 0600);
}

void ContainerDir::save_config(const std::string& text) const {
  fs::write_file_atomic(path_ + "/config.json", text, 0600);
}

spec::Config ContainerDir::load_config() const {
  int f = ::openat(fd(), "config.json", O_RDONLY | O_CLOEXEC);
  if (f < 0) {
    if (errno == ENOENT)
      throw Error("container " + id_ + ": its state has no config.json (created by an older oci-run?); "
                  "the bundle's config.json is not read after create");
    throw sys_error("open " + path_ + "/config.json");
  }
  ::close(f);
  return spec::parse_config(fs::read_file_at(fd(), "config.json"), path_ + "/config.json");
}

void ContainerDir::remove() {
  DIR* d = ::fdopendir(::dup(fd()));
  if (d) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      ::unlinkat(fd(), n.c_str(), 0);
    }
    ::closedir(d);
  }
  if (::rmdir(path_.c_str()) != 0 && errno != ENOENT) throw sys_error("remove " + path_);
  remove_on_destroy_ = false;
}

std::vector<std::string> list_ids(const std::string& root) {
  std::vector<std::string> ids;
  DIR* d = ::opendir(root.c_str());
  if (!d) {
    if (errno == ENOENT) return ids;
    throw sys_error("open " + root);
  }
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == ".." || e->d_type != DT_DIR) continue;
    ids.push_back(n);
  }
  ::closedir(d);
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace oci::container
