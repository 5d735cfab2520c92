// `perfcast campaign` on a real single-node Slurm cluster (slurmctld + slurmd + munged on
// localhost, started by scripts/slurm/start-local-cluster.sh): a 2-shard CPU campaign of tiny
// torchvision models submitted as a job array, waited for, merged. Needs root and Debian's
// slurm-wlm + munge; without them the test fails with the reason, unless PERFCAST_SKIP_SLURM=1.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>

#include "dataset/store.h"
#include "support/cli_runner.h"

namespace {

namespace fs = std::filesystem;
using perfcast::testing::CliRun;

CliRun shell(const std::string& command) {
  CliRun r;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  char buffer[4096];
  size_t n = 0;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) r.output.append(buffer, n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string scripts_dir() { return (fs::path(PERFCAST_DATA_DIR).parent_path() / "scripts/slurm").string(); }

// Stops the cluster at the end when this test started it.
struct ClusterGuard {
  bool started_here = false;
  ~ClusterGuard() {
    if (started_here) shell("bash " + scripts_dir() + "/stop-local-cluster.sh");
  }
};

}  // namespace

TEST(CampaignSlurm, TwoShardCpuCampaignOnALocalCluster) {
  const char* skip_env = std::getenv("PERFCAST_SKIP_SLURM");
  const bool may_skip = skip_env && std::string(skip_env) == "1";
  ClusterGuard guard;
  const CliRun start = shell("bash " + scripts_dir() + "/start-local-cluster.sh");
  if (start.exit_code != 0) {
    if (may_skip) GTEST_SKIP() << "Slurm could not be started (PERFCAST_SKIP_SLURM=1): " << start.output;
    FAIL() << "Slurm could not be started (set PERFCAST_SKIP_SLURM=1 to skip this test):\n" << start.output;
  }
  guard.started_here = start.output.find("already running") == std::string::npos;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(start.output, m, std::regex("SLURM_CONF=(\\S+)"))) << start.output;
  const std::string env = "SLURM_CONF=" + m[1].str() + " PERFCAST_NVML_LIBRARY=/nonexistent OMP_NUM_THREADS=1";

  const fs::path dir = fs::temp_directory_path() / ("perfcast-campaign-slurm-" + std::to_string(getpid()));
  fs::remove_all(dir);
  // Two tiny real models and one torchvision lacks (stored as an error row, the user told).
  CliRun r = perfcast::testing::run_cli("campaign submit --shards 2 --db-dir " + dir.string() +
                                            " --models mobilenet_v3_small,squeezenet1_1,no_such_net --batches 1 "
                                            "--warmup 0 --iterations 1 --cpus-per-task 1 --time 00:05:00",
                                        env);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex("submitted Slurm job array (\\d+)"))) << r.output;
  const std::string job_id = m[1].str();

  // The array runs, then leaves the queue; status --wait bounds the wait.
  r = perfcast::testing::run_cli("campaign status " + dir.string() + " --wait 90", env);
  ASSERT_EQ(r.exit_code, 0) << r.output << "\n" << shell("cat " + dir.string() + "/logs/*").output;
  EXPECT_NE(r.output.find("Slurm job " + job_id), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("shard 0: finished"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("shard 1: finished"), std::string::npos) << r.output;
  const CliRun queue = shell(env + " squeue -h -j " + job_id);
  EXPECT_EQ(queue.output.find(job_id + "_"), std::string::npos) << queue.output;
  // Each array task wrote its own store and log.
  int64_t shard_rows = 0;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(fs::exists(dir / ("logs/shard-" + std::to_string(i) + ".out"))) << i;
    perfcast::dataset::Store s((dir / ("shard-" + std::to_string(i) + ".sqlite")).string());
    EXPECT_GE(s.count("measurements"), 1) << i;
    shard_rows += s.count("measurements");
  }
  EXPECT_EQ(shard_rows, 3);

  const std::string merged = (dir / "merged.sqlite").string();
  r = perfcast::testing::run_cli("campaign merge " + dir.string() + " --db " + merged, env);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("3 rows merged"), std::string::npos) << r.output;
  {
    perfcast::dataset::Store s(merged);
    EXPECT_EQ(s.count("measurements"), 3);
    EXPECT_EQ(s.count("devices"), 1);
    // Every row once, with its provenance: source, user@host, time, framework, the Slurm task that measured it.
    const std::string provenance =
        "source = 'perfcast profile' AND who LIKE '%@%' AND who NOT LIKE 'unknown@%' AND recorded_at LIKE '20%Z' AND "
        "framework = 'pytorch' AND notes LIKE '%Slurm job " + job_id + "\\_%' ESCAPE '\\'";
    EXPECT_EQ(s.count("measurements", provenance), 3);
    for (const char* model : {"mobilenet_v3_small", "squeezenet1_1"}) {
      EXPECT_EQ(s.count("measurements m JOIN configurations c ON c.id = m.configuration_id JOIN graphs g ON "
                        "g.id = c.graph_id",
                        std::string("c.model = '") + model + "' AND m.status = 'ok' AND m.latency_ms > 0 AND "
                                                             "length(g.hash) = 16 AND g.macs > 0"),
                1)
          << model;
    }
    EXPECT_EQ(s.count("measurements", "status = 'error' AND error LIKE '%no_such_net%'"), 1);
  }
  // Merging again adds nothing.
  r = perfcast::testing::run_cli("campaign merge " + dir.string() + " --db " + merged, env);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("0 rows merged"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("3 duplicates skipped"), std::string::npos) << r.output;
  fs::remove_all(dir);
}
