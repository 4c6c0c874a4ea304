// parse_config() rejections: every message is checked verbatim, since the text is
// what users see ("<source>: <json.path>: <problem>").
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "spec/error.hpp"
#include "spec/parse.hpp"

using nlohmann::json;
using oci::spec::parse_config;

namespace {

// A small valid config; each test breaks one thing.
json base() {
  return json::parse(R"({
    "ociVersion": "1.3.0",
    "root": {"path": "rootfs"},
    "process": {"args": ["sh"], "cwd": "/", "env": ["PATH=/bin", "TERM=xterm"]},
    "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"},
                             {"type": "uts"}, {"type": "network"}]}
  })");
}

std::string error_of(const std::string& text) {
  try {
    parse_config(text);
  } catch (const oci::ConfigError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("wrong exception type: ") + e.what();
  }
  return "(accepted)";
}

std::string err(const json& j) { return error_of(j.dump()); }

const std::string kOk = "(accepted)";

}  // namespace

TEST_CASE("the base config is valid") { CHECK(err(base()) == kOk); }

TEST_CASE("malformed JSON and top level") {
  std::string e = error_of(R"({"ociVersion": "1.0.0",)");
  CHECK(e.rfind("config.json: invalid JSON: parse error at line 1, column 24: ", 0) == 0);
  CHECK(error_of("").rfind("config.json: invalid JSON: ", 0) == 0);
  CHECK(error_of("[]") == "config.json: top level must be a JSON object");
  CHECK(error_of("\"1.0.0\"") == "config.json: top level must be a JSON object");
  CHECK(error_of("{\"a\": 1} x").rfind("config.json: invalid JSON: ", 0) == 0);
  try {
    parse_config("{", "/b/config.json");
    FAIL("accepted");
  } catch (const oci::ConfigError& e) {
    CHECK(std::string(e.what()).rfind("/b/config.json: invalid JSON: ", 0) == 0);
  }
}

TEST_CASE("wrong JSON types name the expected type") {
  json j = base();
  j["process"]["args"] = "sh";
  CHECK(err(j) == "config.json: process.args: expected array of strings");
  j = base();
  j["process"]["args"] = json::array({"sh", 1});
  CHECK(err(j) == "config.json: process.args[1]: expected string");
  j = base();
  j["process"] = "sh";
  CHECK(err(j) == "config.json: process: expected object");
  j = base();
  j["root"]["readonly"] = "yes";
  CHECK(err(j) == "config.json: root.readonly: expected boolean");
  j = base();
  j["hostname"] = 7;
  CHECK(err(j) == "config.json: hostname: expected string");
  j = base();
  j["mounts"] = json::object();
  CHECK(err(j) == "config.json: mounts: expected array");
  j = base();
  j["mounts"] = json::array({"x"});
  CHECK(err(j) == "config.json: mounts[0]: expected object");
  j = base();
  j["mounts"] = json::array({nullptr});
  CHECK(err(j) == "config.json: mounts[0]: unexpected null");
  j = base();
  j["annotations"] = {{"org.example.n", 1}};
  CHECK(err(j) == "config.json: annotations.\"org.example.n\": expected string");
  j = base();
  j["annotations"] = json::array();
  CHECK(err(j) == "config.json: annotations: expected object");
  j = base();
  j["linux"]["resources"] = {{"rdma", {{"mlx5", {{"hcaHandles", "3"}}}}}};
  CHECK(err(j) == "config.json: linux.resources.rdma.\"mlx5\".hcaHandles: expected integer");
}

TEST_CASE("numbers out of range name the field and type") {
  json j = base();
  j["process"]["user"] = {{"uid", 4294967296}};
  CHECK(err(j) == "config.json: process.user.uid: value 4294967296 out of range for uint32");
  j["process"]["user"] = {{"gid", -1}};
  CHECK(err(j) == "config.json: process.user.gid: value -1 out of range for uint32");
  j["process"]["user"] = {{"uid", 1.5}};
  CHECK(err(j) == "config.json: process.user.uid: expected integer");
  j["process"]["user"] = {{"uid", "0"}};
  CHECK(err(j) == "config.json: process.user.uid: expected integer");
  j["process"]["user"] = {{"additionalGids", {1, -5}}};
  CHECK(err(j) == "config.json: process.user.additionalGids[1]: value -5 out of range for uint32");
  j = base();
  j["linux"]["resources"]["blockIO"] = {{"weight", 70000}};
  CHECK(err(j) == "config.json: linux.resources.blockIO.weight: value 70000 out of range for uint16");
  j = base();
  j["linux"]["resources"]["memory"] = {{"limit", 9223372036854775808ull}};
  CHECK(err(j) ==
        "config.json: linux.resources.memory.limit: value 9223372036854775808 out of range for "
        "int64");
  j = base();
  j["process"]["scheduler"] = {{"policy", "SCHED_OTHER"}, {"nice", 2147483648ll}};
  CHECK(err(j) == "config.json: process.scheduler.nice: value 2147483648 out of range for int32");
  // Beyond 64 bits nlohmann yields a float: still "out of range".
  std::string big =
      R"({"ociVersion": "1.3.0", "root": {"path": "r"}, "process": {"args": ["sh"], "cwd": "/",)"
      R"( "rlimits": [{"type": "RLIMIT_CORE", "soft": 0, "hard": 18446744073709551616}]}})";
  CHECK(error_of(big) ==
        "config.json: process.rlimits[0].hard: value 1.8446744073709552e+19 out of range for "
        "uint64");
}

