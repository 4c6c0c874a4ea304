// Running OCI hooks: each hook is exec'd with its own args and env, gets the
// container state JSON on stdin, and is killed (an error) past its timeout.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "spec/config.hpp"

namespace oci::hooks {

// Runs `hooks` in order; throws oci::Error naming the phase, index and path on
// the first one that fails, with its output.
void run(const std::vector<spec::Hook>& hooks, const std::string& state_json, const char* phase);
// Runs every hook; failures are logged as warnings (poststop).
void run_warn(const std::vector<spec::Hook>& hooks, const std::string& state_json,
              const char* phase);

// Kept in the container's state for start (poststart) and delete (poststop).
nlohmann::json to_json(const std::vector<spec::Hook>& hooks);
std::vector<spec::Hook> from_json(const nlohmann::json& j);

}  // namespace oci::hooks
