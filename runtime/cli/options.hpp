// Table-driven option parsing over getopt_long: one table per subcommand feeds
// both parsing and its --help text.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace oci::cli {

struct OptionSpec {
  const char* name;   // long name, "bundle"
  char short_name;    // 'b' or 0
  bool has_arg;
  const char* help;
};

struct ParsedArgs {
  std::map<std::string, std::string> values;  // long name -> last value ("" for flags)
  std::map<std::string, std::vector<std::string>> all;  // every value of repeated options
  std::vector<std::string> positional;
  bool help = false;

  bool has(const std::string& name) const { return values.count(name) != 0; }
  std::string get(const std::string& name, const std::string& def = "") const;
  int get_int(const std::string& name, int def) const;  // throws on a non-number
  std::vector<std::string> get_all(const std::string& name) const;
};

// argv[0] is the subcommand. `stop_at_positional` leaves everything after the
// first positional argument alone (for `ps ID ps-args...`).
ParsedArgs parse_args(const char* command, int argc, char** argv, std::span<const OptionSpec> table,
                      bool stop_at_positional = false);
void print_usage(const char* synopsis, const char* description, std::span<const OptionSpec> table);

// Exactly one positional ID: "<command>: container id is required" otherwise.
std::string require_id(const char* command, const ParsedArgs& args);

}  // namespace oci::cli