TEST_CASE("required properties") {
  json j = base();
  j.erase("ociVersion");
  CHECK(err(j) == "config.json: ociVersion: required");
  j = base();
  j.erase("root");
  CHECK(err(j) == "config.json: root: required");
  j = base();
  j["root"] = json::object();
  CHECK(err(j) == "config.json: root.path: required");
  j["root"]["path"] = "";
  CHECK(err(j) == "config.json: root.path: must not be empty");
  j = base();
  j["process"].erase("cwd");
  CHECK(err(j) == "config.json: process.cwd: required");
  j = base();
  j["mounts"] = {{{"type", "tmpfs"}}};
  CHECK(err(j) == "config.json: mounts[0].destination: required");
  j = base();
  j["linux"]["namespaces"][1] = {{"path", "/proc/1/ns/mnt"}};
  CHECK(err(j) == "config.json: linux.namespaces[1].type: required");
  j = base();
  j["linux"]["devices"] = {{{"type", "c"}, {"path", "/dev/x"}, {"minor", 1}}};
  CHECK(err(j) == "config.json: linux.devices[0].major: required for device type \"c\"");
  j["linux"]["devices"] = {{{"type", "b"}, {"path", "/dev/x"}, {"major", 1}}};
  CHECK(err(j) == "config.json: linux.devices[0].minor: required for device type \"b\"");
  j = base();
  j["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"hard", 5}}};
  CHECK(err(j) == "config.json: process.rlimits[0].soft: required");
  j = base();
  j["linux"]["seccomp"] = {{"syscalls", json::array()}};
  CHECK(err(j) == "config.json: linux.seccomp.defaultAction: required");
  j = base();
  j["linux"]["namespaces"].push_back({{"type", "user"}});
  j["linux"]["uidMappings"] = {{{"containerID", 0}, {"size", 1}}};
  CHECK(err(j) == "config.json: linux.uidMappings[0].hostID: required");
  j = base();
  j["linux"]["resources"]["devices"] = {{{"access", "rwm"}}};
  CHECK(err(j) == "config.json: linux.resources.devices[0].allow: required");
  j = base();
  j["linux"]["resources"]["hugepageLimits"] = {{{"limit", 1}}};
  CHECK(err(j) == "config.json: linux.resources.hugepageLimits[0].pageSize: required");
  j = base();
  j["process"]["scheduler"] = {{"nice", 1}};
  CHECK(err(j) == "config.json: process.scheduler.policy: required");
}

TEST_CASE("unknown properties are ignored") {
  json j = base();
  j["futureTopLevel"] = {{"a", 1}};
  j["process"]["futureField"] = json::array({1, "x"});
  j["linux"]["namespaces"][0]["futureFlag"] = true;
  j["linux"]["futureSection"] = "x";
  j["root"]["future"] = 1;
  j["annotations"] = {{"anything.at.all", "value"}, {"", ""}};
  CHECK(err(j) == kOk);
}

TEST_CASE("process checks") {
  json j = base();
  j["process"]["args"] = json::array();
  CHECK(err(j) == "config.json: process.args: must not be empty");
  j["process"].erase("args");
  CHECK(err(j) == "config.json: process.args: must not be empty");
  j = base();
  j["process"]["cwd"] = "tmp";
  CHECK(err(j) == "config.json: process.cwd: must be an absolute path, got \"tmp\"");
  j = base();
  j["process"]["env"][1] = "FOO";
  CHECK(err(j) == "config.json: process.env[1]: must be NAME=value, got \"FOO\"");
  j["process"]["env"][1] = "=x";
  CHECK(err(j) == "config.json: process.env[1]: must be NAME=value, got \"=x\"");
  j = base();
  j["process"]["capabilities"] = {{"bounding", {"CAP_CHOWN", "CAP_FOO"}}};
  CHECK(err(j) == "config.json: process.capabilities.bounding[1]: unknown capability \"CAP_FOO\"");
  j["process"]["capabilities"] = {{"bounding", {"CAP_CHOWN"}}, {"ambient", {"chown"}}};
  CHECK(err(j) == "config.json: process.capabilities.ambient[0]: unknown capability \"chown\"");
  j = base();
  j["process"]["rlimits"] = {{{"type", "RLIMIT_FOO"}, {"soft", 1}, {"hard", 1}}};
  CHECK(err(j) == "config.json: process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"");
  j["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 1}, {"hard", 1}},
                             {{"type", "RLIMIT_NOFILE"}, {"soft", 2}, {"hard", 2}}};
  CHECK(err(j) == "config.json: process.rlimits[1].type: duplicate rlimit \"RLIMIT_NOFILE\"");
  j["process"]["rlimits"] = {{{"type", "RLIMIT_CORE"}, {"soft", 10}, {"hard", 5}}};
  CHECK(err(j) == "config.json: process.rlimits[0]: soft limit 10 is greater than hard limit 5");
  j = base();
  j["process"]["oomScoreAdj"] = 1001;
  CHECK(err(j) == "config.json: process.oomScoreAdj: must be between -1000 and 1000, got 1001");
  j = base();
  j["process"]["scheduler"] = {{"policy", "SCHED_FAST"}};
  CHECK(err(j) == "config.json: process.scheduler.policy: unknown policy \"SCHED_FAST\"");
  j["process"]["scheduler"] = {{"policy", "SCHED_BATCH"}, {"nice", 20}};
  CHECK(err(j) == "config.json: process.scheduler.nice: must be between -20 and 19, got 20");
  j["process"]["scheduler"] = {{"policy", "SCHED_OTHER"}, {"priority", 5}};
  CHECK(err(j) == "config.json: process.scheduler.priority: only allowed with SCHED_FIFO or SCHED_RR");
  j["process"]["scheduler"] = {{"policy", "SCHED_RR"}, {"priority", 5}, {"flags", {"X"}}};
  CHECK(err(j) == "config.json: process.scheduler.flags[0]: unknown flag \"X\"");
  j = base();
  j["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_NONE"}};
  CHECK(err(j) == "config.json: process.ioPriority.class: unknown class \"IOPRIO_CLASS_NONE\"");
  j["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_IDLE"}, {"priority", 8}};
  CHECK(err(j) == "config.json: process.ioPriority.priority: must be between 0 and 7, got 8");
}

