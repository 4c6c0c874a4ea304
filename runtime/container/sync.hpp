// Messages between the runtime (parent) and the container init over a
// SOCK_SEQPACKET socketpair: one message per packet, a type byte + payload.
#pragma once

#include <optional>
#include <string>

namespace oci::container {

enum class Msg : char {
  Go = 'G',       // parent -> child: ids mapped, cgroup joined; continue
  UserNs = 'U',   // child -> parent: I unshared a user ns; write my maps
  Pid = 'P',      // child -> parent: the container process is this pid (after a fork)
  Hooks = 'H',    // child -> parent: mounts are ready, run prestart/createRuntime hooks;
                  // the Go reply carries the state JSON for the in-container hooks
  Ready = 'R',    // child -> parent: set up, waiting on the exec fifo
  Error = 'E',    // child -> parent: failed, payload is the message
};

struct Packet {
  Msg type;
  std::string payload;
};

// The largest payload a packet carries (the receive buffer, less the type).
inline constexpr size_t kMaxPayload = 65535;

// An Error payload longer than kMaxPayload is cut (and says so) rather than
// lost; any other over-long payload is an error.
void send_packet(int fd, Msg type, const std::string& payload = "");
// nullopt on EOF. A packet cut by the kernel (MSG_TRUNC) is an error unless it
// is an Error, whose message is kept with a note.
std::optional<Packet> recv_packet(int fd);
// `message` cut to at most `limit` bytes, ending in "... (N bytes truncated)".
std::string truncate_message(const std::string& message, size_t limit);

}  // namespace oci::container
