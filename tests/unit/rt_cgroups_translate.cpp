// LinuxResources -> cgroup v1/v2 file writes (runtime/cgroups/translate.*).
#include <doctest/doctest.h>

#include <map>

#include "runtime/cgroups/translate.hpp"
#include "spec/error.hpp"

using namespace oci::cgroups;
using oci::spec::Resources;
using Missing = Write::Missing;

namespace {

// "controller file=value" for each write, for compact comparisons.
std::vector<std::string> lines(const Plan& p) {
  std::vector<std::string> out;
  for (const auto& w : p.writes) out.push_back(w.controller + " " + w.file + "=" + w.value);
  return out;
}

const Write* find(const Plan& p, const std::string& file) {
  for (const auto& w : p.writes)
    if (w.file == file) return &w;
  return nullptr;
}

// A Reader over fixed file contents.
Reader files(std::map<std::string, std::string> m) {
  return [m](Version, const std::string&, const std::string& f) -> std::optional<std::string> {
    auto it = m.find(f);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

Picker only(Version v) {
  return [v](const std::string&, bool) { return v; };
}

std::string error_of(const Resources& r, Version v, const Reader& read = {}) {
  try {
    translate(r, only(v), read);
  } catch (const oci::Error& e) {
    return e.what();
  }
  return "(no error)";
}

oci::spec::Memory mem() { return {}; }

}  // namespace

TEST_CASE("nothing set, nothing written") {
  Resources r;
  CHECK(translate_all(r, Version::V1).writes.empty());
  CHECK(translate_all(r, Version::V2).writes.empty());
  r.cpu = oci::spec::Cpu{};
  r.memory = mem();
  r.block_io = oci::spec::BlockIo{};
  CHECK(translate_all(r, Version::V1).writes.empty());
  CHECK(translate_all(r, Version::V2).writes.empty());
}

TEST_CASE("memory on v1") {
  Resources r;
  auto& m = r.memory.emplace();
  m.limit = 33554432;
  m.swap = 67108864;
  m.reservation = 16777216;
  m.kernel = 1 << 20;
  m.kernel_tcp = 1 << 21;
  m.swappiness = 30;
  m.disable_oom_killer = true;
  m.use_hierarchy = true;
  Plan p = translate_all(r, Version::V1);
  CHECK(lines(p) == std::vector<std::string>{
                        "memory memory.limit_in_bytes=33554432",
                        "memory memory.memsw.limit_in_bytes=67108864",
                        "memory memory.soft_limit_in_bytes=16777216",
                        "memory memory.kmem.limit_in_bytes=1048576",
                        "memory memory.kmem.tcp.limit_in_bytes=2097152",
                        "memory memory.swappiness=30",
                        "memory memory.oom_control=1",
                        "memory memory.use_hierarchy=1",
                    });
  for (const auto& w : p.writes) CHECK(w.version == Version::V1);
  CHECK(find(p, "memory.kmem.limit_in_bytes")->missing == Missing::Warn);  // deprecated
  CHECK(find(p, "memory.limit_in_bytes")->missing == Missing::Error);
  CHECK(find(p, "memory.limit_in_bytes")->field == "memory.limit");
  CHECK(find(p, "memory.memsw.limit_in_bytes")->field == "memory.swap");
  m.swappiness = 101;
  CHECK(error_of(r, Version::V1) ==
        "linux.resources.memory.swappiness: must be between 0 and 100, got 101");
}

TEST_CASE("memory on v1: memsw is raised before the limit when it grows") {
  Resources r;
  auto& m = r.memory.emplace();
  m.limit = 200;
  m.swap = 400;
  // The current memsw limit is below the new one: memsw first.
  Plan up = translate(r, only(Version::V1), files({{"memory.memsw.limit_in_bytes", "300\n"}}));
  CHECK(up.writes[0].file == "memory.memsw.limit_in_bytes");
  CHECK(up.writes[1].file == "memory.limit_in_bytes");
  // Shrinking: limit first.
  Plan down = translate(r, only(Version::V1), files({{"memory.memsw.limit_in_bytes", "900\n"}}));
  CHECK(down.writes[0].file == "memory.limit_in_bytes");
  // Unlimited swap: memsw first.
  m.swap = -1;
  CHECK(translate_all(r, Version::V1).writes[0].file == "memory.memsw.limit_in_bytes");
  CHECK(translate_all(r, Version::V1).writes[0].value == "-1");
}

TEST_CASE("memory on v2: swap is memory+swap minus the limit") {
  Resources r;
  auto& m = r.memory.emplace();
  m.limit = 100;
  m.swap = 300;
  m.reservation = 50;
  CHECK(lines(translate_all(r, Version::V2)) ==
        std::vector<std::string>{"memory memory.max=100", "memory memory.swap.max=200",
                                 "memory memory.low=50"});
  m.swap = 100;  // no swap at all
  CHECK(find(translate_all(r, Version::V2), "memory.swap.max")->value == "0");
  m.swap = -1;
  CHECK(find(translate_all(r, Version::V2), "memory.swap.max")->value == "max");
  m.limit = -1;
  CHECK(find(translate_all(r, Version::V2), "memory.max")->value == "max");
  m.limit = 100;
  m.swap = 50;
  CHECK(error_of(r, Version::V2) ==
        "linux.resources.memory.swap: must not be below memory.limit (100): it is the memory+swap "
        "total");
  // Without a limit in the request, the cgroup's current memory.max is used.
  m.limit.reset();
  m.reservation.reset();
  m.swap = 300;
  CHECK(error_of(r, Version::V2).find("linux.resources.memory.swap: on cgroup v2") == 0);
  Plan p = translate(r, only(Version::V2), files({{"memory.max", "120\n"}}));
  CHECK(lines(p) == std::vector<std::string>{"memory memory.swap.max=180"});
  CHECK(error_of(r, Version::V2, files({{"memory.max", "max\n"}})).find("memory.swap") !=
        std::string::npos);
}

TEST_CASE("memory on v2: fields without an equivalent") {
  Resources r;
  r.memory.emplace().swappiness = 10;
  CHECK(error_of(r, Version::V2) ==
        "linux.resources.memory.swappiness: there is no per-cgroup swappiness in cgroup v2");
  r.memory = mem();
  r.memory->kernel_tcp = 1;
  CHECK(error_of(r, Version::V2) ==
        "linux.resources.memory.kernelTCP: there is no kernel TCP memory limit in cgroup v2");
  r.memory = mem();
  r.memory->disable_oom_killer = true;
  CHECK(error_of(r, Version::V2).find("linux.resources.memory.disableOOMKiller:") == 0);
  r.memory->disable_oom_killer = false;  // what v2 does anyway
  CHECK(translate_all(r, Version::V2).writes.empty());
  r.memory = mem();
  r.memory->kernel = 1 << 20;
  r.memory->use_hierarchy = false;
  Plan p = translate_all(r, Version::V2);
  CHECK(p.writes.empty());
  REQUIRE(p.warnings.size() == 2);
  CHECK(p.warnings[0].find("linux.resources.memory.kernel: ignored") == 0);
}

TEST_CASE("memory: checkBeforeUpdate refuses a limit below the current usage") {
  Resources r;
  auto& m = r.memory.emplace();
  m.limit = 1000;
  m.check_before_update = true;
  CHECK(error_of(r, Version::V1, files({{"memory.usage_in_bytes", "4096\n"}})) ==
        "linux.resources.memory.limit: new limit 1000 is below the current usage 4096 "
        "(checkBeforeUpdate)");
  CHECK(error_of(r, Version::V2, files({{"memory.current", "4096\n"}}))
            .find("below the current usage 4096") != std::string::npos);
  // Enough room, or a new cgroup (nothing to read): applied.
  CHECK(translate(r, only(Version::V2), files({{"memory.current", "10\n"}})).writes.size() == 1);
  CHECK(translate_all(r, Version::V1).writes.size() == 1);
  m.check_before_update = false;
  CHECK(
      translate(r, only(Version::V1), files({{"memory.usage_in_bytes", "4096\n"}})).writes.size() ==
      1);
}

TEST_CASE("cpu shares -> cgroup v2 weight") {
  CHECK(shares_to_weight(2) == 1);
  CHECK(shares_to_weight(1024) == 39);
  CHECK(shares_to_weight(262144) == 10000);
  CHECK(shares_to_weight(0) == 1);  // clamped like the kernel does
  CHECK(shares_to_weight(1000000) == 10000);
  CHECK(blkio_weight_to_io_weight(10) == 1);
  CHECK(blkio_weight_to_io_weight(1000) == 10000);
  CHECK(blkio_weight_to_io_weight(500) == 4950);
}

TEST_CASE("cpu on v1 and v2") {
  Resources r;
  auto& c = r.cpu.emplace();
  c.shares = 1024;
  c.quota = 50000;
  c.period = 100000;
  c.burst = 1000;
  c.realtime_runtime = 950000;
  c.realtime_period = 1000000;
  c.idle = 1;
  c.cpus = "0-1";
  c.mems = "0";
  CHECK(lines(translate_all(r, Version::V1)) ==
        std::vector<std::string>{"cpuset cpuset.mems=0", "cpuset cpuset.cpus=0-1",
                                 "cpu cpu.shares=1024", "cpu cpu.cfs_period_us=100000",
                                 "cpu cpu.cfs_quota_us=50000", "cpu cpu.cfs_burst_us=1000",
                                 "cpu cpu.rt_period_us=1000000", "cpu cpu.rt_runtime_us=950000",
                                 "cpu cpu.idle=1"});
  CHECK(
      error_of(r, Version::V2) ==
      "linux.resources.cpu.realtimeRuntime: real-time CPU bandwidth cannot be set with cgroup v2");
  c.realtime_runtime = 0;
  c.realtime_period = 0;  // explicit zeros mean "not set"
  CHECK(lines(translate_all(r, Version::V2)) ==
        std::vector<std::string>{"cpuset cpuset.mems=0", "cpuset cpuset.cpus=0-1",
                                 "cpu cpu.weight=39", "cpu cpu.max=50000 100000",
                                 "cpu cpu.max.burst=1000", "cpu cpu.idle=1"});
}

TEST_CASE("cpu.max on v2: quota and period alone") {
  Resources r;
  auto& c = r.cpu.emplace();
  c.quota = 20000;  // the kernel keeps the period
  CHECK(lines(translate_all(r, Version::V2)) == std::vector<std::string>{"cpu cpu.max=20000"});
  c.quota = -1;
  CHECK(lines(translate_all(r, Version::V2)) == std::vector<std::string>{"cpu cpu.max=max"});
  c.quota.reset();
  c.period = 200000;  // keeps the current quota
  CHECK(lines(translate(r, only(Version::V2), files({{"cpu.max", "30000 100000\n"}}))) ==
        std::vector<std::string>{"cpu cpu.max=30000 200000"});
  CHECK(lines(translate_all(r, Version::V2)) == std::vector<std::string>{"cpu cpu.max=max 200000"});
  CHECK(translate_all(r, Version::V2).writes[0].field == "cpu.period");
}

TEST_CASE("pids") {
  Resources r;
  r.pids = oci::spec::Pids{20};
  CHECK(lines(translate_all(r, Version::V1)) == std::vector<std::string>{"pids pids.max=20"});
  CHECK(lines(translate_all(r, Version::V2)) == std::vector<std::string>{"pids pids.max=20"});
  r.pids->limit = -1;
  CHECK(lines(translate_all(r, Version::V2)) == std::vector<std::string>{"pids pids.max=max"});
  r.pids->limit = 0;  // runtime-spec 1.3: 0 is a valid limit, not "unlimited"
  CHECK(lines(translate_all(r, Version::V1)) == std::vector<std::string>{"pids pids.max=0"});
  r.pids->limit = -7;
  CHECK(lines(translate_all(r, Version::V1)) == std::vector<std::string>{"pids pids.max=max"});
}

TEST_CASE("blockIO on v1") {
  Resources r;
  auto& b = r.block_io.emplace();
  b.weight = 500;
  b.leaf_weight = 300;
  oci::spec::WeightDevice wd;
  wd.major = 8;
  wd.minor = 0;
  wd.weight = 600;
  wd.leaf_weight = 200;
  b.weight_device.push_back(wd);
  b.throttle_read_bps.push_back({8, 0, 1048576});
  b.throttle_write_iops.push_back({8, 16, 100});
  Plan p = translate_all(r, Version::V1);
  CHECK(lines(p) == std::vector<std::string>{"blkio blkio.weight=500",
                                             "blkio blkio.leaf_weight=300",
                                             "blkio blkio.weight_device=8:0 600",
                                             "blkio blkio.leaf_weight_device=8:0 200",
                                             "blkio blkio.throttle.read_bps_device=8:0 1048576",
                                             "blkio blkio.throttle.write_iops_device=8:16 100"});
  // Without CFQ the weights are BFQ's.
  CHECK(find(p, "blkio.weight")->alt_file == "blkio.bfq.weight");
  CHECK(find(p, "blkio.weight")->alt_value == "500");
  CHECK(find(p, "blkio.weight_device")->alt_file == "blkio.bfq.weight_device");
  CHECK(find(p, "blkio.throttle.write_iops_device")->field == "blockIO.throttleWriteIOPSDevice[0]");
}

TEST_CASE("blockIO on v2: io.weight and one io.max line per device") {
  Resources r;
  auto& b = r.block_io.emplace();
  b.weight = 500;
  oci::spec::WeightDevice wd;
  wd.major = 8;
  wd.minor = 0;
  wd.weight = 1000;
  b.weight_device.push_back(wd);
  b.throttle_read_bps.push_back({8, 0, 1048576});
  b.throttle_write_bps.push_back({8, 16, 0});
  b.throttle_write_iops.push_back({8, 0, 100});
  b.throttle_read_iops.push_back({8, 16, 50});
  Plan p = translate_all(r, Version::V2);
  CHECK(lines(p) == std::vector<std::string>{"io io.bfq.weight=500", "io io.bfq.weight=8:0 1000",
                                             "io io.max=8:0 rbps=1048576 wiops=100",
                                             "io io.max=8:16 wbps=max riops=50"});
  CHECK(p.writes[0].alt_file == "io.weight");
  CHECK(p.writes[0].alt_value == "default 4950");
  CHECK(p.writes[1].alt_value == "8:0 10000");
  b.leaf_weight = 10;
  CHECK(error_of(r, Version::V2) ==
        "linux.resources.blockIO.leafWeight: there is no leaf weight in cgroup v2");
}

TEST_CASE("hugepage limits: file names, rsvd, page size names") {
  Resources r;
  r.hugepage_limits.push_back({"2MB", 4194304});
  r.hugepage_limits.push_back({"1048576KB", 0});
  Plan v1 = translate_all(r, Version::V1);
  CHECK(lines(v1) == std::vector<std::string>{"hugetlb hugetlb.2MB.limit_in_bytes=4194304",
                                              "hugetlb hugetlb.2MB.rsvd.limit_in_bytes=4194304",
                                              "hugetlb hugetlb.1GB.limit_in_bytes=0",
                                              "hugetlb hugetlb.1GB.rsvd.limit_in_bytes=0"});
  CHECK(v1.writes[0].missing == Missing::Error);
  CHECK(v1.writes[1].missing == Missing::Ignore);  // kernels before 5.7 have no rsvd files
  CHECK(v1.writes[0].field == "hugepageLimits[0]");
  Plan v2 = translate_all(r, Version::V2);
  CHECK(lines(v2) == std::vector<std::string>{
                         "hugetlb hugetlb.2MB.max=4194304", "hugetlb hugetlb.2MB.rsvd.max=4194304",
                         "hugetlb hugetlb.1GB.max=0", "hugetlb hugetlb.1GB.rsvd.max=0"});
  CHECK(hugepage_size_name("64KB") == "64KB");
  CHECK(hugepage_size_name("2048KB") == "2MB");
  CHECK(hugepage_size_name("1024MB") == "1GB");
  CHECK_FALSE(hugepage_size_name("2M"));
  CHECK_FALSE(hugepage_size_name("MB"));
  CHECK_FALSE(hugepage_size_name("0MB"));
  r.hugepage_limits[0].page_size = "2mb";
  CHECK(error_of(r, Version::V1) ==
        "linux.resources.hugepageLimits[0].pageSize: invalid page size \"2mb\" (e.g. \"2MB\")");
}

TEST_CASE("network: v1 net_cls/net_prio, refused on v2") {
  Resources r;
  auto& n = r.network.emplace();
  n.class_id = 0x100001;
  n.priorities.push_back({"eth0", 5});
  n.priorities.push_back({"lo", 2});
  CHECK(lines(translate_all(r, Version::V1)) ==
        std::vector<std::string>{"net_cls net_cls.classid=1048577",
                                 "net_prio net_prio.ifpriomap=eth0 5",
                                 "net_prio net_prio.ifpriomap=lo 2"});
  CHECK(error_of(r, Version::V2) ==
        "linux.resources.network: net_cls and net_prio are cgroup v1 controllers; cgroup v2 has no "
        "equivalent");
}

TEST_CASE("rdma") {
  Resources r;
  r.rdma["mlx5_0"] = oci::spec::Rdma{3, 1000};
  r.rdma["mlx5_1"] = oci::spec::Rdma{std::nullopt, 10};
  r.rdma["mlx5_2"] = oci::spec::Rdma{};
  auto want = std::vector<std::string>{"rdma rdma.max=mlx5_0 hca_handle=3 hca_object=1000",
                                       "rdma rdma.max=mlx5_1 hca_object=10"};
  CHECK(lines(translate_all(r, Version::V1)) == want);
  CHECK(lines(translate_all(r, Version::V2)) == want);
}

TEST_CASE("unified: v2 files as given, refused on v1") {
  Resources r;
  r.unified["memory.high"] = "1G";
  r.unified["cgroup.max.depth"] = "3";
  r.unified["io.pressure"] = "some 150000 1000000";
  r.pids = oci::spec::Pids{5};
  Plan p = translate_all(r, Version::V2);
  // After the mapped fields, so they win; map order (sorted keys).
  CHECK(lines(p) == std::vector<std::string>{"pids pids.max=5", " cgroup.max.depth=3",
                                             " io.pressure=some 150000 1000000",
                                             "memory memory.high=1G"});
  CHECK(p.writes[3].field == "unified[\"memory.high\"]");
  CHECK(error_of(r, Version::V1) ==
        "linux.resources.unified: cgroup v2 files cannot be set: the container has no cgroup v2 "
        "directory (cgroup v1 driver)");
  r.unified.clear();
  r.unified["../memory.max"] = "1";
  CHECK(error_of(r, Version::V2) ==
        "linux.resources.unified[\"../memory.max\"]: must be a cgroup file name");
  r.unified.clear();
  r.unified["cgroup.procs"] = "1";
  CHECK(error_of(r, Version::V2) ==
        "linux.resources.unified[\"cgroup.procs\"]: is managed by the runtime");
}

TEST_CASE("devices: v1 writes, v2 BPF") {
  Resources r;
  oci::spec::DeviceRule deny;
  deny.allow = false;
  deny.access = "rwm";
  r.devices.push_back(deny);
  Plan v1 = translate_all(r, Version::V1);
  REQUIRE(v1.writes.size() == 12);
  CHECK(v1.writes[0].file == "devices.deny");
  CHECK(v1.writes[0].value == "a");
  CHECK(v1.writes[1].file == "devices.allow");
  CHECK_FALSE(v1.bpf_devices);
  Plan v2 = translate_all(r, Version::V2);
  CHECK(v2.writes.empty());
  CHECK(v2.bpf_devices);
}

TEST_CASE("hybrid: v1 where the controller is mounted, else cgroup v2") {
  Resources r;
  r.memory.emplace().limit = 1 << 20;
  r.hugepage_limits.push_back({"2MB", 0});
  r.network.emplace().class_id = 1;
  r.unified["cgroup.max.descendants"] = "10";
  std::vector<std::string> v1 = {"memory", "cpu"};
  Picker pick = [&](const std::string& c, bool v2_capable) {
    if (std::find(v1.begin(), v1.end(), c) != v1.end()) return Version::V1;
    return v2_capable ? Version::V2 : Version::V1;
  };
  Plan p = translate(r, pick, {});
  REQUIRE(p.writes.size() == 5);
  CHECK(p.writes[0].version == Version::V1);  // memory.limit_in_bytes
  CHECK(p.writes[0].file == "memory.limit_in_bytes");
  CHECK(p.writes[1].version == Version::V2);  // hugetlb.2MB.max
  CHECK(p.writes[1].file == "hugetlb.2MB.max");
  CHECK(p.writes[3].version == Version::V1);  // net_cls has no v2 form
  CHECK(p.writes[3].controller == "net_cls");
  CHECK(p.writes[4].version == Version::V2);
  CHECK(p.writes[4].file == "cgroup.max.descendants");
}

TEST_CASE("memory on v1: an unlimited limit lifts memsw first, as runc") {
  Resources r;
  auto& m = r.memory.emplace();
  m.limit = -1;
  // memsw exists (a limit is set): lifted first, then the limit.
  Plan p = translate(r, only(Version::V1), files({{"memory.memsw.limit_in_bytes", "209715200\n"}}));
  CHECK(lines(p) == std::vector<std::string>{"memory memory.memsw.limit_in_bytes=-1",
                                             "memory memory.limit_in_bytes=-1"});
  // No memsw on this kernel (swap accounting off): the limit alone.
  Plan q = translate(r, only(Version::V1), files({}));
  CHECK(lines(q) == std::vector<std::string>{"memory memory.limit_in_bytes=-1"});
  // An explicit swap value is kept.
  m.swap = 500;
  Plan s = translate(r, only(Version::V1), files({{"memory.memsw.limit_in_bytes", "209715200\n"}}));
  CHECK(find(s, "memory.memsw.limit_in_bytes")->value == "500");
}