TEST_CASE("namespace checks") {
  json j = base();
  j["linux"]["namespaces"][2] = {{"type", "foo"}};
  CHECK(err(j) == "config.json: linux.namespaces[2].type: unknown namespace type \"foo\"");
  j = base();
  j["linux"]["namespaces"][3] = {{"type", "pid"}};
  CHECK(err(j) == "config.json: linux.namespaces[3].type: duplicate namespace \"pid\"");
  j = base();
  j["linux"]["namespaces"][0]["path"] = "proc/1/ns/pid";
  CHECK(err(j) ==
        "config.json: linux.namespaces[0].path: must be an absolute path, got \"proc/1/ns/pid\"");
  j["linux"]["namespaces"][0]["path"] = "/proc/1/ns/pid";
  CHECK(err(j) == kOk);
}

TEST_CASE("time namespace offsets") {
  json j = base();
  j["linux"]["timeOffsets"] = {{"monotonic", {{"secs", 10}}}};
  CHECK(err(j) == "config.json: linux.timeOffsets: requires a new time namespace");
  j["linux"]["namespaces"].push_back({{"type", "time"}, {"path", "/proc/7/ns/time"}});
  CHECK(err(j) ==
        "config.json: linux.timeOffsets: cannot be set when joining an existing time namespace");
  j["linux"]["namespaces"].back().erase("path");
  CHECK(err(j) == kOk);
  j["linux"]["timeOffsets"] = {{"realtime", {{"secs", 10}}}};
  CHECK(err(j) == "config.json: linux.timeOffsets.\"realtime\": unknown clock (need \"monotonic\" "
                  "or \"boottime\")");
  j["linux"]["timeOffsets"] = {{"boottime", {{"nanosecs", 1000000000}}}};
  CHECK(err(j) ==
        "config.json: linux.timeOffsets.\"boottime\".nanosecs: must be less than 1000000000");
}

