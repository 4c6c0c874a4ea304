#include "image/unpack.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "image/fsutil.hpp"
#include "spec/error.hpp"

namespace oci::image {
namespace {

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveFree>;

ArchivePtr new_reader() {
  ArchivePtr a(archive_read_new());
  if (!a) throw Error("archive_read_new: out of memory");
  return a;
}

std::string arch_err(archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "unknown libarchive error";
}

// ---- safe paths ------------------------------------------------------------------

std::vector<std::string> split_entry(const std::string& raw, const std::string& what) {
  if (raw.empty()) throw Error(what + ": entry with an empty name");
  if (raw[0] == '/') throw Error(what + ": entry \"" + raw + "\" has an absolute path");
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= raw.size()) {
    size_t next = raw.find('/', pos);
    if (next == std::string::npos) next = raw.size();
    std::string c = raw.substr(pos, next - pos);
    if (c == "..") throw Error(what + ": entry \"" + raw + "\" escapes the layer (\"..\")");
    if (!c.empty() && c != ".") out.push_back(c);
    pos = next + 1;
  }
  return out;
}

std::string joined(const std::vector<std::string>& c, size_t n) {
  std::string s;
  for (size_t i = 0; i < n && i < c.size(); ++i) s += (i ? "/" : "") + c[i];
  return s;
}

// Open the directory holding the last component, walking with O_NOFOLLOW and
// creating missing directories (0755, root) when `create`.
UniqueFd walk_parent(int root, const std::vector<std::string>& c, bool create, const std::string& what,
                     const std::string& entry) {
  UniqueFd cur(::openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cur) throw sys_error("open " + what);
  for (size_t i = 0; i + 1 < c.size(); ++i) {
    for (int attempt = 0;; ++attempt) {
      int fd = ::openat(cur.get(), c[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0) {
        cur.reset(fd);
        break;
      }
      if (errno == ENOENT && create && attempt == 0) {
        if (::mkdirat(cur.get(), c[i].c_str(), 0755) < 0 && errno != EEXIST)
          throw sys_error(what + ": mkdir " + joined(c, i + 1));
        continue;
      }
      if (errno == ELOOP || errno == ENOTDIR)
        throw Error(what + ": entry \"" + entry + "\": parent \"" + joined(c, i + 1) +
                    "\" is a symlink or not a directory; refusing to write through it");
      throw sys_error(what + ": open " + joined(c, i + 1));
    }
  }
  return cur;
}

void set_xattrs(archive_entry* e, int fd, const std::string& what) {
  const char* name;
  const void* value;
  size_t size;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    std::string n = name;
    // Overlay's own attributes (redirect, metacopy, opaque...) could point outside
    // the layer; only whiteout entries may produce them.
    if (n.rfind("trusted.overlay.", 0) == 0) continue;
    if (::fsetxattr(fd, name, value, size, 0) < 0) throw sys_error(what + ": setxattr " + n);
  }
}

struct Writer {
  int root;
  bool layer;  // layer semantics (whiteouts, owners, devices) or plain archive
  std::string what;
  std::vector<std::pair<std::vector<std::string>, struct timespec>> dir_times;

  void write_data(archive* a, int fd, const std::string& path) {
    const void* buf;
    size_t size;
    la_int64_t offset;
    for (;;) {
      int r = archive_read_data_block(a, &buf, &size, &offset);
      if (r == ARCHIVE_EOF) return;
      if (r < ARCHIVE_WARN) throw Error(what + ": read " + path + ": " + arch_err(a));
      const char* p = static_cast<const char*>(buf);
      while (size > 0) {
        ssize_t n = ::pwrite(fd, p, size, offset);
        if (n < 0) {
          if (errno == EINTR) continue;
          throw sys_error(what + ": write " + path);
        }
        p += n;
        size -= static_cast<size_t>(n);
        offset += n;
      }
    }
  }

