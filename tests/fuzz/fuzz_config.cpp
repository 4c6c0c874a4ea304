// libFuzzer target: config.json, process.json and resources parsing plus
// validation (spec/). Any input must either parse or throw oci::ConfigError;
// any other exception, a crash, a leak or UB (under ASan/UBSan) is a bug.
// Built and run by tests/fuzz/run-fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <exception>
#include <string_view>

#include "spec/error.hpp"
#include "spec/parse.hpp"

namespace {

template <typename F>
void expect_config_error_only(const char* what, F&& f) {
  try {
    f();
  } catch (const oci::ConfigError&) {
    // the expected way to reject input
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: unexpected exception (not ConfigError): %s\n", what, e.what());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  expect_config_error_only("parse_config", [&] { (void)oci::spec::parse_config(text); });
  expect_config_error_only("parse_process", [&] { (void)oci::spec::parse_process(text); });
  expect_config_error_only("parse_resources", [&] { (void)oci::spec::parse_resources(text); });
  return 0;
}
