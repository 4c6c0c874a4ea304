// Small file helpers. All throw oci::Error naming the operation and path.
#pragma once

#include <optional>
#include <string>

namespace oci::fs {

std::string read_file(const std::string& path);
std::optional<std::string> try_read_file(const std::string& path);  // nullopt if ENOENT
// Everything up to EOF from `fd`; `what` names it in errors.
std::string read_all(int fd, const std::string& what);
// Read/write relative to a directory fd.
std::string read_file_at(int dirfd, const std::string& name);
void write_file(const std::string& path, const std::string& data, int flags = 0);
// Write to a temporary file beside `path`, then rename over it.
void write_file_atomic(const std::string& path, const std::string& data, int mode = 0644);
void mkdir_p(const std::string& path, int mode = 0755);
bool exists(const std::string& path);
std::string absolute(const std::string& path);  // relative to cwd, lexically cleaned
std::string join(const std::string& a, const std::string& b);
std::string clean(const std::string& path);  // lexical: removes //, ., ..
// Copy the contents of directory src_dir into the (empty) directory dst_dir:
// directories, regular files, symlinks, device nodes, fifos and sockets, with
// their owner, mode and timestamps. Never follows a symlink; hard links become
// separate files, extended attributes are not copied. `what` names the source
// in errors ("<what>/<relative path>").
void copy_tree(int src_dir, int dst_dir, const std::string& what);

}  // namespace oci::fs
