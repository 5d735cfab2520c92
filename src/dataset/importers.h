#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "dataset/store.h"

namespace perfcast::dataset {

struct ImportReport {
  std::string dataset;
  int64_t files = 0;
  int64_t inserted = 0;    // new measurement rows
  int64_t duplicates = 0;  // already in the store (re-import)
  int64_t rejected = 0;    // corrupt or partial source rows, not stored
  std::vector<std::string> reasons;  // the first few rejection reasons, with file and line
  void reject(const std::string& why);
  // Validates `measurement` before its configuration is created (a rejected row leaves nothing
  // behind), then stores both and counts the row as inserted or duplicate. Throws perfcast::Error.
  void store_row(Store& store, const ConfigurationRecord& configuration, MeasurementRecord measurement);
};

// Provenance of a shared data folder, from its SOURCE.md: "owner/repo @commit (license)".
std::string source_attribution(const std::string& dir);

// The shared data folder: PERFCAST_DATA_DIR/../../shared/data when it exists, else "".
std::string default_shared_data_dir();

// ROOT/timm/benchmark-*.csv: every file; device from the file name, amp -> fp16, amp_bf16 -> bf16.
ImportReport import_timm(Store& store, const std::string& root);
// ROOT/help-nasbench201/nasbench201_latency_ms.csv: one row per architecture and device column;
// the architecture string is the model id, graph NULL; batch from the _1/_32/_256 suffix, else 0.
ImportReport import_nasbench201(Store& store, const std::string& root);
// ROOT/neusight/labels_summary.csv: end-to-end latency per GPU, model, mode, seq_len, batch.
ImportReport import_neusight(Store& store, const std::string& root);

// Dispatches on "timm" | "nasbench201" | "neusight"; throws perfcast::Error for anything else.
ImportReport import_dataset(Store& store, const std::string& dataset, const std::string& root);

}  // namespace perfcast::dataset
