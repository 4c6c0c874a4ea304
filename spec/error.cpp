#include "spec/error.hpp"

#include <cerrno>
#include <cstring>

namespace oci {

Error sys_error(const std::string& op, int err) {
  return Error(op + ": " + std::strerror(err));
}

Error sys_error(const std::string& op) { return sys_error(op, errno); }

}  // namespace oci