TEST_CASE("user namespace and id mappings") {
  json j = base();
  json map = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  j["linux"]["uidMappings"] = map;
  CHECK(err(j) == "config.json: linux.uidMappings: requires a user namespace");
  j = base();
  j["linux"]["gidMappings"] = map;
  CHECK(err(j) == "config.json: linux.gidMappings: requires a user namespace");
  j = base();
  j["linux"]["namespaces"].push_back({{"type", "user"}});
  CHECK(err(j) == "config.json: linux.uidMappings: required when creating a new user namespace");
  j["linux"]["uidMappings"] = map;
  CHECK(err(j) == "config.json: linux.gidMappings: required when creating a new user namespace");
  j["linux"]["gidMappings"] = map;
  CHECK(err(j) == kOk);
  j["linux"]["gidMappings"][0]["size"] = 0;
  CHECK(err(j) == "config.json: linux.gidMappings[0].size: must be greater than 0");
  j["linux"]["gidMappings"][0] = {{"containerID", 4294967295u}, {"hostID", 0}, {"size", 2}};
  CHECK(err(j) == "config.json: linux.gidMappings[0]: range exceeds the 32-bit id space");
  // Joining a user namespace: mappings come with it.
  j = base();
  j["linux"]["namespaces"].push_back({{"type", "user"}, {"path", "/proc/42/ns/user"}});
  CHECK(err(j) == kOk);
}

TEST_CASE("hostname and domainname need a uts namespace, new or joined") {
  json j = base();
  j["hostname"] = "box";
  j["domainname"] = "example.org";
  CHECK(err(j) == kOk);
  j["linux"]["namespaces"][3]["path"] = "/proc/1/ns/uts";  // joined: set there, as runc
  CHECK(err(j) == kOk);
  j["linux"]["namespaces"].erase(3);
  CHECK(err(j) == "config.json: hostname: requires a uts namespace (new, or joined by path)");
  j.erase("hostname");
  CHECK(err(j) == "config.json: domainname: requires a uts namespace (new, or joined by path)");
  j = base();
  j.erase("linux");
  j["hostname"] = "box";
  CHECK(err(j) == "config.json: hostname: requires a uts namespace (new, or joined by path)");
  j["hostname"] = "";
  CHECK(err(j) == kOk);
}

TEST_CASE("mount checks") {
  json j = base();
  j["mounts"] = {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
                 {{"destination", "/dev"}, {"type", "tmpfs"}},
                 {{"destination", "/sys"}, {"type", "sysfs"}},
                 {{"destination", "tmp"}, {"type", "tmpfs"}}};
  CHECK(err(j) == "config.json: mounts[3].destination: must be an absolute path, got \"tmp\"");
  j["mounts"][3]["destination"] = "/tmp";
  j["mounts"][1]["options"] = {"nosuid", "", "mode=755"};
  CHECK(err(j) == "config.json: mounts[1].options[1]: must not be empty");
  // Options outside the table are filesystem data.
  j["mounts"][1]["options"] = {"nosuid", "newinstance", "mode=755", "size=65536k", "x-foo"};
  CHECK(err(j) == kOk);
  j["mounts"][2].erase("type");
  CHECK(err(j) == "config.json: mounts[2].type: required for non-bind mounts");
  j["mounts"][2]["options"] = {"rbind", "ro"};
  CHECK(err(j) == kOk);
  j["mounts"][2]["uidMappings"] = {{{"containerID", 0}, {"hostID", 1000}, {"size", 0}}};
  CHECK(err(j) == "config.json: mounts[2].uidMappings[0].size: must be greater than 0");
}

TEST_CASE("devices, rootfsPropagation, masked and readonly paths") {
  json j = base();
  j["linux"]["devices"] = {{{"type", "x"}, {"path", "/dev/x"}}};
  CHECK(err(j) == "config.json: linux.devices[0].type: unknown device type \"x\" (need c, b, u or p)");
  j["linux"]["devices"] = {{{"type", "u"}, {"path", "dev/x"}, {"major", 1}, {"minor", 2}}};
  CHECK(err(j) == "config.json: linux.devices[0].path: must be an absolute path, got \"dev/x\"");
  j["linux"]["devices"] = {{{"type", "p"}, {"path", "/dev/fifo"}}};
  CHECK(err(j) == kOk);
  j = base();
  j["linux"]["rootfsPropagation"] = "foo";
  CHECK(err(j) == "config.json: linux.rootfsPropagation: unknown propagation \"foo\"");
  j["linux"]["rootfsPropagation"] = "rbind";
  CHECK(err(j) == "config.json: linux.rootfsPropagation: unknown propagation \"rbind\"");
  j["linux"]["rootfsPropagation"] = "shared";
  CHECK(err(j) == kOk);
  j = base();
  j["linux"]["maskedPaths"] = {"/proc/kcore", "proc/keys"};
  CHECK(err(j) == "config.json: linux.maskedPaths[1]: must be an absolute path, got \"proc/keys\"");
  j = base();
  j["linux"]["readonlyPaths"] = {"sys"};
  CHECK(err(j) == "config.json: linux.readonlyPaths[0]: must be an absolute path, got \"sys\"");
}

