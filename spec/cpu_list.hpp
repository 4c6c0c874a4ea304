// The Linux CPU list syntax of process.execCPUAffinity ("0-3,7"): parsed once
// at validation (errors name the field) and again where it is applied.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oci::spec {

// The largest CPU number accepted (the kernel's NR_CPUS is at most 8192).
constexpr uint32_t kMaxCpu = 8191;

// Sorted, without duplicates. On a malformed list returns nullopt and sets
// `problem` ("range 5-3 is reversed", "CPU 9000 is above 8191", ...).
// An empty string is an empty list (the field counts as unset).
std::optional<std::vector<uint32_t>> parse_cpu_list(std::string_view text, std::string* problem);

}  // namespace oci::spec
