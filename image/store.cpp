#include "image/store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "image/fsutil.hpp"
#include "image/unpack.hpp"
#include "spec/error.hpp"

namespace oci::image {
namespace {

using json = nlohmann::json;

std::pair<std::string, std::string> split_parent(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

std::vector<std::string> list_names(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT) return out;
    throw sys_error("opendir " + dir);
  }
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  ::closedir(d);
  return out;
}

void write_json_file(const std::string& path, const json& j) {
  std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) throw sys_error("create " + tmp);
  write_fd(fd.get(), j.dump(2) + "\n", tmp);
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) < 0) throw sys_error("rename " + tmp + " to " + path);
}

// Removes a btrfs subvolume created in tmp/ unless released.
class SubvolGuard {
 public:
  explicit SubvolGuard(std::string p) : path_(std::move(p)) {}
  ~SubvolGuard() {
    if (path_.empty()) return;
    try {
      btrfs_set_readonly(path_, false);
      btrfs_destroy(path_);
    } catch (...) {
    }
  }
  void release() { path_.clear(); }
  SubvolGuard(const SubvolGuard&) = delete;
  SubvolGuard& operator=(const SubvolGuard&) = delete;

 private:
  std::string path_;
};

std::string random_token() {
  unsigned char b[8];
  UniqueFd fd(::open("/dev/urandom", O_RDONLY | O_CLOEXEC));
  if (!fd || ::read(fd.get(), b, sizeof b) != sizeof b) throw sys_error("read /dev/urandom");
  static const char* k = "0123456789abcdef";
  std::string s;
  for (unsigned char c : b) {
    s += k[c >> 4];
    s += k[c & 15];
  }
  return s;
}

}  // namespace

std::string default_store() {
  const char* e = std::getenv("OCI_RUN_IMAGE_STORE");
  return e && *e ? e : "/var/lib/oci-run-image";
}

bool is_btrfs(const std::string& path) {
  struct statfs s;
  if (::statfs(path.c_str(), &s) < 0) throw sys_error("statfs " + path);
  return s.f_type == BTRFS_SUPER_MAGIC;
}

bool is_subvolume(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) < 0) return false;
  return S_ISDIR(st.st_mode) && st.st_ino == 256 && is_btrfs(path);
}

void btrfs_snapshot(const std::string& src, const std::string& dst, bool readonly) {
  auto [parent, name] = split_parent(dst);
  UniqueFd s = open_dir(src);
  UniqueFd p = open_dir(parent);
  struct btrfs_ioctl_vol_args_v2 args;
  std::memset(&args, 0, sizeof args);
  args.fd = s.get();
  args.flags = readonly ? BTRFS_SUBVOL_RDONLY : 0;
  if (name.size() > BTRFS_SUBVOL_NAME_MAX) throw Error("snapshot " + dst + ": name too long");
  std::memcpy(args.name, name.c_str(), name.size());
  if (::ioctl(p.get(), BTRFS_IOC_SNAP_CREATE_V2, &args) < 0)
    throw sys_error("btrfs snapshot " + src + " to " + dst);
}

void btrfs_create_subvolume(const std::string& path) {
  auto [parent, name] = split_parent(path);
  UniqueFd p = open_dir(parent);
  struct btrfs_ioctl_vol_args args;
  std::memset(&args, 0, sizeof args);
  if (name.size() > BTRFS_PATH_NAME_MAX) throw Error("subvolume " + path + ": name too long");
  std::memcpy(args.name, name.c_str(), name.size());
  if (::ioctl(p.get(), BTRFS_IOC_SUBVOL_CREATE, &args) < 0) throw sys_error("btrfs subvolume create " + path);
}

void btrfs_destroy(const std::string& path) {
  auto [parent, name] = split_parent(path);
  UniqueFd p(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!p) {
    if (errno == ENOENT) return;
    throw sys_error("open " + parent);
  }
  struct btrfs_ioctl_vol_args args;
  std::memset(&args, 0, sizeof args);
  std::memcpy(args.name, name.c_str(), std::min(name.size(), size_t(BTRFS_PATH_NAME_MAX)));
  if (::ioctl(p.get(), BTRFS_IOC_SNAP_DESTROY, &args) < 0 && errno != ENOENT)
    throw sys_error("btrfs subvolume delete " + path);
}

