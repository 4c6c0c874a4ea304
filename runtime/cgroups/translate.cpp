#include "runtime/cgroups/translate.hpp"

#include <algorithm>
#include <cstdlib>

#include "spec/error.hpp"

namespace oci::cgroups {
namespace {

using Missing = Write::Missing;

[[noreturn]] void fail(const std::string& field, const std::string& problem) {
  throw Error("linux.resources." + field + ": " + problem);
}

std::string idx(const std::string& list, size_t i) { return list + "[" + std::to_string(i) + "]"; }

std::string dev(int64_t major, int64_t minor) {
  return std::to_string(major) + ":" + std::to_string(minor);
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::optional<int64_t> to_int(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  std::string t = trim(*s);
  if (t.empty()) return std::nullopt;
  char* end = nullptr;
  long long v = std::strtoll(t.c_str(), &end, 10);
  if (*end != '\0' && *end != ' ') return std::nullopt;
  return v;
}

class Builder {
 public:
  Builder(const Picker& pick, const Reader& read) : pick_(pick), read_(read) {}

  Plan plan;

  void add(Version v, std::string controller, std::string file, std::string value,
           std::string field, Missing missing = Missing::Error) {
    Write w;
    w.version = v;
    w.controller = std::move(controller);
    w.file = std::move(file);
    w.value = std::move(value);
    w.field = std::move(field);
    w.missing = missing;
    plan.writes.push_back(std::move(w));
  }
  void add_alt(Version v, std::string controller, std::string file, std::string value,
               std::string alt_file, std::string alt_value, std::string field) {
    add(v, std::move(controller), std::move(file), std::move(value), std::move(field));
    plan.writes.back().alt_file = std::move(alt_file);
    plan.writes.back().alt_value = std::move(alt_value);
  }
  Version pick(const std::string& v1_controller, bool v2_capable = true) const {
    return pick_(v1_controller, v2_capable);
  }
  std::optional<std::string> read(Version v, const std::string& c, const std::string& f) const {
    return read_ ? read_(v, c, f) : std::nullopt;
  }

  void devices(const spec::Resources& r);
  void memory(const spec::Memory& m);
  void cpu(const spec::Cpu& c);
  void cpuset(const spec::Cpu& c);
  void pids(const spec::Pids& p);
  void block_io(const spec::BlockIo& b);
  void hugetlb(const std::vector<spec::HugepageLimit>& h);
  void network(const spec::Network& n);
  void rdma(const std::map<std::string, spec::Rdma>& r);
  void unified(const std::map<std::string, std::string>& u);

 private:
  const Picker& pick_;
  const Reader& read_;
};

void Builder::devices(const spec::Resources& r) {
  if (r.devices.empty()) return;
  if (pick("devices") == Version::V2) {
    plan.bpf_devices = true;
    return;
  }
  for (const auto& w : v1_device_writes(r.devices))
    add(Version::V1, "devices", w.allow ? "devices.allow" : "devices.deny", w.rule, "devices");
}

void Builder::memory(const spec::Memory& m) {
  Version v = pick("memory");
  const std::string c = "memory";
  // checkBeforeUpdate: refuse a limit below what the cgroup already uses
  // (v1's kernel does it too; v2 would OOM-kill instead).
  if (m.check_before_update.value_or(false) && m.limit && *m.limit > 0) {
    auto usage = to_int(read(v, c, v == Version::V1 ? "memory.usage_in_bytes" : "memory.current"));
    if (usage && *m.limit < *usage)
      fail("memory.limit", "new limit " + std::to_string(*m.limit) +
                               " is below the current usage " + std::to_string(*usage) +
                               " (checkBeforeUpdate)");
  }
  if (v == Version::V1) {
    auto limit = [&] {
      if (m.limit) add(v, c, "memory.limit_in_bytes", std::to_string(*m.limit), "memory.limit");
    };
    // As runc: lifting the memory limit (-1) without a swap value lifts
    // memory+swap too, when the kernel has it; otherwise the old memsw limit
    // stays below the new limit and the kernel refuses the write (EINVAL).
    std::optional<int64_t> memsw = m.swap;
    if (m.limit && *m.limit == -1 && !memsw && read(v, c, "memory.memsw.limit_in_bytes"))
      memsw = -1;
    auto swap = [&] {
      if (memsw) add(v, c, "memory.memsw.limit_in_bytes", std::to_string(*memsw), "memory.swap");
    };
    // memsw must stay >= limit at every step: raise memsw first when it grows.
    bool swap_first = false;
    if (m.limit && memsw) {
      if (*memsw == -1) {
        swap_first = true;
      } else {
        auto cur = to_int(read(v, c, "memory.memsw.limit_in_bytes"));
        swap_first = cur && *memsw > *cur;
      }
    }
    if (swap_first) {
      swap();
      limit();
    } else {
      limit();
      swap();
    }
    if (m.reservation)
      add(v, c, "memory.soft_limit_in_bytes", std::to_string(*m.reservation), "memory.reservation");
    if (m.kernel)
      add(v, c, "memory.kmem.limit_in_bytes", std::to_string(*m.kernel), "memory.kernel",
          Missing::Warn);
    if (m.kernel_tcp)
      add(v, c, "memory.kmem.tcp.limit_in_bytes", std::to_string(*m.kernel_tcp),
          "memory.kernelTCP");
    if (m.swappiness) {
      if (*m.swappiness > 100)
        fail("memory.swappiness",
             "must be between 0 and 100, got " + std::to_string(*m.swappiness));
      add(v, c, "memory.swappiness", std::to_string(*m.swappiness), "memory.swappiness");
    }
    if (m.disable_oom_killer)
      add(v, c, "memory.oom_control", *m.disable_oom_killer ? "1" : "0", "memory.disableOOMKiller");
    if (m.use_hierarchy)
      add(v, c, "memory.use_hierarchy", *m.use_hierarchy ? "1" : "0", "memory.useHierarchy");
    return;
  }
  // cgroup v2
  auto v2_bytes = [](int64_t b) { return b < 0 ? std::string("max") : std::to_string(b); };
  if (m.kernel_tcp) fail("memory.kernelTCP", "there is no kernel TCP memory limit in cgroup v2");
  if (m.swappiness) fail("memory.swappiness", "there is no per-cgroup swappiness in cgroup v2");
  if (m.disable_oom_killer.value_or(false))
    fail("memory.disableOOMKiller", "the OOM killer cannot be disabled in cgroup v2");
  if (m.limit) add(v, c, "memory.max", v2_bytes(*m.limit), "memory.limit");
  if (m.swap) {
    // The spec's swap is memory+swap; memory.swap.max is swap alone.
    std::string value;
    if (*m.swap < 0) {
      value = "max";
    } else {
      std::optional<int64_t> limit = m.limit;
      if (!limit) {
        auto cur = read(v, c, "memory.max");
        if (cur && trim(*cur) != "max")
          limit = to_int(cur);
        else
          fail("memory.swap",
               "on cgroup v2 memory.swap (memory+swap) needs memory.limit to derive "
               "memory.swap.max");
      }
      if (*limit < 0)
        fail("memory.swap", "cannot limit memory+swap while memory.limit is unlimited (cgroup v2)");
      if (*m.swap < *limit)
        fail("memory.swap", "must not be below memory.limit (" + std::to_string(*limit) +
                                "): it is the memory+swap total");
      value = std::to_string(*m.swap - *limit);
    }
    add(v, c, "memory.swap.max", value, "memory.swap");
  }
  if (m.reservation) add(v, c, "memory.low", v2_bytes(*m.reservation), "memory.reservation");
  if (m.kernel)
    plan.warnings.push_back(
        "linux.resources.memory.kernel: ignored (no kernel memory limit in cgroup v2)");
  if (m.use_hierarchy && !*m.use_hierarchy)
    plan.warnings.push_back(
        "linux.resources.memory.useHierarchy: ignored (cgroup v2 is always hierarchical)");
}

void Builder::cpu(const spec::Cpu& c) {
  bool any = c.shares || c.quota || c.burst || c.period || c.realtime_runtime ||
             c.realtime_period || c.idle;
  if (!any) return;
  Version v = pick("cpu");
  const std::string k = "cpu";
  if (v == Version::V1) {
    if (c.shares) add(v, k, "cpu.shares", std::to_string(*c.shares), "cpu.shares");
    if (c.period) add(v, k, "cpu.cfs_period_us", std::to_string(*c.period), "cpu.period");
    if (c.quota) add(v, k, "cpu.cfs_quota_us", std::to_string(*c.quota), "cpu.quota");
    if (c.burst) add(v, k, "cpu.cfs_burst_us", std::to_string(*c.burst), "cpu.burst");
    if (c.realtime_period)
      add(v, k, "cpu.rt_period_us", std::to_string(*c.realtime_period), "cpu.realtimePeriod");
    if (c.realtime_runtime)
      add(v, k, "cpu.rt_runtime_us", std::to_string(*c.realtime_runtime), "cpu.realtimeRuntime");
    if (c.idle) add(v, k, "cpu.idle", std::to_string(*c.idle), "cpu.idle");
    return;
  }
  if (c.realtime_runtime.value_or(0) != 0 || c.realtime_period.value_or(0) != 0)
    fail(c.realtime_runtime.value_or(0) != 0 ? "cpu.realtimeRuntime" : "cpu.realtimePeriod",
         "real-time CPU bandwidth cannot be set with cgroup v2");
  if (c.shares) add(v, k, "cpu.weight", std::to_string(shares_to_weight(*c.shares)), "cpu.shares");
  if (c.quota || c.period) {
    // cpu.max is "QUOTA [PERIOD]"; the kernel keeps the period when it is left out.
    std::string quota;
    if (c.quota) {
      quota = *c.quota > 0 ? std::to_string(*c.quota) : "max";
    } else {
      auto cur = read(v, k, "cpu.max");
      std::string t = cur ? trim(*cur) : "max";
      quota = t.substr(0, t.find(' '));
    }
    std::string value = quota;
    if (c.period) value += " " + std::to_string(*c.period);
    add(v, k, "cpu.max", value, c.quota ? "cpu.quota" : "cpu.period");
  }
  if (c.burst) add(v, k, "cpu.max.burst", std::to_string(*c.burst), "cpu.burst");
  if (c.idle) add(v, k, "cpu.idle", std::to_string(*c.idle), "cpu.idle");
}

void Builder::cpuset(const spec::Cpu& c) {
  if (c.cpus.empty() && c.mems.empty()) return;
  Version v = pick("cpuset");
  // mems first: a v1 cpuset needs both before tasks can join, either order works.
  if (!c.mems.empty()) add(v, "cpuset", "cpuset.mems", c.mems, "cpu.mems");
  if (!c.cpus.empty()) add(v, "cpuset", "cpuset.cpus", c.cpus, "cpu.cpus");
}

void Builder::pids(const spec::Pids& p) {
  Version v = pick("pids");
  // runtime-spec 1.3: -1 (any negative) is "max"; 0 is a real limit of 0.
  add(v, "pids", "pids.max", p.limit >= 0 ? std::to_string(p.limit) : "max", "pids.limit");
}

void Builder::block_io(const spec::BlockIo& b) {
  Version v = pick("blkio");
  if (v == Version::V1) {
    const std::string k = "blkio";
    if (b.weight)
      add_alt(v, k, "blkio.weight", std::to_string(*b.weight), "blkio.bfq.weight",
              std::to_string(*b.weight), "blockIO.weight");
    if (b.leaf_weight)
      add(v, k, "blkio.leaf_weight", std::to_string(*b.leaf_weight), "blockIO.leafWeight");
    for (size_t i = 0; i < b.weight_device.size(); ++i) {
      const auto& d = b.weight_device[i];
      std::string line = dev(d.major, d.minor) + " ";
      if (d.weight)
        add_alt(v, k, "blkio.weight_device", line + std::to_string(*d.weight),
                "blkio.bfq.weight_device", line + std::to_string(*d.weight),
                idx("blockIO.weightDevice", i));
      if (d.leaf_weight)
        add(v, k, "blkio.leaf_weight_device", line + std::to_string(*d.leaf_weight),
            idx("blockIO.weightDevice", i) + ".leafWeight");
    }
    auto throttle = [&](const std::vector<spec::ThrottleDevice>& list, const char* file,
                        const char* name) {
      for (size_t i = 0; i < list.size(); ++i)
        add(v, k, file, dev(list[i].major, list[i].minor) + " " + std::to_string(list[i].rate),
            idx(std::string("blockIO.") + name, i));
    };
    throttle(b.throttle_read_bps, "blkio.throttle.read_bps_device", "throttleReadBpsDevice");
    throttle(b.throttle_write_bps, "blkio.throttle.write_bps_device", "throttleWriteBpsDevice");
    throttle(b.throttle_read_iops, "blkio.throttle.read_iops_device", "throttleReadIOPSDevice");
    throttle(b.throttle_write_iops, "blkio.throttle.write_iops_device", "throttleWriteIOPSDevice");
    return;
  }
  const std::string k = "io";
  if (b.leaf_weight) fail("blockIO.leafWeight", "there is no leaf weight in cgroup v2");
  // io.bfq.weight takes the v1 range (1..1000) as is; io.weight is 1..10000.
  if (b.weight)
    add_alt(v, k, "io.bfq.weight", std::to_string(*b.weight), "io.weight",
            "default " + std::to_string(blkio_weight_to_io_weight(*b.weight)), "blockIO.weight");
  for (size_t i = 0; i < b.weight_device.size(); ++i) {
    const auto& d = b.weight_device[i];
    if (d.leaf_weight)
      fail(idx("blockIO.weightDevice", i) + ".leafWeight", "there is no leaf weight in cgroup v2");
    if (!d.weight) continue;
    std::string line = dev(d.major, d.minor) + " ";
    add_alt(v, k, "io.bfq.weight", line + std::to_string(*d.weight), "io.weight",
            line + std::to_string(blkio_weight_to_io_weight(*d.weight)),
            idx("blockIO.weightDevice", i));
  }
  // io.max: one line per device, "MAJ:MIN rbps=N wbps=N riops=N wiops=N";
  // a rate of 0 removes the limit, as it does in v1.
  struct Line {
    std::string dev, text, field;
  };
  std::vector<Line> lines;
  auto throttle = [&](const std::vector<spec::ThrottleDevice>& list, const char* key,
                      const char* name) {
    for (size_t i = 0; i < list.size(); ++i) {
      std::string d = dev(list[i].major, list[i].minor);
      auto it = std::find_if(lines.begin(), lines.end(), [&](const Line& l) { return l.dev == d; });
      if (it == lines.end()) {
        lines.push_back({d, d, idx(std::string("blockIO.") + name, i)});
        it = lines.end() - 1;
      }
      it->text += std::string(" ") + key + "=" +
                  (list[i].rate ? std::to_string(list[i].rate) : std::string("max"));
    }
  };
  throttle(b.throttle_read_bps, "rbps", "throttleReadBpsDevice");
  throttle(b.throttle_write_bps, "wbps", "throttleWriteBpsDevice");
  throttle(b.throttle_read_iops, "riops", "throttleReadIOPSDevice");
  throttle(b.throttle_write_iops, "wiops", "throttleWriteIOPSDevice");
  for (auto& l : lines) add(v, k, "io.max", l.text, l.field);
}

void Builder::hugetlb(const std::vector<spec::HugepageLimit>& limits) {
  if (limits.empty()) return;
  Version v = pick("hugetlb");
  for (size_t i = 0; i < limits.size(); ++i) {
    const auto& h = limits[i];
    std::string field = idx("hugepageLimits", i);
    auto size = hugepage_size_name(h.page_size);
    if (!size)
      fail(field + ".pageSize", "invalid page size \"" + h.page_size + "\" (e.g. \"2MB\")");
    std::string base = "hugetlb." + *size;
    std::string value = std::to_string(h.limit);
    // Reservations are charged separately (rsvd): limit both when the kernel can.
    if (v == Version::V1) {
      add(v, "hugetlb", base + ".limit_in_bytes", value, field);
      add(v, "hugetlb", base + ".rsvd.limit_in_bytes", value, field, Missing::Ignore);
    } else {
      add(v, "hugetlb", base + ".max", value, field);
      add(v, "hugetlb", base + ".rsvd.max", value, field, Missing::Ignore);
    }
  }
}

void Builder::network(const spec::Network& n) {
  if (!n.class_id && n.priorities.empty()) return;
  if (pick(n.class_id ? "net_cls" : "net_prio", false) == Version::V2)
    fail("network", "net_cls and net_prio are cgroup v1 controllers; cgroup v2 has no equivalent");
  if (n.class_id)
    add(Version::V1, "net_cls", "net_cls.classid", std::to_string(*n.class_id), "network.classID");
  for (size_t i = 0; i < n.priorities.size(); ++i)
    add(Version::V1, "net_prio", "net_prio.ifpriomap",
        n.priorities[i].name + " " + std::to_string(n.priorities[i].priority),
        idx("network.priorities", i));
}

void Builder::rdma(const std::map<std::string, spec::Rdma>& r) {
  if (r.empty()) return;
  Version v = pick("rdma");
  for (const auto& [device, lim] : r) {
    if (!lim.hca_handles && !lim.hca_objects) continue;
    std::string line = device;
    if (lim.hca_handles) line += " hca_handle=" + std::to_string(*lim.hca_handles);
    if (lim.hca_objects) line += " hca_object=" + std::to_string(*lim.hca_objects);
    add(v, "rdma", "rdma.max", line, "rdma." + device);
  }
}

void Builder::unified(const std::map<std::string, std::string>& u) {
  if (u.empty()) return;
  if (pick("", true) == Version::V1)
    fail("unified",
         "cgroup v2 files cannot be set: the container has no cgroup v2 directory "
         "(cgroup v1 driver)");
  for (const auto& [key, value] : u) {
    std::string field = "unified[\"" + key + "\"]";
    if (key.empty() || key.find('/') != std::string::npos || key == "." || key == "..")
      fail(field, "must be a cgroup file name");
    if (key == "cgroup.procs" || key == "cgroup.threads" || key == "cgroup.kill" ||
        key == "cgroup.freeze" || key == "cgroup.subtree_control")
      fail(field, "is managed by the runtime");
    size_t dot = key.find('.');
    std::string controller = dot == std::string::npos ? "" : key.substr(0, dot);
    bool psi = key.size() > 9 && key.compare(key.size() - 9, 9, ".pressure") == 0;
    if (controller == "cgroup" || psi) controller.clear();
    add(Version::V2, controller, key, value, field);
  }
}

}  // namespace

std::vector<spec::DeviceRule> effective_device_rules(const std::vector<spec::DeviceRule>& rules) {
  if (rules.empty()) return {};
  // The config's rules first, in the order given (runtime-spec: "applied in
  // the listed order"; runtime-tools reads devices.list back in that order),
  // then the defaults. A default that a config deny rule names (type and
  // numbers, wildcards included; not the "all devices" rule) is left out, so
  // that e.g. "deny c 1:5" keeps /dev/zero closed.
  std::vector<spec::DeviceRule> out(rules.begin(), rules.end());
  struct D {
    const char* type;
    int64_t major, minor;  // -1: any
    const char* access;
  };
  static const D kDefaults[] = {{"c", -1, -1, "m"},    {"b", -1, -1, "m"},   {"c", 1, 3, "rwm"},
                                {"c", 1, 5, "rwm"},    {"c", 1, 7, "rwm"},   {"c", 5, 0, "rwm"},
                                {"c", 1, 8, "rwm"},    {"c", 1, 9, "rwm"},   {"c", 5, 2, "rwm"},
                                {"c", 136, -1, "rwm"}, {"c", 10, 200, "rwm"}};
  auto covers = [](const std::optional<int64_t>& config, int64_t def) {
    bool any = !config || *config < 0;
    return any || (def >= 0 && *config == def);
  };
  auto denied_by_config = [&](const D& d) {
    for (const auto& r : rules)
      if (!r.allow && !r.type.empty() && r.type != "a" && r.type == d.type && covers(r.major, d.major) &&
          covers(r.minor, d.minor))
        return true;
    return false;
  };
  for (const auto& d : kDefaults) {
    if (denied_by_config(d)) continue;
    spec::DeviceRule r;
    r.allow = true;
    r.type = d.type;
    if (d.major >= 0) r.major = d.major;
    if (d.minor >= 0) r.minor = d.minor;
    r.access = d.access;
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<DeviceWrite> v1_device_writes(const std::vector<spec::DeviceRule>& rules) {
  auto num = [](const std::optional<int64_t>& v) {
    return v && *v >= 0 ? std::to_string(*v) : "*";
  };
  std::vector<DeviceWrite> out;
  for (const auto& r : effective_device_rules(rules)) {
    std::string type = r.type.empty() ? "a" : r.type;
    std::string access = r.access.empty() ? "rwm" : r.access;
    std::string rule;
    if (type == "a")
      rule = "a";  // the kernel ignores the rest of an "a" line
    else
      rule = type + " " + num(r.major) + ":" + num(r.minor) + " " + access;
    out.push_back({r.allow, rule});
  }
  return out;
}

uint64_t shares_to_weight(uint64_t shares) {
  shares = std::clamp<uint64_t>(shares, 2, 262144);
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t blkio_weight_to_io_weight(uint64_t weight) {
  weight = std::clamp<uint64_t>(weight, 10, 1000);
  return 1 + ((weight - 10) * 9999) / 990;
}

std::optional<std::string> hugepage_size_name(const std::string& page_size) {
  size_t i = 0;
  while (i < page_size.size() && page_size[i] >= '0' && page_size[i] <= '9') ++i;
  if (i == 0 || i > 12) return std::nullopt;
  uint64_t n = std::strtoull(page_size.substr(0, i).c_str(), nullptr, 10);
  std::string unit = page_size.substr(i);
  uint64_t mult = unit == "KB"   ? 1ull << 10
                  : unit == "MB" ? 1ull << 20
                  : unit == "GB" ? 1ull << 30
                                 : 0;
  if (!mult || n == 0) return std::nullopt;
  uint64_t bytes = n * mult;
  // The kernel names the files the way it prints sizes (mem_fmt): GB, MB, else KB.
  if (bytes >= (1ull << 30)) return std::to_string(bytes >> 30) + "GB";
  if (bytes >= (1ull << 20)) return std::to_string(bytes >> 20) + "MB";
  return std::to_string(bytes >> 10) + "KB";
}

Plan translate(const spec::Resources& r, const Picker& pick, const Reader& read) {
  Builder b(pick, read);
  b.devices(r);
  if (r.memory) b.memory(*r.memory);
  if (r.cpu) {
    b.cpuset(*r.cpu);
    b.cpu(*r.cpu);
  }
  if (r.pids) b.pids(*r.pids);
  if (r.block_io) b.block_io(*r.block_io);
  b.hugetlb(r.hugepage_limits);
  if (r.network) b.network(*r.network);
  b.rdma(r.rdma);
  b.unified(r.unified);  // last: explicit v2 files win over the mapped ones
  return std::move(b.plan);
}

Plan translate_all(const spec::Resources& r, Version v) {
  Picker pick = [v](const std::string&, bool) { return v; };
  Reader none;
  return translate(r, pick, none);
}

}  // namespace oci::cgroups
