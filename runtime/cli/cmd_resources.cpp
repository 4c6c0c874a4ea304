// pause, resume, update, events, ps: the commands that act through the
// container's cgroup.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <set>
#include <string_view>
#include <vector>

#include "runtime/cli/commands.hpp"
#include "runtime/cli/options.hpp"
#include "runtime/container/container.hpp"
#include "runtime/util/fs.hpp"
#include "spec/error.hpp"
#include "spec/parse.hpp"

namespace oci::cli {

int cmd_pause(const GlobalOptions& g, int argc, char** argv) {
  ParsedArgs a = parse_args("pause", argc, argv, {});
  if (a.help) {
    print_usage("pause ID", "Freeze every process of a container.", {});
    return 0;
  }
  container::pause(g.root, require_id("pause", a));
  return 0;
}

int cmd_resume(const GlobalOptions& g, int argc, char** argv) {
  ParsedArgs a = parse_args("resume", argc, argv, {});
  if (a.help) {
    print_usage("resume ID", "Thaw a paused container.", {});
    return 0;
  }
  container::resume(g.root, require_id("resume", a));
  return 0;
}

// "512", "100k", "64m", "1g", "1.5g", "100MB", "-1": bytes, as runc's flags.
int64_t parse_size(const std::string& flag, const std::string& text) {
  if (text == "-1") return -1;
  double num = 0;
  size_t i = 0;
  try {
    num = std::stod(text, &i);
  } catch (...) {
    throw Error("--" + flag + ": invalid size \"" + text + "\"");
  }
  std::string unit = text.substr(i);
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!unit.empty() && unit.back() == 'b') unit.pop_back();
  if (!unit.empty() && unit.back() == 'i') unit.pop_back();
  double mult = 1;
  if (unit == "k") mult = 1024.0;
  else if (unit == "m") mult = 1024.0 * 1024;
  else if (unit == "g") mult = 1024.0 * 1024 * 1024;
  else if (unit == "t") mult = 1024.0 * 1024 * 1024 * 1024;
  else if (!unit.empty()) throw Error("--" + flag + ": invalid size \"" + text + "\"");
  if (num < 0) throw Error("--" + flag + ": invalid size \"" + text + "\"");
  return static_cast<int64_t>(num * mult);
}

namespace {

uint64_t parse_u64(const std::string& flag, const std::string& s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size())
    throw Error("--" + flag + ": invalid number \"" + s + "\"");
  return v;
}

int64_t parse_i64(const std::string& flag, const std::string& s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size())
    throw Error("--" + flag + ": invalid number \"" + s + "\"");
  return v;
}

}  // namespace

int cmd_update(const GlobalOptions& g, int argc, char** argv) {
  static constexpr OptionSpec kOptions[] = {
      {"resources", 'r', true, "LinuxResources JSON file, or - for standard input"},
      {"blkio-weight", 0, true, "block IO weight (10-1000)"},
      {"cpu-period", 0, true, "CPU CFS period in microseconds"},
      {"cpu-quota", 0, true, "CPU CFS quota in microseconds"},
      {"cpu-share", 0, true, "CPU shares (relative weight)"},
      {"cpu-rt-period", 0, true, "CPU realtime period in microseconds"},
      {"cpu-rt-runtime", 0, true, "CPU realtime runtime in microseconds"},
      {"cpuset-cpus", 0, true, "CPUs to use (0-3, 0,1)"},
      {"cpuset-mems", 0, true, "memory nodes to use"},
      {"memory", 0, true, "memory limit (e.g. 100m)"},
      {"memory-reservation", 0, true, "memory soft limit"},
      {"memory-swap", 0, true, "memory + swap limit"},
      {"kernel-memory", 0, true, "kernel memory limit (cgroup v1, deprecated)"},
      {"kernel-memory-tcp", 0, true, "kernel TCP buffer memory limit"},
      {"pids-limit", 0, true, "maximum number of processes"},
  };
  ParsedArgs a = parse_args("update", argc, argv, kOptions);
  if (a.help) {
    print_usage("update [options] ID", "Change the resource limits of a running container.",
                kOptions);
    return 0;
  }
  std::string id = require_id("update", a);
  spec::Resources r;
  if (a.has("resources")) {
    std::string src = a.get("resources");
    std::string text;
    if (src == "-") {
      char b[8192];
      ssize_t k;
      while ((k = ::read(0, b, sizeof b)) != 0) {
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) throw sys_error("update -r -: read stdin");
        text.append(b, static_cast<size_t>(k));
      }
    }
    else text = fs::read_file(src);
    r = spec::parse_resources(text, src == "-" ? "resources (stdin)" : src);
  }
  auto mem = [&]() -> spec::Memory& {
    if (!r.memory) r.memory.emplace();
    return *r.memory;
  };
  auto cpu = [&]() -> spec::Cpu& {
    if (!r.cpu) r.cpu.emplace();
    return *r.cpu;
  };
  if (a.has("blkio-weight")) {
    if (!r.block_io) r.block_io.emplace();
    r.block_io->weight = static_cast<uint16_t>(parse_u64("blkio-weight", a.get("blkio-weight")));
  }
  if (a.has("cpu-period")) cpu().period = parse_u64("cpu-period", a.get("cpu-period"));
  if (a.has("cpu-quota")) cpu().quota = parse_i64("cpu-quota", a.get("cpu-quota"));
  if (a.has("cpu-share")) cpu().shares = parse_u64("cpu-share", a.get("cpu-share"));
  if (a.has("cpu-rt-period")) cpu().realtime_period = parse_u64("cpu-rt-period", a.get("cpu-rt-period"));
  if (a.has("cpu-rt-runtime")) cpu().realtime_runtime = parse_i64("cpu-rt-runtime", a.get("cpu-rt-runtime"));
  if (a.has("cpuset-cpus")) cpu().cpus = a.get("cpuset-cpus");
  if (a.has("cpuset-mems")) cpu().mems = a.get("cpuset-mems");
  if (a.has("memory")) mem().limit = parse_size("memory", a.get("memory"));
  if (a.has("memory-reservation")) mem().reservation = parse_size("memory-reservation", a.get("memory-reservation"));
  if (a.has("memory-swap")) mem().swap = parse_size("memory-swap", a.get("memory-swap"));
  if (a.has("kernel-memory")) mem().kernel = parse_size("kernel-memory", a.get("kernel-memory"));
  if (a.has("kernel-memory-tcp")) mem().kernel_tcp = parse_size("kernel-memory-tcp", a.get("kernel-memory-tcp"));
  if (a.has("pids-limit")) r.pids = spec::Pids{parse_i64("pids-limit", a.get("pids-limit"))};
  spec::validate_resources(r, "update", "");
  container::update(g.root, id, r);
  return 0;
}

