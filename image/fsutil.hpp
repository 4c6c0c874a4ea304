// File-system helpers for oci-run-image: sha256, fd-relative walking that never
// follows a symlink out of a tree, recursive copy and removal, temp dirs.
// Every failure throws oci::Error naming the operation, the path and errno.
#pragma once

#include <nettle/sha2.h>
#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/util/fd.hpp"

namespace oci::image {

// Streaming sha256 (nettle).
class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t len);
  std::string hex();  // finishes the hash
 private:
  sha256_ctx ctx_;
};
std::string sha256_hex(std::string_view data);
bool is_hex64(std::string_view s);

// open(2) that fails instead of following a symlink anywhere along `rel`, and never
// leaves `dirfd` (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS).
UniqueFd open_beneath(int dirfd, const std::string& rel, int flags, const std::string& what);
// Resolve `rel` as if `dirfd` were "/" (RESOLVE_IN_ROOT): symlinks inside the tree
// are followed but cannot escape it. Returns an empty fd on ENOENT.
UniqueFd open_in_root(int dirfd, const std::string& rel, int flags, const std::string& what);

UniqueFd open_dir(const std::string& path);  // O_RDONLY|O_DIRECTORY
std::string read_fd(int fd, const std::string& what);
void write_fd(int fd, std::string_view data, const std::string& what);

// Remove the entry `name` under `dirfd` (a whole tree for a directory). Refuses to
// cross into another mounted file system (`dev` of the top entry is the limit).
void remove_tree_at(int dirfd, const std::string& name, const std::string& what);
void remove_tree(const std::string& path);  // ENOENT is fine

// Copy the entry `name` (any type) from sdir into ddir under the same name,
// preserving owner, mode, xattrs (not trusted.overlay.*), times. Directories are
// copied recursively. `links` maps (dev, ino) of multiply-linked files to the
// path (relative to droot) of their first copy, so hard links stay hard links.
struct LinkMap {
  std::vector<std::pair<std::pair<dev_t, ino_t>, std::string>> entries;
  const std::string* find(dev_t d, ino_t i) const;
};
void copy_entry(int sdir, int ddir, const std::string& name, int droot, const std::string& drel,
                LinkMap& links);
// Copy all metadata of `src` (an fd) onto `dst` (an fd); both not symlinks.
void copy_meta_fd(int src, int dst, const struct stat& st, const std::string& what);

// Apply an unpacked layer directory (overlay format: 0:0 char devices are
// whiteouts, trusted.overlay.opaque=y marks opaque dirs) onto a full tree.
void apply_layer(int layer_dir, int target_dir, const std::string& what);

// mkdir -p (absolute or relative to cwd).
void mkdirs(const std::string& path, mode_t mode = 0755);
std::string absolute_path(const std::string& path);

// A directory created with mkdtemp and removed with its contents unless kept.
class TempDir {
 public:
  TempDir() = default;
  explicit TempDir(const std::string& parent, const std::string& prefix);
  TempDir(TempDir&& o) noexcept;
  TempDir& operator=(TempDir&& o) noexcept;
  TempDir(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const { return path_; }
  void release() { path_.clear(); }  // keep it (renamed into place)
 private:
  std::string path_;
};

bool is_overlay_whiteout(const struct stat& st);
constexpr const char* kOpaqueXattr = "trusted.overlay.opaque";

}  // namespace oci::image
