// `perfcast predict --predictor auto|roofline|xgb`, the OOD warning and `perfcast calibrate`, run
// as a user runs them.
#include <gtest/gtest.h>

#include <filesystem>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <vector>
#include <string>

#include <nlohmann/json.hpp>

#include "learn/timm_dataset.h"
#include "support/cli_runner.h"
#include "support/fixtures.h"

namespace {

using perfcast::testing::CliRun;
using perfcast::testing::run_cli;
namespace fs = std::filesystem;

std::string resnet50() { return perfcast::testing::fixture_path("resnet50.onnx"); }

nlohmann::json run_json(const std::string& args, const std::string& env = "") {
  const CliRun run = run_cli(args + " --json", env, false);
  EXPECT_EQ(run.exit_code, 0) << args << "\n" << run.output;
  return run.exit_code == 0 ? nlohmann::json::parse(run.output) : nlohmann::json::object();
}

void expect_interval(const nlohmann::json& i) {
  EXPECT_LT(i["low"].get<double>(), i["value"].get<double>());
  EXPECT_LT(i["value"].get<double>(), i["high"].get<double>());
}

TEST(PredictPredictorCli, XgbOnAnImageModelAtFp16SaysWhatItUsedAndKeepsItsInterval) {
  const auto j = run_json("predict " + resnet50() + " --device rtx-4090 --batch 256 --precision fp16 --predictor xgb");
  ASSERT_TRUE(j.contains("predictor"));
  EXPECT_EQ(j["predictor"]["used"], "xgb");
  expect_interval(j["latency_ms"]);
  expect_interval(j["throughput_per_s"]);
  EXPECT_FALSE(j["out_of_distribution"].get<bool>()) << j["learned"].dump();
  EXPECT_TRUE(j["learned"]["interval_from_held_out_residuals"].get<bool>());
  // The learned value differs from the roofline's, which is kept for comparison.
  EXPECT_NE(j["latency_ms"]["value"], j["predictor"]["roofline_latency_ms"]["value"]);
}

TEST(PredictPredictorCli, AutoUsesXgbWhereItAppliesAndTheRooflineElsewhere) {
  const auto fp16 = run_json("predict " + resnet50() + " --device rtx-3090 --batch 64 --precision fp16");
  EXPECT_EQ(fp16["predictor"]["requested"], "auto");
  EXPECT_EQ(fp16["predictor"]["used"], "xgb");
  EXPECT_NE(fp16["predictor"]["why"].get<std::string>().find("MAPE"), std::string::npos);
  const auto fp32 = run_json("predict " + resnet50() + " --device rtx-3090 --batch 64 --precision fp32");
  EXPECT_EQ(fp32["predictor"]["used"], "roofline");
  EXPECT_NE(fp32["predictor"]["why"].get<std::string>().find("fp32"), std::string::npos) << fp32["predictor"].dump();
  const auto train = run_json("predict " + resnet50() + " --device rtx-3090 --batch 64 --precision fp16 --mode training");
  EXPECT_EQ(train["predictor"]["used"], "roofline");
  const auto rl = run_json("predict " + resnet50() + " --device rtx-3090 --batch 64 --precision fp16 --predictor roofline");
  EXPECT_EQ(rl["predictor"]["used"], "roofline");
  // --predictor roofline gives what auto kept as the roofline's value.
  EXPECT_DOUBLE_EQ(rl["latency_ms"]["value"].get<double>(), fp16["predictor"]["roofline_latency_ms"]["value"].get<double>());
}

TEST(PredictPredictorCli, XgbOutsideItsDomainIsAClearError) {
  const CliRun fp32 = run_cli("predict " + resnet50() + " --device rtx-4090 --precision fp32 --predictor xgb");
  EXPECT_EQ(fp32.exit_code, 1) << fp32.output;
  EXPECT_NE(fp32.output.find("does not apply"), std::string::npos) << fp32.output;
  const CliRun llm = run_cli("predict bert-base --device rtx-4090 --prompt-tokens 128 --predictor xgb");
  EXPECT_EQ(llm.exit_code, 1) << llm.output;
  EXPECT_NE(llm.output.find("roofline"), std::string::npos) << llm.output;
  const CliRun unknown = run_cli("predict " + resnet50() + " --device rtx-4090 --precision fp16 --predictor nope");
  EXPECT_EQ(unknown.exit_code, 1) << unknown.output;
}

TEST(PredictPredictorCli, OutOfDistributionIsFlaggedAndWidensTheInterval) {
  const auto in = run_json("predict " + resnet50() + " --device rtx-4090 --batch 256 --precision fp16 --predictor xgb");
  // Batch 1 is below every timm training batch; the H100's bandwidth is beyond the training GPUs'.
  const auto out = run_json("predict " + resnet50() + " --device h100-sxm5-80gb --batch 1 --precision fp16 --predictor xgb");
  ASSERT_TRUE(out.contains("out_of_distribution"));
  EXPECT_TRUE(out["out_of_distribution"].get<bool>());
  EXPECT_FALSE(out["learned"]["ood"]["reasons"].empty());
  auto rel_width = [](const nlohmann::json& j) {
    return j["latency_ms"]["high"].get<double>() / j["latency_ms"]["low"].get<double>();
  };
  EXPECT_GT(rel_width(out), rel_width(in) * 1.5);
  const CliRun text = run_cli("predict " + resnet50() + " --device h100-sxm5-80gb --batch 1 --precision fp16 --predictor xgb");
  EXPECT_NE(text.output.find("warning: out of distribution"), std::string::npos) << text.output;
}

TEST(PredictPredictorCli, CalibrateFromTimmRowsThenPredictUsesIt) {
  const std::string src = perfcast::learn::default_timm_dir() + "/benchmark-infer-amp-nchw-pt291-cu130-5090.csv";
  if (!fs::exists(src)) GTEST_SKIP() << "no timm data at " << src;
  const fs::path dir = fs::temp_directory_path() / "perfcast_calibrate_cli_test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  // The first 24 rows of timm's own RTX 5090 file, as they are.
  {
    std::ifstream in(src);
    std::ofstream out(dir / "rows.csv");
    std::string line;
    for (int i = 0; i < 25 && std::getline(in, line); ++i) out << line << "\n";
  }
  const std::string cal = (dir / "rtx-5090.json").string();
  const CliRun run = run_cli("calibrate --device 5090 --data " + (dir / "rows.csv").string() + " --out " + cal);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("chosen"), std::string::npos) << run.output;
  std::ifstream in(cal);
  const auto saved = nlohmann::json::parse(in);
  EXPECT_EQ(saved["device"], "rtx-5090");
  EXPECT_EQ(saved["data"]["rows"], 24);
  EXPECT_EQ(saved["base_model"]["model_file"], "xgb_latency.json");

