#include "runtime/cgroups/manager.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <set>

#include "runtime/cgroups/bpf_devices.hpp"
#include "runtime/cgroups/delegation.hpp"
#include "runtime/util/fs.hpp"
#include "runtime/util/log.hpp"
#include "spec/error.hpp"

namespace oci::cgroups {
namespace {

using Clock = std::chrono::steady_clock;

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

void sleep_us(long us) {
  timespec ts{us / 1000000, (us % 1000000) * 1000};
  nanosleep(&ts, nullptr);
}

// One write(2) of `value` (cgroup files take a value per write). 0 or errno.
int write_value(const std::string& path, const std::string& value) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return errno;
  for (;;) {
    ssize_t n = ::write(fd.get(), value.data(), value.size());
    if (n >= 0) return 0;
    if (errno != EINTR) return errno;
  }
}

std::optional<std::string> read_opt(const std::string& path) {
  try {
    return fs::try_read_file(path);
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find_first_of(" \n", i);
    if (j == std::string::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// "key value" line lookup ("frozen 1" in cgroup.events).
std::optional<uint64_t> keyed(const std::string& text, const std::string& key) {
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find('\n', i);
    if (j == std::string::npos) j = text.size();
    if (text.compare(i, key.size(), key) == 0 && i + key.size() < j && text[i + key.size()] == ' ')
      return std::strtoull(text.c_str() + i + key.size() + 1, nullptr, 10);
    i = j + 1;
  }
  return std::nullopt;
}

// The resource group a field belongs to: "memory.limit" -> "memory".
std::string group_of(const std::string& field) {
  return field.substr(0, field.find_first_of(".["));
}

// The record a driver gives a container before anything exists.
Record plan_record(const Layout& layout, Driver d, const std::string& cpath,
                   const std::string& id) {
  Record rec;
  rec.path = cpath;
  rec.driver = driver_name(d);
  if (d != Driver::V2) {
    for (const auto& h : layout.v1) {
      rec.dirs.push_back(fs::clean(h.mountpoint + resolve_path(cpath, id, h.own)));
      rec.controllers.push_back(h.controllers);
    }
  }
  if (d != Driver::V1 && layout.unified) {
    const auto& u = *layout.unified;
    rec.unified = fs::clean(u.mountpoint + resolve_path(cpath, id, u.own));
    rec.unified_mount = u.mountpoint;
    if (d == Driver::V2) rec.dirs = {rec.unified};
  }
  return rec;
}

Picker picker_for(const Record& rec) {
  return [&rec](const std::string& v1_controller, bool v2_capable) {
    if (rec.v2()) return Version::V2;
    if (!v1_controller.empty() && !rec.v1_dir(v1_controller).empty()) return Version::V1;
    if (v2_capable && !rec.unified.empty()) return Version::V2;
    return Version::V1;
  };
}

std::string dir_for(const Record& rec, Version v, const std::string& controller) {
  return v == Version::V2 ? rec.unified : rec.v1_dir(controller);
}

Reader reader_for(const Record& rec) {
  return [&rec](Version v, const std::string& controller,
                const std::string& file) -> std::optional<std::string> {
    std::string dir = dir_for(rec, v, controller);
    if (dir.empty()) return std::nullopt;
    return read_opt(dir + "/" + file);
  };
}

// v2 controllers the plan writes to (in first-use order).
std::vector<std::string> v2_controllers(const Plan& plan) {
  std::vector<std::string> out;
  for (const auto& w : plan.writes)
    if (w.version == Version::V2 && !w.controller.empty() && !has(out, w.controller))
      out.push_back(w.controller);
  return out;
}

// Every controller the plan needs exists: a v1 hierarchy for v1 writes; for
// v2 writes the controller is offered by the cgroup2 root (cgroup.controllers).
void check_available(const Record& rec, const Plan& plan, const std::string& shown_dir) {
  for (const auto& w : plan.writes) {
    if (w.version != Version::V1 || !rec.v1_dir(w.controller).empty()) continue;
    throw Error("linux.resources." + group_of(w.field) + ": cgroup v1 controller \"" +
                w.controller + "\" is not mounted on this host");
  }
  if (plan.bpf_devices && rec.unified.empty())
    throw Error("linux.resources.devices: no cgroup v2 directory to attach the device filter to");
  auto needed = v2_controllers(plan);
  if (needed.empty()) return;
  std::string ctl_file = rec.unified_mount + "/cgroup.controllers";
  auto avail = words(read_opt(ctl_file).value_or(""));
  for (const auto& c : needed) {
    if (has(avail, c)) continue;
    std::string field;
    for (const auto& w : plan.writes)
      if (w.version == Version::V2 && w.controller == c) {
        field = group_of(w.field);
        break;
      }
    std::string list;
    for (const auto& a : avail) list += (list.empty() ? "" : " ") + a;
    throw Error("linux.resources." + field + ": cgroup v2 controller \"" + c +
                "\" is not available in " + shown_dir + " (" +
                (shown_dir == rec.unified_mount ? std::string() : rec.unified_mount + "/") +
                "cgroup.controllers: \"" + list + "\")" +
                (rec.v2() ? "" : "; no cgroup v1 hierarchy has it either"));
  }
}

// Turns `needed` on in dir/cgroup.subtree_control (so dir's children get them).
void enable_controllers(const std::string& dir, const std::vector<std::string>& needed) {
  if (needed.empty()) return;
  std::string file = dir + "/cgroup.subtree_control";
  auto on = words(read_opt(file).value_or(""));
  std::string add;
  for (const auto& c : needed)
    if (!has(on, c)) add += (add.empty() ? "+" : " +") + c;
  if (add.empty()) return;
  if (int err = write_value(file, add))
    throw Error("linux.resources: enable cgroup v2 controllers: write \"" + add + "\" to " + file +
                ": " + std::strerror(err) +
                (err == EBUSY ? " (that cgroup has processes of its own)" : ""));
}

// mkdir -p of `dir` below `mountpoint`, recording each dir this call created.
// v1 cpuset dirs inherit their parent's cpus/mems (they start empty); cgroup2
// ancestors get `controllers` enabled on the way down.
// Calls fn(parent, dir) for each dir from the first below `mountpoint` down
// to `dir` itself, parents first.
void for_each_level(const std::string& mountpoint, const std::string& dir,
                    const std::function<void(const std::string&, const std::string&)>& fn) {
  std::string path = dir.substr(mountpoint.size());
  std::string cur = mountpoint;
  size_t i = 1;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) {
      std::string parent = cur;
      cur += "/" + path.substr(i, j - i);
      fn(parent, cur);
    }
    i = j + 1;
  }
}

void make_dirs(const std::string& mountpoint, const std::string& dir,
               std::vector<std::string>& created, bool cpuset,
               const std::vector<std::string>& controllers) {
  // A parent that existed a moment ago may be removed under us (the last
  // container of a shared parent being deleted removes the parent it made):
  // then mkdir says ENOENT and the walk starts again from the top.
  for (int attempt = 0;; ++attempt) {
    bool vanished = false;
    for_each_level(mountpoint, dir, [&](const std::string& parent, const std::string& cur) {
      if (vanished) return;
      enable_controllers(parent, controllers);
      bool made = ::mkdir(cur.c_str(), 0755) == 0;
      if (!made && errno == ENOENT && attempt < 5) {
        vanished = true;
        return;
      }
      if (!made && errno != EEXIST) throw sys_error("mkdir " + cur);
      if (made) created.push_back(cur);
      // As runc: a v1 cpuset dir starts with empty cpus/mems, and a task cannot
      // join it (ENOSPC). Fill every empty one on the way down, new or
      // pre-created, from its parent (filled just before: the nearest non-empty).
      if (cpuset) {
        for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
          std::string file = cur + "/" + f;
          if (!made && !trim(fs::read_file(file)).empty()) continue;
          auto v = fs::read_file(parent + "/" + f);
          if (int err = write_value(file, trim(v)))
            throw Error("cpuset: write \"" + trim(v) + "\" to " + file + ": " + std::strerror(err));
        }
      }
    });
    if (!vanished) return;
  }
}

