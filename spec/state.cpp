#include "spec/state.hpp"

#include <nlohmann/json.hpp>

namespace oci::spec {

std::string to_json(const State& s, int indent, bool with_owner) {
  nlohmann::ordered_json j;
  j["ociVersion"] = s.oci_version;
  j["id"] = s.id;
  j["pid"] = s.pid;
  j["status"] = s.status;
  j["bundle"] = s.bundle;
  j["rootfs"] = s.rootfs;
  j["created"] = s.created;
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  if (with_owner) j["owner"] = s.owner;
  return j.dump(indent);
}

}  // namespace oci::spec
