// The perfcast command as a user runs it: exit codes, one-line errors, JSON fields.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/wait.h>

#include "support/cli_runner.h"
#include "support/fixtures.h"

namespace {

using perfcast::testing::CliRun;
using perfcast::testing::run_cli;

TEST(Cli, InspectJsonHasTheDocumentedFields) {
  const CliRun run = run_cli("inspect " + perfcast::testing::fixture_path("resnet50.onnx") + " --batch 2 --json");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto j = nlohmann::json::parse(run.output);
  for (const char* key : {"nodes", "edges", "macs", "flops", "params", "param_bytes", "peak_activation_bytes", "ops",
                          "unknown_ops"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_NEAR(j["macs"].get<double>() / 2 / 4.09e9, 1.0, 0.03);
  EXPECT_EQ(j["inputs"][0]["shape"][0], 2);
}

TEST(Cli, BadInputExitsNonZeroWithOneLine) {
  const std::vector<std::string> bad_calls = {
      "inspect /nonexistent.onnx",
      "inspect " + perfcast::testing::fixture_path("bad_truncated.onnx"),
      "inspect " + perfcast::testing::fixture_path("resnet50.onnx") + " --batch 0",
  };
  for (const std::string& args : bad_calls) {
    SCOPED_TRACE(args);
    const CliRun run = run_cli(args);
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_EQ(run.output.rfind("perfcast: error: ", 0), 0u) << run.output;
    EXPECT_EQ(std::count(run.output.begin(), run.output.end(), '\n'), 1) << run.output;
  }
}

}  // namespace

namespace {

TEST(Cli, PredictJsonHasEveryQuantityWithItsInterval) {
  const CliRun run = run_cli("predict " + perfcast::testing::fixture_path("resnet50.onnx") +
                             " --device a100-sxm4-40gb:3g.20gb --batch 16 --precision fp16 --json");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto j = nlohmann::json::parse(run.output);
  for (const char* key : {"latency_ms", "throughput_per_s", "peak_memory_mb", "avg_power_w", "energy_j"}) {
    ASSERT_TRUE(j.contains(key)) << key;
    EXPECT_LE(j[key]["low"].get<double>(), j[key]["value"].get<double>()) << key;
    EXPECT_LE(j[key]["value"].get<double>(), j[key]["high"].get<double>()) << key;
  }
  EXPECT_EQ(j["device"], "a100-sxm4-40gb:3g.20gb");
}

TEST(Cli, AdviseJsonRanksAndExplains) {
  const CliRun run = run_cli("advise " + perfcast::testing::fixture_path("resnet50.onnx") +
                             " --batch 8 --region aws:us-east-1 --objective carbon --json");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto j = nlohmann::json::parse(run.output);
  EXPECT_FALSE(j["ranked"].empty());
  EXPECT_NE(j["explanation"].get<std::string>().find("wins on carbon"), std::string::npos);
  // The text table names the cloud instance each option is priced as, the one the JSON carries.
  const CliRun text = run_cli("advise " + perfcast::testing::fixture_path("resnet50.onnx") +
                              " --batch 8 --region aws:us-east-1 --objective carbon");
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("priced as"), std::string::npos) << text.output;
  const auto& first = j["ranked"][0];
  ASSERT_TRUE(first.contains("instance")) << first.dump();
  if (first["instance"].is_string())
    EXPECT_NE(text.output.find(first["instance"].get<std::string>()), std::string::npos) << text.output;
  const CliRun bad = run_cli("advise " + perfcast::testing::fixture_path("resnet50.onnx") + " --region atlantis");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.output.rfind("perfcast: error: ", 0), 0u) << bad.output;
}

}  // namespace