  void entry(archive* a, archive_entry* e) {
    const char* pn = archive_entry_pathname(e);
    std::string raw = pn ? pn : "";
    auto c = split_entry(raw, what);
    if (c.empty()) return;  // the root itself: its attributes come from elsewhere
    const std::string path = joined(c, c.size());
    std::string name = c.back();
    UniqueFd parent = walk_parent(root, c, true, what, raw);

    if (layer && name.rfind(".wh.", 0) == 0) {
      if (name == ".wh..wh..opq") {
        if (::fsetxattr(parent.get(), kOpaqueXattr, "y", 1, 0) < 0)
          throw sys_error(what + ": setxattr " + kOpaqueXattr + " " + joined(c, c.size() - 1));
        return;
      }
      std::string target = name.substr(4);
      if (target.empty() || target == "." || target == ".." || target.rfind(".wh.", 0) == 0)
        throw Error(what + ": invalid whiteout \"" + raw + "\"");
      remove_tree_at(parent.get(), target, what + ": " + path);
      if (::mknodat(parent.get(), target.c_str(), S_IFCHR | 0, makedev(0, 0)) < 0)
        throw sys_error(what + ": mknod whiteout " + path);
      return;
    }

    const mode_t type = archive_entry_filetype(e);
    const char* hardlink = archive_entry_hardlink(e);
    const bool is_dir = !hardlink && type == AE_IFDIR;
    struct stat old;
    if (::fstatat(parent.get(), name.c_str(), &old, AT_SYMLINK_NOFOLLOW) == 0 &&
        !(is_dir && S_ISDIR(old.st_mode)))
      remove_tree_at(parent.get(), name, what + ": " + path);

    const uid_t uid = layer ? static_cast<uid_t>(archive_entry_uid(e)) : 0;
    const gid_t gid = layer ? static_cast<gid_t>(archive_entry_gid(e)) : 0;
    const mode_t perm = archive_entry_perm(e) & 07777;
    struct timespec times[2];
    times[1] = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
    times[0] = archive_entry_atime_is_set(e)
                   ? timespec{archive_entry_atime(e), archive_entry_atime_nsec(e)}
                   : times[1];

    if (hardlink) {
      if (!layer) throw Error(what + ": unsupported hard link entry \"" + raw + "\"");
      auto tc = split_entry(hardlink, what);
      if (tc.empty()) throw Error(what + ": hard link \"" + raw + "\" to the root");
      UniqueFd tparent = walk_parent(root, tc, false, what, hardlink);
      if (::linkat(tparent.get(), tc.back().c_str(), parent.get(), name.c_str(), 0) < 0)
        throw sys_error(what + ": hard link " + path + " to " + joined(tc, tc.size()));
      return;
    }

    switch (type) {
      case AE_IFREG: {
        UniqueFd fd(::openat(parent.get(), name.c_str(),
                             O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!fd) throw sys_error(what + ": create " + path);
        write_data(a, fd.get(), path);
        if (::ftruncate(fd.get(), archive_entry_size(e)) < 0) throw sys_error(what + ": truncate " + path);
        if (::fchown(fd.get(), uid, gid) < 0) throw sys_error(what + ": chown " + path);
        if (::fchmod(fd.get(), perm) < 0) throw sys_error(what + ": chmod " + path);
        if (layer) set_xattrs(e, fd.get(), what + ": " + path);
        if (::futimens(fd.get(), times) < 0) throw sys_error(what + ": utimes " + path);
        return;
      }
      case AE_IFDIR: {
        if (::mkdirat(parent.get(), name.c_str(), 0700) < 0 && errno != EEXIST)
          throw sys_error(what + ": mkdir " + path);
        UniqueFd fd(::openat(parent.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) throw sys_error(what + ": open " + path);
        if (::fchown(fd.get(), uid, gid) < 0) throw sys_error(what + ": chown " + path);
        if (::fchmod(fd.get(), layer ? perm : 0755) < 0) throw sys_error(what + ": chmod " + path);
        if (layer) set_xattrs(e, fd.get(), what + ": " + path);
        dir_times.push_back({c, times[1]});
        return;
      }
      case AE_IFLNK: {
        const char* target = archive_entry_symlink(e);
        if (!target) throw Error(what + ": symlink \"" + raw + "\" without a target");
        if (::symlinkat(target, parent.get(), name.c_str()) < 0) throw sys_error(what + ": symlink " + path);
        if (::fchownat(parent.get(), name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
          throw sys_error(what + ": lchown " + path);
        ::utimensat(parent.get(), name.c_str(), times, AT_SYMLINK_NOFOLLOW);
        return;
      }
      case AE_IFCHR:
      case AE_IFBLK:
      case AE_IFIFO: {
        if (!layer) throw Error(what + ": unsupported entry type for \"" + raw + "\"");
        if (::mknodat(parent.get(), name.c_str(), type | perm, archive_entry_rdev(e)) < 0)
          throw sys_error(what + ": mknod " + path);
        if (::fchownat(parent.get(), name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
          throw sys_error(what + ": chown " + path);
        if (::fchmodat(parent.get(), name.c_str(), perm, 0) < 0) throw sys_error(what + ": chmod " + path);
        ::utimensat(parent.get(), name.c_str(), times, AT_SYMLINK_NOFOLLOW);
        return;
      }
      case AE_IFSOCK:
        return;  // sockets are not content
      default:
        throw Error(what + ": unsupported entry type for \"" + raw + "\"");
    }
  }

  // Directory times last: adding entries changed them.
  void finish() {
    for (auto it = dir_times.rbegin(); it != dir_times.rend(); ++it) {
      UniqueFd parent = walk_parent(root, it->first, false, what, joined(it->first, it->first.size()));
      struct timespec ts[2] = {it->second, it->second};
      ::utimensat(parent.get(), it->first.back().c_str(), ts, AT_SYMLINK_NOFOLLOW);
    }
  }
};

void read_entries(archive* a, Writer& w) {
  for (;;) {
    archive_entry* e;
    int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) throw Error(w.what + ": " + arch_err(a));
    w.entry(a, e);
  }
  w.finish();
}

// The compressed side: bytes from the blob fd, hashed as they are read.
struct RawSource {
  int fd;
  Sha256 hash;
  uint64_t bytes = 0;
  const ProgressFn* progress;
  char buf[1 << 16];
};

la_ssize_t raw_read(archive* a, void* client, const void** out) {
  auto* s = static_cast<RawSource*>(client);
  for (;;) {
    ssize_t n = ::read(s->fd, s->buf, sizeof s->buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      archive_set_error(a, errno, "read: %s", strerror(errno));
      return -1;
    }
    s->hash.update(s->buf, static_cast<size_t>(n));
    s->bytes += static_cast<uint64_t>(n);
    if (*s->progress) (*s->progress)(s->bytes);
    *out = s->buf;
    return n;
  }
}

// The uncompressed side: the decompressor's output, hashed, fed to the tar reader.
struct Pipe {
  archive* raw;
  Sha256 hash;
  uint64_t bytes = 0;
  char buf[1 << 16];
};

la_ssize_t pipe_read(archive* a, void* client, const void** out) {
  auto* p = static_cast<Pipe*>(client);
  la_ssize_t n = archive_read_data(p->raw, p->buf, sizeof p->buf);
  if (n < 0) {
    archive_set_error(a, EIO, "decompress: %s", arch_err(p->raw).c_str());
    return -1;
  }
  p->hash.update(p->buf, static_cast<size_t>(n));
  p->bytes += static_cast<uint64_t>(n);
  *out = p->buf;
  return n;
}

}  // namespace

UnpackResult unpack_layer(int blob_fd, int dest, const std::string& what, const ProgressFn& progress,
                          const std::string& diff_id) {
  auto src = std::make_unique<RawSource>();
  src->fd = blob_fd;
  src->progress = &progress;

  ArchivePtr raw = new_reader();
  archive_read_support_filter_all(raw.get());
  archive_read_support_format_raw(raw.get());
  if (archive_read_open(raw.get(), src.get(), nullptr, raw_read, nullptr) != ARCHIVE_OK)
    throw Error(what + ": " + arch_err(raw.get()));
  archive_entry* re;
  if (archive_read_next_header(raw.get(), &re) != ARCHIVE_OK)
    throw Error(what + ": " + arch_err(raw.get()));

  auto pipe = std::make_unique<Pipe>();
  pipe->raw = raw.get();
  ArchivePtr tar = new_reader();
  archive_read_support_format_tar(tar.get());
  if (archive_read_open(tar.get(), pipe.get(), nullptr, pipe_read, nullptr) != ARCHIVE_OK)
    throw Error(what + ": not a tar stream: " + arch_err(tar.get()));

  Writer w{dest, true, what, {}};
  try {
    read_entries(tar.get(), w);
  } catch (const Error& e) {
    std::string cause = e.what();
    if (cause.rfind(what + ": ", 0) == 0) cause.erase(0, what.size() + 2);
    // A damaged compressed stream decodes into garbage the tar reader trips over
    // ("entry with an empty name", a bad header...): when the decompressor fails
    // further on, or the whole uncompressed stream does not match the diff_id,
    // that is what to report.
    for (;;) {
      la_ssize_t n = archive_read_data(raw.get(), pipe->buf, sizeof pipe->buf);
      if (n < 0)
        throw Error(what + ": the layer is corrupt: its compressed data is damaged (" +
                    arch_err(raw.get()) + "; unpacking it failed with: " + cause + ")");
      if (n == 0) break;
      pipe->hash.update(pipe->buf, static_cast<size_t>(n));
    }
    if (!diff_id.empty()) {
      const std::string actual = pipe->hash.hex();  // hex() ends the hash: once
      if ("sha256:" + actual != diff_id)
        throw Error(what + ": the layer is corrupt: its uncompressed content does not match its " +
                    "diff_id " + diff_id + " (content is sha256:" + actual +
                    "; unpacking it failed with: " + cause + ")");
    }
    throw;
  }

  // Hash what the tar reader did not need (end-of-archive padding), then the rest
  // of the blob, so both digests cover every byte.
  for (;;) {
    la_ssize_t n = archive_read_data(raw.get(), pipe->buf, sizeof pipe->buf);
    if (n < 0) throw Error(what + ": decompress: " + arch_err(raw.get()));
    if (n == 0) break;
    pipe->hash.update(pipe->buf, static_cast<size_t>(n));
    pipe->bytes += static_cast<uint64_t>(n);
  }
  for (;;) {
    ssize_t n = ::read(blob_fd, src->buf, sizeof src->buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw sys_error("read " + what);
    if (n == 0) break;
    src->hash.update(src->buf, static_cast<size_t>(n));
    src->bytes += static_cast<uint64_t>(n);
  }
  UnpackResult r;
  r.blob_sha256 = src->hash.hex();
  r.diff_sha256 = pipe->hash.hex();
  r.blob_bytes = src->bytes;
  r.diff_bytes = pipe->bytes;
  return r;
}

void extract_archive(int archive_fd, int dest, const std::string& what) {
  ArchivePtr a = new_reader();
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_fd(a.get(), archive_fd, 1 << 16) != ARCHIVE_OK)
    throw Error(what + ": " + arch_err(a.get()));
  Writer w{dest, false, what, {}};
  read_entries(a.get(), w);
}

}  // namespace oci::image
