#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "common/error.h"
#include "dataset/importers.h"
#include "hardware/device_catalog.h"

namespace perfcast::dataset {

void ImportReport::reject(const std::string& why) {
  ++rejected;
  if (reasons.size() < 5) reasons.push_back(why);
}

std::string source_attribution(const std::string& dir) {
  std::ifstream in(dir + "/SOURCE.md");
  if (!in) return fmt::format("{} (no SOURCE.md)", dir);
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  std::smatch m;
  std::string repo, commit, license;
  if (std::regex_search(text, m, std::regex(R"(Source repo:\*\*\s*https://github.com/([^\s]+))"))) repo = m[1];
  if (std::regex_search(text, m, std::regex(R"(commit:?\*\*\s*`([0-9a-f]+)`)"))) commit = m[1];
  if (std::regex_search(text, m, std::regex(R"(License:\*\*\s*([^,\n]+))"))) license = m[1];
  while (!license.empty() && (license.back() == '.' || license.back() == ' ')) license.pop_back();
  return fmt::format("{} @{} ({})", repo.empty() ? dir : repo, commit.substr(0, 12), license);
}

void ImportReport::store_row(Store& store, const ConfigurationRecord& configuration, MeasurementRecord measurement) {
  MeasurementRecord check = measurement;
  check.configuration_id = 1;
  validate(check);
  measurement.configuration_id = store.upsert_configuration(configuration);
  if (store.add_measurement(measurement)) ++inserted; else ++duplicates;
}

std::string default_shared_data_dir() {
  const std::string dir = hardware::default_data_dir() + "/../../shared/data";
  std::error_code ec;
  return std::filesystem::is_directory(dir, ec) ? std::filesystem::weakly_canonical(dir).string() : "";
}

ImportReport import_dataset(Store& store, const std::string& dataset, const std::string& root) {
  if (dataset == "timm") return import_timm(store, root);
  if (dataset == "nasbench201" || dataset == "help-nasbench201") return import_nasbench201(store, root);
  if (dataset == "neusight") return import_neusight(store, root);
  throw Error(fmt::format("unknown dataset '{}'; known: timm, nasbench201, neusight", dataset));
}

}  // namespace perfcast::dataset