int cmd_events(const GlobalOptions& g, int argc, char** argv) {
  static constexpr OptionSpec kOptions[] = {
      {"stats", 0, false, "print the container's statistics once and exit"},
      {"interval", 0, true, "statistics interval (e.g. 5s, 500ms; default 5s)"},
  };
  ParsedArgs a = parse_args("events", argc, argv, kOptions);
  if (a.help) {
    print_usage("events [--stats] [--interval T] ID",
                "Print container events (stats, oom) as JSON lines.", kOptions);
    return 0;
  }
  std::string id = require_id("events", a);
  if (a.has("stats")) {
    std::printf("%s\n", container::stats_event(g.root, id).dump().c_str());
    return 0;
  }
  std::string iv = a.get("interval", "5s");
  int ms = 0;
  size_t i = 0;
  double v = 0;
  try {
    v = std::stod(iv, &i);
  } catch (...) {
    throw Error("events: invalid --interval \"" + iv + "\"");
  }
  std::string unit = iv.substr(i);
  if (unit == "ms") ms = static_cast<int>(v);
  else if (unit == "s" || unit.empty()) ms = static_cast<int>(v * 1000);
  else if (unit == "m") ms = static_cast<int>(v * 60000);
  else throw Error("events: invalid --interval \"" + iv + "\"");
  if (ms <= 0) throw Error("events: --interval must be positive");
  std::fflush(stdout);
  container::stream_events(g.root, id, ms);
  return 0;
}

int cmd_ps(const GlobalOptions& g, int argc, char** argv) {
  static constexpr OptionSpec kOptions[] = {
      {"format", 'f', true, "table (default, through ps(1)) or json"},
  };
  ParsedArgs a = parse_args("ps", argc, argv, kOptions, true);
  if (a.help) {
    print_usage("ps [-f table|json] ID [ps options]", "List the processes of a container.", kOptions);
    return 0;
  }
  if (a.positional.empty()) throw Error("ps: container id is required");
  std::string id = a.positional[0];
  std::string format = a.get("format", "table");
  auto pids = container::processes(g.root, id);
  if (format == "json") {
    // No process (a stopped container): `null`, as runc prints its nil list.
    nlohmann::json arr = pids.empty() ? nlohmann::json(nullptr) : nlohmann::json(pids);
    std::printf("%s\n", arr.dump().c_str());
    return 0;
  }
  if (format != "table") throw Error("ps: invalid format \"" + format + "\"");
  // Run ps(1) with the given options (default -ef) and keep the container's rows.
  std::vector<std::string> args{"ps"};
  if (a.positional.size() > 1) args.insert(args.end(), a.positional.begin() + 1, a.positional.end());
  else args.push_back("-ef");
  int pfd[2];
  if (::pipe2(pfd, O_CLOEXEC) != 0) throw sys_error("pipe");
  pid_t child = ::fork();
  if (child < 0) throw sys_error("fork");
  if (child == 0) {
    ::dup2(pfd[1], STDOUT_FILENO);
    std::vector<char*> av;
    for (auto& s : args) av.push_back(s.data());
    av.push_back(nullptr);
    ::execvp("ps", av.data());
    ::_exit(127);
  }
  ::close(pfd[1]);
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(pfd[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(pfd[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw Error("ps: running ps(1) failed");
  auto fields = [](std::string_view l) {
    std::vector<std::string_view> f;
    size_t i = 0;
    while (i < l.size()) {
      while (i < l.size() && (l[i] == ' ' || l[i] == '\t')) ++i;
      size_t j = i;
      while (j < l.size() && l[j] != ' ' && l[j] != '\t') ++j;
      if (j > i) f.push_back(l.substr(i, j - i));
      i = j;
    }
    return f;
  };
  std::string_view rest(out);
  auto next_line = [&]() {
    size_t nl = rest.find('\n');
    std::string_view l = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    return l;
  };
  std::string header(next_line());
  int pid_col = -1;
  auto hf = fields(header);
  for (size_t idx = 0; idx < hf.size(); ++idx)
    if (hf[idx] == "PID") pid_col = static_cast<int>(idx);
  if (pid_col < 0) throw Error("ps: no PID column in the ps(1) output");
  std::set<pid_t> wanted(pids.begin(), pids.end());
  std::printf("%s\n", header.c_str());
  while (!rest.empty()) {
    std::string line(next_line());
    auto f = fields(line);
    if (static_cast<int>(f.size()) <= pid_col) continue;
    if (wanted.count(static_cast<pid_t>(std::atoi(std::string(f[static_cast<size_t>(pid_col)]).c_str()))))
      std::printf("%s\n", line.c_str());
  }
  return 0;
}

}  // namespace oci::cli
