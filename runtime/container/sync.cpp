#include "runtime/container/sync.hpp"

#include <sys/socket.h>

#include <cerrno>

#include "spec/error.hpp"

namespace oci::container {

std::string truncate_message(const std::string& message, size_t limit) {
  if (message.size() <= limit) return message;
  std::string note = "... (" + std::to_string(message.size()) + " bytes, truncated)";
  if (note.size() >= limit) return message.substr(0, limit);
  return message.substr(0, limit - note.size()) + note;
}

void send_packet(int fd, Msg type, const std::string& payload) {
  if (payload.size() > kMaxPayload && type != Msg::Error)
    throw Error("sync send: a message of " + std::to_string(payload.size()) + " bytes exceeds " +
                std::to_string(kMaxPayload));
  std::string buf(1, static_cast<char>(type));
  buf += type == Msg::Error ? truncate_message(payload, kMaxPayload) : payload;
  while (::send(fd, buf.data(), buf.size(), MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) throw sys_error("sync send");
  }
}

std::optional<Packet> recv_packet(int fd) {
  char buf[kMaxPayload + 1];
  ssize_t n;
  // MSG_TRUNC: the packet's real length, even when longer than buf.
  while ((n = ::recv(fd, buf, sizeof buf, MSG_TRUNC)) < 0) {
    if (errno != EINTR) throw sys_error("sync receive");
  }
  if (n == 0) return std::nullopt;
  Msg type = static_cast<Msg>(buf[0]);
  if (static_cast<size_t>(n) > sizeof buf) {
    if (type != Msg::Error)
      throw Error("sync receive: a message of " + std::to_string(n) + " bytes was truncated");
    std::string note = "... (" + std::to_string(n - 1) + " bytes, truncated)";
    std::string cut(buf + 1, sizeof buf - 1 - note.size());
    return Packet{type, cut + note};
  }
  return Packet{type, std::string(buf + 1, static_cast<size_t>(n - 1))};
}

}  // namespace oci::container
