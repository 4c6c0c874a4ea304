#include "runtime/cgroups/bpf_devices.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "runtime/util/fd.hpp"
#include "spec/error.hpp"

namespace oci::cgroups {
namespace {

// Registers used by the program.
constexpr uint8_t R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5;

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}
bpf_insn load_u32(uint8_t dst, uint8_t src, int16_t off) {
  return insn(BPF_LDX | BPF_W | BPF_MEM, dst, src, off, 0);
}
bpf_insn mov_reg(uint8_t dst, uint8_t src) {
  return insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
}
bpf_insn mov_imm(uint8_t dst, int32_t imm) {
  return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
bpf_insn and32_imm(uint8_t dst, int32_t imm) {
  return insn(BPF_ALU | BPF_AND | BPF_K, dst, 0, 0, imm);
}
bpf_insn rsh32_imm(uint8_t dst, int32_t imm) {
  return insn(BPF_ALU | BPF_RSH | BPF_K, dst, 0, 0, imm);
}
// Jumps get their offset once the end of the rule's block is known.
bpf_insn jne_imm(uint8_t dst, int32_t imm) {
  return insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, 0, imm);
}
bpf_insn jeq_imm(uint8_t dst, int32_t imm) {
  return insn(BPF_JMP | BPF_JEQ | BPF_K, dst, 0, 0, imm);
}
bpf_insn exit_insn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

int32_t access_bits(const std::string& access) {
  int32_t bits = 0;
  for (char c : access.empty() ? std::string("rwm") : access) {
    if (c == 'm') bits |= BPF_DEVCG_ACC_MKNOD;
    if (c == 'r') bits |= BPF_DEVCG_ACC_READ;
    if (c == 'w') bits |= BPF_DEVCG_ACC_WRITE;
  }
  return bits;
}

constexpr int32_t kAllAccess = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;

long bpf(int cmd, bpf_attr* attr) { return ::syscall(SYS_bpf, cmd, attr, sizeof *attr); }

}  // namespace

DeviceState device_state(const std::vector<spec::DeviceRule>& rules) {
  DeviceState st;
  for (const auto& r : rules) {
    if (r.type.empty() || r.type == "a") {  // resets the whole list
      st.default_allow = r.allow;
      st.exceptions.clear();
      continue;
    }
    DeviceException ex;
    ex.block = r.type == "b";
    ex.major = r.major && *r.major >= 0 ? *r.major : -1;
    ex.minor = r.minor && *r.minor >= 0 ? *r.minor : -1;
    ex.access = access_bits(r.access);
    auto same =
        std::find_if(st.exceptions.begin(), st.exceptions.end(), [&](const DeviceException& e) {
          return e.block == ex.block && e.major == ex.major && e.minor == ex.minor;
        });
    // A rule of the default's kind removes access from an exception; the
    // other kind adds (or widens) one.
    if (r.allow == st.default_allow) {
      if (same != st.exceptions.end()) {
        same->access &= ~ex.access;
        if (!same->access) st.exceptions.erase(same);
      }
    } else if (same != st.exceptions.end()) {
      same->access |= ex.access;
    } else {
      st.exceptions.push_back(ex);
    }
  }
  return st;
}

