// process.execCPUAffinity CPU lists: the parser and the validation messages.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "spec/cpu_list.hpp"
#include "spec/error.hpp"
#include "spec/parse.hpp"

using oci::spec::parse_cpu_list;

namespace {

std::string problem_of(const char* text) {
  std::string problem;
  auto r = parse_cpu_list(text, &problem);
  return r ? "(accepted)" : problem;
}

std::string process_error(const std::string& affinity) {
  try {
    oci::spec::parse_process(R"({"args": ["ls"], "cwd": "/", "execCPUAffinity": )" + affinity + "}");
  } catch (const oci::ConfigError& e) {
    return e.what();
  }
  return "(accepted)";
}

}  // namespace

TEST_CASE("parse_cpu_list: the Linux list syntax") {
  using V = std::vector<uint32_t>;
  CHECK(parse_cpu_list("", nullptr) == V{});
  CHECK(parse_cpu_list("0", nullptr) == V{0});
  CHECK(parse_cpu_list("0-3,7", nullptr) == V{0, 1, 2, 3, 7});
  CHECK(parse_cpu_list("7,0-2,1", nullptr) == V{0, 1, 2, 7});
  CHECK(parse_cpu_list("5-5", nullptr) == V{5});
  CHECK(parse_cpu_list("8191", nullptr) == V{8191});
}

TEST_CASE("parse_cpu_list: malformed lists say what is wrong") {
  const std::string want = " (want a list such as \"0-3,7\")";
  CHECK(problem_of("3-1") == "range \"3-1\" is reversed" + want);
  CHECK(problem_of("0,,1") == "empty element in \"0,,1\"" + want);
  CHECK(problem_of("0,") == "empty element in \"0,\"" + want);
  CHECK(problem_of("a") == "\"a\" is not a CPU number or range" + want);
  CHECK(problem_of("1-") == "\"1-\" is not a CPU number or range" + want);
  CHECK(problem_of("-1") == "\"-1\" is not a CPU number or range" + want);
  CHECK(problem_of(" 1") == "\" 1\" is not a CPU number or range" + want);
  CHECK(problem_of("1-2-3") == "\"1-2-3\" is not a CPU number or range" + want);
  CHECK(problem_of("0-8192") == "CPU in \"0-8192\" is above 8191" + want);
  CHECK(problem_of("99999999999999999999") ==
        "CPU in \"99999999999999999999\" is above 8191" + want);
}

TEST_CASE("execCPUAffinity is validated at parse time, naming the field") {
  CHECK(process_error(R"({"initial": "0-1", "final": "0"})") == "(accepted)");
  CHECK(process_error(R"({"final": ""})") == "(accepted)");
  CHECK(process_error(R"({"initial": "x"})") ==
        "process.json: execCPUAffinity.initial: \"x\" is not a CPU number or range (want a list "
        "such as \"0-3,7\")");
  CHECK(process_error(R"({"final": "2-1"})") ==
        "process.json: execCPUAffinity.final: range \"2-1\" is reversed (want a list such as "
        "\"0-3,7\")");
  CHECK(process_error(R"({"final": 0})").find("process.json: execCPUAffinity.final: ") == 0);
  try {
    oci::spec::parse_config(R"({"ociVersion": "1.3.0", "root": {"path": "r"},
      "process": {"args": ["sh"], "cwd": "/", "execCPUAffinity": {"final": "0,x"}}})");
    FAIL("accepted");
  } catch (const oci::ConfigError& e) {
    CHECK(std::string(e.what()) ==
          "config.json: process.execCPUAffinity.final: \"x\" is not a CPU number or range (want "
          "a list such as \"0-3,7\")");
  }
}