// The dirs make_dirs() would create now (those missing), parents first.
void missing_dirs(const std::string& mountpoint, const std::string& dir, std::vector<std::string>& out) {
  for_each_level(mountpoint, dir, [&](const std::string&, const std::string& cur) {
    struct stat st;
    if (::stat(cur.c_str(), &st) != 0) out.push_back(cur);
  });
}

void apply(const Record& rec, const Plan& plan, const spec::Resources& r, bool replace) {
  for (const auto& w : plan.writes) {
    std::string dir = dir_for(rec, w.version, w.controller);
    std::string path = dir + "/" + w.file;
    const std::string* value = &w.value;
    int err = write_value(path, w.value);
    if (err == ENOENT && !w.alt_file.empty()) {
      std::string alt = dir + "/" + w.alt_file;
      int err2 = write_value(alt, w.alt_value);
      if (err2 != ENOENT) {
        err = err2;
        path = alt;
        value = &w.alt_value;
      }
    }
    if (!err) continue;
    std::string field = "linux.resources." + w.field;
    if (err == ENOENT) {
      if (w.missing == Write::Missing::Ignore) continue;
      if (w.missing == Write::Missing::Warn) {
        log::warn(field + ": ignored: " + path + " does not exist on this kernel");
        continue;
      }
      throw Error(field + ": " + path + " does not exist" +
                  (w.alt_file.empty() ? "" : " (nor " + w.alt_file + ")") +
                  ": not supported by this kernel");
    }
    throw Error(field + ": write \"" + *value + "\" to " + path + ": " + std::strerror(err));
  }
  if (plan.bpf_devices)
    attach_device_program(rec.unified, device_program(effective_device_rules(r.devices)), replace);
  for (const auto& w : plan.warnings) log::warn(w);
}

