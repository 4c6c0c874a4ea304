// Error types shared by the spec library and the runtime.
#pragma once

#include <stdexcept>
#include <string>

namespace oci {

// Any failure that is reported to the user. The message is complete: it names the
// operation, the path or field and (for system errors) the errno text.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A config.json (or process.json / resources JSON) that cannot be accepted.
// Message shape: "<source>: <json.path>: <problem>".
class ConfigError : public Error {
 public:
  using Error::Error;
};

// "op path: strerror(err)", e.g. "mkdir /run/oci-run/x: Permission denied".
Error sys_error(const std::string& op, int err);
Error sys_error(const std::string& op);  // uses errno

}  // namespace oci
