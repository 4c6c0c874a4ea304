// IPv4 addresses and CIDR subnets (host byte order), parsed strictly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ocinet {

using Ipv4 = uint32_t;  // host byte order

std::optional<Ipv4> parse_ipv4(std::string_view text);  // dotted quad, no leading zeros
std::string format_ipv4(Ipv4 ip);

struct Cidr {
  Ipv4 network = 0;
  int prefix = 0;

  Ipv4 mask() const { return prefix == 0 ? 0 : ~Ipv4{0} << (32 - prefix); }
  Ipv4 broadcast() const { return network | ~mask(); }
  bool contains(Ipv4 ip) const { return (ip & mask()) == network; }
  // A usable host address: inside, and neither the network nor the broadcast address.
  bool is_host(Ipv4 ip) const { return contains(ip) && ip != network && ip != broadcast(); }
  bool overlaps(const Cidr& o) const {
    int p = prefix < o.prefix ? prefix : o.prefix;
    Ipv4 m = p == 0 ? 0 : ~Ipv4{0} << (32 - p);
    return (network & m) == (o.network & m);
  }
  std::string str() const;
};

enum class CidrError { kSyntax, kHostBits };
// "a.b.c.d/n"; with host bits set it fails with kHostBits (error text names the network).
std::optional<Cidr> parse_cidr(std::string_view text, CidrError* why = nullptr);

}  // namespace ocinet
