#pragma once
#include <string>
#include <vector>

namespace perfcast::measure {

struct RunResult {
  int exit_code = 0;        // the child's exit status, or 128 + signal when a signal ended it
  bool signaled = false;
  int signal = 0;
  double wall_s = 0;        // from just before fork to the child's exit
};

// Runs argv[0] with arguments argv[1..] (PATH search, no shell), the child sharing this process's
// stdin/stdout/stderr, and waits for it. SIGINT and SIGTERM sent to perfcast while it waits are
// forwarded to the child. Throws perfcast::Error when argv is empty or the command cannot be
// started ("command not found: 'foo'").
RunResult run_command(const std::vector<std::string>& argv);

}  // namespace perfcast::measure
