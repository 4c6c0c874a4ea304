// `events --stats` data from cgroup v1 and v2 files (runtime/cgroups/stats.*).
#include <doctest/doctest.h>

#include <map>

#include "runtime/cgroups/stats.hpp"

using namespace oci::cgroups;

namespace {

StatsInput input(Version v, std::map<std::string, std::string> files) {
  StatsInput in;
  in.read = [files](Version, const std::string&,
                    const std::string& f) -> std::optional<std::string> {
    auto it = files.find(f);
    if (it == files.end()) return std::nullopt;
    return it->second;
  };
  in.pick = [v](const std::string&, bool) { return v; };
  in.hugepage_sizes = {"2MB", "1GB"};
  in.clk_tck = 100;
  return in;
}

}  // namespace

TEST_CASE("stats: nothing accounted gives empty objects") {
  auto s = build_stats(input(Version::V1, {}));
  CHECK(s.dump() == R"({"cpu":{},"memory":{},"pids":{},"blkio":{},"hugetlb":{}})");
}

TEST_CASE("stats from cgroup v1 files") {
  auto s = build_stats(
      input(Version::V1,
            {{"cpuacct.usage", "3000\n"},
             {"cpuacct.usage_percpu", "1000 2000 \n"},
             {"cpuacct.usage_percpu_sys", "100 200 \n"},
             {"cpuacct.usage_percpu_user", "900 1800 \n"},
             {"cpuacct.stat", "user 3\nsystem 1\n"},
             {"cpu.stat", "nr_periods 10\nnr_throttled 2\nthrottled_time 5000\nnr_bursts 0\n"},
             {"memory.stat", "cache 4096\nrss 8192\ntotal_cache 4096\n"},
             {"memory.limit_in_bytes", "33554432\n"},
             {"memory.usage_in_bytes", "12288\n"},
             {"memory.max_usage_in_bytes", "20000\n"},
             {"memory.failcnt", "7\n"},
             {"memory.memsw.limit_in_bytes", "67108864\n"},
             {"memory.memsw.usage_in_bytes", "12288\n"},
             {"memory.memsw.max_usage_in_bytes", "0\n"},
             {"memory.memsw.failcnt", "0\n"},
             {"memory.kmem.tcp.limit_in_bytes", "9223372036854771712\n"},
             {"memory.kmem.tcp.usage_in_bytes", "0\n"},
             {"memory.kmem.tcp.failcnt", "0\n"},
             {"pids.current", "3\n"},
             {"pids.max", "20\n"},
             {"blkio.throttle.io_service_bytes_recursive",
              "254:0 Read 4096\n254:0 Write 0\nTotal 4096\n"},
             {"blkio.throttle.io_serviced_recursive", "254:0 Read 1\nTotal 1\n"},
             {"hugetlb.2MB.usage_in_bytes", "0\n"},
             {"hugetlb.2MB.max_usage_in_bytes", "2097152\n"},
             {"hugetlb.2MB.failcnt", "1\n"}}));
  auto cpu = s["cpu"];
  CHECK(cpu["usage"]["total"] == 3000);
  CHECK(cpu["usage"]["percpu"] == nlohmann::json::array({1000, 2000}));
  CHECK(cpu["usage"]["percpu_kernel"] == nlohmann::json::array({100, 200}));
  CHECK(cpu["usage"]["percpu_user"] == nlohmann::json::array({900, 1800}));
  CHECK(cpu["usage"]["kernel"] == 10000000);  // 1 tick at USER_HZ 100
  CHECK(cpu["usage"]["user"] == 30000000);
  CHECK(cpu["throttling"].dump() ==
        R"({"periods":10,"throttled_periods":2,"throttled_time":5000})");
  auto mem = s["memory"];
  CHECK(mem["cache"] == 4096);
  CHECK(mem["usage"].dump() == R"({"limit":33554432,"usage":12288,"max":20000,"failcnt":7})");
  CHECK(mem["swap"].dump() == R"({"limit":67108864,"usage":12288,"failcnt":0})");
  CHECK(mem["kernelTCP"].dump() == R"({"limit":9223372036854771712,"failcnt":0})");
  CHECK(mem["raw"]["rss"] == 8192);
  CHECK(mem["raw"].size() == 3);
  CHECK(s["pids"].dump() == R"({"current":3,"limit":20})");
  CHECK(s["blkio"].dump() ==
        R"({"ioServiceBytesRecursive":[{"major":254,"minor":0,"op":"Read","value":4096},)"
        R"({"major":254,"minor":0,"op":"Write","value":0}],)"
        R"("ioServicedRecursive":[{"major":254,"minor":0,"op":"Read","value":1}]})");
  CHECK(s["hugetlb"].dump() == R"({"2MB":{"usage":0,"max":2097152,"failcnt":1}})");
}

TEST_CASE("stats from cgroup v2 files") {
  auto s = build_stats(input(
      Version::V2, {{"cpu.stat",
                     "usage_usec 5\nuser_usec 3\nsystem_usec 2\nnr_periods 4\nnr_throttled 1\n"
                     "throttled_usec 7\n"},
                    {"memory.stat", "anon 8192\nfile 4096\n"},
                    {"memory.current", "12288\n"},
                    {"memory.max", "max\n"},
                    {"memory.peak", "16384\n"},
                    {"memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n"},
                    {"memory.swap.current", "0\n"},
                    {"memory.swap.max", "max\n"},
                    {"pids.current", "2\n"},
                    {"pids.max", "max\n"},
                    {"io.stat", "254:0 rbytes=4096 wbytes=512 rios=1 wios=2 dbytes=0 dios=0\n"},
                    {"hugetlb.1GB.current", "0\n"},
                    {"hugetlb.1GB.events", "max 2\n"}}));
  CHECK(s["cpu"]["usage"]["total"] == 5000);
  CHECK(s["cpu"]["usage"]["user"] == 3000);
  CHECK(s["cpu"]["usage"]["kernel"] == 2000);
  CHECK(s["cpu"]["usage"]["percpu"].empty());
  CHECK(s["cpu"]["throttling"].dump() ==
        R"({"periods":4,"throttled_periods":1,"throttled_time":7000})");
  CHECK(s["memory"]["cache"] == 4096);
  CHECK(s["memory"]["usage"].dump() ==
        R"({"limit":18446744073709551615,"usage":12288,"max":16384,"failcnt":3})");
  CHECK(s["memory"]["raw"]["anon"] == 8192);
  CHECK(s["pids"].dump() == R"({"current":2})");  // unlimited: no limit
  CHECK(s["blkio"]["ioServiceBytesRecursive"][1].dump() ==
        R"({"major":254,"minor":0,"op":"Write","value":512})");
  CHECK(s["blkio"]["ioServicedRecursive"][1]["value"] == 2);
  CHECK(s["hugetlb"].dump() == R"({"1GB":{"usage":0,"max":0,"failcnt":2}})");
}
