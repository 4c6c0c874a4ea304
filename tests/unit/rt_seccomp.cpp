// linux.seccomp -> libseccomp: filters are built (never loaded) and checked
// through libseccomp's pseudo filter code text.
#include <doctest/doctest.h>
#include <seccomp.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "runtime/cli/default_seccomp.hpp"
#include "runtime/linux/seccomp.hpp"
#include "spec/error.hpp"
#include "spec/parse.hpp"

using oci::linux_::SeccompFilter;

namespace {

// A linux.seccomp object (JSON text) through the real config parser.
oci::spec::Seccomp profile(const std::string& seccomp_json) {
  std::string config = R"({"ociVersion":"1.3.0","root":{"path":"rootfs"},"linux":{"seccomp":)" +
                       seccomp_json + "}}";
  auto c = oci::spec::parse_config(config);
  REQUIRE(c.linux);
  REQUIRE(c.linux->seccomp);
  return *c.linux->seccomp;
}

std::string pfc(const std::string& seccomp_json) { return SeccompFilter(profile(seccomp_json)).pfc(); }

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t i = text.find(what); i != std::string::npos; i = text.find(what, i + what.size())) ++n;
  return n;
}

std::string error_of(const std::string& seccomp_json) {
  try {
    SeccompFilter f(profile(seccomp_json));
  } catch (const oci::Error& e) {
    return e.what();
  }
  return "";
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST_CASE("seccomp: default action and one errno rule") {
  std::string text = pfc(R"({"defaultAction":"SCMP_ACT_ALLOW",
      "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]})");
  CHECK(text.find("\"mkdir\"") != std::string::npos);
  CHECK(text.find("action ERRNO(38);") != std::string::npos);
  CHECK(text.find("action ALLOW;") != std::string::npos);
}

TEST_CASE("seccomp: ERRNO and TRACE default to EPERM; defaultErrnoRet") {
  std::string text = pfc(R"({"defaultAction":"SCMP_ACT_ERRNO",
      "syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"},
                  {"names":["write"],"action":"SCMP_ACT_TRACE"}]})");
  CHECK(text.find("action ERRNO(1);") != std::string::npos);  // default, EPERM
  CHECK(text.find("action TRACE(1);") != std::string::npos);
  text = pfc(R"({"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,
      "syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]})");
  CHECK(text.find("action ERRNO(38);") != std::string::npos);
}

