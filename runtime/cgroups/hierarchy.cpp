#include "runtime/cgroups/hierarchy.hpp"

#include <map>

#include "runtime/util/fs.hpp"
#include "spec/error.hpp"

namespace oci::cgroups {
namespace {

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(sep, i);
    if (j == std::string_view::npos) j = s.size();
    out.emplace_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

}  // namespace

Layout parse_layout(std::string_view mountinfo, std::string_view proc_cgroup) {
  // /proc/self/cgroup: "ID:controllers:path"; v2 is "0::path".
  std::map<std::string, std::string> own_by_key;  // "cpu,cpuacct" or "" (v2) -> path
  for (const auto& line : split(proc_cgroup, '\n')) {
    if (line.empty()) continue;
    size_t a = line.find(':');
    size_t b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    own_by_key[line.substr(a + 1, b - a - 1)] = line.substr(b + 1);
  }
  Layout layout;
  for (const auto& line : split(mountinfo, '\n')) {
    // id parent maj:min root mountpoint opts [optional...] - fstype source superopts
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    auto left = split(std::string_view(line).substr(0, dash), ' ');
    auto right = split(std::string_view(line).substr(dash + 3), ' ');
    if (left.size() < 5 || right.size() < 3) continue;
    const std::string& fstype = right[0];
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    if (left[3] != "/") continue;  // a bind of a sub-cgroup, not a hierarchy root
    Hierarchy h;
    h.mountpoint = left[4];
    h.v2 = fstype == "cgroup2";
    if (!h.v2) {
      for (const auto& o : split(right[2], ',')) {
        if (o == "rw" || o == "ro" || o.empty() || o.rfind("release_agent", 0) == 0 ||
            o == "clone_children" || o == "noprefix" || o == "xattr" || o == "cpuset_v2_mode")
          continue;
        h.controllers.push_back(o);
      }
      std::string key;
      for (size_t i = 0; i < h.controllers.size(); ++i) key += (i ? "," : "") + h.controllers[i];
      auto it = own_by_key.find(key);
      if (it == own_by_key.end()) continue;  // not a hierarchy this process is in
      h.own = it->second;
    } else {
      auto it = own_by_key.find("");
      h.own = it == own_by_key.end() ? "/" : it->second;
    }
    // Skip duplicate mounts of the same hierarchy.
    if (h.v2) {
      if (!layout.unified) layout.unified = std::move(h);
      continue;
    }
    bool dup = false;
    for (const auto& e : layout.v1)
      if (e.controllers == h.controllers) dup = true;
    if (!dup) layout.v1.push_back(std::move(h));
  }
  return layout;
}

const Layout& detect() {
  static const Layout layout = [] {
    auto mi = fs::read_file("/proc/self/mountinfo");
    auto cg = fs::read_file("/proc/self/cgroup");
    return parse_layout(mi, cg);
  }();
  return layout;
}

Driver select_driver(const Layout& layout, const char* forced) {
  std::string f = forced ? forced : "";
  if (f.empty() || f == "auto") {
    if (layout.pure_v2()) return Driver::V2;
    if (layout.v1.empty()) throw Error("no cgroup hierarchy is mounted on this host");
    return layout.unified ? Driver::Hybrid : Driver::V1;
  }
  std::string what = "OCI_RUN_CGROUP_DRIVER=" + f + ": ";
  if (f == "v2") {
    if (!layout.unified) throw Error(what + "no cgroup2 hierarchy is mounted on this host");
    return Driver::V2;
  }
  if (f == "v1") {
    if (layout.v1.empty()) throw Error(what + "no cgroup v1 hierarchy is mounted on this host");
    return Driver::V1;
  }
  if (f == "hybrid") {
    if (layout.v1.empty() || !layout.unified)
      throw Error(what + "needs both cgroup v1 hierarchies and a cgroup2 mount");
    return Driver::Hybrid;
  }
  throw Error(what + "unknown driver (use v1, v2, hybrid or auto)");
}

const char* driver_name(Driver d) {
  switch (d) {
    case Driver::V1: return "v1";
    case Driver::V2: return "v2";
    case Driver::Hybrid: return "hybrid";
  }
  return "v1";
}

std::string resolve_path(const std::string& cgroups_path, const std::string& id,
                         const std::string& own) {
  std::string p = cgroups_path.empty() ? id : cgroups_path;
  if (p[0] == '/') return fs::clean(p);
  return fs::clean(fs::join(own.empty() ? "/" : own, p));
}

}  // namespace oci::cgroups