TEST_CASE("cgroup resources checks") {
  json j = base();
  j["linux"]["resources"]["devices"] = {{{"allow", false}, {"access", "rwm"}},
                                        {{"allow", true}, {"type", "x"}}};
  CHECK(err(j) ==
        "config.json: linux.resources.devices[1].type: unknown device type \"x\" (need a, c or b)");
  j["linux"]["resources"]["devices"] = {{{"allow", false}, {"type", "a"}, {"access", "rwx"}}};
  CHECK(err(j) == "config.json: linux.resources.devices[0].access: invalid access \"rwx\" (only r, "
                  "w and m are allowed)");
  j = base();
  j["linux"]["resources"]["unified"] = {{"../memory.max", "1"}};
  CHECK(err(j) == "config.json: linux.resources.unified.\"../memory.max\": must be a cgroup file name");
}

TEST_CASE("seccomp checks") {
  json j = base();
  json sc = {{"defaultAction", "SCMP_ACT_ALLOW"},
             {"syscalls", {{{"names", {"kill"}}, {"action", "SCMP_ACT_ERRNO"}},
                           {{"names", {"ptrace"}}, {"action", "SCMP_ACT_KILL_THREAD"}}}}};
  j["linux"]["seccomp"] = sc;
  CHECK(err(j) == kOk);
  j["linux"]["seccomp"]["defaultAction"] = "SCMP_ACT_FOO";
  CHECK(err(j) == "config.json: linux.seccomp.defaultAction: unknown action \"SCMP_ACT_FOO\"");
  j["linux"]["seccomp"] = sc;
  j["linux"]["seccomp"]["syscalls"][1]["action"] = "allow";
  CHECK(err(j) == "config.json: linux.seccomp.syscalls[1].action: unknown action \"allow\"");
  j["linux"]["seccomp"] = sc;
  j["linux"]["seccomp"]["syscalls"][1]["args"] = {
      {{"index", 0}, {"value", 1}, {"op", "SCMP_CMP_EQ"}},
      {{"index", 1}, {"value", 1}, {"op", "SCMP_CMP_XX"}}};
  CHECK(err(j) == "config.json: linux.seccomp.syscalls[1].args[1].op: unknown operator "
                  "\"SCMP_CMP_XX\"");
  j["linux"]["seccomp"]["syscalls"][1]["args"] = {{{"index", 6}, {"value", 1}, {"op", "SCMP_CMP_EQ"}}};
  CHECK(err(j) == "config.json: linux.seccomp.syscalls[1].args[0].index: must be less than 6, got 6");
  j["linux"]["seccomp"] = sc;
  j["linux"]["seccomp"]["architectures"] = {"SCMP_ARCH_X86_64", "x86"};
  CHECK(err(j) == "config.json: linux.seccomp.architectures[1]: unknown architecture \"x86\" (must "
                  "start with SCMP_ARCH_)");
  j["linux"]["seccomp"] = sc;
  j["linux"]["seccomp"]["syscalls"][0]["names"] = json::array();
  CHECK(err(j) == "config.json: linux.seccomp.syscalls[0].names: must not be empty");
  j["linux"]["seccomp"] = sc;
  j["linux"]["seccomp"]["syscalls"][0].erase("names");
  CHECK(err(j) == "config.json: linux.seccomp.syscalls[0].names: required");
  j["linux"]["seccomp"] = sc;
  j["linux"]["seccomp"]["syscalls"][1]["errnoRet"] = 1;
  CHECK(err(j) == "config.json: linux.seccomp.syscalls[1].errnoRet: only allowed with "
                  "SCMP_ACT_ERRNO or SCMP_ACT_TRACE");
  j["linux"]["seccomp"] = sc;
  j["linux"]["seccomp"]["defaultErrnoRet"] = 1;
  CHECK(err(j) == "config.json: linux.seccomp.defaultErrnoRet: only allowed with SCMP_ACT_ERRNO "
                  "or SCMP_ACT_TRACE");
  j["linux"]["seccomp"] = sc;
  j["linux"]["seccomp"]["flags"] = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_NOPE"};
  CHECK(err(j) == "config.json: linux.seccomp.flags[1]: unknown flag \"SECCOMP_FILTER_FLAG_NOPE\"");
  j["linux"]["seccomp"] = sc;
  j["linux"]["seccomp"]["listenerMetadata"] = "x";
  CHECK(err(j) == "config.json: linux.seccomp.listenerMetadata: requires listenerPath");
}

