// /etc/passwd lookups without NSS (the binary is static; a container's passwd
// file is plain text too).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace oci::passwd {

// Field `index` (0 name, 5 home, ...) of the entry with this uid in `text`.
std::optional<std::string> field_for_uid(std::string_view text, uint32_t uid, int index);

}  // namespace oci::passwd
