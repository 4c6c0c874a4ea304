#include "hooks/network/error.hpp"

#include <cerrno>
#include <cstring>

namespace ocinet {

Error sys_error(const std::string& what, int err) {
  return Error(what + ": " + std::strerror(err));
}
Error sys_error(const std::string& what) { return sys_error(what, errno); }

}  // namespace ocinet