// Whether `pid` is on its way out (or gone): a zombie, dead, or PF_EXITING
// (0x4 in the flags field of /proc/PID/stat). Such a task leaves its cgroups
// within microseconds, at cgroup_exit() in do_exit().
bool exiting(pid_t pid) {
  auto text = read_opt("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return true;
  size_t rp = text->rfind(')');
  if (rp == std::string::npos) return true;
  // After "comm)": state ppid pgrp session tty_nr tpgid flags
  auto f = words(text->substr(rp + 1));
  if (f.size() < 7) return true;
  if (f[0] == "Z" || f[0] == "X" || f[0] == "x") return true;
  return (std::strtoull(f[6].c_str(), nullptr, 10) & 0x4) != 0;
}

// The sub-cgroups of `dir` (the container's own: made inside its cgroup).
std::vector<std::string> sub_cgroups(const std::string& dir) {
  std::vector<std::string> subs;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d))
      if (e->d_type == DT_DIR && std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
        subs.push_back(dir + "/" + e->d_name);
    ::closedir(d);
  }
  return subs;
}

// A process in `dir` or below that is not exiting, or 0 if every task left is
// on its way out.
pid_t live_member(const std::string& dir, int depth = 0) {
  for (const auto& w : words(read_opt(dir + "/cgroup.procs").value_or(""))) {
    auto pid = static_cast<pid_t>(std::atol(w.c_str()));
    if (pid > 0 && !exiting(pid)) return pid;
  }
  if (depth < 32)
    for (const auto& sub : sub_cgroups(dir))
      if (pid_t p = live_member(sub, depth + 1)) return p;
  return 0;
}

// Upper bound on waiting for exiting tasks to leave (a task stuck in
// uninterruptible sleep on its way out, e.g. on a dead NFS server).
constexpr auto kLeaveTimeout = std::chrono::seconds(2);

// rmdir of the container's own cgroup `dir` with the sub-cgroups made inside
// it. No fixed sleeps: when rmdir says busy, it waits only while every task
// still listed is exiting (it leaves at once); a live one (a process the kill
// did not reach) fails at once. Returns 0 or the errno; `blocker` names a
// live process that keeps it busy.
int remove_own_cgroup(const std::string& dir, pid_t& blocker, int depth = 0) {
  if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return 0;
  int err = errno;
  if (err != EBUSY && err != ENOTEMPTY) return err;
  if (depth < 32)
    for (const auto& sub : sub_cgroups(dir)) remove_own_cgroup(sub, blocker, depth + 1);
  auto deadline = Clock::now() + kLeaveTimeout;
  long delay = 50;
  for (;;) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return 0;
    err = errno;
    if (err != EBUSY && err != ENOTEMPTY) return err;
    if (pid_t p = live_member(dir)) {
      if (!blocker) blocker = p;
      return err;
    }
    if (Clock::now() > deadline) return err;
    // Only exiting tasks (or none: the last one left between the two
    // checks). Sub-cgroups that were busy a moment ago may be empty now.
    if (depth < 32)
      for (const auto& sub : sub_cgroups(dir)) remove_own_cgroup(sub, blocker, depth + 1);
    sleep_us(delay);
    delay = std::min(delay * 2, 2000L);
  }
}

