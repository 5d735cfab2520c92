// Faults during `perfcast profile` on the CPU: an out-of-memory workload (real PyTorch under an
// address-space limit), an unknown model name, a runner killed by a signal, perfcast itself
// interrupted (SIGTERM, forwarded) or killed (SIGKILL). Each leaves a consistent store, tells the
// user, and a second run resumes. A stand-in runner (--python /bin/sh --runner fake.sh) plays the
// workloads that finish, hang or die on cue.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "dataset/store.h"
#include "support/cli_runner.h"
#include "support/test_helpers.h"

namespace {

namespace fs = std::filesystem;
using perfcast::testing::CliRun;

const char* kEnv = "PERFCAST_NVML_LIBRARY=/nonexistent OMP_NUM_THREADS=1";

std::string temp_dir(const std::string& name) { return perfcast::testing::fresh_temp_dir("perfcast-fault-test", name); }

std::string read(const std::string& path) { return perfcast::testing::read_text(path); }

// A stand-in for run_workload.py: fastnet succeeds, slownet records its pid and sleeps while
// DIR/block exists, killednet dies of SIGKILL.
std::string write_fake_runner(const std::string& dir) {
  const std::string path = dir + "/fake_runner.sh";
  std::ofstream(path) << "job=\"$(cat \"$1\")\"\n"
                         "ok='{\"status\":\"ok\",\"latency_ms\":5,\"throughput_per_s\":200,\"framework_version\":\"fake\"}'\n"
                         "case \"$job\" in\n"
                         "  *fastnet*) echo \"$ok\" > \"$2\" ;;\n"
                         "  *slownet*) echo $$ > "
                      << dir << "/runner.pid\n    if [ -e " << dir
                      << "/block ]; then exec sleep 30; fi\n    echo \"$ok\" > \"$2\" ;;\n"
                         "  *killednet*) kill -KILL $$ ;;\n"
                         "esac\n";
  return path;
}

std::string integrity(const std::string& db) {
  sqlite3* h = nullptr;
  std::string result = "cannot open";
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
      result = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
  }
  sqlite3_close(h);
  return result;
}

