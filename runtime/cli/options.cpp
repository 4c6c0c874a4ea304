#include "runtime/cli/options.hpp"

#include <getopt.h>

#include <charconv>
#include <cstdio>

#include "spec/error.hpp"

namespace oci::cli {

std::string ParsedArgs::get(const std::string& name, const std::string& def) const {
  auto it = values.find(name);
  return it == values.end() ? def : it->second;
}

int ParsedArgs::get_int(const std::string& name, int def) const {
  auto it = values.find(name);
  if (it == values.end()) return def;
  int v = 0;
  const auto& s = it->second;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0)
    throw Error("--" + name + ": invalid number \"" + s + "\"");
  return v;
}

std::vector<std::string> ParsedArgs::get_all(const std::string& name) const {
  auto it = all.find(name);
  return it == all.end() ? std::vector<std::string>{} : it->second;
}

ParsedArgs parse_args(const char* command, int argc, char** argv, std::span<const OptionSpec> table,
                      bool stop_at_positional) {
  std::vector<option> longs;
  std::string shorts = stop_at_positional ? "+:" : ":";
  for (size_t i = 0; i < table.size(); ++i) {
    const auto& o = table[i];
    longs.push_back({o.name, o.has_arg ? required_argument : no_argument, nullptr,
                     static_cast<int>(256 + i)});
    if (o.short_name) {
      shorts += o.short_name;
      if (o.has_arg) shorts += ':';
    }
  }
  longs.push_back({"help", no_argument, nullptr, 'h'});
  shorts += 'h';
  longs.push_back({nullptr, 0, nullptr, 0});

  ParsedArgs out;
  optind = 0;  // GNU: full re-initialisation
  opterr = 0;
  for (;;) {
    int c = getopt_long(argc, argv, shorts.c_str(), longs.data(), nullptr);
    if (c == -1) break;
    if (c == 'h') {
      out.help = true;
      continue;
    }
    if (c == ':') throw Error(std::string(command) + ": option requires an argument: " + argv[optind - 1]);
    if (c == '?') {
      if (optopt >= 256 || optopt == 0)
        throw Error(std::string(command) + ": unknown option: " + argv[optind - 1]);
      throw Error(std::string(command) + ": unknown option: -" + static_cast<char>(optopt));
    }
    const OptionSpec* spec = nullptr;
    if (c >= 256) spec = &table[static_cast<size_t>(c - 256)];
    else
      for (const auto& o : table)
        if (o.short_name == c) spec = &o;
    if (!spec) continue;
    out.values[spec->name] = spec->has_arg && optarg ? optarg : "";
    out.all[spec->name].push_back(out.values[spec->name]);
  }
  for (int i = optind; i < argc; ++i) out.positional.emplace_back(argv[i]);
  return out;
}

void print_usage(const char* synopsis, const char* description, std::span<const OptionSpec> table) {
  std::printf("Usage: oci-run %s\n\n%s\n\nOptions:\n", synopsis, description);
  for (const auto& o : table) {
    std::string left = o.short_name ? std::string("-") + o.short_name + ", " : "    ";
    left += std::string("--") + o.name + (o.has_arg ? " VALUE" : "");
    std::printf("  %-28s %s\n", left.c_str(), o.help);
  }
  std::printf("  %-28s %s\n", "-h, --help", "show this help");
}

std::string require_id(const char* command, const ParsedArgs& args) {
  if (args.positional.empty()) throw Error(std::string(command) + ": container id is required");
  if (args.positional.size() > 1)
    throw Error(std::string(command) + ": unexpected argument: " + args.positional[1]);
  return args.positional[0];
}

}  // namespace oci::cli
