#include "image/fsutil.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "spec/error.hpp"

namespace oci::image {

// ---- sha256 ---------------------------------------------------------------

Sha256::Sha256() { sha256_init(&ctx_); }
void Sha256::update(const void* data, size_t len) {
  sha256_update(&ctx_, len, static_cast<const uint8_t*>(data));
}
std::string Sha256::hex() {
  uint8_t d[SHA256_DIGEST_SIZE];
  sha256_digest(&ctx_, sizeof d, d);
  static const char* k = "0123456789abcdef";
  std::string out;
  for (uint8_t b : d) {
    out += k[b >> 4];
    out += k[b & 15];
  }
  return out;
}
std::string sha256_hex(std::string_view data) {
  Sha256 h;
  h.update(data.data(), data.size());
  return h.hex();
}
bool is_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// ---- opening ----------------------------------------------------------------

namespace {
int openat2_(int dirfd, const std::string& rel, int flags, uint64_t resolve) {
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = resolve;
  return static_cast<int>(::syscall(SYS_openat2, dirfd, rel.c_str(), &how, sizeof how));
}
}  // namespace

UniqueFd open_beneath(int dirfd, const std::string& rel, int flags, const std::string& what) {
  int fd = openat2_(dirfd, rel, flags, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
  if (fd < 0) throw sys_error("open " + what);
  return UniqueFd(fd);
}

UniqueFd open_in_root(int dirfd, const std::string& rel, int flags, const std::string& what) {
  int fd = openat2_(dirfd, rel, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  if (fd < 0) {
    if (errno == ENOENT) return UniqueFd();
    throw sys_error("open " + what);
  }
  return UniqueFd(fd);
}

UniqueFd open_dir(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw sys_error("open " + path);
  return fd;
}

std::string read_fd(int fd, const std::string& what) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw sys_error("read " + what);
    }
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

void write_fd(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw sys_error("write " + what);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// ---- removal ------------------------------------------------------------------

namespace {
void remove_children(int dfd, dev_t dev, const std::string& what) {
  int dup = ::dup(dfd);
  if (dup < 0) throw sys_error("dup " + what);
  DIR* d = ::fdopendir(dup);
  if (!d) {
    ::close(dup);
    throw sys_error("opendir " + what);
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  for (const auto& n : names) remove_tree_at(dfd, n, what + "/" + n);
  (void)dev;
}
}  // namespace

void remove_tree_at(int dirfd, const std::string& name, const std::string& what) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return;
    throw sys_error("stat " + what);
  }
  if (S_ISDIR(st.st_mode)) {
    UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throw sys_error("open " + what);
    struct stat parent;
    if (::fstat(dirfd, &parent) == 0 && parent.st_dev != st.st_dev)
      throw Error("remove " + what + ": a file system is still mounted there");
    remove_children(fd.get(), st.st_dev, what);
    if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT)
      throw sys_error("rmdir " + what);
  } else if (::unlinkat(dirfd, name.c_str(), 0) < 0 && errno != ENOENT) {
    throw sys_error("unlink " + what);
  }
}

void remove_tree(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  auto slash = p.rfind('/');
  std::string parent = slash == std::string::npos ? "." : (slash == 0 ? "/" : p.substr(0, slash));
  std::string name = slash == std::string::npos ? p : p.substr(slash + 1);
  UniqueFd pfd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!pfd) {
    if (errno == ENOENT) return;
    throw sys_error("open " + parent);
  }
  remove_tree_at(pfd.get(), name, path);
}

// ---- copying ------------------------------------------------------------------

const std::string* LinkMap::find(dev_t d, ino_t i) const {
  for (const auto& [k, v] : entries)
    if (k.first == d && k.second == i) return &v;
  return nullptr;
}

bool is_overlay_whiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

