#include "measure/campaign.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "common/error.h"
#include "dataset/store.h"
#include "measure/process_runner.h"

namespace perfcast::measure {
namespace fs = std::filesystem;
namespace {

constexpr const char* kFormat = "perfcast campaign 1";

double rough_cost(const ProfileJob& j) {
  return static_cast<double>(j.batch) * (j.warmup + j.iterations) * (j.mode == "training" ? 3.0 : 1.0);
}

std::string quote(const std::string& s) {  // one bash word
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

nlohmann::json job_json(const ProfileJob& j) {
  return {{"model", j.model},   {"batch", j.batch},           {"precision", j.precision},
          {"mode", j.mode},     {"device", j.device},         {"warmup", j.warmup},
          {"iterations", j.iterations}, {"cooldown_s", j.cooldown_s}};
}

std::string manifest_path(const std::string& dir) { return dir + "/campaign.json"; }
std::string script_path(const std::string& dir) { return dir + "/campaign.sbatch"; }

nlohmann::json read_manifest(const std::string& dir) {
  std::ifstream in(manifest_path(dir));
  if (!in) throw Error(fmt::format("'{}' is not a campaign directory: no campaign.json", dir));
  try {
    nlohmann::json j = nlohmann::json::parse(in);
    if (j.value("format", std::string()) != kFormat) throw Error("unknown format");
    return j;
  } catch (const std::exception& e) {
    throw Error(fmt::format("'{}' is not a readable campaign manifest: {}", manifest_path(dir), e.what()));
  }
}

void write_text(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    if (!out) throw Error(fmt::format("cannot write '{}'", tmp));
  }
  fs::rename(tmp, path);
}

// Rows in a shard store, read-only (never creates one); -1 when absent or unreadable.
int64_t count_rows(const std::string& db) {
  if (!fs::exists(db)) return -1;
  sqlite3* h = nullptr;
  int64_t rows = -1;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(h, 2000);
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(h, "SELECT COUNT(*) FROM measurements", -1, &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
      rows = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
  }
  sqlite3_close(h);
  return rows;
}

}  // namespace

std::vector<std::vector<ProfileJob>> shard_jobs(const std::vector<ProfileJob>& jobs, int shards) {
  if (shards < 1) throw Error(fmt::format("--shards {} must be at least 1", shards));
  if (jobs.size() < static_cast<size_t>(shards)) {
    throw Error(fmt::format("the sweep has {} job(s), fewer than --shards {}: use --shards {} or fewer", jobs.size(),
                            shards, jobs.size()));
  }
  std::vector<size_t> order(jobs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return rough_cost(jobs[a]) > rough_cost(jobs[b]); });
  std::vector<double> load(shards, 0);
  std::vector<int> owner(jobs.size(), 0);
  for (size_t i : order) {
    const int s = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
    owner[i] = s;
    load[s] += rough_cost(jobs[i]);
  }
  std::vector<std::vector<ProfileJob>> out(shards);
  for (size_t i = 0; i < jobs.size(); ++i) out[owner[i]].push_back(jobs[i]);
  return out;
}

std::string shard_db_path(const std::string& dir, int shard) { return fmt::format("{}/shard-{}.sqlite", dir, shard); }
std::string shard_exit_path(const std::string& dir, int shard) { return fmt::format("{}/shard-{}.exit", dir, shard); }

std::vector<std::string> profile_argv(const std::string& perfcast_path, const ProfileJob& job, const std::string& db,
                                      const ProfileOptions& options) {
  std::vector<std::string> argv = {perfcast_path, "profile", "--db", db, "--models", job.model,
                                   "--batches", std::to_string(job.batch), "--precisions", job.precision,
                                   "--modes", job.mode, "--device", job.device,
                                   "--warmup", std::to_string(job.warmup), "--iterations", std::to_string(job.iterations),
                                   "--cooldown", fmt::format("{}", job.cooldown_s), "--python", options.python,
                                   "--runner", options.runner.empty() ? default_runner_path() : options.runner,
                                   "--cpu-device", options.cpu_device};
  return argv;
}

std::string shard_script(const Campaign& c) {
  const auto shards = shard_jobs(c.jobs, c.shards);
  std::ostringstream s;
  s << "#!/bin/bash\n";
  s << "#SBATCH --job-name=" << c.slurm.job_name << "\n";
  s << "#SBATCH --array=0-" << c.shards - 1 << "\n";
  s << "#SBATCH --output=" << c.dir << "/logs/shard-%a.out\n";
  if (!c.slurm.partition.empty()) s << "#SBATCH --partition=" << c.slurm.partition << "\n";
  if (!c.slurm.time.empty()) s << "#SBATCH --time=" << c.slurm.time << "\n";
  if (c.slurm.cpus_per_task > 0) s << "#SBATCH --cpus-per-task=" << c.slurm.cpus_per_task << "\n";
  if (!c.slurm.mem.empty()) s << "#SBATCH --mem=" << c.slurm.mem << "\n";
  if (!c.slurm.gres.empty()) s << "#SBATCH --gres=" << c.slurm.gres << "\n";
  for (const auto& e : c.slurm.extra) s << "#SBATCH " << e << "\n";
  s << fmt::format(
      "# Written by `perfcast campaign`: {} jobs in {} shards. Shard i runs `perfcast profile` on its jobs\n"
      "# into {}/shard-i.sqlite; jobs already stored there are skipped, so running a shard again resumes it.\n"
      "# Outside Slurm: bash campaign.sbatch SHARD\n",
      c.jobs.size(), c.shards, c.dir);
  s << "shard=\"${SLURM_ARRAY_TASK_ID:-${1:?usage: bash campaign.sbatch SHARD}}\"\n";
  s << "failed=0\n";
  s << "run() {\n  \"$@\" || failed=$((failed + 1))\n}\n";
  s << "case \"$shard\" in\n";
  for (int i = 0; i < c.shards; ++i) {
    s << "  " << i << ")\n";
    for (const auto& job : shards[i]) {
      s << "    run";
      for (const auto& a : profile_argv(c.perfcast_path, job, shard_db_path(c.dir, i), c.options)) s << " " << quote(a);
      s << "\n";
    }
    s << "    ;;\n";
  }
  s << fmt::format("  *)\n    echo \"campaign.sbatch: no shard $shard (this campaign has shards 0..{})\" >&2\n"
                   "    exit 2\n    ;;\nesac\n",
                   c.shards - 1);
  s << "echo \"$failed\" > " << quote(c.dir) << "/shard-\"$shard\".exit\n";
  s << "[ \"$failed\" -eq 0 ]\n";
  return s.str();
}

