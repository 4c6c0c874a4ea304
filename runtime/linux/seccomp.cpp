#include "runtime/linux/seccomp.hpp"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "runtime/util/log.hpp"
#include "runtime/util/unix_socket.hpp"
#include "spec/error.hpp"

namespace oci::linux_ {
namespace {

// libseccomp API levels (seccomp_api_get(3)): what the library and the running
// kernel support together.
constexpr unsigned kApiLog = 3;     // SCMP_ACT_LOG, SCMP_ACT_KILL_PROCESS
constexpr unsigned kApiNotify = 5;  // SCMP_ACT_NOTIFY

struct ActionName {
  std::string_view name;
  uint32_t value;    // with errno 0 for ERRNO/TRACE
  bool takes_errno;  // ERRNO/TRACE: errnoRet goes into the low 16 bits
  unsigned api;
};
constexpr ActionName kActions[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD, false, 1},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false, kApiLog},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false, 1},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, false, 1},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true, 1},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true, 1},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false, 1},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG, false, kApiLog},
    {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, false, kApiNotify},
};

struct OperatorName {
  std::string_view name;
  scmp_compare op;
};
constexpr OperatorName kOperators[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE}, {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

// The filter is loaded by seccomp(2) itself, so a flag is supported when the
// running kernel knows it, whatever this libseccomp knows.
struct FlagName {
  std::string_view name;
  unsigned long bit;
};
constexpr FlagName kFlags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
};

// The kernel checks the flags before it reads the program: a known flag with
// no program fails with EFAULT, an unknown one with EINVAL. Nothing is loaded.
bool kernel_knows_flag(unsigned long bit) {
  unsigned long with = bit == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
  return ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, bit | with, nullptr) < 0 && errno == EFAULT;
}

// libseccomp's compiled program, as seccomp_load would hand it to the kernel.
std::vector<sock_filter> export_bpf(scmp_filter_ctx ctx) {
  UniqueFd fd(::memfd_create("seccomp-bpf", MFD_CLOEXEC));
  if (!fd) throw sys_error("memfd_create");
  if (int rc = seccomp_export_bpf(ctx, fd.get()); rc < 0) throw sys_error("seccomp: compile the filter", -rc);
  off_t size = ::lseek(fd.get(), 0, SEEK_END);
  if (size < 0 || size % static_cast<off_t>(sizeof(sock_filter)) != 0)
    throw Error("seccomp: compile the filter: unexpected program size " + std::to_string(size));
  std::vector<sock_filter> prog(static_cast<size_t>(size) / sizeof(sock_filter));
  char* out = reinterpret_cast<char*>(prog.data());
  for (size_t off = 0; off < static_cast<size_t>(size);) {
    ssize_t n = ::pread(fd.get(), out + off, static_cast<size_t>(size) - off, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw sys_error("seccomp: read the compiled filter");
    off += static_cast<size_t>(n);
  }
  return prog;
}

// The architecture names of runtime-spec 1.3. Which of them this libseccomp
// knows is asked at run time (SCMP_ARCH_X86_64 -> "x86_64").
constexpr std::string_view kArchNames[] = {
    "SCMP_ARCH_X86",       "SCMP_ARCH_X86_64",    "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",       "SCMP_ARCH_AARCH64",   "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",    "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",  "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",     "SCMP_ARCH_PPC64LE",   "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",     "SCMP_ARCH_PARISC",    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_RISCV64",   "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K",
    "SCMP_ARCH_SH",        "SCMP_ARCH_SHEB",
};
constexpr std::string_view kArchPrefix = "SCMP_ARCH_";

unsigned api_level() {
  static const unsigned level = seccomp_api_get();
  return level;
}

std::string quote(std::string_view s) { return nlohmann::json(std::string(s)).dump(); }

std::string libseccomp_version() {
  const scmp_version* v = seccomp_version();
  if (!v) return "libseccomp";
  return "libseccomp " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
         std::to_string(v->micro);
}

// SCMP_ARCH_X86_64 -> the libseccomp token, 0 if unknown.
uint32_t resolve_arch(std::string_view name) {
  if (name.substr(0, kArchPrefix.size()) != kArchPrefix || name.size() == kArchPrefix.size())
    return 0;
  std::string lower(name.substr(kArchPrefix.size()));
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return seccomp_arch_resolve_name(lower.c_str());
}

const ActionName* find_action(std::string_view name) {
  for (const auto& a : kActions)
    if (a.name == name) return &a;
  return nullptr;
}

std::string idx(std::string_view base, size_t i) {
  return std::string(base) + "[" + std::to_string(i) + "]";
}

// Syscalls newer than every syscall the profile names get ENOSYS instead of
// the default action, so that libc falls back to an older call (clone3 ->
// clone, faccessat2 -> faccessat) as the kernel had lacked it; runc and crun
// do the same. A filter made with a default errno hides nothing else: only
// numbers above the newest named one, on the native architecture (not x32),
// when the profile lists architectures (as runc), the default action denies
// (not ALLOW/LOG) and its errno is not already ENOSYS. Prepended to libseccomp's program:
//   ld arch; jne native -> main; ld nr; jset x32 -> main; jgt max -> ENOSYS; main
std::vector<sock_filter> with_enosys_stub(std::vector<sock_filter> main, uint32_t native_arch, uint32_t max_nr) {
  constexpr uint32_t kX32Bit = 0x40000000;
  const uint8_t x32_skip = native_arch == SCMP_ARCH_X86_64 ? 2 : 0;
  std::vector<sock_filter> stub = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4),                             // seccomp_data.arch
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, native_arch, 0, 4),            // other arch: main
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),                             // seccomp_data.nr
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, kX32Bit, x32_skip, 0),        // x32 nr: main
      BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, max_nr, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
  };
  stub.insert(stub.end(), main.begin(), main.end());
  return stub;
}

