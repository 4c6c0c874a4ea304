// What a container's state file remembers about its cgroup: enough for every
// later command (update, pause, kill --all, events, delete) to work without
// re-detecting the host layout.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace oci::cgroups {

struct Record {
  std::string path;  // cgroupsPath as given
  // v1/hybrid: the container's dir in each v1 hierarchy, in Layout::v1 order;
  // v2: the single cgroup2 dir.
  std::vector<std::string> dirs;
  std::vector<std::string>
      created;         // the subset oci-run created (removed on delete), parents first
  std::string driver;  // "v1", "v2", "hybrid"
  // v1/hybrid: the controllers of each entry of `dirs` ({"cpu"}, {"name=systemd"}...).
  std::vector<std::vector<std::string>> controllers;
  std::string unified;        // the container's dir in the cgroup2 hierarchy ("" if none)
  std::string unified_mount;  // that hierarchy's mountpoint

  bool v2() const { return driver == "v2"; }
  // Every dir a process of the container joins: `dirs`, plus the cgroup2 dir
  // of the hybrid driver.
  std::vector<std::string> all_dirs() const;
  // The v1 dir holding `controller`, or "" (never for the v2 driver).
  std::string v1_dir(const std::string& controller) const;
};

nlohmann::json to_json(const Record& r);
// Tolerates state files written before driver/controllers/unified existed: the
// driver is then inferred (a single dir on a cgroup2 filesystem is v2).
Record record_from_json(const nlohmann::json& j);

}  // namespace oci::cgroups
