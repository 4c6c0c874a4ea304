// The runtime-spec State object as printed by `state` and `list -f json`.
#pragma once

#include <map>
#include <string>

namespace oci::spec {

// The spec version this runtime implements (state.ociVersion, features.ociVersionMax).
inline constexpr const char* kOciVersion = "1.3.0";
inline constexpr const char* kOciVersionMin = "1.0.0";

struct State {
  std::string oci_version = kOciVersion;
  std::string id;
  std::string status;  // creating|created|running|paused|stopped
  int pid = 0;
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339, UTC, nanoseconds
  std::string owner;
  std::map<std::string, std::string> annotations;
};

// runc-compatible JSON. `indent` < 0 gives one line.
std::string to_json(const State& s, int indent = 2, bool with_owner = true);

}  // namespace oci::spec
