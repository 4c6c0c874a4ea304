// The container lifecycle: create, start, state, kill, delete, list.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

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

}  // namespace oci::container
