#include "runtime/linux/proc.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace oci::linux_ {

std::optional<ProcStat> read_proc_stat(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  buf[n] = 0;
  // "pid (comm) S ppid ..." — comm may contain spaces and ')': use the last ')'.
  char* p = strrchr(buf, ')');
  if (!p || p[1] != ' ') return std::nullopt;
  ProcStat st;
  st.state = p[2];
  // Fields after ')' start at field 3 (state); starttime is field 22.
  char* s = p + 2;
  int field = 3;
  while (field < 22 && *s) {
    if (*s == ' ') {
      ++field;
      if (field == 4) st.ppid = static_cast<pid_t>(strtol(s + 1, nullptr, 10));
    }
    ++s;
  }
  if (field != 22) return std::nullopt;
  st.start_time = strtoull(s, nullptr, 10);
  return st;
}

bool process_matches(pid_t pid, unsigned long long start_time) {
  if (pid <= 0) return false;
  auto st = read_proc_stat(pid);
  return st && st->start_time == start_time && st->state != 'Z' && st->state != 'X';
}

}  // namespace oci::linux_
