#include <fmt/format.h>

#include <filesystem>
#include <map>

#include "common/csv.h"
#include "common/error.h"
#include "dataset/importers.h"

namespace perfcast::dataset {
namespace {

struct Column {
  std::string column, device, kind;
  int64_t batch = 0;  // 0: not stated by the source
};

Column describe(const std::string& column) {
  Column c{column, column, "gpu", 0};
  const auto us = column.rfind('_');
  const std::string suffix = us == std::string::npos ? "" : column.substr(us + 1);
  const bool gpu = column.rfind("1080ti", 0) == 0 || column.rfind("2080ti", 0) == 0 || column.rfind("titan", 0) == 0;
  if (gpu && (suffix == "1" || suffix == "32" || suffix == "64" || suffix == "256")) {
    c.device = column.substr(0, us);
    c.batch = std::stoll(suffix);
    return c;
  }
  if (column.rfind("gold_", 0) == 0 || column.rfind("silver_", 0) == 0) c.kind = "cpu";
  else if (column == "raspi4") c.kind = "embedded";
  else if (column == "eyeriss") c.kind = "asic";
  else if (column == "fpga") c.kind = "fpga";
  else c.kind = "phone";
  return c;
}

}  // namespace

ImportReport import_nasbench201(Store& store, const std::string& root) {
  ImportReport report;
  report.dataset = "nasbench201";
  const std::string dir = root + "/help-nasbench201";
  const std::string file = dir + "/nasbench201_latency_ms.csv";
  if (!std::filesystem::exists(file)) throw Error(fmt::format("NAS-Bench-201 latency file '{}' not found", file));
  const std::string who = source_attribution(dir);
  const std::string now = now_iso8601();
  const CsvTable table = read_csv(file);
  table.require_columns({"arch_index", "arch_str"});
  report.files = 1;
  std::vector<Column> columns;
  for (const auto& name : table.columns) {
    if (name == "arch_index" || name == "arch_str") continue;
    Column c = describe(name);
    const bool simulated = c.device == "eyeriss" || c.device == "fpga";
    store.upsert_device({"help:" + c.device, c.kind, "",
                         simulated ? R"({"note": "simulator/estimator output (HW-NAS-Bench), not wall-clock"})" : "{}"});
    columns.push_back(c);
  }
  Store::Transaction tx(store);
  std::map<std::string, int64_t> device_ids;
  for (const auto& c : columns) device_ids[c.device] = store.upsert_device({"help:" + c.device, c.kind, "", "{}"});
  for (const CsvRow& row : table.rows) {
    const std::string& arch = row.required("arch_str");
    for (const auto& c : columns) {
      try {
        ConfigurationRecord conf;
        conf.model = "nasbench201:" + arch;
        conf.batch = c.batch;
        conf.precision = "fp32";
        conf.mode = "inference";
        MeasurementRecord r;
        r.device_id = device_ids[c.device];
        r.latency_ms = row.number(c.column);
        r.provenance = {"help-nasbench201", "nasbench201_latency_ms.csv", who, now, "", "", "", ""};
        report.store_row(store, conf, r);
      } catch (const Error& e) {
        report.reject(fmt::format("{} line {} column {}: {}", file, row.line(), c.column, e.what()));
      }
    }
  }
  tx.commit();
  return report;
}

}  // namespace perfcast::dataset