// v1 freezer.state / v2 cgroup.freeze handling.
constexpr auto kFreezeTimeout = std::chrono::seconds(5);

void v1_set_freezer(const std::string& dir, bool freeze) {
  std::string file = dir + "/freezer.state";
  const char* want = freeze ? "FROZEN" : "THAWED";
  auto deadline = Clock::now() + kFreezeTimeout;
  long delay = 100;
  for (int i = 0;; ++i) {
    if (i % 20 == 0) {
      if (int err = write_value(file, want))
        throw Error(std::string("write ") + want + " to " + file + ": " + std::strerror(err));
    }
    std::string state = trim(read_opt(file).value_or(""));
    if (state == want) return;
    if (Clock::now() > deadline) {
      if (freeze) write_value(file, "THAWED");
      throw Error(std::string(freeze ? "freeze" : "thaw") + " " + dir + ": timed out waiting for " +
                  file + " to read " + want + " (it reads " + state + ")");
    }
    sleep_us(delay);
    delay = std::min(delay * 2, 10000L);
  }
}

void v2_set_freeze(const std::string& dir, bool freeze) {
  std::string file = dir + "/cgroup.freeze";
  if (int err = write_value(file, freeze ? "1" : "0"))
    throw Error(std::string("write ") + (freeze ? "1" : "0") + " to " + file + ": " +
                std::strerror(err));
  std::string events = dir + "/cgroup.events";
  UniqueFd fd(::open(events.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw sys_error("open " + events);
  auto deadline = Clock::now() + kFreezeTimeout;
  for (;;) {
    char buf[512];
    ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
    if (n < 0) throw sys_error("read " + events);
    auto v = keyed(std::string(buf, static_cast<size_t>(n)), "frozen");
    if (v && (*v != 0) == freeze) return;
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      if (freeze) write_value(file, "0");
      throw Error(std::string(freeze ? "freeze" : "thaw") + " " + dir + ": timed out waiting for " +
                  events + " to report frozen " + (freeze ? "1" : "0"));
    }
    // cgroup.events changes are signalled as POLLPRI; poll again at least every 10 ms.
    pollfd p{fd.get(), POLLPRI, 0};
    ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 10)));
  }
}

}  // namespace

void check_supported(const spec::Resources& r) {
  const Layout& layout = detect();
  Driver d = select_driver(layout, std::getenv(kDriverEnv));
  // Dirs stand in for the (not yet known) container dirs: only which
  // hierarchies exist matters here.
  Record rec;
  rec.driver = driver_name(d);
  if (d != Driver::V2)
    for (const auto& h : layout.v1) {
      rec.dirs.push_back(h.mountpoint);
      rec.controllers.push_back(h.controllers);
    }
  if (d != Driver::V1 && layout.unified) {
    rec.unified = rec.unified_mount = layout.unified->mountpoint;
    if (d == Driver::V2) rec.dirs = {rec.unified};
  }
  Plan plan = translate(r, picker_for(rec), Reader());
  check_available(rec, plan, rec.unified_mount);
}

namespace {

// v1: freezer.state of a cgroup below a frozen parent reads FROZEN (or
// FREEZING while it goes); v2: cgroup.events "frozen 1", or cgroup.freeze set.
bool frozen_or_freezing(const Record& rec) {
  if (auto d = rec.v1_dir("freezer"); !d.empty()) {
    auto st = trim(read_opt(d + "/freezer.state").value_or("THAWED"));
    return st == "FROZEN" || st == "FREEZING";
  }
  if (!rec.unified.empty()) {
    auto ev = read_opt(rec.unified + "/cgroup.events");
    if (ev && keyed(*ev, "frozen").value_or(0) == 1) return true;
    return trim(read_opt(rec.unified + "/cgroup.freeze").value_or("0")) == "1";
  }
  return false;
}

}  // namespace

