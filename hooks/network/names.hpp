// Network names as the hook's config and `oci-run spec --network` accept them:
// [A-Za-z0-9][A-Za-z0-9_.-]{0,63}. Header-only so the runtime can check a
// name without linking the hook's libraries.
#pragma once

#include <string>

namespace ocinet {

inline bool valid_network_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-'))) return false;
  }
  return true;
}

}  // namespace ocinet