// Starts perfcast with `args` in the background, output to `log`; returns its pid.
pid_t spawn_perfcast(const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    setenv("PERFCAST_NVML_LIBRARY", "/nonexistent", 1);
    std::vector<char*> argv;
    static std::string cli = PERFCAST_CLI_PATH;
    argv.push_back(cli.data());
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

bool wait_for_file(const std::string& path, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (fs::exists(path) && fs::file_size(path) > 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::vector<std::string> fake_sweep(const std::string& dir, const std::string& models) {
  return {"profile", "--db", dir + "/p.sqlite", "--models", models, "--warmup", "0", "--iterations", "1",
          "--python", "/bin/sh", "--runner", dir + "/fake_runner.sh"};
}

std::string joined(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) s += " " + a;
  return s;
}

}  // namespace

TEST(ProfilerFaults, OutOfMemoryIsAnOomRowWithTheBatchAndUnknownModelsAreNamed) {
  const std::string dir = temp_dir("oom");
  // Real PyTorch, its address space capped at ~2.9 GiB: batch 1024 of resnet18 needs 3.3 GB for
  // the first convolution's output alone, so the CPU allocator fails ("can't allocate memory").
  const std::string python = dir + "/python-capped";
  std::ofstream(python) << "#!/bin/sh\nulimit -v 3000000\nexec /usr/bin/python3 \"$@\"\n";
  fs::permissions(python, fs::perms::owner_all);
  const std::string db = dir + "/p.sqlite";
  const std::string args = "profile --db " + db + " --models resnet,resnet18 --batches 1024 --warmup 0 --iterations 1 "
                           "--python " + python;
  CliRun r = perfcast::testing::run_cli(args, kEnv);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("resnet18 batch 1024 fp32 inference on cpu: oom: out of memory at batch 1024"),
            std::string::npos)
      << r.output;
  // A name torchvision lacks: an error row that says so and suggests the names it has.
  EXPECT_NE(r.output.find("unknown torchvision model 'resnet' (did you mean"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("0 measured, 0 skipped, 2 failed"), std::string::npos) << r.output;
  {
    perfcast::dataset::Store s(db);
    EXPECT_EQ(s.count("measurements m JOIN configurations c ON c.id = m.configuration_id",
                      "m.status = 'oom' AND c.model = 'resnet18' AND c.batch = 1024 AND m.latency_ms IS NULL AND "
                      "m.error LIKE 'out of memory at batch 1024: %allocate%'"),
              1);
    EXPECT_EQ(s.count("measurements", "status = 'error' AND error LIKE '%resnet18%'"), 1);
  }
  // An OOM is a label, not a failure to retry: the second run skips it (and retries the error row).
  r = perfcast::testing::run_cli(args, kEnv);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("already stored (oom), skipped"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("0 measured, 1 skipped, 1 failed"), std::string::npos) << r.output;
  EXPECT_EQ(integrity(db), "ok");
}

TEST(ProfilerFaults, KilledRunnerIsAnErrorRowThatIsRetried) {
  const std::string dir = temp_dir("killed");
  write_fake_runner(dir);
  const std::string args = joined(fake_sweep(dir, "fastnet,killednet"));
  CliRun r = perfcast::testing::run_cli(args, kEnv);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("killednet batch 1 fp32 inference on cpu: error: runner exited with code 137 (signal 9) "
                          "and wrote no result"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("1 measured, 0 skipped, 1 failed"), std::string::npos) << r.output;
  r = perfcast::testing::run_cli(args, kEnv);
  EXPECT_NE(r.output.find("0 measured, 1 skipped, 1 failed"), std::string::npos) << r.output;
  perfcast::dataset::Store s(dir + "/p.sqlite");
  EXPECT_EQ(s.count("measurements"), 2);
  EXPECT_EQ(s.count("measurements", "status = 'error' AND error LIKE '%signal 9%'"), 1);
}

TEST(ProfilerFaults, InterruptedProfileStopsKeepsFinishedRowsAndResumes) {
  const std::string dir = temp_dir("sigterm");
  write_fake_runner(dir);
  std::ofstream(dir + "/block") << "1";
  const auto args = fake_sweep(dir, "fastnet,slownet,fastnet2");
  const pid_t pid = spawn_perfcast(args, dir + "/log");
  ASSERT_TRUE(wait_for_file(dir + "/runner.pid", 30)) << read(dir + "/log");
  kill(pid, SIGTERM);  // as Ctrl-C or scancel would: perfcast forwards it to the runner
  int status = 0;
  waitpid(pid, &status, 0);
  const std::string log = read(dir + "/log");
  ASSERT_TRUE(WIFEXITED(status)) << log;
  EXPECT_EQ(WEXITSTATUS(status), 1) << log;
  EXPECT_NE(log.find("interrupted by signal 15 while profiling slownet batch 1: that job was not stored"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("fastnet2"), std::string::npos) << log;  // the sweep stopped there
  EXPECT_EQ(integrity(dir + "/p.sqlite"), "ok");
  {
    perfcast::dataset::Store s(dir + "/p.sqlite");
    EXPECT_EQ(s.count("measurements"), 1);
    EXPECT_EQ(s.count("measurements", "status = 'ok'"), 1);
  }
  fs::remove(dir + "/block");
  const CliRun r = perfcast::testing::run_cli(joined(args), kEnv);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("2 measured, 1 skipped, 0 failed"), std::string::npos) << r.output;
}

TEST(ProfilerFaults, KilledPerfcastLeavesAConsistentStore) {
  const std::string dir = temp_dir("sigkill");
  write_fake_runner(dir);
  std::ofstream(dir + "/block") << "1";
  const auto args = fake_sweep(dir, "fastnet,slownet");
  const pid_t pid = spawn_perfcast(args, dir + "/log");
  ASSERT_TRUE(wait_for_file(dir + "/runner.pid", 30)) << read(dir + "/log");
  kill(pid, SIGKILL);  // nothing can be forwarded: the runner is orphaned
  int status = 0;
  waitpid(pid, &status, 0);
  const pid_t runner = std::stoi(read(dir + "/runner.pid"));
  kill(runner, SIGKILL);
  EXPECT_EQ(integrity(dir + "/p.sqlite"), "ok");
  {
    perfcast::dataset::Store s(dir + "/p.sqlite");
    EXPECT_EQ(s.count("measurements"), 1);
  }
  fs::remove(dir + "/block");
  const CliRun r = perfcast::testing::run_cli(joined(args), kEnv);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("1 measured, 1 skipped, 0 failed"), std::string::npos) << r.output;
}