namespace {

std::string proc_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

void copy_xattrs(int src, int dst, const std::string& what) {
  std::string sp = proc_path(src), dp = proc_path(dst);
  ssize_t len = ::flistxattr(src, nullptr, 0);
  if (len < 0) {
    if (errno == ENOTSUP) return;
    throw sys_error("listxattr " + what);
  }
  std::string names(static_cast<size_t>(len), '\0');
  len = ::flistxattr(src, names.data(), names.size());
  if (len < 0) throw sys_error("listxattr " + what);
  names.resize(static_cast<size_t>(len));
  for (size_t pos = 0; pos < names.size();) {
    std::string n = names.c_str() + pos;
    pos += n.size() + 1;
    if (n.rfind("trusted.overlay.", 0) == 0) continue;
    ssize_t vl = ::fgetxattr(src, n.c_str(), nullptr, 0);
    if (vl < 0) throw sys_error("getxattr " + n + " " + what);
    std::string v(static_cast<size_t>(vl), '\0');
    vl = ::fgetxattr(src, n.c_str(), v.data(), v.size());
    if (vl < 0) throw sys_error("getxattr " + n + " " + what);
    if (::fsetxattr(dst, n.c_str(), v.data(), static_cast<size_t>(vl), 0) < 0)
      throw sys_error("setxattr " + n + " " + what);
  }
}

void copy_data(int src, int dst, const std::string& what) {
  for (;;) {
    ssize_t n = ::copy_file_range(src, nullptr, dst, nullptr, 1 << 30, 0);
    if (n < 0) {
      if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) break;
      throw sys_error("copy " + what);
    }
    if (n == 0) return;
  }
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(src, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw sys_error("read " + what);
    }
    if (n == 0) return;
    write_fd(dst, std::string_view(buf, static_cast<size_t>(n)), what);
  }
}

std::vector<std::string> list_dir(int dfd, const std::string& what) {
  int dup = ::dup(dfd);
  DIR* dir = dup >= 0 ? ::fdopendir(dup) : nullptr;
  if (!dir) {
    if (dup >= 0) ::close(dup);
    throw sys_error("opendir " + what);
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(dir);
  return names;
}

}  // namespace

void copy_meta_fd(int src, int dst, const struct stat& st, const std::string& what) {
  if (::fchown(dst, st.st_uid, st.st_gid) < 0) throw sys_error("chown " + what);
  if (::fchmod(dst, st.st_mode & 07777) < 0) throw sys_error("chmod " + what);
  copy_xattrs(src, dst, what);
  struct timespec ts[2] = {st.st_atim, st.st_mtim};
  if (::futimens(dst, ts) < 0) throw sys_error("utimes " + what);
}

