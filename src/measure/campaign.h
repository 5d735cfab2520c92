#pragma once
#include <optional>
#include <string>
#include <vector>

#include "measure/profiler.h"

namespace perfcast::measure {

// A profiling campaign: one sweep (the jobs `perfcast profile` would run) split into shards. Each
// shard runs `perfcast profile` on its jobs into its own store DIR/shard-<i>.sqlite, as one task of
// a Slurm job array or as a local process; `perfcast campaign merge` then joins the stores.
//
// DIR holds: campaign.json (the manifest: shards, jobs, submission), campaign.sbatch (the script
// every task runs, usable with sbatch or `bash campaign.sbatch <i>`), shard-<i>.sqlite (+ .work),
// shard-<i>.exit (written when a shard finishes: the number of its `perfcast profile` runs that
// failed), logs/shard-<i>.out.

struct SlurmOptions {
  std::string partition, time, mem, gres;  // "" = the cluster's default
  int cpus_per_task = 0;                   // 0 = the cluster's default
  std::vector<std::string> extra;          // more sbatch options, verbatim ("--account=abc")
  std::string job_name = "perfcast-campaign";
};

struct Campaign {
  std::string dir;            // absolute
  int shards = 1;
  std::vector<ProfileJob> jobs;
  ProfileOptions options;     // python, runner, cpu_device; work_dir is per shard
  std::string perfcast_path;  // the perfcast binary every task runs (absolute)
  SlurmOptions slurm;
};

// Splits jobs into `shards` lists, balancing a rough cost (batch x steps, training 3x inference)
// greedily, largest first; each shard keeps the sweep's order. Deterministic. Throws
// perfcast::Error when shards < 1 or there are fewer jobs than shards.
std::vector<std::vector<ProfileJob>> shard_jobs(const std::vector<ProfileJob>& jobs, int shards);

std::string shard_db_path(const std::string& dir, int shard);
std::string shard_exit_path(const std::string& dir, int shard);

// The `perfcast profile` command line for one job into `db`.
std::vector<std::string> profile_argv(const std::string& perfcast_path, const ProfileJob& job, const std::string& db,
                                      const ProfileOptions& options);

// The script every array task runs (bash; #SBATCH lines carry the array and the Slurm options).
// The shard is $SLURM_ARRAY_TASK_ID, or the first argument outside Slurm.
std::string shard_script(const Campaign& c);

// Writes DIR/campaign.sbatch and DIR/campaign.json. Refuses (perfcast::Error) when DIR already
// holds a campaign with other jobs or another shard count; the same campaign again is a resume
// (each shard skips the jobs its store already has).
void write_campaign(const Campaign& c);

// sbatch --parsable DIR/campaign.sbatch; records the job id in campaign.json and returns it.
// Throws perfcast::Error with sbatch's exit code when it fails.
std::string submit_slurm(const Campaign& c, const std::string& sbatch = "sbatch");

// Runs the shards one after another on this machine (one at a time, so they do not compete for
// the device being measured). Returns each shard's exit code.
std::vector<int> run_local(const Campaign& c);

struct ShardState {
  int shard = 0;
  std::string db;
  std::optional<int> failed_runs;  // from shard-<i>.exit; nullopt while not finished
  int64_t rows = -1;               // rows in its store (-1: no store yet or unreadable)
};

struct CampaignStatus {
  int shards = 0;
  int64_t jobs = 0;
  std::string slurm_job_id;            // "" when run locally or not submitted
  std::vector<ShardState> shard_states;
  std::vector<std::string> queue;      // squeue lines for the job ("12_1 RUNNING localhost")
  std::string queue_error;             // why squeue could not be asked
  bool finished() const;               // every shard wrote its exit file
};

// Reads DIR/campaign.json, the shard files and (when a job id was recorded and squeue is not "") squeue.
CampaignStatus campaign_status(const std::string& dir, const std::string& squeue = "squeue");

}  // namespace perfcast::measure
