// The one exception type of oci-run-network: its message is what the hook
// prints on stderr (the runtime shows it in the failed create).
#pragma once

#include <stdexcept>
#include <string>

namespace ocinet {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

// "what: strerror(err)"
Error sys_error(const std::string& what, int err);
Error sys_error(const std::string& what);  // uses errno

}  // namespace ocinet