void copy_entry(int sdir, int ddir, const std::string& name, int droot, const std::string& drel,
                LinkMap& links) {
  const std::string what = drel;
  struct stat st;
  if (::fstatat(sdir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) throw sys_error("stat " + what);
  if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
    if (const std::string* first = links.find(st.st_dev, st.st_ino)) {
      if (::linkat(droot, first->c_str(), ddir, name.c_str(), 0) < 0)
        throw sys_error("link " + what + " to " + *first);
      return;
    }
    links.entries.push_back({{st.st_dev, st.st_ino}, drel});
  }
  switch (st.st_mode & S_IFMT) {
    case S_IFDIR: {
      if (::mkdirat(ddir, name.c_str(), 0700) < 0 && errno != EEXIST) throw sys_error("mkdir " + what);
      UniqueFd s(::openat(sdir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!s) throw sys_error("open " + what);
      UniqueFd d(::openat(ddir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!d) throw sys_error("open " + what);
      for (const auto& n : list_dir(s.get(), what)) copy_entry(s.get(), d.get(), n, droot, drel + "/" + n, links);
      copy_meta_fd(s.get(), d.get(), st, what);
      return;
    }
    case S_IFREG: {
      UniqueFd s(::openat(sdir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!s) throw sys_error("open " + what);
      UniqueFd d(::openat(ddir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!d) throw sys_error("create " + what);
      copy_data(s.get(), d.get(), what);
      copy_meta_fd(s.get(), d.get(), st, what);
      return;
    }
    case S_IFLNK: {
      std::string target(PATH_MAX, '\0');
      ssize_t n = ::readlinkat(sdir, name.c_str(), target.data(), target.size());
      if (n < 0) throw sys_error("readlink " + what);
      target.resize(static_cast<size_t>(n));
      if (::symlinkat(target.c_str(), ddir, name.c_str()) < 0) throw sys_error("symlink " + what);
      if (::fchownat(ddir, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
        throw sys_error("lchown " + what);
      struct timespec ts[2] = {st.st_atim, st.st_mtim};
      ::utimensat(ddir, name.c_str(), ts, AT_SYMLINK_NOFOLLOW);
      return;
    }
    default: {  // devices, fifos, sockets
      if (::mknodat(ddir, name.c_str(), st.st_mode, st.st_rdev) < 0) throw sys_error("mknod " + what);
      UniqueFd s(::openat(sdir, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd d(::openat(ddir, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
      if (!s || !d) throw sys_error("open " + what);
      if (::fchownat(ddir, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
        throw sys_error("chown " + what);
      if (::fchmodat(ddir, name.c_str(), st.st_mode & 07777, 0) < 0) throw sys_error("chmod " + what);
      struct timespec ts[2] = {st.st_atim, st.st_mtim};
      ::utimensat(ddir, name.c_str(), ts, AT_SYMLINK_NOFOLLOW);
      return;
    }
  }
}

namespace {

bool is_opaque(int dfd) {
  char v[2];
  ssize_t n = ::fgetxattr(dfd, kOpaqueXattr, v, sizeof v);
  return n == 1 && v[0] == 'y';
}


void apply_dir(int src, int dst, int droot, const std::string& rel, LinkMap& links) {
  for (const auto& n : list_dir(src, rel)) {
    std::string r = rel.empty() ? n : rel + "/" + n;
    struct stat st;
    if (::fstatat(src, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) throw sys_error("stat " + r);
    if (is_overlay_whiteout(st)) {
      remove_tree_at(dst, n, r);
      continue;
    }
    struct stat dt;
    bool exists = ::fstatat(dst, n.c_str(), &dt, AT_SYMLINK_NOFOLLOW) == 0;
    if (S_ISDIR(st.st_mode)) {
      UniqueFd s(::openat(src, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!s) throw sys_error("open " + r);
      if (exists && (!S_ISDIR(dt.st_mode) || is_opaque(s.get()))) {
        remove_tree_at(dst, n, r);
        exists = false;
      }
      // A new directory is still walked here (not copied whole), so whiteouts
      // inside it are not materialised as 0:0 devices.
      if (!exists && ::mkdirat(dst, n.c_str(), 0700) < 0) throw sys_error("mkdir " + r);
      UniqueFd d(::openat(dst, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!d) throw sys_error("open " + r);
      apply_dir(s.get(), d.get(), droot, r, links);
      copy_meta_fd(s.get(), d.get(), st, r);
    } else {
      if (exists) remove_tree_at(dst, n, r);
      copy_entry(src, dst, n, droot, r, links);
    }
  }
}

}  // namespace

void apply_layer(int layer_dir, int target_dir, const std::string& what) {
  (void)what;
  LinkMap links;
  apply_dir(layer_dir, target_dir, target_dir, "", links);
}

// ---- misc -------------------------------------------------------------------------

void mkdirs(const std::string& path, mode_t mode) {
  std::string cur;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    cur = path.substr(0, next);
    if (!cur.empty() && ::mkdir(cur.c_str(), mode) < 0 && errno != EEXIST)
      throw sys_error("mkdir " + cur);
    pos = next + 1;
  }
}

std::string absolute_path(const std::string& path) {
  std::string p = path;
  if (p.empty() || p[0] != '/') {
    char buf[PATH_MAX];
    if (!::getcwd(buf, sizeof buf)) throw sys_error("getcwd");
    p = std::string(buf) + "/" + p;
  }
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos < p.size()) {
    size_t next = p.find('/', pos);
    if (next == std::string::npos) next = p.size();
    std::string c = p.substr(pos, next - pos);
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!c.empty() && c != ".") {
      parts.push_back(c);
    }
    pos = next + 1;
  }
  std::string out;
  for (const auto& c : parts) out += "/" + c;
  return out.empty() ? "/" : out;
}

TempDir::TempDir(const std::string& parent, const std::string& prefix) {
  std::string tmpl = parent + "/" + prefix + "XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw sys_error("mkdtemp " + tmpl);
  path_ = tmpl;
}
TempDir::TempDir(TempDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
TempDir& TempDir::operator=(TempDir&& o) noexcept {
  if (this != &o) {
    this->~TempDir();
    path_ = std::move(o.path_);
    o.path_.clear();
  }
  return *this;
}
TempDir::~TempDir() {
  if (path_.empty()) return;
  try {
    remove_tree(path_);
  } catch (...) {
  }
}

}  // namespace oci::image