Cgroup::Cgroup(Cgroup&& o) noexcept : rec_(std::move(o.rec_)), committed_(o.committed_) {
  o.committed_ = true;
}

Cgroup::~Cgroup() {
  if (committed_) return;
  try {
    destroy(rec_);
  } catch (...) {
    // Already failing: the original error is the one to report.
  }
}

Cgroup Cgroup::create(const Layout& host_layout, const spec::Config& config, const std::string& id,
                      bool rootless, const std::function<void(const Record&)>& before_mkdir) {
  Cgroup cg;
  const std::string& cpath = config.linux ? config.linux->cgroups_path : std::string();
  const spec::Resources* res =
      config.linux && config.linux->resources ? &*config.linux->resources : nullptr;
  Driver d = select_driver(host_layout, std::getenv(kDriverEnv));
  // Rootless: only the hierarchies delegated to us; device rules cannot be
  // enforced without privilege (and devices are bind mounts of the host's,
  // limited by the user's own access), so they are left out with a note.
  Delegation deleg;
  std::optional<spec::Resources> rootless_res;
  if (rootless) {
    deleg = split_delegated(
        host_layout,
        [&](const Hierarchy& h) { return fs::clean(h.mountpoint + resolve_path(cpath, id, h.own)); },
        delegated_to_caller);
    for (const auto& dir : deleg.skipped) log::debug("rootless: cgroup " + dir + " is not delegated: not used");
    if (res && !res->devices.empty()) {
      log::debug("rootless: linux.resources.devices not applied (no device cgroup without privilege)");
      rootless_res = *res;
      rootless_res->devices.clear();
      res = &*rootless_res;
    }
  }
  const Layout& layout = rootless ? deleg.usable : host_layout;
  cg.rec_ = plan_record(layout, d, cpath, id);
  Record& rec = cg.rec_;

  // Everything that can be refused is refused before the first mkdir.
  Plan plan;
  if (res) {
    try {
      plan = translate(*res, picker_for(rec), reader_for(rec));
      check_available(rec, plan, rec.unified);
    } catch (const Error& e) {
      if (deleg.skipped.empty()) throw;
      std::string dirs;
      for (const auto& dir : deleg.skipped) dirs += (dirs.empty() ? "" : ", ") + dir;
      std::string msg = e.what();
      throw Error(msg.substr(0, msg.find(": ")) + ": rootless: the cgroup it needs is not delegated to uid " +
                  std::to_string(::geteuid()) + " (it may not create or write " + dirs + ")");
    }
  }
  if (before_mkdir) {
    Record planned = rec;
    if (d != Driver::V2)
      for (size_t i = 0; i < layout.v1.size(); ++i)
        missing_dirs(layout.v1[i].mountpoint, rec.dirs[i], planned.created);
    if (!rec.unified.empty()) missing_dirs(rec.unified_mount, rec.unified, planned.created);
    before_mkdir(planned);
  }
  if (d != Driver::V2)
    for (size_t i = 0; i < layout.v1.size(); ++i)
      make_dirs(layout.v1[i].mountpoint, rec.dirs[i], rec.created,
                has(layout.v1[i].controllers, "cpuset"), {});
  if (!rec.unified.empty())
    make_dirs(rec.unified_mount, rec.unified, rec.created, false, v2_controllers(plan));
  // As runc: a frozen cgroup (a pre-created one, or one below a frozen
  // parent) would freeze the init in the middle of create, for ever.
  if (frozen_or_freezing(rec)) throw Error("container's cgroup unexpectedly frozen");
  if (res) apply(rec, plan, *res, false);
  return cg;
}

void Cgroup::add_pid(pid_t pid) const {
  std::string s = std::to_string(pid);
  auto join = [&](const std::string& d) {
    if (int err = write_value(d + "/cgroup.procs", s))
      throw Error("add pid " + s + " to " + d + "/cgroup.procs: " + std::strerror(err));
  };
  for (const auto& d : rec_.all_dirs()) join(d);
}

