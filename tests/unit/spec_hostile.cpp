// Hostile input to the config parser: deep nesting, huge documents, invalid
// UTF-8, numbers out of range, NUL bytes. Each must be a clear ConfigError
// (or, where the input is valid, a clean accept), never a crash or a hang.
#include <doctest/doctest.h>

#include <string>

#include "spec/error.hpp"
#include "spec/parse.hpp"

using oci::spec::parse_config;
using oci::spec::parse_process;
using oci::spec::parse_resources;

namespace {

const std::string kHead =
    R"({"ociVersion":"1.3.0","root":{"path":"rootfs"},"process":{"cwd":"/","args":["sh"]})";

// kHead + `extra` (",\"key\": value...") + "}".
std::string config_with(const std::string& extra) { return kHead + extra + "}"; }

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const oci::ConfigError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("wrong exception type: ") + e.what();
  }
  return "(accepted)";
}

std::string config_error(const std::string& text) {
  return error_of([&] { parse_config(text); });
}

std::string nested(size_t depth, const std::string& open, const std::string& close) {
  std::string s;
  s.reserve(depth * (open.size() + close.size()) + 4);
  for (size_t i = 0; i < depth; ++i) s += open;
  s += "1";
  for (size_t i = 0; i < depth; ++i) s += close;
  return s;
}

}  // namespace

TEST_CASE("hostile: deeply nested JSON in an unknown field is ignored, not a crash") {
  // Unknown fields are allowed (extensions); a very deep one must not blow the stack.
  CHECK(config_error(config_with(R"(,"x-deep":)" + nested(100000, "[", "]"))) == "(accepted)");
  CHECK(config_error(config_with(R"(,"x-deep":)" + nested(100000, "{\"a\":", "}"))) == "(accepted)");
}

TEST_CASE("hostile: deeply nested JSON where a known field is expected") {
  CHECK(config_error(config_with(R"(,"annotations":)" + nested(50000, "{\"a\":", "}"))) ==
        "config.json: annotations.\"a\": expected string");
  CHECK(config_error(config_with(R"(,"hostname":)" + nested(50000, "[", "]"))) ==
        "config.json: hostname: expected string");
}

TEST_CASE("hostile: unterminated deep nesting is invalid JSON") {
  std::string text = config_with(R"(,"x":)" + std::string(200000, '['));
  std::string e = config_error(text);
  CHECK(e.rfind("config.json: invalid JSON: ", 0) == 0);
}

TEST_CASE("hostile: a huge document") {
  // 200,000 env entries (several MB): parsed and accepted.
  std::string env;
  env.reserve(200000 * 24);
  for (int i = 0; i < 200000; ++i) env += (i ? ",\"" : "\"") + std::string("VAR") + std::to_string(i) + "=value\"";
  std::string text = R"({"ociVersion":"1.3.0","root":{"path":"rootfs"},"process":{"cwd":"/","args":["sh"],"env":[)" +
                     env + "]}}";
  CHECK(text.size() > 3000000);
  CHECK(config_error(text) == "(accepted)");
  // A 16 MB string value.
  CHECK(config_error(config_with(R"(,"hostname":")" + std::string(16 << 20, 'a') + "\"")) != "(accepted)");
}

TEST_CASE("hostile: invalid UTF-8") {
  for (std::string bad : {std::string("\xff"), std::string("\xc0\xaf"), std::string("\xed\xa0\x80"),
                          std::string("abc\xe2\x82")}) {
    std::string e = config_error(config_with(R"(,"hostname":")" + bad + "\""));
    CAPTURE(e);
    CHECK(e.rfind("config.json: invalid JSON: ", 0) == 0);
  }
  // A lone surrogate escape is invalid too.
  CHECK(config_error(config_with(R"(,"hostname":"\ud800")")).rfind("config.json: invalid JSON: ", 0) == 0);
}

TEST_CASE("hostile: NUL bytes") {
  // A raw NUL in the text is invalid JSON...
  std::string raw = config_with(std::string(",\"hostname\":\"a") + '\0' + "b\"");
  CHECK(config_error(raw).rfind("config.json: invalid JSON: ", 0) == 0);
  // ... and an escaped one must not silently truncate a path or argument.
  CHECK(config_error(config_with(R"(,"hostname":"a\u0000b")")) != "(accepted)");
  std::string e = error_of([] {
    parse_process(R"({"cwd":"/","args":["sh\u0000-c"]})");
  });
  CHECK(e == "process.json: args[0]: contains a NUL byte");
  e = config_error(R"({"ociVersion":"1.3.0","root":{"path":"root\u0000fs"},"process":{"cwd":"/","args":["sh"]}})");
  CHECK(e == "config.json: root.path: contains a NUL byte");
  e = config_error(config_with(R"(,"annotations":{"k":"v\u0000"})"));
  CHECK(e == "config.json: annotations.\"k\": contains a NUL byte");
}

TEST_CASE("hostile: numbers out of range") {
  // nlohmann reports this overflow as out_of_range, not parse_error.
  CHECK(config_error(config_with(R"(,"linux":{"resources":{"pids":{"limit":1e400}}})")) ==
        "config.json: invalid JSON: number overflow parsing '1e400'");
  for (const char* n : {"99999999999999999999999", "-99999999999999999999999", "1.5", "1e30", "-1"}) {
    std::string e = error_of([&] {
      parse_process(std::string(R"({"cwd":"/","args":["sh"],"user":{"uid":)") + n + R"(,"gid":0}})");
    });
    CAPTURE(n);
    CAPTURE(e);
    CHECK(e.find("process.json: user.uid: ") == 0);
  }
  std::string e = error_of([] { parse_resources(R"({"cpu":{"shares":18446744073709551616}})"); });
  CAPTURE(e);
  CHECK(e.find("cpu.shares") != std::string::npos);
}
