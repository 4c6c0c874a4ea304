// The `events --stats` data object, built from cgroup files (v1 or v2 per
// controller). Pure given a Reader, so both layouts are unit-tested.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/cgroups/translate.hpp"

namespace oci::cgroups {

struct StatsInput {
  Reader read;  // files of the container's cgroup
  Picker pick;  // which version accounts a v1 controller ("cpuacct", "memory"...)
  std::vector<std::string> hugepage_sizes;  // "2MB", "1GB"
  long clk_tck = 100;                       // USER_HZ, for v1 cpuacct.stat
};

nlohmann::ordered_json build_stats(const StatsInput& in);

// "2MB"... from /sys/kernel/mm/hugepages.
std::vector<std::string> host_hugepage_sizes();

}  // namespace oci::cgroups
