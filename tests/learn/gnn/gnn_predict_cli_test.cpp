// `perfcast predict --predictor sage|gin|gae-sage|gnn`: a saved graph predictor on an ONNX graph,
// run as a user would, against HELP's measured NAS-Bench-201 latencies.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "common/csv.h"
#include "dataset/importers.h"
#include "hardware/device_catalog.h"
#include "learn/nasbench201_dataset.h"
#include "support/cli_runner.h"
#include "support/fixtures.h"

namespace perfcast::testing {
namespace {

namespace fs = std::filesystem;

// The NAS-Bench-201 fixture of the mixed cell |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+...
// (tests/fixtures/export_nasbench201.py, index 5), whose totals lie among the training cells'.
constexpr int kCellFixture = 5;
const char* const kGpuColumn = "2080ti_32";

nlohmann::json nb201_fixture() {
  std::ifstream in(fixture_path("nasbench201_manifest.json"));
  if (!in) {
    ADD_FAILURE() << "no NAS-Bench-201 fixtures; run: /usr/bin/python3 tests/fixtures/export_nasbench201.py "
                  << PERFCAST_FIXTURE_DIR;
    return nlohmann::json::object();
  }
  return nlohmann::json::parse(in)["models"][kCellFixture];
}

// HELP's measured latency of `arch` in `column` (ms per batch).
double help_latency_ms(const std::string& arch, const std::string& column) {
  const CsvTable table = read_csv(dataset::default_shared_data_dir() + "/help-nasbench201/nasbench201_latency_ms.csv");
  for (const auto& row : table.rows)
    if (row.at("arch_str") == arch) return row.number(column);
  ADD_FAILURE() << arch << " not in the HELP table";
  return std::nan("");
}

// The catalog device of a HELP column, as the training data maps it.
std::string column_device(const std::string& column) {
  learn::NasBench201Options o;
  o.columns = {column};
  const auto columns = learn::nasbench201_columns(o, hardware::DeviceCatalog::load());
  return columns.size() == 1 ? columns[0].device_id : "";
}

nlohmann::json run_json(const std::string& args, const std::string& env = "") {
  const CliRun run = run_cli(args + " --json", env, false);
  EXPECT_EQ(run.exit_code, 0) << args << "\n" << run.output;
  return run.exit_code == 0 ? nlohmann::json::parse(run.output) : nlohmann::json::object();
}

// ln(high / low): the OOD widening scales the interval in log space.
double log_width(const nlohmann::json& j) {
  const auto& i = j["latency_ms"];
  return std::log(i["high"].get<double>() / i["low"].get<double>());
}

// A data folder like the shipped one whose models/learned holds only `files` (copied, then edited
// by the test), to exercise broken or older sidecars.
std::string data_dir_with(const std::string& name, const std::vector<std::string>& files) {
  const fs::path dir = fs::temp_directory_path() / ("perfcast_gnn_predict_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir / "models/learned");
  const fs::path data = hardware::default_data_dir();
  for (const auto& entry : fs::directory_iterator(data))
    if (entry.path().filename() != "models") fs::create_directory_symlink(entry.path(), dir / entry.path().filename());
  for (const auto& f : files) fs::copy_file(data / "models/learned" / f, dir / "models/learned" / f);
  return dir.string();
}

TEST(GnnPredictCli, SageOnANasBench201CellIsNearTheMeasuredLatencyAndInDistribution) {
  const auto cell = nb201_fixture();
  ASSERT_TRUE(cell.contains("arch"));
  const std::string device = column_device(kGpuColumn);
  ASSERT_EQ(device, "rtx-2080ti");
  const double measured_ms = help_latency_ms(cell["arch"], kGpuColumn);
  const auto j = run_json("predict " + fixture_path(cell["file"]) + " --device " + device +
                          " --batch 32 --predictor sage");
  ASSERT_TRUE(j.contains("learned")) << j.dump();
  EXPECT_EQ(j["predictor"]["used"], "sage");
  EXPECT_EQ(fs::path(j["predictor"]["model"].get<std::string>()).filename(), "sage_nasbench201_arch.pt");
  EXPECT_EQ(j["predictor"]["validated"]["split"], "arch");
  EXPECT_GT(j["predictor"]["validated"]["mape_pct"].get<double>(), 0);
  const double predicted_ms = j["latency_ms"]["value"].get<double>();
  ASSERT_TRUE(std::isfinite(predicted_ms));
  EXPECT_GT(predicted_ms, measured_ms / 2) << "measured " << measured_ms;
  EXPECT_LT(predicted_ms, measured_ms * 2) << "measured " << measured_ms;
  EXPECT_FALSE(j["out_of_distribution"].get<bool>()) << j["learned"].dump();
  EXPECT_TRUE(j["learned"]["interval_from_held_out_residuals"].get<bool>());
  EXPECT_LT(j["latency_ms"]["low"].get<double>(), predicted_ms);
  EXPECT_GT(j["latency_ms"]["high"].get<double>(), predicted_ms);
  // The network corrects the roofline: its answer is not the roofline's.
  EXPECT_NE(predicted_ms, j["predictor"]["roofline_latency_ms"]["value"].get<double>());
}

TEST(GnnPredictCli, GnnPicksTheBestValidatedGraphPredictorAndAutoNeverDoes) {
  const std::string cell = fixture_path(nb201_fixture().value("file", ""));
  const auto gnn = run_json("predict " + cell + " --device rtx-2080ti --batch 32 --predictor gnn");
  EXPECT_EQ(gnn["predictor"]["requested"], "gnn");
  EXPECT_EQ(gnn["predictor"]["validated"]["split"], "arch");
  for (const char* other : {"sage", "gin", "gae-sage"}) {
    const auto j = run_json("predict " + cell + " --device rtx-2080ti --batch 32 --predictor " + other);
    EXPECT_LE(gnn["predictor"]["validated"]["mape_pct"].get<double>(), j["predictor"]["validated"]["mape_pct"].get<double>())
        << other;
  }
  const auto automatic = run_json("predict " + cell + " --device rtx-2080ti --batch 32");
  EXPECT_EQ(automatic["predictor"]["used"], "roofline") << automatic["predictor"].dump();
}

TEST(GnnPredictCli, OutOfDistributionInputsAreFlaggedWithAWiderInterval) {
  const std::string cell = fixture_path(nb201_fixture().value("file", ""));
  const auto in = run_json("predict " + cell + " --device rtx-2080ti --batch 32 --predictor sage");
  const auto resnet = run_json("predict " + fixture_path("resnet50.onnx") + " --device rtx-2080ti --batch 32 --predictor sage");
  ASSERT_TRUE(resnet.contains("learned")) << resnet.dump();
  EXPECT_TRUE(resnet["out_of_distribution"].get<bool>());
  EXPECT_FALSE(resnet["learned"]["ood"]["reasons"].empty());
  EXPECT_GT(log_width(resnet), log_width(in) * 1.5);
  const auto bert = run_json("predict " + fixture_path("bert_base_encoder.onnx") +
                             " --device rtx-2080ti --dim seq=128 --predictor gnn");
  EXPECT_TRUE(bert["out_of_distribution"].get<bool>());
  EXPECT_NE(bert["learned"]["ood"].dump().find("not an image CNN"), std::string::npos) << bert["learned"].dump();
  // A device far above the training GPUs, and a batch the GPUs were not measured at.
  const auto h100 = run_json("predict " + cell + " --device h100-sxm5-80gb --batch 32 --predictor sage");
  EXPECT_TRUE(h100["out_of_distribution"].get<bool>());
  EXPECT_NE(h100["learned"]["ood"].dump().find("TFLOP/s"), std::string::npos) << h100["learned"].dump();
  const auto batch1 = run_json("predict " + cell + " --device rtx-2080ti --batch 1 --predictor sage");
  EXPECT_TRUE(batch1["out_of_distribution"].get<bool>());
  // The text output says so too.
  const CliRun text = run_cli("predict " + fixture_path("resnet50.onnx") + " --device rtx-2080ti --batch 32 --predictor sage");
  EXPECT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("warning: out of distribution for sage"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("sage_nasbench201_arch.pt"), std::string::npos) << text.output;
}

TEST(GnnPredictCli, InputsAndNamesItCannotTakeAreClearErrors) {
  const std::string cell = fixture_path(nb201_fixture().value("file", ""));
  const CliRun typo = run_cli("predict " + cell + " --device rtx-2080ti --predictor sagee");
  EXPECT_EQ(typo.exit_code, 1) << typo.output;
  EXPECT_NE(typo.output.find("did you mean sage"), std::string::npos) << typo.output;
  const CliRun training = run_cli("predict " + cell + " --device rtx-2080ti --mode training --predictor gin");
  EXPECT_EQ(training.exit_code, 1) << training.output;
  EXPECT_NE(training.output.find("training steps"), std::string::npos) << training.output;
  const CliRun fp16 = run_cli("predict " + cell + " --device rtx-2080ti --precision fp16 --predictor gnn");
  EXPECT_EQ(fp16.exit_code, 1) << fp16.output;
  EXPECT_NE(fp16.output.find("fp32"), std::string::npos) << fp16.output;
  const CliRun llm = run_cli("predict bert-base --device rtx-2080ti --prompt-tokens 128 --predictor sage");
  EXPECT_EQ(llm.exit_code, 1) << llm.output;
  EXPECT_NE(llm.output.find("LLM serving"), std::string::npos) << llm.output;
  const CliRun config = run_cli("predict bert-base --device rtx-2080ti --predictor gnn");
  EXPECT_EQ(config.exit_code, 1) << config.output;
  EXPECT_NE(config.output.find("transformer config"), std::string::npos) << config.output;
  const CliRun no_plugin =
      run_cli("predict " + cell + " --device rtx-2080ti --predictor sage", "PERFCAST_GNN_PLUGIN=/nonexistent/libperfcast_gnn.so");
  EXPECT_EQ(no_plugin.exit_code, 1) << no_plugin.output;
  EXPECT_NE(no_plugin.output.find("/nonexistent/libperfcast_gnn.so: not found"), std::string::npos) << no_plugin.output;
  const std::string no_pt = data_dir_with("no_pt", {"sage_nasbench201_arch.meta.json"});
  const CliRun missing = run_cli("predict " + cell + " --device rtx-2080ti --predictor sage", "PERFCAST_DATA_DIR=" + no_pt);
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_NE(missing.output.find("sage_nasbench201_arch.pt"), std::string::npos) << missing.output;
  const CliRun no_gin = run_cli("predict " + cell + " --device rtx-2080ti --predictor gin", "PERFCAST_DATA_DIR=" + no_pt);
  EXPECT_EQ(no_gin.exit_code, 1) << no_gin.output;
  EXPECT_NE(no_gin.output.find("perfcast fit --predictor gin"), std::string::npos) << no_gin.output;
}

TEST(GnnPredictCli, ASidecarWithoutHeldOutStatisticsSaysWhatItFellBackTo) {
  const std::string dir = data_dir_with("old_sidecar", {"sage_nasbench201_arch.meta.json", "sage_nasbench201_arch.pt"});
  const std::string meta = dir + "/models/learned/sage_nasbench201_arch.meta.json";
  nlohmann::json j = nlohmann::json::parse(std::ifstream(meta));
  j.erase("interval");
  j.erase("ood");
  std::ofstream(meta) << j.dump();
  const std::string cell = fixture_path(nb201_fixture().value("file", ""));
  const auto out = run_json("predict " + cell + " --device rtx-2080ti --batch 32 --predictor sage", "PERFCAST_DATA_DIR=" + dir);
  ASSERT_TRUE(out.contains("learned")) << out.dump();
  EXPECT_FALSE(out["learned"]["interval_from_held_out_residuals"].get<bool>());
  EXPECT_NE(out["learned"]["notes"].dump().find("recorded test MAPE"), std::string::npos) << out["learned"].dump();
  EXPECT_TRUE(out["out_of_distribution"].get<bool>());
}

}  // namespace
}  // namespace perfcast::testing
