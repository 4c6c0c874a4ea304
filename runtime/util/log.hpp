// Logging to --log FILE in text or JSON lines; errors also go to stderr.
// Exactly one error line is written per failed command (by main()).
#pragma once

#include <string>

namespace oci::log {

// Opens --log FILE (appending, created if missing). Returns the error
// ("open log file PATH: No such file or directory"), "" on success; without
// the file, messages still go to stderr.
std::string init(const std::string& path, bool json, bool debug);
void error(const std::string& msg);  // the one error line of a failed command
void warn(const std::string& msg);
void debug(const std::string& msg);  // only with --debug
bool debug_enabled();
// In a container process once it has closed the runtime's fds: the log fd
// number may be reused and stderr is the container's, so log nothing more.
void stop_in_container();
// RFC 3339 UTC now; `nanos` adds 9 fractional digits.
std::string rfc3339_now(bool nanos);

}  // namespace oci::log
