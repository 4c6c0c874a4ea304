// Running a helper binary (iptables-save / iptables-restore) with a fixed argv:
// no shell, a minimal environment, input and output through memory files.
#pragma once

#include <string>
#include <vector>

namespace ocinet {

struct ProcessResult {
  int status = 0;  // exit code, or 128+signal
  std::string out;
  std::string err;
};

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input = "");

// The absolute path of a system binary (/usr/sbin, /sbin, /usr/bin, /bin), or throws
// naming the package to install.
std::string find_binary(const std::string& name, const std::string& package);

}  // namespace ocinet
