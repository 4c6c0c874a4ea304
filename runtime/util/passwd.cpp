#include "runtime/util/passwd.hpp"

#include <vector>

namespace oci::passwd {

std::optional<std::string> field_for_uid(std::string_view text, uint32_t uid, int index) {
  const std::string want = std::to_string(uid);
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find('\n', i);
    if (j == std::string_view::npos) j = text.size();
    std::string_view line = text.substr(i, j - i);
    std::vector<std::string_view> f;
    size_t a = 0;
    for (;;) {
      size_t b = line.find(':', a);
      f.push_back(line.substr(a, b == std::string_view::npos ? std::string_view::npos : b - a));
      if (b == std::string_view::npos) break;
      a = b + 1;
    }
    if (f.size() >= 7 && f[2] == want && index < static_cast<int>(f.size()) && !f[index].empty())
      return std::string(f[index]);
    i = j + 1;
  }
  return std::nullopt;
}

}  // namespace oci::passwd
