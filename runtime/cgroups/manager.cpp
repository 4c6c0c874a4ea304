#include "runtime/cgroups/manager.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <ctime>

#include "runtime/util/fs.hpp"
#include "spec/error.hpp"

namespace oci::cgroups {
namespace {

std::string dev_num(const std::optional<int64_t>& v) {
  return v && *v >= 0 ? std::to_string(*v) : "*";
}

// mkdir -p below `mountpoint`, recording each dir this call created.
void make_dirs(const std::string& mountpoint, const std::string& path,
               std::vector<std::string>& created, bool cpuset) {
  std::string cur = mountpoint;
  size_t i = 1;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) {
      std::string parent = cur;
      cur += "/" + path.substr(i, j - i);
      if (::mkdir(cur.c_str(), 0755) == 0) {
        created.push_back(cur);
        if (cpuset) {
          // A v1 cpuset cgroup starts with empty cpus/mems: inherit the parent's.
          for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
            auto v = fs::read_file(parent + "/" + f);
            fs::write_file(cur + "/" + f, v);
          }
        }
      } else if (errno != EEXIST) {
        throw sys_error("mkdir " + cur);
      }
    }
    i = j + 1;
  }
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

std::vector<DeviceWrite> v1_device_writes(const std::vector<spec::DeviceRule>& rules) {
  std::vector<DeviceWrite> out;
  for (const auto& r : rules) {
    std::string type = r.type.empty() ? "a" : r.type;
    std::string access = r.access.empty() ? "rwm" : r.access;
    std::string rule;
    if (type == "a" && !r.major && !r.minor && access == "rwm") rule = "a";
    else rule = type + " " + dev_num(r.major) + ":" + dev_num(r.minor) + " " + access;
    out.push_back({r.allow, rule});
  }
  if (!rules.empty()) {
    static const char* kDefaults[] = {"c *:* m",    "b *:* m",   "c 1:3 rwm", "c 1:5 rwm",
                                      "c 1:7 rwm",  "c 5:0 rwm", "c 1:8 rwm", "c 1:9 rwm",
                                      "c 5:2 rwm",  "c 136:* rwm", "c 10:200 rwm"};
    for (const char* d : kDefaults) out.push_back({true, d});
  }
  return out;
}

void check_supported(const spec::Resources& r) {
  auto reject = [](const char* field) {
    throw Error(std::string("linux.resources.") + field +
                ": not supported by this version of oci-run");
  };
  if (r.memory) reject("memory");
  if (r.cpu) reject("cpu");
  if (r.block_io) reject("blockIO");
  if (!r.hugepage_limits.empty()) reject("hugepageLimits");
  if (r.network) reject("network");
  if (r.pids) reject("pids");
  if (!r.rdma.empty()) reject("rdma");
  if (!r.unified.empty()) reject("unified");
}

Cgroup::Cgroup(Cgroup&& o) noexcept : rec_(std::move(o.rec_)), committed_(o.committed_) {
  o.committed_ = true;
}

Cgroup::~Cgroup() {
  if (!committed_) destroy(rec_);
}

Cgroup Cgroup::create(const Layout& layout, const spec::Config& config, const std::string& id) {
  Cgroup cg;
  const std::string& cpath = config.linux ? config.linux->cgroups_path : std::string();
  const spec::Resources* res =
      config.linux && config.linux->resources ? &*config.linux->resources : nullptr;
  cg.rec_.path = cpath;
  if (layout.pure_v2()) {
    const auto& h = *layout.unified;
    std::string p = resolve_path(cpath, id, h.own);
    make_dirs(h.mountpoint, p, cg.rec_.created, false);
    cg.rec_.dirs.push_back(fs::clean(h.mountpoint + p));
    if (res && !res->devices.empty())
      throw Error("linux.resources.devices: cgroup v2 device rules are not supported yet");
  } else {
    for (const auto& h : layout.v1) {
      std::string p = resolve_path(cpath, id, h.own);
      make_dirs(h.mountpoint, p, cg.rec_.created, has(h.controllers, "cpuset"));
      std::string dir = fs::clean(h.mountpoint + p);
      cg.rec_.dirs.push_back(dir);
      if (res && has(h.controllers, "devices")) {
        for (const auto& w : v1_device_writes(res->devices))
          fs::write_file(dir + (w.allow ? "/devices.allow" : "/devices.deny"), w.rule);
      }
    }
  }
  return cg;
}

void Cgroup::add_pid(pid_t pid) const {
  std::string s = std::to_string(pid);
  for (const auto& d : rec_.dirs) fs::write_file(d + "/cgroup.procs", s);
}

void destroy(const container::CgroupRecord& rec) {
  // Children were created after their parents: remove in reverse order.
  for (auto it = rec.created.rbegin(); it != rec.created.rend(); ++it) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      if (::rmdir(it->c_str()) == 0 || errno == ENOENT) break;
      if (errno != EBUSY) break;
      // Tasks that just died may still be leaving the cgroup.
      timespec ts{0, 1000000};
      nanosleep(&ts, nullptr);
    }
  }
}

std::vector<pid_t> pids(const container::CgroupRecord& rec) {
  std::vector<pid_t> out;
  for (const auto& d : rec.dirs) {
    auto text = fs::try_read_file(d + "/cgroup.procs");
    if (!text) continue;
    size_t i = 0;
    while (i < text->size()) {
      size_t j = text->find('\n', i);
      if (j == std::string::npos) j = text->size();
      if (j > i) out.push_back(static_cast<pid_t>(std::atol(text->substr(i, j - i).c_str())));
      i = j + 1;
    }
    return out;
  }
  return out;
}

}  // namespace oci::cgroups
