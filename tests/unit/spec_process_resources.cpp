// ociVersion rules, parse_process(), parse_resources(), load_config() and validate()
// on a config built in code.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "spec/error.hpp"
#include "spec/parse.hpp"

using namespace oci::spec;

namespace {

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const oci::ConfigError& e) {
    return e.what();
  } catch (const oci::Error& e) {
    return std::string("oci::Error: ") + e.what();
  }
  return "(accepted)";
}

std::string config_with_version(const std::string& version_json) {
  return R"({"ociVersion": )" + version_json + R"(, "root": {"path": "rootfs"}})";
}

}  // namespace

TEST_CASE("is_supported_oci_version") {
  for (const char* ok : {"1.0.0", "1.0.2-dev", "1.3.0", "1.1.0-rc.1", "1.2.1", "1.10.20",
                         "1.0.0-alpha-1.beta", "1.0.0+build.5", "1.0.0-rc.1+20240101", "1.0.0-0a"})
    CHECK_MESSAGE(is_supported_oci_version(ok), ok);
  for (const char* bad : {"2.0.0", "0.9.0", "1.0", "1", "abc", "", "1.0.0-", "1.0.0+", "v1.0.0",
                          "01.0.0", "1.00.0", "1.0.01", "1.0.0-rc..1", "1.0.0-01", "1.0.0 ",
                          "1.0.0-rc_1", "1.0.0.0", "1..0", "1.a.0"})
    CHECK_FALSE_MESSAGE(is_supported_oci_version(bad), bad);
}

TEST_CASE("ociVersion errors") {
  auto parse = [](const std::string& v) {
    return error_of([&] { parse_config(config_with_version(v)); });
  };
  CHECK(parse("\"1.0.0\"") == "(accepted)");
  CHECK(parse("\"1.1.0-rc.1\"") == "(accepted)");
  CHECK(parse("\"2.0.0\"") == "config.json: ociVersion: unsupported version \"2.0.0\" (need 1.x.y)");
  CHECK(parse("\"1.0\"") == "config.json: ociVersion: unsupported version \"1.0\" (need 1.x.y)");
  CHECK(parse("\"abc\"") == "config.json: ociVersion: unsupported version \"abc\" (need 1.x.y)");
  CHECK(parse("\"\"") == "config.json: ociVersion: unsupported version \"\" (need 1.x.y)");
  CHECK(parse("1") == "config.json: ociVersion: expected string");
  CHECK(parse("null") == "config.json: ociVersion: required");
  // The version is checked before anything else in the document.
  CHECK(error_of([] {
          parse_config(R"({"ociVersion": "2.0.0", "root": "rootfs"})");
        }) == "config.json: ociVersion: unsupported version \"2.0.0\" (need 1.x.y)");
}

TEST_CASE("parse_process: a standalone process object") {
  Process p = parse_process(R"({
    "terminal": false, "args": ["/bin/ls", "-l"], "cwd": "/srv", "env": ["A=b"],
    "user": {"uid": 33, "gid": 33, "additionalGids": [4]},
    "capabilities": {"bounding": ["CAP_NET_RAW"], "effective": ["CAP_NET_RAW"]},
    "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 64, "hard": 128}],
    "noNewPrivileges": true, "apparmorProfile": "unconfined", "oomScoreAdj": 100,
    "ioPriority": {"class": "IOPRIO_CLASS_RT", "priority": 0}
  })");
  CHECK(p.args == std::vector<std::string>{"/bin/ls", "-l"});
  CHECK(p.cwd == "/srv");
  CHECK(p.user.uid == 33);
  CHECK(p.user.additional_gids == std::vector<uint32_t>{4});
  CHECK(p.capabilities->bounding == std::vector<std::string>{"CAP_NET_RAW"});
  CHECK(p.rlimits.at(0).hard == 128);
  CHECK(p.oom_score_adj == std::optional<int>(100));
  CHECK(p.io_priority->io_class == "IOPRIO_CLASS_RT");
}

TEST_CASE("parse_process: paths are relative to the process object") {
  CHECK(error_of([] { parse_process(R"({"args": "ls", "cwd": "/"})"); }) ==
        "process.json: args: expected array of strings");
  CHECK(error_of([] { parse_process(R"({"args": ["ls"]})"); }) == "process.json: cwd: required");
  CHECK(error_of([] { parse_process(R"({"args": [], "cwd": "/"})"); }) ==
        "process.json: args: must not be empty");
  CHECK(error_of([] {
          parse_process(R"({"args": ["ls"], "cwd": "/", "capabilities": {"bounding": ["CAP_FOO"]}})");
        }) == "process.json: capabilities.bounding[0]: unknown capability \"CAP_FOO\"");
  CHECK(error_of([] {
          parse_process(R"({"args": ["ls"], "cwd": "/", "rlimits": [{"type": "RLIMIT_X", "soft": 1, "hard": 1}]})");
        }) == "process.json: rlimits[0].type: unknown rlimit \"RLIMIT_X\"");
  CHECK(error_of([] { parse_process(R"({"args": ["ls"], "cwd": "/", "user": {"uid": -1}})"); }) ==
        "process.json: user.uid: value -1 out of range for uint32");
  CHECK(error_of([] { parse_process("[1]", "/tmp/p.json"); }) ==
        "/tmp/p.json: top level must be a JSON object");
  CHECK(error_of([] { parse_process(R"({"args": ["ls"], "cwd": "x"})", "exec.json"); }) ==
        "exec.json: cwd: must be an absolute path, got \"x\"");
}

