#include "runtime/cgroups/stats.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <limits>

#include "runtime/cgroups/manager.hpp"
#include "runtime/util/fs.hpp"
#include "spec/error.hpp"

namespace oci::cgroups {
namespace {

using json = nlohmann::ordered_json;
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

uint64_t num(const std::string& s) {
  size_t i = s.find_first_not_of(" \n");
  if (i != std::string::npos && s.compare(i, 3, "max") == 0) return kMax;
  return std::strtoull(s.c_str(), nullptr, 10);
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find('\n', i);
    if (j == std::string::npos) j = text.size();
    if (j > i) out.push_back(text.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::vector<std::string> fields(const std::string& line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    size_t j = line.find(' ', i);
    if (j == std::string::npos) j = line.size();
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// "key value" lines -> {"key": value}.
json flat(const std::string& text) {
  json out = json::object();
  for (const auto& l : lines(text)) {
    auto f = fields(l);
    if (f.size() == 2) out[f[0]] = num(f[1]);
  }
  return out;
}

uint64_t get(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() ? 0 : it->get<uint64_t>();
}

json numbers(const std::string& text) {
  json out = json::array();
  for (const auto& f : fields(text.substr(0, text.find('\n')))) out.push_back(num(f));
  return out;
}

class Stats {
 public:
  explicit Stats(const StatsInput& in) : in_(in) {}

  std::optional<std::string> file(Version v, const std::string& controller,
                                  const std::string& f) const {
    return in_.read ? in_.read(v, controller, f) : std::nullopt;
  }
  Version ver(const char* controller) const { return in_.pick(controller, true); }

  json cpu() const;
  json memory() const;
  json pids() const;
  json blkio() const;
  json hugetlb() const;

 private:
  const StatsInput& in_;
};

json Stats::cpu() const {
  json usage = json::object(), throttling = json::object();
  Version v = ver("cpuacct");
  if (v == Version::V1) {
    auto total = file(v, "cpuacct", "cpuacct.usage");
    if (total) {
      usage["total"] = num(*total);
      usage["percpu"] = numbers(file(v, "cpuacct", "cpuacct.usage_percpu").value_or(""));
      usage["percpu_kernel"] = numbers(file(v, "cpuacct", "cpuacct.usage_percpu_sys").value_or(""));
      usage["percpu_user"] = numbers(file(v, "cpuacct", "cpuacct.usage_percpu_user").value_or(""));
      json st = flat(file(v, "cpuacct", "cpuacct.stat").value_or(""));
      uint64_t ns_per_tick =
          in_.clk_tck > 0 ? 1000000000ull / static_cast<uint64_t>(in_.clk_tck) : 0;
      usage["kernel"] = get(st, "system") * ns_per_tick;
      usage["user"] = get(st, "user") * ns_per_tick;
    }
  }
  Version cv = ver("cpu");
  auto cpu_stat = file(cv, "cpu", "cpu.stat");
  json st = flat(cpu_stat.value_or(""));
  if (cv == Version::V1) {
    if (cpu_stat) {
      throttling["periods"] = get(st, "nr_periods");
      throttling["throttled_periods"] = get(st, "nr_throttled");
      throttling["throttled_time"] = get(st, "throttled_time");
    }
  } else if (cpu_stat) {
    if (v == Version::V2) {
      usage["total"] = get(st, "usage_usec") * 1000;
      usage["percpu"] = json::array();
      usage["percpu_kernel"] = json::array();
      usage["percpu_user"] = json::array();
      usage["kernel"] = get(st, "system_usec") * 1000;
      usage["user"] = get(st, "user_usec") * 1000;
    }
    if (st.contains("nr_periods")) {
      throttling["periods"] = get(st, "nr_periods");
      throttling["throttled_periods"] = get(st, "nr_throttled");
      throttling["throttled_time"] = get(st, "throttled_usec") * 1000;
    }
  }
  json out = json::object();
  if (!usage.empty()) out["usage"] = usage;
  if (!throttling.empty()) out["throttling"] = throttling;
  return out;
}

json Stats::memory() const {
  Version v = ver("memory");
  auto stat = file(v, "memory", "memory.stat");
  if (!stat) return json::object();
  json raw = flat(*stat);
  json out = json::object();
  // Like runc: usage and max are left out when zero.
  auto entry = [](uint64_t limit, uint64_t usage, uint64_t max, uint64_t failcnt) {
    json e = json::object();
    e["limit"] = limit;
    if (usage) e["usage"] = usage;
    if (max) e["max"] = max;
    e["failcnt"] = failcnt;
    return e;
  };
  auto n = [&](const std::string& f) { return num(file(v, "memory", f).value_or("0")); };
  if (v == Version::V1) {
    out["cache"] = get(raw, "cache");
    auto v1_entry = [&](const std::string& prefix) {
      return entry(n(prefix + ".limit_in_bytes"), n(prefix + ".usage_in_bytes"),
                   n(prefix + ".max_usage_in_bytes"), n(prefix + ".failcnt"));
    };
    out["usage"] = v1_entry("memory");
    out["swap"] = v1_entry("memory.memsw");
    out["kernel"] = v1_entry("memory.kmem");
    out["kernelTCP"] = v1_entry("memory.kmem.tcp");
  } else {
    out["cache"] = get(raw, "file");
    json events = flat(file(v, "memory", "memory.events").value_or(""));
    json swap_events = flat(file(v, "memory", "memory.swap.events").value_or(""));
    out["usage"] =
        entry(n("memory.max"), n("memory.current"), n("memory.peak"), get(events, "max"));
    out["swap"] = entry(n("memory.swap.max"), n("memory.swap.current"), n("memory.swap.peak"),
                        get(swap_events, "max"));
    out["kernel"] = entry(0, 0, 0, 0);
    out["kernelTCP"] = entry(0, 0, 0, 0);
  }
  out["raw"] = raw;
  return out;
}

json Stats::pids() const {
  Version v = ver("pids");
  auto cur = file(v, "pids", "pids.current");
  if (!cur) return json::object();
  json out = json::object();
  out["current"] = num(*cur);
  uint64_t limit = num(file(v, "pids", "pids.max").value_or("max"));
  if (limit != kMax) out["limit"] = limit;
  return out;
}

json Stats::blkio() const {
  Version v = ver("blkio");
  json out = json::object();
  auto entry = [](const std::string& dev, const std::string& op, uint64_t value) {
    size_t colon = dev.find(':');
    json e = json::object();
    e["major"] = std::strtoull(dev.substr(0, colon).c_str(), nullptr, 10);
    e["minor"] =
        colon == std::string::npos ? 0 : std::strtoull(dev.c_str() + colon + 1, nullptr, 10);
    e["op"] = op;
    e["value"] = value;
    return e;
  };
  if (v == Version::V1) {
    auto list = [&](const char* key, std::initializer_list<const char*> files) {
      for (const char* f : files) {
        auto text = file(v, "blkio", f);
        if (!text) continue;
        json arr = json::array();
        for (const auto& l : lines(*text)) {
          auto fs = fields(l);
          if (fs.size() == 3) arr.push_back(entry(fs[0], fs[1], num(fs[2])));
        }
        if (!arr.empty()) {
          out[key] = arr;
          return;
        }
      }
    };
    list("ioServiceBytesRecursive",
         {"blkio.io_service_bytes_recursive", "blkio.bfq.io_service_bytes_recursive",
          "blkio.throttle.io_service_bytes_recursive"});
    list("ioServicedRecursive", {"blkio.io_serviced_recursive", "blkio.bfq.io_serviced_recursive",
                                 "blkio.throttle.io_serviced_recursive"});
    return out;
  }
  auto text = file(v, "io", "io.stat");
  if (!text) return out;
  json bytes = json::array(), ios = json::array();
  for (const auto& l : lines(*text)) {
    auto fs = fields(l);
    if (fs.empty()) continue;
    json kv = json::object();
    for (size_t i = 1; i < fs.size(); ++i) {
      size_t eq = fs[i].find('=');
      if (eq != std::string::npos) kv[fs[i].substr(0, eq)] = num(fs[i].substr(eq + 1));
    }
    bytes.push_back(entry(fs[0], "Read", get(kv, "rbytes")));
    bytes.push_back(entry(fs[0], "Write", get(kv, "wbytes")));
    ios.push_back(entry(fs[0], "Read", get(kv, "rios")));
    ios.push_back(entry(fs[0], "Write", get(kv, "wios")));
  }
  if (!bytes.empty()) out["ioServiceBytesRecursive"] = bytes;
  if (!ios.empty()) out["ioServicedRecursive"] = ios;
  return out;
}

json Stats::hugetlb() const {
  Version v = ver("hugetlb");
  json out = json::object();
  for (const auto& size : in_.hugepage_sizes) {
    std::string base = "hugetlb." + size;
    json e = json::object();
    if (v == Version::V1) {
      auto usage = file(v, "hugetlb", base + ".usage_in_bytes");
      if (!usage) continue;
      e["usage"] = num(*usage);
      e["max"] = num(file(v, "hugetlb", base + ".max_usage_in_bytes").value_or("0"));
      e["failcnt"] = num(file(v, "hugetlb", base + ".failcnt").value_or("0"));
    } else {
      auto usage = file(v, "hugetlb", base + ".current");
      if (!usage) continue;
      e["usage"] = num(*usage);
      e["max"] = 0;
      e["failcnt"] = get(flat(file(v, "hugetlb", base + ".events").value_or("")), "max");
    }
    out[size] = e;
  }
  return out;
}

}  // namespace

nlohmann::ordered_json build_stats(const StatsInput& in) {
  Stats s(in);
  json out = json::object();
  out["cpu"] = s.cpu();
  out["memory"] = s.memory();
  out["pids"] = s.pids();
  out["blkio"] = s.blkio();
  out["hugetlb"] = s.hugetlb();
  return out;
}

std::vector<std::string> host_hugepage_sizes() {
  std::vector<std::string> out;
  DIR* d = ::opendir("/sys/kernel/mm/hugepages");
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    // "hugepages-2048kB"
    std::string name = e->d_name;
    if (name.rfind("hugepages-", 0) != 0 || name.size() < 13) continue;
    std::string n = name.substr(10, name.size() - 12);
    if (auto s = hugepage_size_name(n + "KB")) out.push_back(*s);
  }
  ::closedir(d);
  return out;
}

nlohmann::ordered_json stats(const Record& rec) {
  StatsInput in;
  in.read = [&rec](Version v, const std::string& controller,
                   const std::string& f) -> std::optional<std::string> {
    std::string dir = v == Version::V2 ? rec.unified : rec.v1_dir(controller);
    if (dir.empty()) return std::nullopt;
    try {
      return fs::try_read_file(dir + "/" + f);
    } catch (const Error&) {
      return std::nullopt;
    }
  };
  in.pick = [&rec](const std::string& c, bool) {
    if (rec.v2()) return Version::V2;
    if (!rec.v1_dir(c).empty()) return Version::V1;
    return rec.unified.empty() ? Version::V1 : Version::V2;
  };
  in.hugepage_sizes = host_hugepage_sizes();
  in.clk_tck = ::sysconf(_SC_CLK_TCK);
  return build_stats(in);
}

}  // namespace oci::cgroups
