// Importers of the shared datasets: small fixture folders with the real files' layout, and the
// real neusight summary when the shared data is present.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "dataset/importers.h"
#include "support/test_helpers.h"

using namespace perfcast;
using namespace perfcast::dataset;
namespace fs = std::filesystem;

namespace {

fs::path fixture_root() {
  const fs::path root = fs::temp_directory_path() / ("perfcast-import-test-" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "timm");
  fs::create_directories(root / "help-nasbench201");
  std::ofstream(root / "timm/SOURCE.md")
      << "- **Source repo:** https://github.com/huggingface/pytorch-image-models\n"
         "- **Snapshot commit:** `aa4b5850c1543fa488abf260f18390eda46cf85d`\n"
         "- **License:** Apache License 2.0, as stated\n";
  std::ofstream(root / "timm/benchmark-infer-amp-nchw-pt240-cu124-rtx4090.csv")
      << "model,infer_samples_per_sec,infer_step_time,infer_batch_size,infer_img_size,infer_gmacs,infer_macts,"
         "param_count\n"
         "resnet18,10000.5,25.6,256,224,1.82,2.48,11.69\n"
         "broken,,,256,224,1,1,1\n"
         "negative,100,-3,256,224,1,1,1\n";
  std::ofstream(root / "timm/benchmark-train-amp-nhwc-pt112-cu113-rtx3090.csv")
      << "model,train_samples_per_sec,train_step_time,train_batch_size,train_img_size,param_count\n"
         "resnet18,2000,256.0,512,224,11.69\n";
  std::ofstream(root / "help-nasbench201/nasbench201_latency_ms.csv")
      << "arch_index,arch_str,1080ti_1,1080ti_32,gold_6226,pixel3\n"
         "0,|a~0|+|b~0|,10.5,7.6,10.2,9\n"
         "1,|c~0|+|d~0|,12.9,10.4,15.1,17\n";
  return root;
}

std::string temp_db(const fs::path& root) { return (root / "store.db").string(); }

}  // namespace

TEST(Import, TimmFilesWithDeviceAndPrecisionFromTheName) {
  const fs::path root = fixture_root();
  Store store(temp_db(root));
  const ImportReport r = import_timm(store, root.string());
  EXPECT_EQ(r.files, 2);
  EXPECT_EQ(r.inserted, 2);
  EXPECT_EQ(r.rejected, 2);
  ASSERT_EQ(r.reasons.size(), 2u);
  EXPECT_NE(r.reasons[1].find("latency_ms is negative"), std::string::npos) << r.reasons[1];
  EXPECT_EQ(store.count("devices", "name IN ('rtx-4090', 'rtx-3090')"), 2);
  EXPECT_EQ(store.count("configurations", "precision = 'fp16' AND mode = 'training' AND batch = 512"), 1);
  EXPECT_EQ(store.count("measurements", "framework_version = '2.4.0' AND driver = 'CUDA 12.4' AND "
                                        "who LIKE 'huggingface/pytorch-image-models @aa4b5850c154 (Apache License 2.0)'"),
            1);
  // Re-import: nothing duplicated.
  const ImportReport again = import_timm(store, root.string());
  EXPECT_EQ(again.inserted, 0);
  EXPECT_EQ(again.duplicates, 2);
  EXPECT_EQ(store.count("measurements"), 2);
}

TEST(Import, NasBench201ArchitecturesWithoutGraphs) {
  const fs::path root = fixture_root();
  Store store(temp_db(root));
  const ImportReport r = import_nasbench201(store, root.string());
  EXPECT_EQ(r.inserted, 8);
  EXPECT_EQ(r.rejected, 0);
  EXPECT_EQ(store.count("devices"), 3);  // 1080ti (two batches), gold_6226, pixel3
  EXPECT_EQ(store.count("configurations", "graph_id IS NULL"), store.count("configurations"));
  EXPECT_EQ(store.count("configurations", "model = 'nasbench201:|a~0|+|b~0|' AND batch = 32"), 1);
  EXPECT_EQ(import_nasbench201(store, root.string()).duplicates, 8);
  EXPECT_EQ(store.count("measurements"), 8);
}

TEST(Import, NeuSightLabelsFromTheSharedData) {
  const std::string shared = default_shared_data_dir();
  if (shared.empty() || !fs::exists(shared + "/neusight/labels_summary.csv")) GTEST_SKIP() << "no shared data";
  const fs::path root = fixture_root();
  Store store(temp_db(root));
  const ImportReport r = import_neusight(store, shared);
  EXPECT_EQ(r.inserted + r.rejected, 69);
  EXPECT_EQ(r.rejected, 0);
  EXPECT_EQ(store.count("devices", "name = 'v100-pcie-32gb'"), 1);
  EXPECT_EQ(store.count("configurations", "model = 'bert_large' AND seq_len = 512 AND batch = 16"), 1);
}

TEST(Import, UnknownDatasetNamesTheKnownOnes) {
  const fs::path root = fixture_root();
  Store store(temp_db(root));
  EXPECT_NE(perfcast::testing::error_of([&] { import_dataset(store, "mlperf", root.string()); }).find("timm, nasbench201"),
            std::string::npos);
}