  const auto j = run_json("predict " + resnet50() + " --device rtx-5090 --batch 256 --precision fp16 --predictor xgb",
                          "PERFCAST_CALIBRATION_DIR=" + dir.string());
  EXPECT_EQ(j["learned"]["calibration_file"], cal);
  expect_interval(j["latency_ms"]);

  std::ofstream(dir / "bad.csv") << "model,params_m,gmacs,macts_m,batch,img_size,latency_ms\na,1,1,1,8,224,abc\n";
  const CliRun bad = run_cli("calibrate --device rtx-5090 --data " + (dir / "bad.csv").string() + " --out " + cal);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("bad.csv:2:"), std::string::npos) << bad.output;
  EXPECT_NE(bad.output.find("latency_ms"), std::string::npos) << bad.output;
}

// Calibrating an RTX 5090 from 25 of its rows transfers the other GPUs' measurements of every other
// workload; checked against the 5090's own measurements of those workloads.
TEST(PredictPredictorCli, CalibrateTransfersTheOtherGpusMeasurements) {
  const std::string name = "benchmark-infer-amp-nchw-pt291-cu130-5090.csv";
  const std::string src = perfcast::learn::default_timm_dir() + "/" + name;
  if (!fs::exists(src)) GTEST_SKIP() << "no timm data at " << src;
  const fs::path dir = fs::temp_directory_path() / "perfcast_calibrate_transfer_cli_test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::map<std::string, double> measured_ms;  // "model,img size,batch" -> ms per batch, rows not used for calibrating
  {
    std::ifstream in(src);
    std::ofstream out(dir / name);  // timm's file name: it fixes fp16, NCHW, eager, PyTorch 2.9
    std::string line;
    // The header and every 130th row (about 25): the file is sorted by throughput, so this spans tiny
    // to large models, as a user would choose them.
    for (int i = 0; std::getline(in, line); ++i) {
      if (i % 130 == 0) {
        out << line << "\n";
        continue;
      }
      std::stringstream cells(line);
      std::vector<std::string> c;
      for (std::string cell; std::getline(cells, cell, ',');) c.push_back(cell);
      if (c.size() >= 5 && !c[3].empty()) measured_ms[c[0] + "," + c[1] + "," + c[4]] = std::stod(c[3]);  // img size, step time, batch
    }
  }
  const std::string predictions = (dir / "predicted.csv").string();
  const CliRun run = run_cli("calibrate --device rtx-5090 --data " + (dir / name).string() + " --out " +
                             (dir / "cal.json").string() + " --predict-out " + predictions);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("used for workloads measured elsewhere"), std::string::npos) << run.output;
  std::ifstream saved_in(dir / "cal.json");
  const auto saved = nlohmann::json::parse(saved_in);
  EXPECT_TRUE(saved["reference_transfer"]["used"].get<bool>());
  EXPECT_TRUE(saved["reference_transfer"]["devices"].contains("rtx-4090"));

  std::ifstream in(predictions);
  std::string line;
  std::getline(in, line);
  ASSERT_EQ(line.rfind("model,img_size,precision,channels_last,compiled,batch,", 0), 0u) << line;
  double ape = 0;
  size_t n = 0, within_10pct = 0;
  while (std::getline(in, line)) {
    std::stringstream cells(line);
    std::vector<std::string> c;
    for (std::string cell; std::getline(cells, cell, ',');) c.push_back(cell);
    ASSERT_EQ(c.size(), 12u) << line;
    const std::string key = c[0] + "," + c[1] + "," + c[5];
    if (c[2] != "fp16" || c[3] != "0" || c[4] != "0" || !measured_ms.count(key)) continue;
    const double e = std::fabs(std::stod(c[7]) - measured_ms[key]) / measured_ms[key];
    ape += e;
    within_10pct += e <= 0.10;
    ++n;
  }
  ASSERT_GT(n, 500u);
  EXPECT_LT(ape / static_cast<double>(n), 0.10) << "MAPE over " << n << " held-out rows";
  std::cout << "calibrated from 25 rows: MAPE " << 100 * ape / static_cast<double>(n) << "%, Acc(10%) "
            << 100.0 * static_cast<double>(within_10pct) / static_cast<double>(n) << "% on " << n << " held-out rows\n";
  EXPECT_GT(static_cast<double>(within_10pct) / static_cast<double>(n), 0.70);
}

}  // namespace