bool wants_enosys_stub(const spec::Seccomp& config) {
  // runc 1.1 builds its stub from the listed architectures only: a profile
  // without any keeps the default action for every syscall, there as here.
  if (config.architectures.empty()) return false;
  const std::string& a = config.default_action;
  if (a == "SCMP_ACT_ALLOW" || a == "SCMP_ACT_LOG") return false;
  return !(a == "SCMP_ACT_ERRNO" && config.default_errno_ret.value_or(EPERM) == ENOSYS);
}

}  // namespace

SeccompFilter::SeccompFilter(const spec::Seccomp& config, const std::string& source)
    : listener_path_(config.listener_path),
      send_listener_what_("send the seccomp listener fd to " + config.listener_path) {
  auto fail = [&](const std::string& field, const std::string& what) -> ConfigError {
    return ConfigError(source + ": " + field + ": " + what);
  };
  auto action = [&](const std::string& name, const std::optional<uint32_t>& errno_ret,
                    const std::string& field) -> uint32_t {
    const ActionName* a = find_action(name);
    if (!a) throw fail(field, "unknown action " + quote(name));
    if (api_level() < a->api)
      throw fail(field, quote(name) + " is not supported by " + libseccomp_version() +
                            " on this kernel");
    if (!a->takes_errno) return a->value;
    uint32_t e = errno_ret.value_or(EPERM);
    if (e > 0xffff) throw fail(field, "errnoRet " + std::to_string(e) + " is out of range");
    return a->value | e;
  };
  auto uses_notify = [&] {
    if (config.default_action == "SCMP_ACT_NOTIFY") return true;
    for (const auto& sc : config.syscalls)
      if (sc.action == "SCMP_ACT_NOTIFY") return true;
    return false;
  };
  if (uses_notify() && config.listener_path.empty())
    throw fail("linux.seccomp.listenerPath", "required when an action is SCMP_ACT_NOTIFY");
  // The listener fd reaches the agent by a sendmsg made under the filter: if
  // that call were notified nobody could answer it.
  if (config.default_action == "SCMP_ACT_NOTIFY")
    throw fail("linux.seccomp.defaultAction",
               "SCMP_ACT_NOTIFY cannot be the default action (the runtime sends the listener "
               "fd with sendmsg after loading the filter)");
  for (size_t i = 0; i < config.syscalls.size(); ++i)
    if (config.syscalls[i].action == "SCMP_ACT_NOTIFY")
      for (const auto& name : config.syscalls[i].names)
        if (name == "sendmsg")
          throw fail(idx("linux.seccomp.syscalls", i),
                     "SCMP_ACT_NOTIFY cannot apply to sendmsg (the runtime sends the listener "
                     "fd with it after loading the filter)");

  uint32_t def = action(config.default_action, config.default_errno_ret, "linux.seccomp.defaultAction");
  ctx_ = seccomp_init(def);
  if (!ctx_)
    throw fail("linux.seccomp.defaultAction",
               quote(config.default_action) + " cannot be the default action of " +
                   libseccomp_version());
  try {
    for (size_t i = 0; i < config.architectures.size(); ++i) {
      const std::string& name = config.architectures[i];
      uint32_t arch = resolve_arch(name);
      if (arch == 0)
        throw fail(idx("linux.seccomp.architectures", i),
                   "architecture " + quote(name) + " is not supported by " + libseccomp_version());
      int rc = seccomp_arch_add(ctx_, arch);  // -EEXIST: the native one, always there
      if (rc == -EDOM)
        throw fail(idx("linux.seccomp.architectures", i),
                   "architecture " + quote(name) +
                       " cannot share a filter with the native one (different byte order)");
      if (rc < 0 && rc != -EEXIST)
        throw fail(idx("linux.seccomp.architectures", i),
                   "add architecture " + quote(name) + ": " + std::strerror(-rc));
    }

    for (size_t i = 0; i < config.flags.size(); ++i) {
      const std::string& name = config.flags[i];
      const FlagName* flag = nullptr;
      for (const auto& f : kFlags)
        if (f.name == name) flag = &f;
      std::string field = idx("linux.seccomp.flags", i);
      if (!flag) throw fail(field, "unknown flag " + quote(name));
      if (!kernel_knows_flag(flag->bit))
        throw fail(field, "flag " + quote(name) + " is not supported by this kernel");
      flags_ |= flag->bit;
    }

    for (size_t i = 0; i < config.syscalls.size(); ++i) {
      const spec::SeccompSyscall& sc = config.syscalls[i];
      std::string field = idx("linux.seccomp.syscalls", i);
      uint32_t act = action(sc.action, sc.errno_ret, field + ".action");
      if (act == def) {
        log::debug("seccomp: " + field + ": skipped, its action is the default action");
        continue;
      }
      std::vector<scmp_arg_cmp> cmps;
      std::set<uint32_t> indexes;
      bool repeated = false;
      for (size_t j = 0; j < sc.args.size(); ++j) {
        const spec::SeccompArg& a = sc.args[j];
        const OperatorName* op = nullptr;
        for (const auto& o : kOperators)
          if (o.name == a.op) op = &o;
        if (!op) throw fail(idx(field + ".args", j) + ".op", "unknown operator " + quote(a.op));
        if (a.index >= 6)
          throw fail(idx(field + ".args", j) + ".index", "must be less than 6");
        // MASKED_EQ: value is the mask, valueTwo the datum (libseccomp's order).
        cmps.push_back(scmp_arg_cmp{a.index, op->op, a.value, a.value_two});
        repeated |= !indexes.insert(a.index).second;
      }
      for (const auto& name : sc.names) {
        int nr = seccomp_syscall_resolve_name(name.c_str());
        if (nr == __NR_SCMP_ERROR) {
          log::debug("seccomp: " + field + ": syscall " + quote(name) + " is unknown to " +
                     libseccomp_version() + ", ignored");
          continue;
        }
        auto add = [&](const scmp_arg_cmp* args, unsigned n) {
          int rc = seccomp_rule_add_array(ctx_, act, nr, n, args);
          if (rc < 0)
            throw fail(field, "add rule for syscall " + quote(name) + ": " + std::strerror(-rc));
          ++rules_;
        };
        // The same argument index more than once means any of them (one rule
        // each); distinct indexes must all match (one rule with all).
        if (repeated)
          for (const auto& c : cmps) add(&c, 1);
        else
          add(cmps.data(), static_cast<unsigned>(cmps.size()));
        if (sc.action == "SCMP_ACT_NOTIFY") notify_ = true;
      }
    }
    program_ = export_bpf(ctx_);
    if (wants_enosys_stub(config)) {
      int max_nr = -1;  // the newest syscall the profile names (native numbers)
      for (const auto& sc : config.syscalls)
        for (const auto& name : sc.names) max_nr = std::max(max_nr, seccomp_syscall_resolve_name(name.c_str()));
      if (max_nr >= 0) {
        program_ = with_enosys_stub(std::move(program_), seccomp_arch_native(), static_cast<uint32_t>(max_nr));
        log::debug("seccomp: syscalls above " + std::to_string(max_nr) + " return ENOSYS");
      }
    }
  } catch (...) {
    seccomp_release(ctx_);
    ctx_ = nullptr;
    throw;
  }
  if (program_.size() > BPF_MAXINSNS)
    throw fail("linux.seccomp", "the filter compiles to " + std::to_string(program_.size()) +
                                    " BPF instructions, more than the kernel's " +
                                    std::to_string(BPF_MAXINSNS));
  if (notify_) {
    flags_ |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    // With TSYNC a listener needs ESRCH instead of a thread id on failure.
    if (flags_ & SECCOMP_FILTER_FLAG_TSYNC) flags_ |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  } else if (flags_ & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) {
    // Only meaningful for a listener (the kernel refuses it without one).
    log::debug("seccomp: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ignored: no SCMP_ACT_NOTIFY rule");
    flags_ &= ~static_cast<unsigned long>(SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
  }
}

SeccompFilter::~SeccompFilter() {
  if (ctx_) seccomp_release(ctx_);
}

std::string SeccompFilter::pfc() const {
  UniqueFd fd(::memfd_create("seccomp-pfc", MFD_CLOEXEC));
  if (!fd) throw sys_error("memfd_create");
  if (int rc = seccomp_export_pfc(ctx_, fd.get()); rc < 0) throw sys_error("seccomp_export_pfc", -rc);
  if (::lseek(fd.get(), 0, SEEK_SET) < 0) throw sys_error("lseek");
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  if (n < 0) throw sys_error("read pfc");
  return out;
}

UniqueFd SeccompFilter::load() const {
  sock_fprog prog{static_cast<unsigned short>(program_.size()), const_cast<sock_filter*>(program_.data())};
  long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags_, &prog);
  if (rc < 0) throw sys_error("load the seccomp filter");
  return notify_ ? UniqueFd(static_cast<int>(rc)) : UniqueFd();
}