TEST_CASE("parse_resources: update --resources") {
  Resources r = parse_resources(R"({
    "memory": {"limit": 1073741824, "swap": 2147483648},
    "cpu": {"shares": 512, "quota": -1, "cpus": "1"},
    "pids": {"limit": 100},
    "blockIO": {"weight": 10},
    "unified": {"memory.high": "900M"}
  })");
  CHECK(r.memory->limit == std::optional<int64_t>(1073741824));
  CHECK(r.memory->swap == std::optional<int64_t>(2147483648));
  CHECK(r.cpu->quota == std::optional<int64_t>(-1));
  CHECK(r.cpu->cpus == "1");
  CHECK(r.pids->limit == 100);
  CHECK(r.block_io->weight == std::optional<uint16_t>(10));
  CHECK(r.unified.at("memory.high") == "900M");
  CHECK_FALSE(r.network.has_value());

  CHECK(error_of([] { parse_resources(R"({"memory": {"limit": "1G"}})"); }) ==
        "resources: memory.limit: expected integer");
  CHECK(error_of([] {
          parse_resources(R"({"devices": [{"allow": true, "access": "rwz"}]})", "r.json");
        }) == "r.json: devices[0].access: invalid access \"rwz\" (only r, w and m are allowed)");
  CHECK(error_of([] { parse_resources(R"({"cpu": {"shares": -2}})"); }) ==
        "resources: cpu.shares: value -2 out of range for uint64");
  CHECK(error_of([] { parse_resources("{\"memory\": "); }).rfind("resources: invalid JSON: ", 0) ==
        0);
}

TEST_CASE("load_config") {
  CHECK(error_of([] { load_config("/nonexistent-dir/config.json"); }) ==
        "oci::Error: open /nonexistent-dir/config.json: No such file or directory");
  bool is_config_error = false;
  try {
    load_config("/nonexistent-dir/config.json");
  } catch (const oci::ConfigError&) {
    is_config_error = true;
  } catch (const oci::Error&) {
  }
  CHECK_FALSE(is_config_error);

  char dir[] = "/tmp/spec-tests-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  std::string path = std::string(dir) + "/config.json";
  {
    std::ofstream out(path);
    out << R"({"ociVersion": "1.0.0", "root": {"path": "rootfs"},
               "process": {"args": ["sh"], "cwd": "/"}})";
  }
  Config c = load_config(path);
  CHECK(c.process->args.at(0) == "sh");
  {
    std::ofstream out(path);
    out << R"({"ociVersion": "1.0.0", "root": {"path": "rootfs"}, "mounts": [{"destination": "x", "type": "tmpfs"}]})";
  }
  CHECK(error_of([&] { load_config(path); }) ==
        path + ": mounts[0].destination: must be an absolute path, got \"x\"");
  std::remove(path.c_str());
  rmdir(dir);
}

TEST_CASE("validate() on a config built in code") {
  Config c;
  c.oci_version = "1.3.0";
  c.root = Root{"rootfs", false};
  CHECK(error_of([&] { validate(c); }) == "(accepted)");
  c.linux.emplace();
  c.linux->namespaces = {{"pid", ""}, {"network", "/run/netns/a"}};
  CHECK(c.linux->has_namespace("network"));
  CHECK(c.linux->find_namespace("network")->path == "/run/netns/a");
  CHECK_FALSE(c.linux->has_namespace("uts"));
  c.hostname = "h";
  CHECK(error_of([&] { validate(c, "bundle/config.json"); }) ==
        "bundle/config.json: hostname: requires a uts namespace (new, or joined by path)");
  c.hostname.clear();
  c.root.reset();
  CHECK(error_of([&] { validate(c); }) == "config.json: root: required");

  Process p;
  p.args = {"sh"};
  p.cwd = "/";
  p.rlimits = {{"RLIMIT_BOGUS", -1, 0, 0}};
  CHECK(error_of([&] { validate_process(p, "exec", "process"); }) ==
        "exec: process.rlimits[0].type: unknown rlimit \"RLIMIT_BOGUS\"");
}
