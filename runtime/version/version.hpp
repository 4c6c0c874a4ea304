#pragma once
// Version lines of oci-run, oci-run-network and oci-run-image, in runc's
// format (`runc --version`), which podman shows as it is:
//   oci-run version 0.1.0
//   commit: v0.1.0-12-gabcdef0
//   spec: 1.3.0
//   libseccomp: 2.5.4      (oci-run only: the library it is linked with)
#include <string>

namespace oci::version {

// The project version (CMake's PROJECT_VERSION).
const char* project();
// `git describe --always --dirty` of the source tree at configure time, or
// "unknown" outside a git checkout (a release tarball).
const char* commit();
// "NAME version X\ncommit: C\n": the lines every binary prints.
std::string header(const char* name);

}  // namespace oci::version
