#include "runtime/cgroups/record.hpp"

namespace oci::cgroups {

nlohmann::json to_json(const Record& r) {
  return {{"path", r.path}, {"dirs", r.dirs}, {"created", r.created}};
}

Record record_from_json(const nlohmann::json& j) {
  Record r;
  r.path = j.value("path", "");
  r.dirs = j.value("dirs", std::vector<std::string>{});
  r.created = j.value("created", std::vector<std::string>{});
  return r;
}

}  // namespace oci::cgroups
