#include "spec/config.hpp"

namespace oci::spec {

bool Linux::has_namespace(const std::string& type) const { return find_namespace(type) != nullptr; }

const Namespace* Linux::find_namespace(const std::string& type) const {
  for (const auto& ns : namespaces)
    if (ns.type == type) return &ns;
  return nullptr;
}

}  // namespace oci::spec