TEST_CASE("seccomp: every action is translated") {
  struct Case {
    const char* action;
    const char* pfc;
  } cases[] = {
      {"SCMP_ACT_KILL", "action KILL;"},
      {"SCMP_ACT_KILL_THREAD", "action KILL;"},
      {"SCMP_ACT_KILL_PROCESS", "action KILL_PROCESS;"},
      {"SCMP_ACT_TRAP", "action TRAP;"},
      {"SCMP_ACT_LOG", "action LOG;"},
      {"SCMP_ACT_ALLOW", "action ALLOW;"},
      {"SCMP_ACT_TRACE", "action TRACE(5);"},
      {"SCMP_ACT_ERRNO", "action ERRNO(5);"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.action);
    std::string errno_ret = std::string(c.action) == "SCMP_ACT_TRACE" ||
                                    std::string(c.action) == "SCMP_ACT_ERRNO"
                                ? R"(,"errnoRet":5)"
                                : "";
    // A default different from every action above.
    std::string def = std::string(c.action) == "SCMP_ACT_ERRNO" ? "SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1"
                                                                 : "SCMP_ACT_ERRNO\"";
    std::string text = pfc(R"({"defaultAction":")" + def + R"(,"syscalls":[{"names":["getpid"],"action":")" +
                           c.action + "\"" + errno_ret + "}]}");
    CHECK(text.find(c.pfc) != std::string::npos);
  }
}

TEST_CASE("seccomp: NOTIFY needs listenerPath and marks the filter") {
  std::string err = error_of(R"({"defaultAction":"SCMP_ACT_ALLOW",
      "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]})");
  CHECK(err.find("linux.seccomp.listenerPath") != std::string::npos);
  CHECK(err.find("SCMP_ACT_NOTIFY") != std::string::npos);
  SeccompFilter f(profile(R"({"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/run/agent.sock",
      "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]})"));
  CHECK(f.uses_notify());
  CHECK(f.listener_path() == "/run/agent.sock");
  // libseccomp 2.5 prints NOTIFY as its raw value.
  std::string text = f.pfc();
  CHECK((text.find("action NOTIFY;") != std::string::npos ||
         text.find("action 0x7fc00000;") != std::string::npos));
  SeccompFilter plain(profile(R"({"defaultAction":"SCMP_ACT_ALLOW",
      "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]})"));
  CHECK_FALSE(plain.uses_notify());
}

TEST_CASE("seccomp: unknown syscall names are ignored") {
  SeccompFilter f(profile(R"({"defaultAction":"SCMP_ACT_ALLOW",
      "syscalls":[{"names":["no_such_syscall_xyz","mkdir"],"action":"SCMP_ACT_ERRNO"},
                  {"names":["another_unknown"],"action":"SCMP_ACT_KILL"}]})"));
  CHECK(f.rule_count() == 1);
  std::string text = f.pfc();
  CHECK(text.find("no_such_syscall") == std::string::npos);
  CHECK(text.find("\"mkdir\"") != std::string::npos);
}

TEST_CASE("seccomp: a rule with the default action is skipped") {
  SeccompFilter f(profile(R"({"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,
      "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"},
                  {"names":["rmdir"],"action":"SCMP_ACT_ERRNO","errnoRet":2},
                  {"names":["read"],"action":"SCMP_ACT_ALLOW"}]})"));
  CHECK(f.rule_count() == 2);
  std::string text = f.pfc();
  CHECK(text.find("\"mkdir\"") == std::string::npos);
  CHECK(text.find("\"rmdir\"") != std::string::npos);
  CHECK(text.find("action ERRNO(2);") != std::string::npos);
}

TEST_CASE("seccomp: args with distinct indexes are ANDed in one rule") {
  SeccompFilter f(profile(R"({"defaultAction":"SCMP_ACT_ALLOW",
      "syscalls":[{"names":["kill"],"action":"SCMP_ACT_ERRNO","args":[
          {"index":0,"value":1234,"op":"SCMP_CMP_EQ"},
          {"index":1,"value":10,"op":"SCMP_CMP_EQ"}]}]})"));
  CHECK(f.rule_count() == 1);
  std::string text = f.pfc();
  // One rule: the arg1 test nested under the arg0 test.
  CHECK(count(text, "$a0") >= 1);
  CHECK(count(text, "$a1") >= 1);
  CHECK(count(text, "action ERRNO(1);") == 1);
}

TEST_CASE("seccomp: args with the same index are ORed, one rule each") {
  SeccompFilter f(profile(R"({"defaultAction":"SCMP_ACT_ALLOW",
      "syscalls":[{"names":["personality"],"action":"SCMP_ACT_ERRNO","args":[
          {"index":0,"value":8,"op":"SCMP_CMP_EQ"},
          {"index":0,"value":0,"op":"SCMP_CMP_EQ"}]}]})"));
  CHECK(f.rule_count() == 2);
  std::string text = f.pfc();
  CHECK(count(text, "action ERRNO(1);") == 2);
  CHECK(text.find("$a1") == std::string::npos);
}

