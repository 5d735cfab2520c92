#pragma once
#include <string>
#include <vector>

namespace perfcast::measure {

struct RunResult {
  int exit_code = 0;        // the child's exit status, or 128 + signal when a signal ended it
  bool signaled = false;
  int signal = 0;
  double wall_s = 0;        // from just before fork to the child's exit
  int forwarded_signal = 0; // SIGINT/SIGTERM perfcast received and passed on while waiting (0: none)
};

struct RunOptions {
  int stdout_fd = -1;  // when >= 0, the child's stdout is this descriptor (e.g. STDERR_FILENO)
};

struct CapturedRun {
  RunResult result;
  std::string output;  // everything the child wrote on stdout
};

// Runs argv[0] with arguments argv[1..] (PATH search, no shell), the child sharing this process's
// stdin/stdout/stderr, and waits for it. SIGINT and SIGTERM sent to perfcast while it waits are
// forwarded to the child. Throws perfcast::Error when argv is empty or the command cannot be
// started ("command not found: 'foo'").
RunResult run_command(const std::vector<std::string>& argv, const RunOptions& options = {});

// As run_command, with the child's stdout captured (through a temporary file) instead of shared.
CapturedRun run_capture(const std::vector<std::string>& argv);

}  // namespace perfcast::measure
