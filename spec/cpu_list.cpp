#include "spec/cpu_list.hpp"

#include <algorithm>

namespace oci::spec {
namespace {

// A decimal CPU number at the start of `s`; advances past it.
std::optional<uint32_t> number(std::string_view& s) {
  size_t n = 0;
  uint64_t v = 0;
  while (n < s.size() && s[n] >= '0' && s[n] <= '9') {
    v = v * 10 + static_cast<uint64_t>(s[n] - '0');
    if (v > kMaxCpu) v = uint64_t{kMaxCpu} + 1;  // saturate: reported below
    ++n;
  }
  if (n == 0) return std::nullopt;
  s.remove_prefix(n);
  return static_cast<uint32_t>(v);
}

}  // namespace

std::optional<std::vector<uint32_t>> parse_cpu_list(std::string_view text, std::string* problem) {
  auto fail = [&](std::string why) -> std::optional<std::vector<uint32_t>> {
    if (problem) *problem = std::move(why) + " (want a list such as \"0-3,7\")";
    return std::nullopt;
  };
  auto bad_quote = [](std::string_view item) {
    std::string m(1, '"');
    m.append(item).append(1, '"');
    return m;
  };
  // `"` + item + `" ...`, appended piece by piece: "literal" + std::string(...)
  // trips a GCC 12 -O3 -Wrestrict false positive (PR 105651).
  auto bad = [&](std::string_view item, const char* what) {
    std::string m(1, '"');
    m.append(item).append("\" ").append(what);
    return fail(std::move(m));
  };
  std::vector<uint32_t> out;
  if (text.empty()) return out;
  std::string_view rest = text;
  for (;;) {
    size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    std::string_view s = item;
    if (s.empty()) return fail("empty element in \"" + std::string(text) + "\"");
    auto lo = number(s);
    if (!lo) return bad(item, "is not a CPU number or range");
    uint32_t hi = *lo;
    if (!s.empty() && s.front() == '-') {
      s.remove_prefix(1);
      auto h = number(s);
      if (!h) return bad(item, "is not a CPU number or range");
      hi = *h;
    }
    if (!s.empty()) return bad(item, "is not a CPU number or range");
    if (hi > kMaxCpu) return fail(std::string("CPU in ").append(bad_quote(item)).append(" is above ").append(std::to_string(kMaxCpu)));
    if (hi < *lo) return fail(std::string("range ").append(bad_quote(item)).append(" is reversed"));
    for (uint32_t c = *lo; c <= hi; ++c) out.push_back(c);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace oci::spec