TEST_CASE("sysctl checks") {
  json j = base();
  j["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}, {"kernel.msgmax", "8192"},
                          {"fs.mqueue.queues_max", "256"}, {"kernel.hostname", "h"},
                          {"kernel.domainname", "d"}, {"kernel.shm_rmid_forced", "1"}};
  CHECK(err(j) == kOk);
  j["linux"]["sysctl"] = {{"vm.foo", "1"}};
  CHECK(err(j) == "config.json: linux.sysctl.\"vm.foo\": not a namespaced sysctl (only IPC "
                  "sysctls, fs.mqueue.*, net.*, kernel.hostname and kernel.domainname can be set)");
  j["linux"]["sysctl"] = {{"kernel.pid_max", "1"}};
  CHECK(err(j).find("linux.sysctl.\"kernel.pid_max\": not a namespaced sysctl") !=
        std::string::npos);
  j["linux"]["sysctl"] = {{"net/ipv4/ip_forward", "1"}};
  CHECK(err(j) == "config.json: linux.sysctl.\"net/ipv4/ip_forward\": invalid sysctl name (must "
                  "not contain \"/\" or \"..\")");
  j["linux"]["sysctl"] = {{"net..ipv4", "1"}};
  CHECK(err(j) == "config.json: linux.sysctl.\"net..ipv4\": invalid sysctl name (must not "
                  "contain \"/\" or \"..\")");
  j["linux"]["sysctl"] = {{"net.ipv4.ip_forward", 1}};
  CHECK(err(j) == "config.json: linux.sysctl.\"net.ipv4.ip_forward\": expected string");

  j = base();
  j["linux"]["namespaces"] = {{{"type", "mount"}}};
  j["linux"]["sysctl"] = {{"net.core.somaxconn", "1024"}};
  CHECK(err(j) == "config.json: linux.sysctl.\"net.core.somaxconn\": requires a network namespace");
  j["linux"]["sysctl"] = {{"kernel.shmmax", "1"}};
  CHECK(err(j) == "config.json: linux.sysctl.\"kernel.shmmax\": requires an ipc namespace");
  j["linux"]["sysctl"] = {{"kernel.domainname", "x"}};
  CHECK(err(j) == "config.json: linux.sysctl.\"kernel.domainname\": requires a uts namespace");
  // A network namespace given by path is fine for net.*.
  j["linux"]["namespaces"].push_back({{"type", "network"}, {"path", "/run/netns/x"}});
  j["linux"]["sysctl"] = {{"net.core.somaxconn", "1024"}};
  CHECK(err(j) == kOk);
}

TEST_CASE("hooks checks") {
  json j = base();
  j["hooks"] = {{"prestart", {{{"path", "hook"}}}}};
  CHECK(err(j) == "config.json: hooks.prestart[0].path: must be an absolute path, got \"hook\"");
  j["hooks"] = {{"poststop", {{{"path", "/bin/true"}}, {{"path", "/bin/true"}, {"timeout", 0}}}}};
  CHECK(err(j) == "config.json: hooks.poststop[1].timeout: must be greater than 0, got 0");
  j["hooks"] = {{"createRuntime", {{{"args", {"x"}}}}}};
  CHECK(err(j) == "config.json: hooks.createRuntime[0].path: required");
  j["hooks"] = {{"startContainer", {{{"path", "/bin/true"}, {"timeout", -3}}}}};
  CHECK(err(j) == "config.json: hooks.startContainer[0].timeout: must be greater than 0, got -3");
}