TEST_CASE("seccomp: every operator; MASKED_EQ takes value as the mask") {
  const char* ops[] = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
                       "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};
  for (const char* op : ops) {
    CAPTURE(op);
    SeccompFilter f(profile(std::string(R"({"defaultAction":"SCMP_ACT_ALLOW",
        "syscalls":[{"names":["personality"],"action":"SCMP_ACT_ERRNO","args":[
            {"index":0,"value":255,"valueTwo":8,"op":")") +
                            op + "\"}]}]}"));
    CHECK(f.rule_count() == 1);
  }
  std::string text = pfc(R"({"defaultAction":"SCMP_ACT_ALLOW",
      "syscalls":[{"names":["personality"],"action":"SCMP_ACT_ERRNO","args":[
          {"index":0,"value":255,"valueTwo":8,"op":"SCMP_CMP_MASKED_EQ"}]}]})");
  // libseccomp prints a masked compare as ($a0 & mask) == datum.
  CHECK(text.find("& 0x000000ff") != std::string::npos);
  CHECK(text.find("== 8") != std::string::npos);
}

TEST_CASE("seccomp: architectures; the native one is always there") {
  std::string text = pfc(R"({"defaultAction":"SCMP_ACT_ALLOW",
      "architectures":["SCMP_ARCH_X86","SCMP_ARCH_X32"],
      "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]})");
  uint32_t native = seccomp_arch_native();
  CHECK(text.find("(" + std::to_string(native) + ")") != std::string::npos);
  if (native == SCMP_ARCH_X86_64) {
    CHECK(text.find("filter for arch x86 ") != std::string::npos);
    CHECK(text.find("filter for arch x32 ") != std::string::npos);
  }
  // Listing the native arch is not an error.
  CHECK(error_of(R"({"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_AARCH64"]})") == "");
}

TEST_CASE("seccomp: an unsupported architecture is named") {
  std::string err = error_of(R"({"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_PDP11"]})");
  CHECK(err.find("linux.seccomp.architectures[1]") != std::string::npos);
  CHECK(err.find("SCMP_ARCH_PDP11") != std::string::npos);
  CHECK(err.rfind("config.json: ", 0) == 0);
}

TEST_CASE("seccomp: flags are what the running kernel knows") {
  auto f = oci::linux_::seccomp_features();
  // Every kernel this runtime supports (>= 5.0) knows these three.
  for (const char* flag : {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                           "SECCOMP_FILTER_FLAG_SPEC_ALLOW"}) {
    CAPTURE(flag);
    CHECK(has(f.supported_flags, flag));
    std::string json = std::string(R"({"defaultAction":"SCMP_ACT_ALLOW","flags":[")") + flag + "\"]}";
    CHECK(error_of(json) == "");
  }
  CHECK(error_of(R"({"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_BOGUS"]})")
            .find("linux.seccomp.flags[0]: unknown flag") != std::string::npos);
}

TEST_CASE("seccomp: WAIT_KILLABLE_RECV is refused by name when the kernel lacks it") {
  auto f = oci::linux_::seccomp_features();
  std::string err = error_of(R"({"defaultAction":"SCMP_ACT_ALLOW",
      "flags":["SECCOMP_FILTER_FLAG_TSYNC","SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]})");
  if (has(f.supported_flags, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")) {
    CHECK(err == "");
  } else {
    CHECK(err.find("linux.seccomp.flags[1]") != std::string::npos);
    CHECK(err.find("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") != std::string::npos);
  }
}

TEST_CASE("seccomp: errnoRet beyond 16 bits is refused") {
  std::string err = error_of(R"({"defaultAction":"SCMP_ACT_ALLOW",
      "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":70000}]})");
  CHECK(err.find("linux.seccomp.syscalls[0]") != std::string::npos);
}

TEST_CASE("seccomp: NOTIFY cannot be the default action nor apply to sendmsg") {
  std::string err = error_of(R"({"defaultAction":"SCMP_ACT_NOTIFY","listenerPath":"/x"})");
  CHECK(err.find("linux.seccomp.defaultAction") != std::string::npos);
  err = error_of(R"({"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/x",
      "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"},
                  {"names":["write","sendmsg"],"action":"SCMP_ACT_NOTIFY"}]})");
  CHECK(err.find("linux.seccomp.syscalls[1]") != std::string::npos);
  CHECK(err.find("sendmsg") != std::string::npos);
}

