#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <regex>
#include <thread>

#include "commands.h"
#include "sweep_flags.h"
#include "common/error.h"
#include "dataset/store.h"
#include "dataset/store_merge.h"
#include "measure/campaign.h"

namespace perfcast::cli {
namespace fs = std::filesystem;
namespace {

struct SubmitArgs {
  std::string db_dir;
  int shards = 0;
  SweepFlags sweep;
  measure::SlurmOptions slurm;
  bool local = false;
  bool dry_run = false;
  std::string sbatch = "sbatch";
};

struct MergeArgs {
  std::string dir, db;
};

struct StatusArgs {
  std::string dir;
  double wait_s = 0;
  std::string squeue = "squeue";
};

std::string absolute(const std::string& p) { return fs::absolute(p).lexically_normal().string(); }

// The shard stores of DIR: shards 0..K-1 from its manifest, else every shard-<i>.sqlite in it.
std::vector<std::string> shard_paths(const std::string& dir, std::vector<std::string>& notes) {
  std::vector<std::string> paths;
  try {
    const auto st = measure::campaign_status(dir, "");
    for (const auto& s : st.shard_states) {
      paths.push_back(s.db);
      if (!s.failed_runs) {
        notes.push_back(fmt::format("shard {} has not finished (no {}): its finished rows are merged; merge again "
                                    "when it ends", s.shard, measure::shard_exit_path(dir, s.shard)));
      }
    }
    return paths;
  } catch (const Error&) {
    if (fs::exists(dir + "/campaign.json")) throw;
  }
  if (!fs::is_directory(dir)) throw Error(fmt::format("campaign directory '{}' not found", dir));
  const std::regex shard_file(R"(shard-(\d+)\.sqlite)");
  std::vector<std::pair<int, std::string>> found;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (std::regex_match(name, m, shard_file)) found.emplace_back(std::stoi(m[1]), e.path().string());
  }
  std::sort(found.begin(), found.end());
  for (auto& [_, p] : found) paths.push_back(p);
  if (paths.empty()) throw Error(fmt::format("'{}' has no campaign.json and no shard-<i>.sqlite files", dir));
  return paths;
}

void add_submit(CLI::App& parent) {
  auto a = std::make_shared<SubmitArgs>();
  CLI::App* cmd = parent.add_subcommand(
      "submit",
      "Split a profiling sweep (the options of `perfcast profile`) into shards and submit them as a Slurm job array "
      "(sbatch --array), or run them here with --local; shard i stores into DIR/shard-i.sqlite");
  cmd->add_option("--shards", a->shards, "Number of shards (array tasks)")->required();
  cmd->add_option("--db-dir", a->db_dir, "Campaign directory on a file system every node sees")->required();
  add_sweep_flags(*cmd, a->sweep, "Python with torch + torchvision on the compute nodes");
  cmd->add_option("--partition,-p", a->slurm.partition, "Slurm partition");
  cmd->add_option("--time,-t", a->slurm.time, "Slurm time limit per array task (e.g. 01:00:00)");
  cmd->add_option("--cpus-per-task", a->slurm.cpus_per_task, "Slurm CPUs per array task");
  cmd->add_option("--mem", a->slurm.mem, "Slurm memory per node (e.g. 16G)");
  cmd->add_option("--gres", a->slurm.gres, "Slurm generic resources (e.g. gpu:1)");
  cmd->add_option("--sbatch-arg", a->slurm.extra, "Another sbatch option, verbatim (repeatable): --account=abc");
  cmd->add_option("--sbatch", a->sbatch, "The sbatch command (default sbatch)");
  cmd->add_flag("--local", a->local, "Run the shards here, one after another, without Slurm");
  cmd->add_flag("--dry-run", a->dry_run, "Write campaign.sbatch and campaign.json, submit nothing");
  cmd->callback([a] {
    measure::Campaign c;
    c.dir = absolute(a->db_dir);
    c.shards = a->shards;
    c.jobs = expand_sweep(a->sweep);
    c.options = a->sweep.options;
    c.options.runner = absolute(c.options.runner.empty() ? measure::default_runner_path() : c.options.runner);
    c.perfcast_path = fs::canonical("/proc/self/exe").string();
    c.slurm = a->slurm;
    measure::write_campaign(c);
    const auto shards = measure::shard_jobs(c.jobs, c.shards);
    std::cout << fmt::format("campaign {}: {} jobs in {} shards (", c.dir, c.jobs.size(), c.shards);
    for (int i = 0; i < c.shards; ++i) std::cout << (i ? ", " : "") << shards[i].size();
    std::cout << " jobs); script " << c.dir << "/campaign.sbatch" << std::endl;
    if (a->dry_run) return;
    if (a->local) {
      const auto codes = measure::run_local(c);
      int failed = 0;
      for (size_t i = 0; i < codes.size(); ++i) {
        if (codes[i] != 0) ++failed;
        std::cout << fmt::format("shard {}: exit code {}\n", i, codes[i]);
      }
      std::cout << fmt::format("merge with: perfcast campaign merge {} --db OUT.sqlite\n", c.dir);
      if (failed) {
        throw Error(fmt::format("{} of {} shards had failing `perfcast profile` runs (see above); finished rows are "
                                "stored, run the same command again to resume",
                                failed, c.shards));
      }
      return;
    }
    const std::string job_id = measure::submit_slurm(c, a->sbatch);
    std::cout << fmt::format("submitted Slurm job array {} (tasks 0-{}); logs in {}/logs/\n"
                             "follow with: perfcast campaign status {}\n"
                             "then:        perfcast campaign merge {} --db OUT.sqlite\n",
                             job_id, c.shards - 1, c.dir, c.dir, c.dir);
  });
}

void add_status(CLI::App& parent) {
  auto a = std::make_shared<StatusArgs>();
  CLI::App* cmd = parent.add_subcommand(
      "status", "Shards finished, rows stored, and the Slurm queue (squeue); exit code 0 when every shard finished "
                "cleanly, 3 while some are queued or running, 1 when some failed or vanished");
  cmd->add_option("dir", a->dir, "Campaign directory")->required();
  cmd->add_option("--wait", a->wait_s, "Poll until every shard finished, at most this many seconds");
  cmd->add_option("--squeue", a->squeue, "The squeue command (default squeue)");
  cmd->callback([a] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(a->wait_s);
    measure::CampaignStatus st = measure::campaign_status(a->dir, a->squeue);
    while (!st.finished() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      st = measure::campaign_status(a->dir, a->squeue);
    }
    std::cout << fmt::format("campaign {}: {} jobs in {} shards{}\n", a->dir, st.jobs, st.shards,
                             st.slurm_job_id.empty() ? "" : ", Slurm job " + st.slurm_job_id);
    int failed = 0, lost = 0, pending = 0;
    for (const auto& s : st.shard_states) {
      const bool queued = std::any_of(st.queue.begin(), st.queue.end(), [&](const std::string& q) {
        return q.rfind(fmt::format("{}_{} ", st.slurm_job_id, s.shard), 0) == 0 ||
               (q.rfind(st.slurm_job_id + "_[", 0) == 0);  // pending tasks shown as a range
      });
      std::string state;
      if (s.failed_runs) {
        state = *s.failed_runs == 0 ? "finished" : fmt::format("finished, {} profile run(s) failed", *s.failed_runs);
        if (*s.failed_runs) ++failed;
      } else if (queued) {
        state = "queued or running";
        ++pending;
      } else if (st.slurm_job_id.empty() || st.queue_error.empty()) {
        state = "not finished and not in the queue: killed, timed out or not started; see logs/, then run the same "
                "submit command again to resume";
        ++lost;
      } else {
        state = "not finished (queue unknown: " + st.queue_error + ")";
        ++pending;
      }
      std::cout << fmt::format("  shard {}: {}; {}\n", s.shard, state,
                               s.rows < 0 ? std::string("no store yet") : fmt::format("{} rows stored", s.rows));
    }
    for (const auto& q : st.queue) std::cout << "  squeue: " << q << "\n";
    std::cout.flush();
    if (failed || lost) throw CLI::RuntimeError(1);
    if (pending) throw CLI::RuntimeError(3);
  });
}