void destroy(const Record& rec) {
  // Children were created after their parents: remove in reverse order. Keep
  // going past a failure so as much as possible goes, then report the first.
  // Only the container's own cgroup (and what was made inside it) is the
  // container's: a parent this container happened to create is shared with
  // whatever else was put there since (a sibling container, a cgroup made by
  // hand), so it gets one rmdir, which the kernel refuses unless it is empty,
  // and a busy parent is left as runc leaves every parent.
  auto own = rec.all_dirs();
  std::string failed;
  int first_err = 0;
  pid_t blocker = 0;
  for (auto it = rec.created.rbegin(); it != rec.created.rend(); ++it) {
    if (std::find(own.begin(), own.end(), *it) == own.end()) {
      if (::rmdir(it->c_str()) != 0 && errno != ENOENT)
        log::debug("cgroup " + *it + " (a parent made at create) not removed: " + std::strerror(errno));
      continue;
    }
    if (int err = remove_own_cgroup(*it, blocker); err && !first_err) {
      first_err = err;
      failed = *it;
    }
  }
  if (first_err)
    throw Error("remove cgroup " + failed + ": " + std::strerror(first_err) +
                (blocker ? " (process " + std::to_string(blocker) + " is still in it)" : ""));
}

std::vector<pid_t> pids(const Record& rec) {
  std::vector<pid_t> out;
  for (const auto& d : rec.all_dirs()) {
    auto text = read_opt(d + "/cgroup.procs");
    if (!text) continue;
    for (const auto& w : words(*text)) out.push_back(static_cast<pid_t>(std::atol(w.c_str())));
    return out;
  }
  return out;
}

void update(const Record& rec, const spec::Resources& r) {
  Plan plan = translate(r, picker_for(rec), reader_for(rec));
  check_available(rec, plan, rec.unified);
  if (!rec.unified.empty()) {
    auto needed = v2_controllers(plan);
    if (!needed.empty()) {
      std::vector<std::string> ignored;
      make_dirs(rec.unified_mount, rec.unified, ignored, false, needed);
    }
  }
  apply(rec, plan, r, true);
}

namespace {

void set_frozen(const Record& rec, bool on) {
  if (auto d = rec.v1_dir("freezer"); !d.empty()) return v1_set_freezer(d, on);
  if (!rec.unified.empty()) return v2_set_freeze(rec.unified, on);
  throw Error(std::string("cannot ") + (on ? "pause" : "resume") +
              ": the cgroup v1 freezer is not mounted and the container has no cgroup v2 directory");
}

}  // namespace

void freeze(const Record& rec) { set_frozen(rec, true); }
void thaw(const Record& rec) { set_frozen(rec, false); }

bool frozen(const Record& rec) {
  if (auto d = rec.v1_dir("freezer"); !d.empty())
    return trim(read_opt(d + "/freezer.state").value_or("")) == "FROZEN";
  if (!rec.unified.empty()) {
    auto ev = read_opt(rec.unified + "/cgroup.events");
    return ev && keyed(*ev, "frozen").value_or(0) == 1;
  }
  return false;
}

void signal_all(const Record& rec, int sig) {
  if (sig == SIGKILL && !rec.unified.empty()) {
    int err = write_value(rec.unified + "/cgroup.kill", "1");
    if (err == 0) return;
    if (err == ENOENT && !fs::exists(rec.unified)) return;  // already removed: nothing to kill
    if (err != ENOENT)
      throw Error("write 1 to " + rec.unified + "/cgroup.kill: " + std::strerror(err));
    // A kernel before 5.14: no cgroup.kill, fall back to signalling each pid.
  }
  std::set<pid_t> sent;
  // New processes may be forked while we go: for SIGKILL repeat until no new one shows up.
  for (int pass = 0; pass < (sig == SIGKILL ? 10 : 1); ++pass) {
    bool any = false;
    for (pid_t p : pids(rec)) {
      if (p <= 0 || !sent.insert(p).second) continue;
      any = true;
      if (::kill(p, sig) != 0 && errno != ESRCH) throw sys_error("kill " + std::to_string(p));
    }
    if (!any) break;
  }
}

}  // namespace oci::cgroups