TEST_CASE("personality, memoryPolicy, netDevices, intelRdt") {
  json j = base();
  j["linux"]["personality"] = {{"domain", "LINUX64"}};
  CHECK(err(j) ==
        "config.json: linux.personality.domain: unknown domain \"LINUX64\" (need LINUX or LINUX32)");
  j["linux"]["personality"] = {{"domain", "LINUX"}};
  CHECK(err(j) == kOk);
  j = base();
  j["linux"]["memoryPolicy"] = {{"mode", "MPOL_RANDOM"}};
  CHECK(err(j) == "config.json: linux.memoryPolicy.mode: unknown mode \"MPOL_RANDOM\"");
  j["linux"]["memoryPolicy"] = {{"mode", "MPOL_PREFERRED_MANY"}, {"flags", {"MPOL_F_X"}}};
  CHECK(err(j) == "config.json: linux.memoryPolicy.flags[0]: unknown flag \"MPOL_F_X\"");
  j["linux"]["memoryPolicy"] = {{"mode", "MPOL_WEIGHTED_INTERLEAVE"}, {"nodes", "0-3"}};
  CHECK(err(j) == kOk);
  j = base();
  j["linux"]["netDevices"] = {{"", {{"name", "eth0"}}}};
  CHECK(err(j) == "config.json: linux.netDevices.\"\": invalid interface name");
  j["linux"]["netDevices"] = {{"eth1", {{"name", "a-very-long-interface-name"}}}};
  CHECK(err(j) == "config.json: linux.netDevices.\"eth1\".name: invalid interface name "
                  "\"a-very-long-interface-name\"");
  j["linux"]["netDevices"] = {{"eth1", {{"name", "ctr%d"}}}};
  CHECK(err(j) == kOk);
  j["linux"]["namespaces"].erase(4);  // network
  CHECK(err(j) == "config.json: linux.netDevices: requires a network namespace");
  j = base();
  j["linux"]["intelRdt"] = {{"memBwSchema", "L3:0=f"}};
  CHECK(err(j) == "config.json: linux.intelRdt.memBwSchema: must start with \"MB:\"");
  j["linux"]["intelRdt"] = {{"closID", "../x"}};
  CHECK(err(j) == "config.json: linux.intelRdt.closID: invalid class of service \"../x\"");
  j["linux"]["intelRdt"] = {{"closID", "/"}, {"schemata", {"L3:0=f\nMB:0=1"}}};
  CHECK(err(j) == "config.json: linux.intelRdt.schemata[0]: must not contain newlines");
}

TEST_CASE("error messages quote and escape values") {
  json j = base();
  j["process"]["cwd"] = "a\"b\n";
  CHECK(err(j) == "config.json: process.cwd: must be an absolute path, got \"a\\\"b\\n\"");
}

TEST_CASE("personality: domain from the table, no flags defined") {
  json j = base();
  j["linux"]["personality"] = {{"domain", "LINUX32"}};
  CHECK(err(j) == kOk);
  j["linux"]["personality"]["flags"] = {"ADDR_NO_RANDOMIZE"};
  CHECK(err(j) == "config.json: linux.personality.flags[0]: unknown flag \"ADDR_NO_RANDOMIZE\" (runtime-spec defines none)");
  j["linux"]["personality"] = {{"domain", "LINUX64"}};
  CHECK(err(j) == "config.json: linux.personality.domain: unknown domain \"LINUX64\" (need LINUX or LINUX32)");
}

TEST_CASE("idmapped mounts: which combinations are refused") {
  json j = base();
  json map = {{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}};
  j["mounts"] = {{{"destination", "/data"}, {"type", "bind"}, {"source", "/srv"},
                  {"options", {"rbind", "idmap"}}, {"uidMappings", map}, {"gidMappings", map}}};
  CHECK(err(j) == kOk);  // explicit mappings: no user namespace needed
  j["mounts"][0]["options"] = {"rbind", "ridmap"};
  CHECK(err(j) == kOk);
  j["mounts"][0]["options"] = {"rbind"};  // mappings alone imply idmap
  CHECK(err(j) == kOk);
  j["mounts"][0]["options"] = {"rbind", "idmap", "ridmap"};
  CHECK(err(j) == "config.json: mounts[0].options[2]: \"idmap\" and \"ridmap\" exclude each other");
  j["mounts"][0]["options"] = {"rbind", "idmap"};
  j["mounts"][0].erase("gidMappings");
  CHECK(err(j) == "config.json: mounts[0].gidMappings: required with uidMappings");
  j["mounts"][0]["gidMappings"] = map;
  j["mounts"][0].erase("uidMappings");
  CHECK(err(j) == "config.json: mounts[0].uidMappings: required with gidMappings");
  j["mounts"][0]["uidMappings"] = map;
  j["mounts"][0]["type"] = "tmpfs";
  j["mounts"][0]["options"] = {"idmap"};
  CHECK(err(j) ==
        "config.json: mounts[0].uidMappings: an idmapped mount must be a bind mount (options "
        "\"bind\" or \"rbind\")");
  j["mounts"][0].erase("uidMappings");
  j["mounts"][0].erase("gidMappings");
  CHECK(err(j) ==
        "config.json: mounts[0].options: an idmapped mount must be a bind mount (options "
        "\"bind\" or \"rbind\")");
  // idmap without mappings: the container's user namespace mapping, so one is needed.
  j["mounts"][0]["type"] = "bind";
  j["mounts"][0]["options"] = {"bind", "ridmap"};
  CHECK(err(j) ==
        "config.json: mounts[0].options: \"ridmap\" without uidMappings/gidMappings takes the "
        "container's user namespace mapping, but the container has no user namespace");
  j["linux"]["namespaces"].push_back({{"type", "user"}});
  j["linux"]["uidMappings"] = map;
  j["linux"]["gidMappings"] = map;
  CHECK(err(j) == kOk);
}