void write_campaign(const Campaign& c) {
  if (c.dir.empty() || c.dir.find_first_of(" \t\n%") != std::string::npos) {
    throw Error(fmt::format("--db-dir '{}' must be a path without spaces or '%' (Slurm's #SBATCH lines cannot quote)",
                            c.dir));
  }
  const auto shards = shard_jobs(c.jobs, c.shards);  // validates the shard count
  nlohmann::json jobs = nlohmann::json::array();
  for (int i = 0; i < c.shards; ++i) {
    for (const auto& j : shards[i]) {
      auto o = job_json(j);
      o["shard"] = i;
      jobs.push_back(o);
    }
  }
  nlohmann::json manifest = {{"format", kFormat}, {"shards", c.shards}, {"jobs", jobs},
                             {"created_at", dataset::now_iso8601()}, {"perfcast_version", dataset::perfcast_version()},
                             {"submissions", nlohmann::json::array()}};
  if (fs::exists(manifest_path(c.dir))) {
    const nlohmann::json old = read_manifest(c.dir);
    if (old.value("shards", 0) != c.shards || old["jobs"] != jobs) {
      throw Error(fmt::format("'{}' already holds a campaign with other jobs or another shard count; resume it with the "
                              "same sweep and --shards {}, or use a new --db-dir",
                              c.dir, old.value("shards", 0)));
    }
    manifest["created_at"] = old.value("created_at", manifest["created_at"].get<std::string>());
    manifest["submissions"] = old.value("submissions", nlohmann::json::array());
  }
  fs::create_directories(c.dir + "/logs");
  write_text(script_path(c.dir), shard_script(c));
  fs::permissions(script_path(c.dir), fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                  fs::perm_options::add);
  // A resumed shard must not look finished before it runs again.
  for (int i = 0; i < c.shards; ++i) fs::remove(shard_exit_path(c.dir, i));
  write_text(manifest_path(c.dir), manifest.dump(2) + "\n");
}

namespace {
void record_submission(const std::string& dir, const std::string& kind, const std::string& job_id) {
  nlohmann::json m = read_manifest(dir);
  m["submissions"].push_back({{"kind", kind}, {"job_id", job_id}, {"at", dataset::now_iso8601()}});
  if (kind == "slurm") m["slurm_job_id"] = job_id;
  else m.erase("slurm_job_id");
  write_text(manifest_path(dir), m.dump(2) + "\n");
}
}  // namespace

std::string submit_slurm(const Campaign& c, const std::string& sbatch) {
  const CapturedRun r = run_capture({sbatch, "--parsable", script_path(c.dir)});
  std::string out = r.output;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  if (r.result.exit_code != 0 || out.empty()) {
    throw Error(fmt::format("sbatch failed (exit code {}){}: is Slurm reachable (sinfo), and SLURM_CONF set if needed?",
                            r.result.exit_code, out.empty() ? "" : ": " + out));
  }
  const std::string job_id = out.substr(0, out.find(';'));  // "123" or "123;cluster"
  record_submission(c.dir, "slurm", job_id);
  return job_id;
}

std::vector<int> run_local(const Campaign& c) {
  record_submission(c.dir, "local", "");
  std::vector<int> codes;
  for (int i = 0; i < c.shards; ++i) codes.push_back(run_command({"bash", script_path(c.dir), std::to_string(i)}).exit_code);
  return codes;
}

bool CampaignStatus::finished() const {
  return std::all_of(shard_states.begin(), shard_states.end(), [](const ShardState& s) { return s.failed_runs.has_value(); });
}

CampaignStatus campaign_status(const std::string& dir, const std::string& squeue) {
  const nlohmann::json m = read_manifest(dir);
  CampaignStatus st;
  st.shards = m.value("shards", 0);
  st.jobs = static_cast<int64_t>(m["jobs"].size());
  st.slurm_job_id = m.value("slurm_job_id", std::string());
  for (int i = 0; i < st.shards; ++i) {
    ShardState s;
    s.shard = i;
    s.db = shard_db_path(dir, i);
    s.rows = count_rows(s.db);
    std::ifstream ex(shard_exit_path(dir, i));
    int failed = 0;
    if (ex >> failed) s.failed_runs = failed;
    st.shard_states.push_back(s);
  }
  if (!st.slurm_job_id.empty() && !squeue.empty()) {
    try {
      const CapturedRun r = run_capture({squeue, "-h", "-j", st.slurm_job_id, "-o", "%i %T %R"});
      if (r.result.exit_code != 0) {
        st.queue_error = fmt::format("squeue exited with code {}", r.result.exit_code);
      } else {
        std::istringstream lines(r.output);
        std::string line;
        while (std::getline(lines, line)) {
          if (!line.empty()) st.queue.push_back(line);
        }
      }
    } catch (const Error& e) {
      st.queue_error = e.what();
    }
  }
  return st;
}

}  // namespace perfcast::measure
