// rtnetlink through libnl-route-3, with RAII owners for every libnl object.
// A Netlink talks to the namespace its socket was created in: Netlink() uses the
// caller's, Netlink::in(nsfd) creates the socket on a thread inside `nsfd` (a
// netlink socket stays bound to the namespace it was made in).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "hooks/network/ip.hpp"

struct nl_sock;
struct rtnl_link;

namespace ocinet {

namespace nl {
template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const {
    if (p) Free(p);
  }
};
}  // namespace nl

class Netlink {
 public:
  Netlink();  // in the calling thread's network namespace
  static Netlink in(int netns_fd);
  ~Netlink();
  Netlink(Netlink&&) noexcept;
  Netlink& operator=(Netlink&&) noexcept;

  struct LinkInfo {
    int ifindex = 0;
    std::string type;  // "bridge", "veth", ... ("" when the kernel does not say)
    bool up = false;
  };
  std::optional<LinkInfo> link(const std::string& name);
  int ifindex(const std::string& name);  // throws when missing

  void create_bridge(const std::string& name);
  // The veth pair `host_name` (here) <-> `peer_name` created directly in `peer_netns_fd`.
  void create_veth(const std::string& host_name, const std::string& peer_name, int peer_netns_fd);
  // true when the link existed and was deleted.
  bool delete_link(const std::string& name);
  void set_up(const std::string& name);
  void set_master(const std::string& name, int master_ifindex);
  void set_hairpin(int ifindex, bool on);  // bridge port flag

  bool has_address(int ifindex, Ipv4 ip, int prefix);
  void add_address(int ifindex, Ipv4 ip, int prefix, Ipv4 broadcast);
  bool delete_address(int ifindex, Ipv4 ip, int prefix);
  void add_default_route(int ifindex, Ipv4 gateway);

 private:
  struct SockDeleter {
    void operator()(nl_sock* s) const;
  };
  explicit Netlink(std::unique_ptr<nl_sock, SockDeleter> s) : sock_(std::move(s)) {}
  std::unique_ptr<nl_sock, SockDeleter> sock_;
};

}  // namespace ocinet