std::vector<bpf_insn> device_program(const std::vector<spec::DeviceRule>& rules) {
  DeviceState st = device_state(rules);
  std::vector<bpf_insn> p;
  // r2 = device type, r3 = requested access, r4 = major, r5 = minor.
  p.push_back(load_u32(R2, R1, offsetof(bpf_cgroup_dev_ctx, access_type)));
  p.push_back(mov_reg(R3, R2));
  p.push_back(and32_imm(R2, 0xffff));
  p.push_back(rsh32_imm(R3, 16));
  p.push_back(load_u32(R4, R1, offsetof(bpf_cgroup_dev_ctx, major)));
  p.push_back(load_u32(R5, R1, offsetof(bpf_cgroup_dev_ctx, minor)));

  // One block per exception, in list order; a match returns the opposite of
  // the default, a miss jumps to the next block.
  int32_t hit = st.default_allow ? 0 : 1;
  for (const auto& ex : st.exceptions) {
    size_t start = p.size();
    p.push_back(jne_imm(R2, ex.block ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR));
    if (ex.access != kAllAccess) {
      p.push_back(mov_reg(R1, R3));
      if (!st.default_allow) {
        // An allow exception must grant every requested bit.
        p.push_back(and32_imm(R1, ~ex.access & kAllAccess));
        p.push_back(jne_imm(R1, 0));
      } else {
        // A deny exception hits when any requested bit is denied.
        p.push_back(and32_imm(R1, ex.access));
        p.push_back(jeq_imm(R1, 0));
      }
    }
    if (ex.major >= 0) p.push_back(jne_imm(R4, static_cast<int32_t>(ex.major)));
    if (ex.minor >= 0) p.push_back(jne_imm(R5, static_cast<int32_t>(ex.minor)));
    p.push_back(mov_imm(R0, hit));
    p.push_back(exit_insn());
    size_t next = p.size();
    for (size_t i = start; i < next; ++i)
      if (BPF_CLASS(p[i].code) == BPF_JMP && BPF_OP(p[i].code) != BPF_EXIT)
        p[i].off = static_cast<int16_t>(next - (i + 1));
  }
  p.push_back(mov_imm(R0, st.default_allow ? 1 : 0));
  p.push_back(exit_insn());
  return p;
}

void attach_device_program(const std::string& dir, const std::vector<bpf_insn>& prog,
                           bool replace) {
  static const char kLicense[] = "GPL";
  std::string what = "cgroup v2 device filter for " + dir;
  bpf_attr load{};
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = reinterpret_cast<uintptr_t>(prog.data());
  load.insn_cnt = static_cast<uint32_t>(prog.size());
  load.license = reinterpret_cast<uintptr_t>(kLicense);
  UniqueFd pfd(static_cast<int>(bpf(BPF_PROG_LOAD, &load)));
  if (!pfd) {
    int err = errno;
    std::string log(16384, '\0');
    load.log_level = 1;
    load.log_buf = reinterpret_cast<uintptr_t>(log.data());
    load.log_size = static_cast<uint32_t>(log.size());
    UniqueFd again(static_cast<int>(bpf(BPF_PROG_LOAD, &load)));
    log.resize(std::strlen(log.c_str()));
    while (!log.empty() && log.back() == '\n') log.pop_back();
    throw Error("load " + what + ": " + std::strerror(err) + (log.empty() ? "" : " (" + log + ")"));
  }
  UniqueFd cg(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cg) throw sys_error("open " + dir);

  std::vector<uint32_t> old;
  if (replace) {
    uint32_t ids[64];
    bpf_attr q{};
    q.query.target_fd = static_cast<uint32_t>(cg.get());
    q.query.attach_type = BPF_CGROUP_DEVICE;
    q.query.prog_ids = reinterpret_cast<uintptr_t>(ids);
    q.query.prog_cnt = 64;
    if (bpf(BPF_PROG_QUERY, &q) != 0) throw sys_error("query " + what);
    old.assign(ids, ids + q.query.prog_cnt);
  }

  bpf_attr at{};
  at.target_fd = static_cast<uint32_t>(cg.get());
  at.attach_bpf_fd = static_cast<uint32_t>(pfd.get());
  at.attach_type = BPF_CGROUP_DEVICE;
  at.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf(BPF_PROG_ATTACH, &at) != 0) throw sys_error("attach " + what);

  // The new program is in force; now drop the ones it replaces.
  for (uint32_t id : old) {
    bpf_attr g{};
    g.prog_id = id;
    UniqueFd ofd(static_cast<int>(bpf(BPF_PROG_GET_FD_BY_ID, &g)));
    if (!ofd) continue;  // already gone
    bpf_attr d{};
    d.target_fd = static_cast<uint32_t>(cg.get());
    d.attach_bpf_fd = static_cast<uint32_t>(ofd.get());
    d.attach_type = BPF_CGROUP_DEVICE;
    if (bpf(BPF_PROG_DETACH, &d) != 0 && errno != ENOENT) throw sys_error("detach old " + what);
  }
}

}  // namespace oci::cgroups
