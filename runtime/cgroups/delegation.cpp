#include "runtime/cgroups/delegation.hpp"

#include <sys/stat.h>
#include <unistd.h>

namespace oci::cgroups {

Delegation split_delegated(const Layout& layout,
                           const std::function<std::string(const Hierarchy&)>& dir_of,
                           const std::function<bool(const std::string&)>& delegated) {
  Delegation out;
  for (const auto& h : layout.v1) {
    std::string dir = dir_of(h);
    if (delegated(dir))
      out.usable.v1.push_back(h);
    else
      out.skipped.push_back(dir);
  }
  if (layout.unified) {
    std::string dir = dir_of(*layout.unified);
    if (delegated(dir))
      out.usable.unified = layout.unified;
    else
      out.skipped.push_back(dir);
  }
  return out;
}

bool delegated_to_caller(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0)
    return S_ISDIR(st.st_mode) && ::access(dir.c_str(), W_OK) == 0 &&
           ::access((dir + "/cgroup.procs").c_str(), W_OK) == 0;
  std::string cur = dir;
  while (cur.size() > 1) {
    size_t slash = cur.rfind('/');
    cur = slash == 0 ? "/" : cur.substr(0, slash);
    if (::stat(cur.c_str(), &st) == 0) return S_ISDIR(st.st_mode) && ::access(cur.c_str(), W_OK) == 0;
  }
  return false;
}

}  // namespace oci::cgroups
