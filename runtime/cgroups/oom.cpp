// OomWatcher: OOM kill notifications for `oci-run events`.
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "runtime/cgroups/manager.hpp"
#include "runtime/util/fs.hpp"
#include "spec/error.hpp"

namespace oci::cgroups {
namespace {

// The "oom_kill N" counter of memory.oom_control (v1) / memory.events (v2).
std::optional<uint64_t> oom_kills(const std::string& file) {
  std::optional<std::string> text;
  try {
    text = fs::try_read_file(file);
  } catch (const Error&) {
    return std::nullopt;
  }
  if (!text) return std::nullopt;
  size_t i = 0;
  while (i < text->size()) {
    size_t j = text->find('\n', i);
    if (j == std::string::npos) j = text->size();
    if (text->compare(i, 9, "oom_kill ") == 0)
      return std::strtoull(text->c_str() + i + 9, nullptr, 10);
    i = j + 1;
  }
  return std::nullopt;
}

}  // namespace

std::optional<OomWatcher> OomWatcher::open(const Record& rec) {
  OomWatcher w;
  if (std::string dir = rec.v1_dir("memory"); !dir.empty()) {
    w.counter_ = dir + "/memory.oom_control";
    w.control_.reset(::open(w.counter_.c_str(), O_RDONLY | O_CLOEXEC));
    if (!w.control_) return std::nullopt;
    w.fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!w.fd_) throw sys_error("eventfd");
    std::string reg = std::to_string(w.fd_.get()) + " " + std::to_string(w.control_.get());
    std::string ctl = dir + "/cgroup.event_control";
    UniqueFd c(::open(ctl.c_str(), O_WRONLY | O_CLOEXEC));
    if (!c || ::write(c.get(), reg.data(), reg.size()) < 0)
      throw sys_error("register OOM events in " + ctl);
  } else if (!rec.unified.empty()) {
    w.v2_ = true;
    w.counter_ = rec.unified + "/memory.events";
    if (!fs::exists(w.counter_)) return std::nullopt;  // no memory controller there
    w.fd_.reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (!w.fd_) throw sys_error("inotify_init1");
    if (::inotify_add_watch(w.fd_.get(), w.counter_.c_str(), IN_MODIFY) < 0)
      throw sys_error("watch " + w.counter_);
  } else {
    return std::nullopt;
  }
  w.last_ = oom_kills(w.counter_).value_or(0);
  return w;
}

bool OomWatcher::consume() {
  // Drain the notification(s).
  char buf[4096];
  bool woke = false;
  for (;;) {
    ssize_t n = ::read(fd_.get(), buf, v2_ ? sizeof buf : 8);
    if (n > 0) {
      woke = true;
      if (!v2_) break;  // an eventfd read returns and resets the whole count
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  auto now = oom_kills(counter_);
  if (!v2_) {
    // As runc: on v1 each eventfd notification is an OOM event while the
    // cgroup exists (it also fires when the cgroup goes away). It fires when
    // the cgroup hits its limit, before the kernel has picked a victim, so
    // oom_kill has usually not gone up yet: do not wait for it.
    if (now) last_ = *now;
    return woke && fs::exists(counter_);
  }
  if (!now) return false;
  bool killed = *now > last_;
  last_ = *now;
  return killed;
}

}  // namespace oci::cgroups
