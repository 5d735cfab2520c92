#include <fmt/format.h>

#include <filesystem>
#include <map>

#include "common/csv.h"
#include "common/error.h"
#include "dataset/importers.h"

namespace perfcast::dataset {

ImportReport import_neusight(Store& store, const std::string& root) {
  ImportReport report;
  report.dataset = "neusight";
  const std::string dir = root + "/neusight";
  const std::string file = dir + "/labels_summary.csv";
  if (!std::filesystem::exists(file)) throw Error(fmt::format("NeuSight labels '{}' not found", file));
  const std::map<std::string, std::string> catalog = {
      {"Tesla_P4", "p4"},          {"Tesla_P100-PCIE-16GB", "p100-pcie-16gb"}, {"Tesla_T4", "t4"},
      {"Tesla_V100-PCIE-32GB", "v100-pcie-32gb"}, {"AMD_Instinct_MI100", "mi100"},
      {"AMD_Instinct_MI210", "mi210"}, {"AMD_Instinct_MI250", "mi250"}};
  const std::string who = source_attribution(dir);
  const std::string now = now_iso8601();
  const CsvTable table = read_csv(file);
  table.require_columns({"gpu", "model", "mode", "seq_len", "batch", "variant", "e2e_latency_ms", "source_file"});
  report.files = 1;
  Store::Transaction tx(store);
  for (const CsvRow& row : table.rows) {
    try {
      const std::string& gpu = row.required("gpu");
      const auto it = catalog.find(gpu);
      const bool amd = gpu.rfind("AMD", 0) == 0;
      std::string spec = fmt::format(R"({{"neusight_name": "{}"{}}})", gpu,
                                     gpu == "AMD_Instinct_MI250" ? R"(, "note": "one GCD of the two-GCD package")" : "");
      const int64_t device_id =
          store.upsert_device({it != catalog.end() ? it->second : gpu, "gpu", amd ? "ROCm" : "CUDA 12.1", spec});
      ConfigurationRecord c;
      c.model = row.required("model");
      c.batch = row.integer("batch");
      c.seq_len = row.integer("seq_len");
      c.precision = "fp32";
      const std::string& mode = row.required("mode");
      if (mode != "inf" && mode != "train") throw Error(fmt::format("mode '{}' is not inf or train", mode));
      c.mode = mode == "inf" ? "inference" : "training";
      c.variant = row.at("variant");
      MeasurementRecord r;
      r.device_id = device_id;
      r.latency_ms = row.number("e2e_latency_ms");
      if (*r.latency_ms > 0) r.throughput_per_s = static_cast<double>(c.batch) * 1000.0 / *r.latency_ms;
      r.provenance = {"neusight", row.required("source_file"), who, now, "pytorch", amd ? "2.4.1" : "2.1.0",
                      amd ? "ROCm" : "CUDA 12.1 / cuDNN 8902", ""};
      report.store_row(store, c, r);
    } catch (const Error& e) {
      report.reject(fmt::format("{} line {}: {}", file, row.line(), e.what()));
    }
  }
  tx.commit();
  return report;
}

}  // namespace perfcast::dataset
