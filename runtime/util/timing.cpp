#include "runtime/util/timing.hpp"

#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace oci::timing {
namespace {

bool g_on = false;
double g_start = 0;
double g_last = 0;
double g_last_cpu = 0;

double ms(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

}  // namespace

void init() {
  const char* v = std::getenv(kEnv);
  g_on = v && *v && std::strcmp(v, "0") != 0;
  if (g_on) g_start = g_last = ms(CLOCK_MONOTONIC);
}

void mark(const char* phase) {
  if (!g_on) return;
  double t = ms(CLOCK_MONOTONIC);
  double cpu = ms(CLOCK_PROCESS_CPUTIME_ID);
  char line[256];
  int n = std::snprintf(line, sizeof line, "oci-run timing: pid %d +%.3f ms (+%.3f, cpu %.3f) %s\n",
                        static_cast<int>(::getpid()), t - g_start, t - g_last, cpu - g_last_cpu, phase);
  g_last = t;
  g_last_cpu = cpu;
  if (n > 0) (void)!::write(STDERR_FILENO, line, static_cast<size_t>(n) < sizeof line ? n : sizeof line - 1);
}

}  // namespace oci::timing
