// Small file helpers. All throw oci::Error naming the operation and path.
#pragma once

#include <optional>
#include <string>

namespace oci::fs {

std::string read_file(const std::string& path);
std::optional<std::string> try_read_file(const std::string& path);  // nullopt if ENOENT
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

}  // namespace oci::fs
