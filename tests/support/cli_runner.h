#pragma once
// Runs the built perfcast command as a user would, capturing its output and exit code.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace perfcast::testing {

struct CliRun {
  int exit_code = -1;
  std::string output;
};

// `env` is prepended as shell assignments (e.g. "PERFCAST_NVML_LIBRARY=/nonexistent").
inline CliRun run_cli(const std::string& args, const std::string& env = "", bool merge_stderr = true) {
  const std::string command =
      env + (env.empty() ? "" : " ") + std::string(PERFCAST_CLI_PATH) + " " + args + (merge_stderr ? " 2>&1" : "");
  CliRun result;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer{};
  size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace perfcast::testing
