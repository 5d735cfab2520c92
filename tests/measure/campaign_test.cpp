// Campaigns without a cluster: sharding, the generated sbatch script, the manifest and resume
// rules, local runs and submission through stand-ins for perfcast, sbatch and squeue.
#include "measure/campaign.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "support/test_helpers.h"

namespace perfcast::measure {
namespace {

namespace fs = std::filesystem;

std::string temp_dir(const std::string& name) { return perfcast::testing::fresh_temp_dir("perfcast-campaign-test", name); }

std::string read(const std::string& path) { return perfcast::testing::read_text(path); }

void write_script(const std::string& path, const std::string& body) {
  std::ofstream(path) << "#!/bin/sh\n" << body;
  fs::permissions(path, fs::perms::owner_all);
}

std::vector<ProfileJob> sweep() {
  return expand_jobs({"resnet18", "mobilenet_v2", "vgg11"}, {1, 8, 64}, {"fp32"}, {"inference", "training"}, "cpu", 1, 3,
                     0);
}

TEST(CampaignShards, EveryJobExactlyOnceBalancedAndDeterministic) {
  const auto jobs = sweep();  // 18 jobs
  const auto shards = shard_jobs(jobs, 4);
  ASSERT_EQ(shards.size(), 4u);
  std::multiset<std::string> seen;
  std::vector<double> cost;
  for (const auto& s : shards) {
    EXPECT_FALSE(s.empty());
    double c = 0;
    for (const auto& j : s) {
      seen.insert(j.model + "/" + std::to_string(j.batch) + "/" + j.mode);
      c += j.batch * (j.mode == "training" ? 3 : 1);
    }
    cost.push_back(c);
  }
  EXPECT_EQ(seen.size(), jobs.size());
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), jobs.size());
  // Batch-64 training jobs dominate; greedy largest-first spreads them: no shard gets 2x another's work.
  const auto [lo, hi] = std::minmax_element(cost.begin(), cost.end());
  EXPECT_LT(*hi, 2 * *lo) << *lo << " .. " << *hi;
  // The same sweep shards the same way (a resubmission resumes the same shards).
  const auto again = shard_jobs(jobs, 4);
  for (size_t i = 0; i < shards.size(); ++i) {
    ASSERT_EQ(again[i].size(), shards[i].size());
    for (size_t k = 0; k < shards[i].size(); ++k) EXPECT_EQ(again[i][k].model, shards[i][k].model);
  }
  // Within a shard the sweep's order is kept.
  for (const auto& s : shards) {
    for (size_t k = 1; k < s.size(); ++k) {
      const auto pos = [&](const ProfileJob& j) {
        for (size_t i = 0; i < jobs.size(); ++i)
          if (jobs[i].model == j.model && jobs[i].batch == j.batch && jobs[i].mode == j.mode) return i;
        return jobs.size();
      };
      EXPECT_LT(pos(s[k - 1]), pos(s[k]));
    }
  }
  EXPECT_EQ(shard_jobs(jobs, 1)[0].size(), jobs.size());
}

TEST(CampaignShards, BadShardCounts) {
  const auto jobs = expand_jobs({"resnet18"}, {1, 2}, {"fp32"}, {"inference"}, "cpu", 1, 1, 0);
  EXPECT_NE(testing::error_of([&] { shard_jobs(jobs, 0); }).find("at least 1"), std::string::npos);
  EXPECT_NE(testing::error_of([&] { shard_jobs(jobs, 3); }).find("use --shards 2 or fewer"), std::string::npos);
}

Campaign make_campaign(const std::string& dir, const std::string& perfcast_path, int shards = 2) {
  Campaign c;
  c.dir = dir;
  c.shards = shards;
  c.jobs = expand_jobs({"resnet18", "no_such_net"}, {1, 2}, {"fp32"}, {"inference"}, "cpu", 1, 2, 0);
  c.options.runner = "/opt/runner.py";
  c.perfcast_path = perfcast_path;
  c.slurm.partition = "gpu";
  c.slurm.time = "00:30:00";
  c.slurm.gres = "gpu:1";
  c.slurm.extra = {"--account=proj1"};
  return c;
}

