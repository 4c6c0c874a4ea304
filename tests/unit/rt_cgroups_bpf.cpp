// The cgroup v2 device filter program (runtime/cgroups/bpf_devices.*): its
// shape, and its decisions run through a small interpreter for the handful of
// instructions it uses.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "runtime/cgroups/bpf_devices.hpp"
#include "runtime/cgroups/translate.hpp"

using namespace oci::cgroups;
using oci::spec::DeviceRule;

namespace {

DeviceRule rule(bool allow, const char* type, int64_t major, int64_t minor, const char* access) {
  DeviceRule r;
  r.allow = allow;
  r.type = type;
  if (major >= 0) r.major = major;
  if (minor >= 0) r.minor = minor;
  r.access = access;
  return r;
}

enum Acc { M = BPF_DEVCG_ACC_MKNOD, R = BPF_DEVCG_ACC_READ, W = BPF_DEVCG_ACC_WRITE };

// Runs `p` on a bpf_cgroup_dev_ctx; returns r0. Supports exactly what
// device_program emits and fails the test on anything else.
int64_t run(const std::vector<bpf_insn>& p, char type, uint32_t major, uint32_t minor,
            uint32_t access) {
  bpf_cgroup_dev_ctx ctx{};
  ctx.access_type = (access << 16) | (type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
  ctx.major = major;
  ctx.minor = minor;
  uint64_t reg[11] = {};
  bool ctx_in[11] = {};
  ctx_in[1] = true;
  for (size_t pc = 0; pc < p.size(); ++pc) {
    const bpf_insn& i = p[pc];
    switch (i.code) {
      case BPF_LDX | BPF_W | BPF_MEM: {
        REQUIRE(ctx_in[i.src_reg]);
        REQUIRE((i.off == 0 || i.off == 4 || i.off == 8));
        uint32_t v;
        std::memcpy(&v, reinterpret_cast<const char*>(&ctx) + i.off, 4);
        reg[i.dst_reg] = v;
        ctx_in[i.dst_reg] = false;
        break;
      }
      case BPF_ALU64 | BPF_MOV | BPF_X:
        reg[i.dst_reg] = reg[i.src_reg];
        ctx_in[i.dst_reg] = ctx_in[i.src_reg];
        break;
      case BPF_ALU64 | BPF_MOV | BPF_K:
        reg[i.dst_reg] = static_cast<uint64_t>(static_cast<int64_t>(i.imm));
        ctx_in[i.dst_reg] = false;
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        reg[i.dst_reg] = static_cast<uint32_t>(reg[i.dst_reg]) & static_cast<uint32_t>(i.imm);
        break;
      case BPF_ALU | BPF_RSH | BPF_K:
        reg[i.dst_reg] = static_cast<uint32_t>(reg[i.dst_reg]) >> i.imm;
        break;
      case BPF_JMP | BPF_JNE | BPF_K:
        if (reg[i.dst_reg] != static_cast<uint64_t>(static_cast<int64_t>(i.imm))) pc += i.off;
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
        if (reg[i.dst_reg] == static_cast<uint64_t>(static_cast<int64_t>(i.imm))) pc += i.off;
        break;
      case BPF_JMP | BPF_EXIT:
        return static_cast<int64_t>(reg[0]);
      default:
        FAIL("unexpected instruction code " << int(i.code) << " at " << pc);
    }
    REQUIRE(pc + 1 <= p.size());
  }
  FAIL("fell off the end of the program");
  return -1;
}

}  // namespace

TEST_CASE("device program: deny-all plus the default allow list") {
  std::vector<DeviceRule> rules{rule(false, "a", -1, -1, "rwm")};
  auto p = device_program(effective_device_rules(rules));
  // 6 loads/shifts; "c *:* m" and "b *:* m" take 6 each (type, 3 for access,
  // r0, exit); 8 exact rwm devices take 5 (type, major, minor, r0, exit);
  // "c 136:* rwm" 4; the deny-all ends the program as "r0 = 0; exit".
  CHECK(p.size() == 6 + 6 + 6 + 8 * 5 + 4 + 2);
  CHECK(p[0].code == (BPF_LDX | BPF_W | BPF_MEM));
  CHECK(p.back().code == (BPF_JMP | BPF_EXIT));
  CHECK(p[p.size() - 2].code == (BPF_ALU64 | BPF_MOV | BPF_K));
  CHECK(p[p.size() - 2].imm == 0);
  // Every jump lands inside the program, forward.
  for (size_t i = 0; i < p.size(); ++i)
    if (BPF_CLASS(p[i].code) == BPF_JMP && BPF_OP(p[i].code) != BPF_EXIT) {
      CHECK(p[i].off >= 0);
      CHECK(i + 1 + static_cast<size_t>(p[i].off) < p.size());
    }

  CHECK(run(p, 'c', 1, 3, R | W) == 1);    // /dev/null
  CHECK(run(p, 'c', 1, 5, R) == 1);        // /dev/zero
  CHECK(run(p, 'c', 136, 7, R | W) == 1);  // /dev/pts/7
  CHECK(run(p, 'c', 10, 200, R | W) == 1);
  CHECK(run(p, 'c', 4, 1, M) == 1);  // mknod of anything
  CHECK(run(p, 'b', 8, 0, M) == 1);
  CHECK(run(p, 'c', 4, 1, R) == 0);      // /dev/tty1
  CHECK(run(p, 'b', 8, 0, R | W) == 0);  // /dev/sda
  CHECK(run(p, 'c', 1, 1, R) == 0);      // /dev/mem
}

TEST_CASE("device program: exceptions in rule order, as the v1 controller keeps them") {
  std::vector<DeviceRule> rules{rule(false, "a", -1, -1, "rwm"), rule(true, "c", 4, 1, "rwm"),
                                rule(true, "c", 1, 3, "rwm"), rule(false, "c", 1, 5, "rwm")};
  auto eff = effective_device_rules(rules);
  auto st = device_state(eff);
  CHECK_FALSE(st.default_allow);
  // The config's c 4:1 and c 1:3 (the deny of c 1:5 finds nothing to take
  // away), then the defaults minus c 1:5 (c 1:3 merges into the config's).
  REQUIRE(st.exceptions.size() == 11);
  CHECK(st.exceptions[0].major == 4);
  CHECK(st.exceptions[0].minor == 1);
  CHECK(st.exceptions[1].major == 1);
  CHECK(st.exceptions[1].minor == 3);
  CHECK(st.exceptions[2].major == -1);  // c *:* m
  CHECK(st.exceptions[4].minor == 7);   // after b *:* m; 1:5 is gone
  CHECK(st.exceptions.back().major == 10);
  auto p = device_program(eff);
  // The first block tests the first exception: c 4:1 rwm (type, major, minor, r0, exit).
  CHECK(p[6].code == (BPF_JMP | BPF_JNE | BPF_K));
  CHECK(p[6].imm == BPF_DEVCG_DEV_CHAR);
  CHECK(p[7].imm == 4);
  CHECK(p[8].imm == 1);
  CHECK(p[9].imm == 1);  // r0 = allow
  CHECK(p[11].imm == BPF_DEVCG_DEV_CHAR);  // then c 1:3
  CHECK(p[12].imm == 1);
  CHECK(p[13].imm == 3);
  CHECK(p[16].imm == BPF_DEVCG_DEV_CHAR);  // then c *:* m: type, 3 for access
  CHECK(p[18].imm == (R | W));             // the bits "m" does not grant
  // The last block before the default is the default c 10:200.
  CHECK(p[p.size() - 7].imm == BPF_DEVCG_DEV_CHAR);
  CHECK(p[p.size() - 6].imm == 10);
  CHECK(p[p.size() - 5].imm == 200);
  CHECK(run(p, 'c', 1, 5, R) == 0);  // the config's deny beats the default allow...
  CHECK(run(p, 'c', 1, 5, M) == 1);  // ...but not "c *:* m", exactly like v1
  CHECK(run(p, 'c', 1, 3, R | W) == 1);
  CHECK(run(p, 'c', 4, 1, R | W) == 1);
  CHECK(run(p, 'c', 1, 9, R) == 1);  // default urandom still allowed

  // A deny then a narrower allow of the same device.
  std::vector<DeviceRule> flip{rule(false, "a", -1, -1, "rwm"), rule(false, "c", 1, 5, "rwm"),
                               rule(true, "c", 1, 5, "r")};
  auto q = device_program(effective_device_rules(flip));
  CHECK(run(q, 'c', 1, 5, R) == 1);
  CHECK(run(q, 'c', 1, 5, W) == 0);
}

TEST_CASE("device program: access matching like the v1 controller") {
  // Deny default: one exception must cover every requested bit.
  std::vector<DeviceRule> allow{rule(false, "a", -1, -1, ""), rule(true, "b", 8, -1, "r"),
                                rule(true, "b", 8, -1, "w"), rule(true, "c", 9, 9, "r")};
  auto p = device_program(allow);
  CHECK(run(p, 'b', 8, 1, R) == 1);
  CHECK(run(p, 'b', 8, 1, R | W) == 1);  // r and w merged into one exception
  CHECK(run(p, 'b', 8, 1, M) == 0);
  CHECK(run(p, 'c', 8, 1, R) == 0);  // type matters
  CHECK(run(p, 'c', 9, 9, R | W) == 0);
  // Allow default: an exception denies when any requested bit is in it.
  std::vector<DeviceRule> deny{rule(false, "c", 1, 3, "w")};
  auto d = device_program(deny);
  CHECK(device_state(deny).default_allow);
  CHECK(run(d, 'c', 1, 3, R) == 1);
  CHECK(run(d, 'c', 1, 3, R | W) == 0);
  CHECK(run(d, 'c', 1, 4, W) == 1);
  // An allow in allow-default mode takes bits away from a deny exception.
  std::vector<DeviceRule> undo{rule(false, "c", 1, 3, "rw"), rule(true, "c", 1, 3, "w")};
  auto u = device_program(undo);
  CHECK(run(u, 'c', 1, 3, W) == 1);
  CHECK(run(u, 'c', 1, 3, R) == 0);
  // "a" resets: what came before it is gone.
  std::vector<DeviceRule> reset{rule(false, "c", 1, 3, "rwm"), rule(true, "a", -1, -1, "rwm")};
  auto x = device_program(reset);
  CHECK(x.size() == 8);
  CHECK(run(x, 'c', 1, 3, R) == 1);
  // No rules: allow everything.
  auto none = device_program({});
  CHECK(none.size() == 8);
  CHECK(run(none, 'b', 1, 1, R | W | M) == 1);
}
