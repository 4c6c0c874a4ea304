#include "runtime/cgroups/record.hpp"

#include <sys/vfs.h>

#include <algorithm>

#include "runtime/cgroups/hierarchy.hpp"

namespace oci::cgroups {
namespace {

constexpr long kCgroup2Magic = 0x63677270;  // CGROUP2_SUPER_MAGIC

bool on_cgroup2(const std::string& dir) {
  struct statfs st {};
  return ::statfs(dir.c_str(), &st) == 0 && st.f_type == kCgroup2Magic;
}

}  // namespace

std::string Record::v1_dir(const std::string& controller) const {
  if (v2()) return {};
  for (size_t i = 0; i < dirs.size() && i < controllers.size(); ++i)
    if (std::find(controllers[i].begin(), controllers[i].end(), controller) != controllers[i].end())
      return dirs[i];
  return {};
}

std::vector<std::string> Record::all_dirs() const {
  std::vector<std::string> out = dirs;
  if (!unified.empty() && std::find(out.begin(), out.end(), unified) == out.end())
    out.push_back(unified);
  return out;
}

nlohmann::json to_json(const Record& r) {
  nlohmann::json j{
      {"path", r.path}, {"dirs", r.dirs}, {"created", r.created}, {"driver", r.driver}};
  if (!r.controllers.empty()) j["controllers"] = r.controllers;
  if (!r.unified.empty()) {
    j["unified"] = r.unified;
    j["unifiedMount"] = r.unified_mount;
  }
  return j;
}

Record record_from_json(const nlohmann::json& j) {
  Record r;
  r.path = j.value("path", "");
  r.dirs = j.value("dirs", std::vector<std::string>{});
  r.created = j.value("created", std::vector<std::string>{});
  r.driver = j.value("driver", "");
  r.controllers = j.value("controllers", std::vector<std::vector<std::string>>{});
  r.unified = j.value("unified", "");
  r.unified_mount = j.value("unifiedMount", "");
  if (r.driver.empty()) {
    // Older state files: infer from the host.
    if (r.dirs.size() == 1 && on_cgroup2(r.dirs[0])) {
      r.driver = "v2";
      r.unified = r.dirs[0];
      const Layout& l = detect();
      if (l.unified) r.unified_mount = l.unified->mountpoint;
    } else {
      r.driver = "v1";
    }
  }
  if (r.driver != "v2" && r.controllers.size() != r.dirs.size()) {
    // Match each dir to the v1 hierarchy mounted above it.
    r.controllers.clear();
    const Layout& l = detect();
    for (const auto& d : r.dirs) {
      std::vector<std::string> c;
      for (const auto& h : l.v1)
        if (d.size() > h.mountpoint.size() &&
            d.compare(0, h.mountpoint.size(), h.mountpoint) == 0 && d[h.mountpoint.size()] == '/')
          c = h.controllers;
      r.controllers.push_back(std::move(c));
    }
  }
  return r;
}

}  // namespace oci::cgroups
