// `oci-run --version`, in runc's line format (podman shows it as it is).
#include <seccomp.h>

#include <string>

#include "runtime/cli/commands.hpp"
#include "runtime/version/version.hpp"
#include "spec/state.hpp"

namespace oci::cli {

std::string version_text() {
  std::string out = oci::version::header("oci-run");
  out += "spec: ";
  out += oci::spec::kOciVersion;
  out += '\n';
  // The libseccomp oci-run runs with (linked statically: the one it was built with).
  // Appended piece by piece: "literal" + std::string trips GCC 12 -O3 -Wrestrict (PR 105651).
  if (const scmp_version* v = seccomp_version()) {
    out += "libseccomp: ";
    out += std::to_string(v->major);
    out += '.';
    out += std::to_string(v->minor);
    out += '.';
    out += std::to_string(v->micro);
    out += '\n';
  }
  return out;
}

}  // namespace oci::cli