TEST(CampaignScript, SbatchHeaderAndOneProfileRunPerJob) {
  const std::string dir = temp_dir("script");
  const std::string text = shard_script(make_campaign(dir, "/usr/bin/perfcast"));
  for (const std::string& line : std::vector<std::string>{"#SBATCH --array=0-1", "#SBATCH --partition=gpu", "#SBATCH --time=00:30:00",
                                 "#SBATCH --gres=gpu:1", "#SBATCH --account=proj1",
                                 "#SBATCH --output=" + dir + "/logs/shard-%a.out",
                                 "shard=\"${SLURM_ARRAY_TASK_ID:-${1:?"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  }
  size_t runs = 0;
  for (size_t p = 0; (p = text.find("    run '/usr/bin/perfcast' 'profile'", p)) != std::string::npos; ++p) ++runs;
  EXPECT_EQ(runs, 4u);
  EXPECT_NE(text.find("'--db' '" + dir + "/shard-0.sqlite' '--models' 'resnet18' '--batches' '2'"), std::string::npos)
      << text;
  EXPECT_NE(text.find("'--runner' '/opt/runner.py'"), std::string::npos);
  EXPECT_EQ(text.find("#SBATCH --mem"), std::string::npos);  // not given: the cluster's default
}

TEST(CampaignLocal, RunsEveryShardWritesExitFilesAndResumes) {
  const std::string dir = temp_dir("local");
  // A stand-in perfcast: logs its arguments, fails for one model.
  const std::string fake = dir + "/fake-perfcast";
  write_script(fake, "echo \"$@\" >> " + dir + "/calls.log\ncase \"$*\" in *no_such_net*) exit 1;; esac\n");
  Campaign c = make_campaign(dir, fake);
  write_campaign(c);
  EXPECT_TRUE(fs::exists(dir + "/campaign.sbatch"));
  const auto manifest = nlohmann::json::parse(read(dir + "/campaign.json"));
  EXPECT_EQ(manifest["shards"], 2);
  EXPECT_EQ(manifest["jobs"].size(), 4u);

  const auto codes = run_local(c);
  ASSERT_EQ(codes.size(), 2u);
  const std::string calls = read(dir + "/calls.log");
  EXPECT_EQ(std::count(calls.begin(), calls.end(), '\n'), 4) << calls;
  EXPECT_NE(calls.find("profile --db " + dir + "/shard-0.sqlite"), std::string::npos) << calls;
  EXPECT_NE(calls.find("profile --db " + dir + "/shard-1.sqlite"), std::string::npos) << calls;
  const CampaignStatus st = campaign_status(dir);
  EXPECT_TRUE(st.finished());
  EXPECT_TRUE(st.slurm_job_id.empty());
  int failing_runs = 0;
  for (const auto& s : st.shard_states) failing_runs += s.failed_runs.value_or(0);
  EXPECT_EQ(failing_runs, 2);  // no_such_net at batch 1 and 2, wherever they landed
  EXPECT_EQ(codes[0] + codes[1], (st.shard_states[0].failed_runs > 0) + (st.shard_states[1].failed_runs > 0));

  // The same campaign again is a resume: exit files cleared until the shards run again.
  write_campaign(c);
  EXPECT_FALSE(campaign_status(dir).finished());
  // Another sweep or shard count in the same directory is refused.
  Campaign other = c;
  other.shards = 1;
  EXPECT_NE(testing::error_of([&] { write_campaign(other); }).find("already holds a campaign"), std::string::npos);
  other = c;
  other.jobs.pop_back();
  EXPECT_NE(testing::error_of([&] { write_campaign(other); }).find("already holds a campaign"), std::string::npos);
  EXPECT_NE(testing::error_of([&] {
              Campaign spaced = c;
              spaced.dir = dir + "/with space";
              write_campaign(spaced);
            }).find("without spaces"),
            std::string::npos);
}

TEST(CampaignSubmit, SbatchJobIdIsRecordedAndStatusAsksSqueue) {
  const std::string dir = temp_dir("submit");
  const std::string sbatch = dir + "/fake-sbatch", squeue = dir + "/fake-squeue";
  write_script(sbatch, "echo \"$@\" > " + dir + "/sbatch.args\necho '4242;perfcast-local'\n");
  write_script(squeue, "echo \"$@\" > " + dir + "/squeue.args\necho '4242_0 RUNNING localhost'\n");
  Campaign c = make_campaign(dir, "/usr/bin/perfcast");
  write_campaign(c);
  EXPECT_EQ(submit_slurm(c, sbatch), "4242");
  EXPECT_EQ(read(dir + "/sbatch.args"), "--parsable " + dir + "/campaign.sbatch\n");
  const auto manifest = nlohmann::json::parse(read(dir + "/campaign.json"));
  EXPECT_EQ(manifest["slurm_job_id"], "4242");
  const CampaignStatus st = campaign_status(dir, squeue);
  EXPECT_EQ(st.slurm_job_id, "4242");
  ASSERT_EQ(st.queue.size(), 1u);
  EXPECT_EQ(st.queue[0], "4242_0 RUNNING localhost");
  EXPECT_NE(read(dir + "/squeue.args").find("-j 4242"), std::string::npos);
  EXPECT_FALSE(st.finished());

  write_script(sbatch, "echo 'sbatch: error: invalid partition specified: gpu' >&2\nexit 1\n");
  const std::string err = testing::error_of([&] { submit_slurm(c, sbatch); });
  EXPECT_NE(err.find("sbatch failed (exit code 1)"), std::string::npos) << err;
}

}  // namespace
}  // namespace perfcast::measure
