// One function per subcommand. Each gets the global options and its own argv
// (argv[0] is the subcommand name) and returns the process exit code; failures
// are thrown as oci::Error and reported once by main().
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace oci::cli {

struct GlobalOptions {
  std::string root;       // state root (--root, default /run/oci-run)
  std::string log_path;   // --log
  bool log_json = false;  // --log-format json
  bool debug = false;
  bool systemd_cgroup = false;
  std::string rootless;   // --rootless value as given ("", "true", "false", "auto")
  bool rootless_mode = false;  // what it means here (auto: not run by root)
};

using Command = int (*)(const GlobalOptions&, int argc, char** argv);

int cmd_create(const GlobalOptions&, int, char**);
int cmd_start(const GlobalOptions&, int, char**);
int cmd_run(const GlobalOptions&, int, char**);
int cmd_state(const GlobalOptions&, int, char**);
int cmd_kill(const GlobalOptions&, int, char**);
int cmd_delete(const GlobalOptions&, int, char**);
int cmd_list(const GlobalOptions&, int, char**);
int cmd_spec(const GlobalOptions&, int, char**);
int cmd_features(const GlobalOptions&, int, char**);
int cmd_exec(const GlobalOptions&, int, char**);
int cmd_pause(const GlobalOptions&, int, char**);
int cmd_resume(const GlobalOptions&, int, char**);
int cmd_update(const GlobalOptions&, int, char**);
int cmd_events(const GlobalOptions&, int, char**);
int cmd_ps(const GlobalOptions&, int, char**);

// The lines of `oci-run --version` (runc's format: version, commit, spec, libseccomp).
std::string version_text();

// Sizes as runc's flags take them: "100m", "1g", "512", "-1".
int64_t parse_size(const std::string& flag, const std::string& text);

// The config `oci-run spec` writes (runc-like defaults; rootless variant maps
// the calling user to root and drops what needs privilege).
nlohmann::ordered_json default_spec(bool rootless);
// The `features` document: built from the option tables in spec/tables.hpp and
// what this build implements.
nlohmann::ordered_json features();

}  // namespace oci::cli
