#include "measure/process_runner.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "support/test_helpers.h"

namespace perfcast::measure {
namespace {

TEST(MeasureProcess, ForwardsTheExitCode) {
  EXPECT_EQ(run_command({"true"}).exit_code, 0);
  EXPECT_EQ(run_command({"false"}).exit_code, 1);
  const RunResult r = run_command({"sh", "-c", "exit 7"});
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_FALSE(r.signaled);
  EXPECT_GT(r.wall_s, 0);
}

TEST(MeasureProcess, ArgumentsAreNotGivenToAShell) {
  // One argument with a space and a '$': a shell would split or expand it.
  EXPECT_EQ(run_command({"test", "a b$HOME", "=", "a b$HOME"}).exit_code, 0);
}

TEST(MeasureProcess, SignalledChildExitsWith128PlusSignal) {
  const RunResult r = run_command({"sh", "-c", "kill -TERM $$"});
  EXPECT_TRUE(r.signaled);
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_EQ(r.exit_code, 128 + SIGTERM);
}

TEST(MeasureProcess, CommandNotFoundNamesIt) {
  const std::string message = testing::error_of([] { run_command({"perfcast-no-such-command", "x"}); });
  EXPECT_NE(message.find("command not found: 'perfcast-no-such-command'"), std::string::npos) << message;
  EXPECT_NE(testing::error_of([] { run_command({}); }).find("no command"), std::string::npos);
}

TEST(MeasureProcess, WallTimeCoversTheRun) {
  const RunResult r = run_command({"sleep", "0.2"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_GE(r.wall_s, 0.19);
  EXPECT_LT(r.wall_s, 5);
}

TEST(MeasureProcess, SigintIsForwardedToTheChild) {
  std::thread interrupter([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    kill(getpid(), SIGINT);
  });
  const RunResult r = run_command({"sleep", "10"});
  interrupter.join();
  EXPECT_TRUE(r.signaled);
  EXPECT_EQ(r.signal, SIGINT);
  EXPECT_EQ(r.exit_code, 128 + SIGINT);
  EXPECT_LT(r.wall_s, 5);
  // The handler is gone afterwards: SIGINT's disposition is back to what it was (default here).
  struct sigaction now {};
  sigaction(SIGINT, nullptr, &now);
  EXPECT_EQ(now.sa_handler, SIG_DFL);
}

}  // namespace
}  // namespace perfcast::measure