TEST_CASE("uid and gid above 2147483647 are refused (setresuid(-1) would keep root)") {
  json j = base();
  j["process"]["user"] = {{"uid", 2147483647u}, {"gid", 2147483647u}, {"additionalGids", {2147483647u}}};
  CHECK(err(j) == kOk);
  j["process"]["user"]["uid"] = 4294967295u;
  CHECK(err(j) == "config.json: process.user.uid: must be between 0 and 2147483647, got 4294967295");
  j["process"]["user"]["uid"] = 1000;
  j["process"]["user"]["gid"] = 2147483648u;
  CHECK(err(j) == "config.json: process.user.gid: must be between 0 and 2147483647, got 2147483648");
  j["process"]["user"]["gid"] = 1000;
  j["process"]["user"]["additionalGids"] = {5, 4294967295u};
  CHECK(err(j) ==
        "config.json: process.user.additionalGids[1]: must be between 0 and 2147483647, got 4294967295");
}

TEST_CASE("hostname and domainname: at most 64 bytes") {
  json j = base();
  j["hostname"] = std::string(64, 'h');
  j["domainname"] = std::string(64, 'd');
  CHECK(err(j) == kOk);
  j["hostname"] = std::string(300000, 'h');
  CHECK(err(j) == "config.json: hostname: longer than 64 bytes (300000)");
  j["hostname"] = "h";
  j["domainname"] = std::string(65, 'd');
  CHECK(err(j) == "config.json: domainname: longer than 64 bytes (65)");
}

TEST_CASE("mount destinations inside /proc: only procfs on /proc and runc's allow list") {
  json j = base();
  j["mounts"] = json::array({{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}}});
  CHECK(err(j) == kOk);
  for (const char* ok : {"/proc/cpuinfo", "/proc/meminfo", "/proc/uptime", "/proc/sys/kernel/ns_last_pid",
                         "/proc//loadavg", "/procfoo", "/proc2/x"}) {
    j["mounts"][1] = {{"destination", ok}, {"type", "bind"}, {"source", "/tmp"}, {"options", {"bind"}}};
    CHECK_MESSAGE(err(j) == kOk, ok);
  }
  j["mounts"][1] = {{"destination", "/proc/sys"}, {"type", "bind"}, {"source", "/tmp"}, {"options", {"rbind"}}};
  CHECK(err(j) == "config.json: mounts[1].destination: \"/proc/sys\" cannot be mounted because it is inside /proc");
  j["mounts"][1]["destination"] = "/proc/sys/../sys/kernel/./";
  CHECK(err(j) ==
        "config.json: mounts[1].destination: \"/proc/sys/kernel\" cannot be mounted because it is inside /proc");
  j["mounts"][1] = {{"destination", "/proc"}, {"type", "tmpfs"}, {"source", "tmpfs"}};
  CHECK(err(j) == "config.json: mounts[1].destination: \"/proc\" cannot be mounted because it is not of type proc");
  // A bind on /proc depends on its source (procfs or not): decided at mount time.
  j["mounts"][1] = {{"destination", "/proc"}, {"type", "bind"}, {"source", "/proc"}, {"options", {"rbind"}}};
  CHECK(err(j) == kOk);
}

TEST_CASE("sysctl_namespace and proc_destination_problem") {
  using oci::spec::proc_destination_problem;
  using oci::spec::sysctl_namespace;
  CHECK(sysctl_namespace("net.ipv4.ip_forward") == "network");
  CHECK(sysctl_namespace("kernel.shmmax") == "ipc");
  CHECK(sysctl_namespace("fs.mqueue.msg_max") == "ipc");
  CHECK(sysctl_namespace("kernel.hostname") == "uts");
  CHECK(sysctl_namespace("kernel.domainname") == "uts");
  CHECK(sysctl_namespace("vm.swappiness") == "");
  CHECK(proc_destination_problem("/proc", "bind", true, true) == "");
  CHECK(proc_destination_problem("/proc", "bind", true, false) ==
        "\"/proc\" cannot be mounted because it is not of type proc");
  CHECK(proc_destination_problem("/proc/slabinfo", "bind", true, false) == "");
  CHECK(proc_destination_problem("/proc/1/root", "bind", true, false) ==
        "\"/proc/1/root\" cannot be mounted because it is inside /proc");
}
