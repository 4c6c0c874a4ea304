#include "hooks/network/netlink.hpp"

#include <arpa/inet.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <sys/socket.h>

#include "hooks/network/error.hpp"
#include "hooks/network/netns.hpp"

namespace ocinet {
namespace {

using LinkPtr = std::unique_ptr<rtnl_link, nl::Deleter<rtnl_link, rtnl_link_put>>;
using AddrPtr = std::unique_ptr<rtnl_addr, nl::Deleter<rtnl_addr, rtnl_addr_put>>;
using NlAddrPtr = std::unique_ptr<nl_addr, nl::Deleter<nl_addr, nl_addr_put>>;
using RoutePtr = std::unique_ptr<rtnl_route, nl::Deleter<rtnl_route, rtnl_route_put>>;
using CachePtr = std::unique_ptr<nl_cache, nl::Deleter<nl_cache, nl_cache_free>>;
using MsgPtr = std::unique_ptr<nl_msg, nl::Deleter<nl_msg, nlmsg_free>>;

[[noreturn]] void fail(const std::string& what, int err) {
  throw Error(what + ": " + nl_geterror(err));
}

template <class P>
P must(P p, const char* what) {
  if (!p) throw Error(std::string("out of memory allocating ") + what);
  return p;
}

NlAddrPtr v4(Ipv4 ip, int prefix) {
  uint32_t be = htonl(ip);
  NlAddrPtr a(must(nl_addr_build(AF_INET, &be, sizeof be), "nl_addr"));
  nl_addr_set_prefixlen(a.get(), prefix);
  return a;
}

std::string cidr_text(Ipv4 ip, int prefix) {
  return format_ipv4(ip) + "/" + std::to_string(prefix);
}

}  // namespace

void Netlink::SockDeleter::operator()(nl_sock* s) const {
  if (s) nl_socket_free(s);  // closes the socket too
}

Netlink::Netlink() {
  sock_.reset(must(nl_socket_alloc(), "netlink socket"));
  if (int err = nl_connect(sock_.get(), NETLINK_ROUTE); err < 0) fail("connect rtnetlink", err);
}

Netlink Netlink::in(int netns_fd) {
  std::optional<Netlink> made;
  in_netns(netns_fd, [&] { made.emplace(); });
  return std::move(*made);
}

Netlink::~Netlink() = default;
Netlink::Netlink(Netlink&&) noexcept = default;
Netlink& Netlink::operator=(Netlink&&) noexcept = default;

std::optional<Netlink::LinkInfo> Netlink::link(const std::string& name) {
  rtnl_link* raw = nullptr;
  int err = rtnl_link_get_kernel(sock_.get(), 0, name.c_str(), &raw);
  LinkPtr l(raw);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return std::nullopt;
  if (err < 0) fail("get link " + name, err);
  LinkInfo info;
  info.ifindex = rtnl_link_get_ifindex(l.get());
  if (const char* t = rtnl_link_get_type(l.get())) info.type = t;
  info.up = (rtnl_link_get_flags(l.get()) & IFF_UP) != 0;
  return info;
}

int Netlink::ifindex(const std::string& name) {
  auto l = link(name);
  if (!l) throw Error("network interface " + name + " does not exist");
  return l->ifindex;
}

void Netlink::create_bridge(const std::string& name) {
  if (int err = rtnl_link_bridge_add(sock_.get(), name.c_str()); err < 0)
    fail("create bridge " + name, err);
}

void Netlink::create_veth(const std::string& host_name, const std::string& peer_name,
                          int peer_netns_fd) {
  LinkPtr l(must(rtnl_link_veth_alloc(), "veth link"));
  rtnl_link_set_name(l.get(), host_name.c_str());
  LinkPtr peer(rtnl_link_veth_get_peer(l.get()));  // a reference of its own
  if (!peer) throw Error("libnl: veth link without peer");
  rtnl_link_set_name(peer.get(), peer_name.c_str());
  rtnl_link_set_ns_fd(peer.get(), peer_netns_fd);
  if (int err = rtnl_link_add(sock_.get(), l.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
    fail("create veth pair " + host_name + " / " + peer_name + " (in the container)", err);
}

bool Netlink::delete_link(const std::string& name) {
  LinkPtr l(must(rtnl_link_alloc(), "link"));
  rtnl_link_set_name(l.get(), name.c_str());
  int err = rtnl_link_delete(sock_.get(), l.get());
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return false;
  if (err < 0) fail("delete link " + name, err);
  return true;
}

void Netlink::set_up(const std::string& name) {
  rtnl_link* raw = nullptr;
  int err = rtnl_link_get_kernel(sock_.get(), 0, name.c_str(), &raw);
  LinkPtr orig(raw);
  if (err < 0) fail("get link " + name, err);
  LinkPtr change(must(rtnl_link_alloc(), "link"));
  rtnl_link_set_flags(change.get(), IFF_UP);
  if ((err = rtnl_link_change(sock_.get(), orig.get(), change.get(), 0)) < 0)
    fail("set " + name + " up", err);
}

void Netlink::set_master(const std::string& name, int master_ifindex) {
  int idx = ifindex(name);
  if (int err = rtnl_link_enslave_ifindex(sock_.get(), master_ifindex, idx); err < 0)
    fail("attach " + name + " to its bridge", err);
}

void Netlink::set_hairpin(int ifindex, bool on) {
  // RTM_SETLINK for the bridge family with IFLA_PROTINFO { IFLA_BRPORT_MODE }.
  MsgPtr msg(must(nlmsg_alloc_simple(RTM_SETLINK, 0), "netlink message"));
  ifinfomsg ifi{};
  ifi.ifi_family = AF_BRIDGE;
  ifi.ifi_index = ifindex;
  if (nlmsg_append(msg.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0)
    throw Error("netlink message too long");
  nlattr* pi = nla_nest_start(msg.get(), IFLA_PROTINFO | NLA_F_NESTED);
  if (!pi || nla_put_u8(msg.get(), IFLA_BRPORT_MODE, on ? 1 : 0) < 0)
    throw Error("netlink message too long");
  nla_nest_end(msg.get(), pi);
  int err = nl_send_auto(sock_.get(), msg.get());
  if (err >= 0) err = nl_wait_for_ack(sock_.get());
  if (err < 0) fail("set hairpin mode on bridge port " + std::to_string(ifindex), err);
}

bool Netlink::has_address(int ifindex, Ipv4 ip, int prefix) {
  nl_cache* raw = nullptr;
  if (int err = rtnl_addr_alloc_cache(sock_.get(), &raw); err < 0) fail("list addresses", err);
  CachePtr cache(raw);
  NlAddrPtr want = v4(ip, prefix);
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    if (rtnl_addr_get_ifindex(a) != ifindex || rtnl_addr_get_family(a) != AF_INET) continue;
    nl_addr* local = rtnl_addr_get_local(a);
    if (local && nl_addr_cmp(local, want.get()) == 0 && rtnl_addr_get_prefixlen(a) == prefix)
      return true;
  }
  return false;
}

void Netlink::add_address(int ifindex, Ipv4 ip, int prefix, Ipv4 broadcast) {
  AddrPtr a(must(rtnl_addr_alloc(), "address"));
  rtnl_addr_set_ifindex(a.get(), ifindex);
  NlAddrPtr local = v4(ip, prefix);
  if (int err = rtnl_addr_set_local(a.get(), local.get()); err < 0) fail("address", err);
  NlAddrPtr brd = v4(broadcast, 32);
  if (int err = rtnl_addr_set_broadcast(a.get(), brd.get()); err < 0) fail("address", err);
  if (int err = rtnl_addr_add(sock_.get(), a.get(), NLM_F_EXCL); err < 0)
    fail("add address " + cidr_text(ip, prefix), err);
}

bool Netlink::delete_address(int ifindex, Ipv4 ip, int prefix) {
  AddrPtr a(must(rtnl_addr_alloc(), "address"));
  rtnl_addr_set_ifindex(a.get(), ifindex);
  NlAddrPtr local = v4(ip, prefix);
  if (int err = rtnl_addr_set_local(a.get(), local.get()); err < 0) fail("address", err);
  int err = rtnl_addr_delete(sock_.get(), a.get(), 0);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NOADDR || err == -NLE_NODEV) return false;
  if (err < 0) fail("delete address " + cidr_text(ip, prefix), err);
  return true;
}

void Netlink::add_default_route(int ifindex, Ipv4 gateway) {
  RoutePtr r(must(rtnl_route_alloc(), "route"));
  rtnl_route_set_family(r.get(), AF_INET);
  rtnl_route_set_table(r.get(), RT_TABLE_MAIN);
  rtnl_route_set_protocol(r.get(), RTPROT_STATIC);
  rtnl_route_set_scope(r.get(), RT_SCOPE_UNIVERSE);
  rtnl_route_set_type(r.get(), RTN_UNICAST);
  NlAddrPtr dst = v4(0, 0);
  if (int err = rtnl_route_set_dst(r.get(), dst.get()); err < 0) fail("route", err);
  rtnl_nexthop* nh = must(rtnl_route_nh_alloc(), "next hop");
  rtnl_route_nh_set_ifindex(nh, ifindex);
  NlAddrPtr gw = v4(gateway, 32);
  rtnl_route_nh_set_gateway(nh, gw.get());
  rtnl_route_add_nexthop(r.get(), nh);  // the route owns it now
  if (int err = rtnl_route_add(sock_.get(), r.get(), NLM_F_EXCL); err < 0)
    fail("add default route via " + format_ipv4(gateway), err);
}

}  // namespace ocinet
