#include "measure/process_runner.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#include "common/error.h"

namespace perfcast::measure {
namespace {

volatile sig_atomic_t g_child_pid = 0;
volatile sig_atomic_t g_forwarded = 0;

void forward_signal(int sig) {
  const pid_t pid = g_child_pid;
  if (pid > 0) {
    kill(pid, sig);
    g_forwarded = sig;
  }
}

// Installs the forwarding handlers for the lifetime of one run and restores the old ones.
class SignalForwarding {
 public:
  SignalForwarding() {
    struct sigaction sa {};
    sa.sa_handler = forward_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~SignalForwarding() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
    g_child_pid = 0;
  }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

}  // namespace

RunResult run_command(const std::vector<std::string>& argv, const RunOptions& options) {
  if (argv.empty() || argv[0].empty()) throw Error("no command to run: give one after '--'");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  // The child writes its execvp errno here; the pipe closes unread on a successful exec.
  int pipe_fd[2];
  if (pipe2(pipe_fd, O_CLOEXEC) != 0) throw Error(fmt::format("cannot create a pipe: {}", std::strerror(errno)));

  SignalForwarding forwarding;
  g_forwarded = 0;
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    close(pipe_fd[0]);
    close(pipe_fd[1]);
    throw Error(fmt::format("cannot start '{}': fork failed: {}", argv[0], std::strerror(err)));
  }
  if (pid == 0) {
    // Child: default signal dispositions, then exec. Only async-signal-safe calls from here.
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    close(pipe_fd[0]);
    if (options.stdout_fd >= 0 && options.stdout_fd != STDOUT_FILENO) dup2(options.stdout_fd, STDOUT_FILENO);
    execvp(args[0], args.data());
    const int err = errno;
    ssize_t ignored = write(pipe_fd[1], &err, sizeof(err));
    (void)ignored;
    _exit(127);
  }
  g_child_pid = pid;
  close(pipe_fd[1]);
  int exec_errno = 0;
  ssize_t n;
  do {
    n = read(pipe_fd[0], &exec_errno, sizeof(exec_errno));
  } while (n < 0 && errno == EINTR);
  close(pipe_fd[0]);

  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw Error(fmt::format("waiting for '{}' failed: {}", argv[0], std::strerror(errno)));
  }
  const auto end = std::chrono::steady_clock::now();

  if (n == static_cast<ssize_t>(sizeof(exec_errno))) {
    if (exec_errno == ENOENT) {
      throw Error(fmt::format("command not found: '{}' (not an executable file, nor on PATH)", argv[0]));
    }
    throw Error(fmt::format("cannot run '{}': {}", argv[0], std::strerror(exec_errno)));
  }

  RunResult r;
  r.forwarded_signal = g_forwarded;
  r.wall_s = std::chrono::duration<double>(end - start).count();
  if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.signaled = true;
    r.signal = WTERMSIG(status);
    r.exit_code = 128 + r.signal;
  }
  return r;
}

CapturedRun run_capture(const std::vector<std::string>& argv) {
  char path[] = "/tmp/perfcast-capture-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) throw Error(fmt::format("cannot create a temporary file: {}", std::strerror(errno)));
  unlink(path);
  CapturedRun out;
  try {
    out.result = run_command(argv, RunOptions{fd});
  } catch (...) {
    close(fd);
    throw;
  }
  lseek(fd, 0, SEEK_SET);
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.output.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

}  // namespace perfcast::measure