TEST_CASE("seccomp: an architecture of the other byte order is refused by name") {
  if (seccomp_arch_native() != SCMP_ARCH_X86_64) return;
  std::string err = error_of(R"({"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_S390X"]})");
  CHECK(err.find("linux.seccomp.architectures[0]") != std::string::npos);
  CHECK(err.find("SCMP_ARCH_S390X") != std::string::npos);
}

TEST_CASE("seccomp: features come from libseccomp") {
  auto f = oci::linux_::seccomp_features();
  CHECK(has(f.actions, "SCMP_ACT_ERRNO"));
  CHECK(has(f.actions, "SCMP_ACT_ALLOW"));
  CHECK(has(f.actions, "SCMP_ACT_KILL"));
  CHECK(f.operators.size() == 7);
  CHECK(has(f.operators, "SCMP_CMP_MASKED_EQ"));
  CHECK(f.known_flags.size() == 4);
  for (const auto& s : f.supported_flags) CHECK(has(f.known_flags, s));
  CHECK_FALSE(f.archs.empty());
  if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
    CHECK(has(f.archs, "SCMP_ARCH_X86_64"));
    CHECK(has(f.archs, "SCMP_ARCH_X86"));
    CHECK(has(f.archs, "SCMP_ARCH_X32"));
  }
  // Every listed arch builds, or (other byte order than the native one) is
  // refused by name.
  for (const auto& a : f.archs) {
    CAPTURE(a);
    std::string err = error_of(R"({"defaultAction":"SCMP_ACT_ALLOW","architectures":[")" + a + "\"]}");
    CHECK((err == "" || err.find("byte order") != std::string::npos));
  }
}

TEST_CASE("seccomp: the listener payload is the container process state") {
  oci::spec::State st;
  st.id = "c1";
  st.status = "creating";
  st.pid = 4242;
  st.bundle = "/b";
  st.annotations = {{"k", "v"}};
  auto j = nlohmann::json::parse(oci::linux_::seccomp_listener_payload(st, 4243, "meta=1"));
  CHECK(j["ociVersion"] == oci::spec::kOciVersion);
  CHECK(j["fds"] == nlohmann::json::array({"seccompFd"}));
  CHECK(j["pid"] == 4243);
  CHECK(j["metadata"] == "meta=1");
  CHECK(j["state"]["id"] == "c1");
  CHECK(j["state"]["status"] == "creating");
  CHECK(j["state"]["pid"] == 4242);
  CHECK(j["state"]["bundle"] == "/b");
  CHECK(j["state"]["annotations"]["k"] == "v");
}

TEST_CASE("seccomp: the default profile of `oci-run spec --seccomp` compiles and denies what it says") {
  std::string json = oci::cli::default_seccomp_profile().dump();
  SeccompFilter f(profile(json));
  CHECK(f.rule_count() > 50);
  std::string text = f.pfc();
  // Every denied syscall this libseccomp knows appears with EPERM; a few
  // that every libseccomp knows are checked by name.
  for (const char* name : {"mount", "unshare", "setns", "ptrace", "init_module", "kexec_load", "bpf", "keyctl"}) {
    CAPTURE(name);
    CHECK(text.find("if ($syscall == " + std::to_string(seccomp_syscall_resolve_name(name)) + ")") !=
          std::string::npos);
  }
  CHECK(text.find("action ERRNO(38)") != std::string::npos);  // clone3 -> ENOSYS
  CHECK(text.find("action ERRNO(1)") != std::string::npos);
  // The default action allows: ordinary syscalls are not listed.
  CHECK(text.find("if ($syscall == " + std::to_string(seccomp_syscall_resolve_name("openat")) + ")") ==
        std::string::npos);
}