void btrfs_set_readonly(const std::string& path, bool ro) {
  UniqueFd fd = open_dir(path);
  uint64_t flags = 0;
  if (::ioctl(fd.get(), BTRFS_IOC_SUBVOL_GETFLAGS, &flags) < 0) throw sys_error("btrfs getflags " + path);
  flags = ro ? (flags | BTRFS_SUBVOL_RDONLY) : (flags & ~uint64_t(BTRFS_SUBVOL_RDONLY));
  if (::ioctl(fd.get(), BTRFS_IOC_SUBVOL_SETFLAGS, &flags) < 0) throw sys_error("btrfs setflags " + path);
}

Store::Store(const std::string& root, bool exclusive) : root_(absolute_path(root)) {
  for (const char* sub : {"", "/layers", "/chains", "/bundles", "/tmp"}) mkdirs(root_ + sub, 0700);
  lock_ = UniqueFd(::open((root_ + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock_) throw sys_error("open " + root_ + "/lock");
  while (::flock(lock_.get(), exclusive ? LOCK_EX : LOCK_SH) < 0)
    if (errno != EINTR) throw sys_error("lock " + root_ + "/lock");
}

namespace {

// sha256 of the whole file behind `fd` (read from the start).
std::string file_sha256(int fd, const std::string& what) {
  if (::lseek(fd, 0, SEEK_SET) < 0) throw sys_error("seek " + what);
  Sha256 h;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw sys_error("read " + what);
    if (n == 0) break;
    h.update(buf, static_cast<size_t>(n));
  }
  return h.hex();
}

}  // namespace

std::string Store::ensure_layer(Source& src, const LayerRef& layer, size_t index, size_t count,
                                const LayerProgress& progress) {
  const std::string hex = layer.diff_id.substr(7);
  const std::string final_dir = root_ + "/layers/" + hex;
  struct stat st;
  if (::stat((final_dir + "/diff").c_str(), &st) == 0) return hex;  // verified when it was made

  const std::string what = "layer " + std::to_string(index + 1) + " (" + layer.path + ")";
  UniqueFd blob = open_in_root(src.root(), layer.path, O_RDONLY, what);
  if (!blob) throw Error(src.describe() + ": manifest names a missing layer " + layer.path);
  if (::fstat(blob.get(), &st) < 0) throw sys_error("stat " + what);
  if (!S_ISREG(st.st_mode)) throw Error(what + ": not a regular file");
  const uint64_t total = static_cast<uint64_t>(st.st_size);

  TempDir t(tmp(), "layer-");
  if (::mkdir((t.path() + "/diff").c_str(), 0755) < 0) throw sys_error("mkdir " + t.path() + "/diff");
  UniqueFd dest = open_dir(t.path() + "/diff");
  ProgressFn fn;
  if (progress) fn = [&](uint64_t done) { progress(index, count, layer.diff_id, done, total); };
  UnpackResult r;
  try {
    r = unpack_layer(blob.get(), dest.get(), what, fn, layer.diff_id);
  } catch (const Error& e) {
    // Garbage from a damaged blob fails the unpacking first: say the blob is corrupt
    // when its content does not match its digest (the root cause, whatever the tar
    // reader made of the garbage).
    if (!layer.digest.empty()) {
      std::string actual = file_sha256(blob.get(), what);
      if ("sha256:" + actual != layer.digest)
        throw Error(what + ": the layer is corrupt: blob digest mismatch: expected " + layer.digest +
                    ", content is sha256:" + actual);
    }
    throw;
  }
  if (!layer.digest.empty() && "sha256:" + r.blob_sha256 != layer.digest)
    throw Error(what + ": blob digest mismatch: expected " + layer.digest + ", content is sha256:" + r.blob_sha256);
  if ("sha256:" + r.diff_sha256 != layer.diff_id)
    throw Error(what + ": diff_id mismatch: expected " + layer.diff_id + ", uncompressed content is sha256:" +
                r.diff_sha256);
  json meta = {{"diff_id", layer.diff_id},
               {"blob_digest", "sha256:" + r.blob_sha256},
               {"blob_size", r.blob_bytes},
               {"diff_size", r.diff_bytes},
               {"media_type", layer.media_type},
               {"created", static_cast<int64_t>(::time(nullptr))}};
  write_json_file(t.path() + "/layer.json", meta);
  if (::rename(t.path().c_str(), final_dir.c_str()) < 0) throw sys_error("rename " + t.path() + " to " + final_dir);
  t.release();
  return hex;
}

std::vector<std::string> Store::ensure_chain(const std::vector<std::string>& hexes) {
  std::vector<std::string> chains;
  std::string chain, parent;
  for (const auto& hex : hexes) {
    chain = parent.empty() ? hex : sha256_hex("sha256:" + parent + " sha256:" + hex);
    const std::string dst = chain_path(chain);
    struct stat st;
    if (::lstat(dst.c_str(), &st) != 0) {
      std::string staging = tmp() + "/chain-" + random_token();
      if (parent.empty()) btrfs_create_subvolume(staging);
      else btrfs_snapshot(chain_path(parent), staging, false);
      SubvolGuard guard(staging);
      UniqueFd l = open_dir(layer_diff(hex));
      UniqueFd d = open_dir(staging);
      apply_layer(l.get(), d.get(), layer_diff(hex));
      if (::rename(staging.c_str(), dst.c_str()) < 0) throw sys_error("rename " + staging + " to " + dst);
      guard.release();
      btrfs_set_readonly(dst, true);
    }
    parent = chain;
    chains.push_back(chain);
  }
  return chains;
}

std::string Store::record_path(const std::string& bundle) const {
  return root_ + "/bundles/" + sha256_hex(bundle) + ".json";
}

void Store::add_bundle(const json& record) {
  write_json_file(record_path(record.at("bundle").get<std::string>()), record);
}

void Store::drop_bundle(const std::string& bundle) {
  if (::unlink(record_path(bundle).c_str()) < 0 && errno != ENOENT) throw sys_error("unlink " + record_path(bundle));
}

std::vector<json> Store::bundles() const {
  std::vector<json> out;
  for (const auto& n : list_names(root_ + "/bundles")) {
    if (n.size() < 5 || n.substr(n.size() - 5) != ".json") continue;
    UniqueFd fd(::open((root_ + "/bundles/" + n).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) continue;
    try {
      json j = json::parse(read_fd(fd.get(), n));
      j["_record"] = n;
      out.push_back(std::move(j));
    } catch (const json::exception&) {
      // unreadable record: gc drops it
      out.push_back({{"_record", n}, {"_broken", true}});
    }
  }
  return out;
}

Store::GcResult Store::gc() {
  GcResult res;
  std::vector<std::string> used_layers, used_chains;
  for (const auto& rec : bundles()) {
    bool live = false;
    if (!rec.contains("_broken")) {
      std::string bundle = rec.value("bundle", "");
      // Live if the bundle still carries the marker this record was made with.
      UniqueFd fd(::open((bundle + "/oci-run-image.json").c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (fd) {
        try {
          json m = json::parse(read_fd(fd.get(), bundle));
          live = m.value("id", "") == rec.value("id", "x");
        } catch (const json::exception&) {
        }
      }
    }
    if (!live) {
      ::unlink((root_ + "/bundles/" + rec["_record"].get<std::string>()).c_str());
      res.bundles.push_back(rec.value("bundle", rec["_record"].get<std::string>()));
      continue;
    }
    for (const auto& l : rec.value("layers", json::array())) used_layers.push_back(l.get<std::string>());
    // Every chain below the top one is needed too (snapshots are independent in
    // btrfs, but keeping them keeps later images cheap); chains lists them all.
    for (const auto& c : rec.value("chains", json::array())) used_chains.push_back(c.get<std::string>());
  }
  auto used = [](const std::vector<std::string>& v, const std::string& n) {
    for (const auto& x : v)
      if (x == n) return true;
    return false;
  };
  for (const auto& n : list_names(root_ + "/chains")) {
    if (used(used_chains, n)) continue;
    std::string p = chain_path(n);
    if (is_subvolume(p)) {
      btrfs_set_readonly(p, false);
      btrfs_destroy(p);
    } else {
      remove_tree(p);
    }
    res.chains.push_back(n);
  }
  for (const auto& n : list_names(root_ + "/layers")) {
    if (used(used_layers, n)) continue;
    remove_tree(root_ + "/layers/" + n);
    res.layers.push_back("sha256:" + n);
  }
  // Leftovers of interrupted runs (we hold the lock, so none is in use).
  for (const auto& n : list_names(tmp())) {
    std::string p = tmp() + "/" + n;
    if (is_subvolume(p)) {
      btrfs_set_readonly(p, false);
      btrfs_destroy(p);
    } else {
      remove_tree(p);
    }
    res.tmp.push_back(n);
  }
  return res;
}

}  // namespace oci::image
