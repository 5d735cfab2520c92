// `perfcast profile` end to end on the CPU: a tiny resnet18 job through the PyTorch runner, its
// stored row, resume (skip), and a failing job stored as an error row.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include "dataset/store.h"
#include "measure/profiler.h"
#include "support/test_helpers.h"

namespace {

struct Result {
  int status = -1;
  std::string output;
};

Result run(const std::string& args) {
  Result r;
  const std::string cmd =
      "PERFCAST_NVML_LIBRARY=/nonexistent OMP_NUM_THREADS=1 " + std::string(PERFCAST_CLI_PATH) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buffer{};
  size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) r.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace

TEST(ProfilerCli, Resnet18OnCpuStoresOneRowAndResumes) {
  const auto dir = std::filesystem::temp_directory_path() / ("perfcast-profile-test-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string db = (dir / "p.db").string();
  const std::string common = "profile --db " + db + " --batches 1 --iterations 2 --warmup 1 --device cpu";
  Result r = run(common + " --models resnet18");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("1 measured, 0 skipped, 0 failed"), std::string::npos) << r.output;
  {
    perfcast::dataset::Store s(db);
    EXPECT_EQ(s.count("measurements", "status = 'ok' AND latency_ms > 0 AND throughput_per_s > 0 AND energy_j > 0 "
                                      "AND source = 'perfcast profile' AND framework = 'pytorch'"),
              1);
    // The exported graph is hashed and summarised: resnet18 has ~1.8 GMACs and 11.7 M parameters.
    EXPECT_EQ(s.count("graphs", "length(hash) = 16 AND macs > 1.7e9 AND macs < 1.9e9 AND params > 11000000"), 1);
    EXPECT_EQ(s.count("configurations", "model = 'resnet18' AND graph_id IS NOT NULL"), 1);
  }
  // Resume: the stored job is skipped; a model torchvision lacks is stored as an error row.
  r = run(common + " --models resnet18,no_such_net");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("0 measured, 1 skipped, 1 failed"), std::string::npos) << r.output;
  perfcast::dataset::Store s(db);
  EXPECT_EQ(s.count("measurements", "status = 'error' AND error LIKE '%no_such_net%'"), 1);
  EXPECT_EQ(s.count("measurements"), 2);
}

TEST(ProfilerJobs, ExpandAndValidate) {
  using perfcast::measure::expand_jobs;
  const auto jobs = expand_jobs({"a", "b"}, {1, 2}, {"fp32"}, {"inference", "training"}, "cpu", 1, 2, 0);
  EXPECT_EQ(jobs.size(), 8u);
  EXPECT_EQ(jobs[1].mode, "training");
  EXPECT_NE(perfcast::testing::error_of([] { expand_jobs({"a"}, {0}, {"fp32"}, {"inference"}, "cpu", 1, 2, 0); })
                .find("batch 0"),
            std::string::npos);
  EXPECT_NE(perfcast::testing::error_of([] { expand_jobs({"a"}, {1}, {"int4"}, {"inference"}, "cpu", 1, 2, 0); })
                .find("int4"),
            std::string::npos);
}
