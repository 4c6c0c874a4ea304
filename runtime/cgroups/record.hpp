// What a container's state file remembers about its cgroup.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace oci::cgroups {

struct Record {
  std::string path;                  // cgroupsPath as given
  std::vector<std::string> dirs;     // absolute dirs joined, in Layout::v1 order (or the v2 dir)
  std::vector<std::string> created;  // the subset oci-run created (removed on delete)
};

nlohmann::json to_json(const Record& r);
Record record_from_json(const nlohmann::json& j);

}  // namespace oci::cgroups