void add_merge(CLI::App& parent) {
  auto a = std::make_shared<MergeArgs>();
  CLI::App* cmd = parent.add_subcommand(
      "merge", "Merge the shard stores of a campaign into one store, without duplicates (same configuration, device "
               "and source: one row), keeping each row's provenance; conflicting rows are reported");
  cmd->add_option("dir", a->dir, "Campaign directory")->required();
  cmd->add_option("--db", a->db, "The merged store (created or added to)")->required();
  cmd->callback([a] {
    std::vector<std::string> notes;
    const auto paths = shard_paths(a->dir, notes);
    dataset::Store out(a->db);
    const dataset::MergeReport rep = dataset::merge_stores(paths, out);
    int bad = 0;
    for (const auto& s : rep.shards) {
      if (s.ok) {
        std::cout << fmt::format("{}: {} rows: {} added, {} replaced an error row, {} duplicate, {} superseded, {} "
                                 "conflicting, {} rejected\n",
                                 s.path, s.rows, s.added, s.replaced, s.duplicates, s.superseded, s.conflicts,
                                 s.rejected);
      } else {
        ++bad;
        std::cout << fmt::format("{}: NOT MERGED: {}\n", s.path, s.error);
      }
    }
    for (const auto& c : rep.conflicts) std::cout << "conflict: " << c << "\n";
    for (const auto& r : rep.rejected) std::cout << "rejected: " << r << "\n";
    for (const auto& n : notes) std::cout << "note: " << n << "\n";
    std::cout << fmt::format("{} rows merged into {} ({} duplicates skipped, {} conflicts); it has {} measurements\n",
                             rep.added(), a->db, rep.duplicates(), rep.conflict_count(), out.count("measurements"));
    std::cout.flush();
    if (bad) {
      throw Error(fmt::format("{} of {} shard stores could not be merged (listed above); the others were", bad,
                              rep.shards.size()));
    }
  });
}

}  // namespace

void register_campaign(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "campaign", "Profiling campaigns: a sweep split into shards run as a Slurm job array, then merged");
  cmd->require_subcommand(1);
  add_submit(*cmd);
  add_status(*cmd);
  add_merge(*cmd);
}

}  // namespace perfcast::cli
