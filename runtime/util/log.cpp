#include "runtime/util/log.hpp"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "spec/error.hpp"

namespace oci::log {
namespace {

int g_fd = -1;
bool g_json = false;
bool g_debug = false;

void write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0) return;
    off += static_cast<size_t>(n);
  }
}

void emit(const char* level, const std::string& msg, bool to_stderr) {
  std::string line;
  if (g_json) {
    nlohmann::ordered_json j;
    j["level"] = level;
    j["msg"] = msg;
    j["time"] = rfc3339_now(false);
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else {
    line = "time=\"" + rfc3339_now(false) + "\" level=" + level + " msg=" +
           nlohmann::json(msg).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
           "\n";
  }
  if (g_fd >= 0) write_all(g_fd, line);
  if (to_stderr || g_fd < 0) write_all(STDERR_FILENO, msg + "\n");
}

}  // namespace

std::string init(const std::string& path, bool json, bool debug) {
  g_json = json;
  g_debug = debug;
  if (!path.empty()) {
    g_fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (g_fd < 0) return sys_error("open log file " + path).what();
  }
  return "";
}

std::string rfc3339_now(bool nanos) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  if (nanos) n += static_cast<size_t>(snprintf(buf + n, sizeof buf - n, ".%09ld", ts.tv_nsec));
  buf[n++] = 'Z';
  return std::string(buf, n);
}

void error(const std::string& msg) { emit("error", msg, true); }
void warn(const std::string& msg) {
  if (g_fd >= 0) emit("warning", msg, false);
  else write_all(STDERR_FILENO, "warning: " + msg + "\n");
}
void debug(const std::string& msg) {
  if (!g_debug) return;
  if (g_fd >= 0) emit("debug", msg, false);
  else write_all(STDERR_FILENO, "debug: " + msg + "\n");
}
bool debug_enabled() { return g_debug; }
void stop_in_container() {
  g_fd = -1;
  g_debug = false;
}

}  // namespace oci::log