std::string seccomp_listener_payload(const spec::State& state, int pid, const std::string& metadata) {
  nlohmann::ordered_json st;
  st["ociVersion"] = state.oci_version;
  st["id"] = state.id;
  st["status"] = state.status;
  st["pid"] = state.pid;
  st["bundle"] = state.bundle;
  if (!state.annotations.empty()) st["annotations"] = state.annotations;
  nlohmann::ordered_json j;
  j["ociVersion"] = spec::kOciVersion;
  j["fds"] = {"seccompFd"};
  j["pid"] = pid;
  j["metadata"] = metadata;
  j["state"] = st;
  return j.dump();
}

void install_seccomp(const SeccompFilter& filter, int listener_sock, const std::string& payload) {
  if (filter.uses_notify() && listener_sock < 0)
    throw Error("seccomp: no connection to the listener for SCMP_ACT_NOTIFY");
  // Nothing below allocates or frees unless it fails: the filter is in force
  // (ASan's allocator, for one, dies on a denied gettid).
  UniqueFd notify = filter.load();
  if (!notify) return;
  unix_socket::send_fd(listener_sock, notify.get(), payload, filter.send_listener_what());
  notify.reset();
  ::close(listener_sock);  // EOF ends the message for the agent
}

SeccompFeatures seccomp_features() {
  SeccompFeatures f;
  for (const auto& a : kActions)
    if (api_level() >= a.api) f.actions.emplace_back(a.name);
  for (const auto& o : kOperators) f.operators.emplace_back(o.name);
  for (auto name : kArchNames)
    if (resolve_arch(name) != 0) f.archs.emplace_back(name);
  for (const auto& fl : kFlags) {
    f.known_flags.emplace_back(fl.name);
    if (kernel_knows_flag(fl.bit)) f.supported_flags.emplace_back(fl.name);
  }
  return f;
}

}  // namespace oci::linux_
