// Test-only fault points: see fault.hpp.
#include "runtime/util/fault.hpp"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace oci::fault {
namespace {

struct Config {
  const char* name;        // OCI_RUN_FAULT, or nullptr
  unsigned long delay_us;  // OCI_RUN_FAULT_DELAY_US, or 0
};

const Config& config() noexcept {
  // oci-run is single-threaded where fault points sit; a function-local
  // static is thread-safe anyway.
  static const Config c = [] {
    Config out{nullptr, 0};
    const char* n = std::getenv("OCI_RUN_FAULT");
    if (n && *n) out.name = n;
    const char* d = std::getenv("OCI_RUN_FAULT_DELAY_US");
    if (d && *d) out.delay_us = std::strtoul(d, nullptr, 10);
    return out;
  }();
  return c;
}

}  // namespace

void fault_point(const char* name) noexcept {
  const Config& c = config();
  if (!c.name && c.delay_us == 0) return;
  if (c.delay_us) {
    // Not for cryptography: a spread of delays between runs is all we need.
    static unsigned seed = static_cast<unsigned>(::getpid()) ^ static_cast<unsigned>(::time(nullptr));
    unsigned long us = static_cast<unsigned long>(::rand_r(&seed)) % (c.delay_us + 1);
    timespec ts{static_cast<time_t>(us / 1000000), static_cast<long>(us % 1000000) * 1000};
    while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }
  if (c.name && std::strcmp(c.name, name) == 0) ::raise(SIGKILL);
}

}  // namespace oci::fault
