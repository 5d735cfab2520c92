#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <regex>

#include "common/csv.h"
#include "common/error.h"
#include "dataset/importers.h"

namespace perfcast::dataset {
namespace {

// "113" -> "1.13", "210" -> "2.1.0", "291" -> "2.9.1", "112" -> "1.12".
std::string torch_version(const std::string& digits) {
  if (digits.size() == 3 && digits[0] == '1') return fmt::format("1.{}", digits.substr(1));
  if (digits.size() == 3) return fmt::format("{}.{}.{}", digits[0], digits[1], digits[2]);
  return digits;
}

struct TimmDevice {
  std::string name, kind;
};
TimmDevice timm_device(const std::string& token) {
  if (token == "rtx3090") return {"rtx-3090", "gpu"};
  if (token == "rtx4090" || token == "4090") return {"rtx-4090", "gpu"};
  if (token == "5090") return {"rtx-5090", "gpu"};
  if (token == "pro6000maxq") return {"rtx-pro-6000-blackwell-max-q", "gpu"};
  if (token == "i9_10940x") return {"core-i9-10940x", "cpu"};
  if (token == "i7_12700h") return {"core-i7-12700h", "cpu"};
  return {token, "gpu"};
}

}  // namespace

ImportReport import_timm(Store& store, const std::string& root) {
  ImportReport report;
  report.dataset = "timm";
  const std::string dir = root + "/timm";
  if (!std::filesystem::is_directory(dir)) throw Error(fmt::format("timm data folder '{}' not found", dir));
  const std::string who = source_attribution(dir);
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("benchmark-", 0) == 0 && e.path().extension() == ".csv") files.push_back(name);
  }
  std::sort(files.begin(), files.end());
  const std::regex pattern(R"(benchmark-(infer|train)-([a-z0-9_]+)-(nchw|nhwc)-pt(\d+)-(cu\d+|cpu)-(.+?)(-dynamo)?\.csv)");
  const std::string now = now_iso8601();
  for (const std::string& file : files) {
    std::smatch m;
    if (!std::regex_match(file, m, pattern)) {
      report.reject(fmt::format("{}: file name not understood", file));
      continue;
    }
    ++report.files;
    const bool train = m[1] == "train";
    const std::string prec_token = m[2];
    const std::string precision = prec_token == "amp" ? "fp16" : prec_token == "amp_bf16" ? "bf16" : prec_token;
    std::string variant = m[3].str();
    if (prec_token.rfind("amp", 0) == 0) variant += ",autocast";
    if (m[7].matched) variant += ",dynamo";
    const TimmDevice dev = timm_device(m[6]);
    const std::string backend = m[5];
    const std::string driver =
        backend == "cpu" ? "" : fmt::format("CUDA {}.{}", backend.substr(2, backend.size() - 3), backend.back());
    const int64_t device_id =
        store.upsert_device({dev.name, dev.kind, "", fmt::format(R"({{"timm_name": "{}"}})", m[6].str())});
    const std::string p = train ? "train_" : "infer_";
    const CsvTable table = read_csv(dir + "/" + file);
    Store::Transaction tx(store);
    for (const CsvRow& row : table.rows) {
      try {
        ConfigurationRecord c;
        c.model = row.required("model");
        c.batch = static_cast<int64_t>(row.number(p + "batch_size"));
        c.precision = precision;
        c.mode = train ? "training" : "inference";
        c.variant = fmt::format("{},img{}", variant, static_cast<int64_t>(row.number(p + "img_size")));
        MeasurementRecord r;
        r.latency_ms = row.number(p + "step_time");
        r.throughput_per_s = row.number(p + "samples_per_sec");
        r.provenance = {"timm", file, who, now, "pytorch", torch_version(m[4]), driver, ""};
        r.device_id = device_id;
        report.store_row(store, c, r);
      } catch (const Error& e) {
        report.reject(fmt::format("{} line {}: {}", file, row.line(), e.what()));
      }
    }
    tx.commit();
  }
  return report;
}

}  // namespace perfcast::dataset
