// The container lifecycle: create, start, state, kill, delete, list.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "spec/config.hpp"
#include "spec/state.hpp"

namespace oci::container {

struct CreateOptions {
  std::string root;
  std::string id;
  std::string bundle;          // default: cwd
  std::string pid_file;
  std::string console_socket;
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;
  bool detached = true;        // false for `run` in the foreground
  // `run` in the foreground: a socket that receives the pty master when
  // process.terminal is set and no --console-socket was given.
  int console_fd = -1;
  // Rootless mode: cgroups only where delegated to the caller (see
  // cgroups/delegation.hpp); id maps through newuidmap/newgidmap if needed.
  bool rootless = false;
};

// Builds the container and leaves its process waiting before exec.
// Returns the container process's host pid.
pid_t create(const CreateOptions& opts);
// Releases the process; returns once it has exec'd the user program.
void start(const std::string& root, const std::string& id);
spec::State state(const std::string& root, const std::string& id);
std::vector<spec::State> list(const std::string& root);
void kill(const std::string& root, const std::string& id, int sig, bool all);
// delete: a created or stopped container; with force, a running one too.
void destroy(const std::string& root, const std::string& id, bool force);

struct ExecOptions {
  std::string root;
  std::string id;
  spec::Process process;
  std::string pid_file;
  std::string console_socket;
  // --cgroup: controller -> a sub-cgroup of the container's; "" for every
  // hierarchy without its own entry (and the cgroup2 dir).
  std::map<std::string, std::string> sub_cgroups;
  int preserve_fds = 0;
  bool ignore_paused = false;
  int console_fd = -1;  // foreground exec -t without --console-socket
};
// Starts a process inside a running container; returns its host pid once it
// has exec'd (the pid file is written by then).
pid_t exec(const ExecOptions& opts);
// The container's config process: the base of `exec` in the flag form.
spec::Process container_process(const std::string& root, const std::string& id);
// Freeze / thaw every process of a running container (status paused).
void pause(const std::string& root, const std::string& id);
void resume(const std::string& root, const std::string& id);
// Change resource limits of a live container.
void update(const std::string& root, const std::string& id, const spec::Resources& r);
// Host pids of every process in the container.
std::vector<pid_t> processes(const std::string& root, const std::string& id);
// `events --stats` object: {"type":"stats","id":...,"data":{...}}.
nlohmann::ordered_json stats_event(const std::string& root, const std::string& id);
// `events`: stats every `interval_ms` (0: none) and OOM events, one JSON line
// each, until the container stops.
void stream_events(const std::string& root, const std::string& id, int interval_ms);

}  // namespace oci::container
