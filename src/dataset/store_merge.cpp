#include "dataset/store_merge.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <filesystem>
#include <optional>

#include "common/error.h"

namespace perfcast::dataset {
namespace {

struct Row {
  ConfigurationRecord conf;
  std::optional<GraphRecord> graph;
  DeviceRecord device;
  MeasurementRecord m;
};

// A read-only connection to one shard; never creates or modifies the file.
class ShardReader {
 public:
  explicit ShardReader(const std::string& path) : path_(path) {
    if (!std::filesystem::exists(path)) throw Error("file not found");
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      throw Error(fmt::format("cannot open: {}", db_ ? sqlite3_errmsg(db_) : "out of memory"));
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  ~ShardReader() {
    sqlite3_finalize(stmt_);
    sqlite3_close(db_);
  }

  int schema_version() {
    prepare("SELECT MAX(version) FROM schema_version");
    if (sqlite3_step(stmt_) != SQLITE_ROW) fail();
    return sqlite3_column_int(stmt_, 0);
  }

  std::vector<Row> rows() {
    prepare(
        "SELECT c.model, c.batch, c.seq_len, c.precision, c.mode, c.variant, g.hash, g.onnx_path, g.nodes, g.macs, "
        "g.params, d.name, d.kind, d.driver, d.spec, m.latency_ms, m.throughput_per_s, m.peak_memory_bytes, "
        "m.energy_j, m.avg_power_w, m.status, m.error, m.source, m.source_key, m.who, m.recorded_at, m.framework, "
        "m.framework_version, m.driver, m.perfcast_version, m.notes FROM measurements m JOIN configurations c ON "
        "c.id = m.configuration_id JOIN devices d ON d.id = m.device_id LEFT JOIN graphs g ON g.id = c.graph_id "
        "ORDER BY m.id");
    std::vector<Row> out;
    int rc;
    while ((rc = sqlite3_step(stmt_)) == SQLITE_ROW) {
      Row r;
      r.conf.model = text(0);
      r.conf.batch = sqlite3_column_int64(stmt_, 1);
      r.conf.seq_len = sqlite3_column_int64(stmt_, 2);
      r.conf.precision = text(3);
      r.conf.mode = text(4);
      r.conf.variant = text(5);
      if (sqlite3_column_type(stmt_, 6) != SQLITE_NULL) {
        GraphRecord g;
        g.hash = text(6);
        g.onnx_path = text(7);
        g.nodes = sqlite3_column_int64(stmt_, 8);
        g.macs = sqlite3_column_double(stmt_, 9);
        g.params = sqlite3_column_int64(stmt_, 10);
        r.graph = g;
      }
      r.device = {text(11), text(12), text(13), text(14)};
      r.m.latency_ms = real(15);
      r.m.throughput_per_s = real(16);
      r.m.peak_memory_bytes = real(17);
      r.m.energy_j = real(18);
      r.m.avg_power_w = real(19);
      r.m.status = text(20);
      r.m.error = text(21);
      r.m.provenance = {text(22), text(23), text(24), text(25), text(26), text(27), text(28), text(29)};
      r.m.notes = text(30);
      out.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE) fail();
    return out;
  }

 private:
  void prepare(const char* sql) {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt_, nullptr) != SQLITE_OK) fail();
  }
  [[noreturn]] void fail() {
    const std::string why = sqlite3_errmsg(db_);
    if (why.find("no such table") != std::string::npos || why.find("no such column") != std::string::npos) {
      throw Error(fmt::format("not a perfcast measurement store ({})", why));
    }
    throw Error(why);
  }
  std::string text(int i) {
    const unsigned char* t = sqlite3_column_text(stmt_, i);
    return t ? reinterpret_cast<const char*>(t) : "";
  }
  std::optional<double> real(int i) {
    if (sqlite3_column_type(stmt_, i) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_double(stmt_, i);
  }

  std::string path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

struct Existing {
  std::string status, error, recorded_at, who;
  std::optional<double> latency_ms, throughput_per_s, peak_memory_bytes, energy_j, avg_power_w;
};

std::optional<double> column_real(sqlite3_stmt* s, int i) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_double(s, i);
}
std::string column_text(sqlite3_stmt* s, int i) {
  const unsigned char* t = sqlite3_column_text(s, i);
  return t ? reinterpret_cast<const char*>(t) : "";
}

// One prepared statement on the output store, finalised when done.
struct OutQuery {
  sqlite3* db;
  sqlite3_stmt* s = nullptr;
  OutQuery(sqlite3* h, const char* sql) : db(h) {
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) throw Error(sqlite3_errmsg(db));
  }
  ~OutQuery() { sqlite3_finalize(s); }
};

std::optional<Existing> existing(sqlite3* db, int64_t conf_id, int64_t device_id, const Provenance& p) {
  OutQuery q(db,
             "SELECT status, error, recorded_at, who, latency_ms, throughput_per_s, peak_memory_bytes, energy_j, "
             "avg_power_w FROM measurements WHERE configuration_id = ?1 AND device_id = ?2 AND source = ?3 AND "
             "source_key = ?4");
  sqlite3_bind_int64(q.s, 1, conf_id);
  sqlite3_bind_int64(q.s, 2, device_id);
  sqlite3_bind_text(q.s, 3, p.source.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(q.s, 4, p.source_key.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(q.s) != SQLITE_ROW) return std::nullopt;
  Existing e;
  e.status = column_text(q.s, 0);
  e.error = column_text(q.s, 1);
  e.recorded_at = column_text(q.s, 2);
  e.who = column_text(q.s, 3);
  e.latency_ms = column_real(q.s, 4);
  e.throughput_per_s = column_real(q.s, 5);
  e.peak_memory_bytes = column_real(q.s, 6);
  e.energy_j = column_real(q.s, 7);
  e.avg_power_w = column_real(q.s, 8);
  return e;
}

std::string graph_hash_of(sqlite3* db, int64_t conf_id) {
  OutQuery q(db, "SELECT IFNULL(g.hash, '') FROM configurations c LEFT JOIN graphs g ON g.id = c.graph_id WHERE c.id = ?1");
  sqlite3_bind_int64(q.s, 1, conf_id);
  return sqlite3_step(q.s) == SQLITE_ROW ? column_text(q.s, 0) : "";
}

bool same(const Existing& e, const MeasurementRecord& m) {
  return e.status == m.status && e.error == m.error && e.recorded_at == m.provenance.recorded_at &&
         e.who == m.provenance.who && e.latency_ms == m.latency_ms && e.throughput_per_s == m.throughput_per_s &&
         e.peak_memory_bytes == m.peak_memory_bytes && e.energy_j == m.energy_j && e.avg_power_w == m.avg_power_w;
}

std::string describe(const Row& r) {
  return fmt::format("{} batch {}{} {} {}{} on {} ({}{})", r.conf.model, r.conf.batch,
                     r.conf.seq_len ? fmt::format(" seq {}", r.conf.seq_len) : "", r.conf.precision, r.conf.mode,
                     r.conf.variant.empty() ? "" : " " + r.conf.variant, r.device.name, r.m.provenance.source,
                     r.m.provenance.source_key.empty() ? "" : " " + r.m.provenance.source_key);
}

std::string values(const std::string& status, const std::optional<double>& latency, const std::string& recorded_at) {
  return fmt::format("{}{} recorded {}", status, latency ? fmt::format(" {:.4g} ms", *latency) : "", recorded_at);
}

void merge_shard(const std::string& path, Store& out, ShardMergeReport& rep, MergeReport& all) {
  std::vector<Row> rows;
  {
    ShardReader reader(path);
    const int version = reader.schema_version();
    if (version > Store::kSchemaVersion) {
      throw Error(fmt::format("schema version {}; this perfcast reads up to {}", version, Store::kSchemaVersion));
    }
    rows = reader.rows();
  }
  rep.rows = static_cast<int64_t>(rows.size());
  const std::string name = std::filesystem::path(path).filename().string();
  Store::Transaction tx(out);
  for (Row& r : rows) {
    MeasurementRecord check = r.m;
    check.configuration_id = check.device_id = 1;
    try {
      validate(check);
    } catch (const Error& e) {
      ++rep.rejected;
      all.rejected.push_back(fmt::format("{}: {}: {}", name, describe(r), e.what()));
      continue;
    }
    r.m.device_id = out.upsert_device(r.device);
    if (r.graph) r.conf.graph_id = out.upsert_graph(*r.graph);
    r.m.configuration_id = out.upsert_configuration(r.conf);
    if (r.graph) {
      const std::string kept = graph_hash_of(out.handle(), r.m.configuration_id);
      if (kept != r.graph->hash) {
        all.conflicts.push_back(fmt::format("{}: {}: graph {} differs from {} already merged (kept)", name,
                                            describe(r), r.graph->hash, kept));
      }
    }
    const auto e = existing(out.handle(), r.m.configuration_id, r.m.device_id, r.m.provenance);
    if (!e) {
      out.add_measurement(r.m);
      ++rep.added;
    } else if (same(*e, r.m)) {
      ++rep.duplicates;
    } else if (e->status == "error" && r.m.status != "error") {
      out.delete_measurement(r.m.configuration_id, r.m.device_id, r.m.provenance.source, r.m.provenance.source_key);
      out.add_measurement(r.m);
      ++rep.replaced;
    } else if (r.m.status == "error" && e->status != "error") {
      ++rep.superseded;
    } else {
      ++rep.conflicts;
      all.conflicts.push_back(fmt::format("{}: {}: {} differs from {} already merged (kept)", name, describe(r),
                                          values(r.m.status, r.m.latency_ms, r.m.provenance.recorded_at),
                                          values(e->status, e->latency_ms, e->recorded_at)));
    }
  }
  tx.commit();
  rep.ok = true;
}

}  // namespace

int64_t MergeReport::added() const {
  int64_t n = 0;
  for (const auto& s : shards) n += s.added + s.replaced;
  return n;
}
int64_t MergeReport::duplicates() const {
  int64_t n = 0;
  for (const auto& s : shards) n += s.duplicates + s.superseded;
  return n;
}
int64_t MergeReport::conflict_count() const { return static_cast<int64_t>(conflicts.size()); }
bool MergeReport::all_shards_ok() const {
  for (const auto& s : shards)
    if (!s.ok) return false;
  return true;
}

MergeReport merge_stores(const std::vector<std::string>& shard_paths, Store& out) {
  MergeReport report;
  for (const auto& path : shard_paths) {
    if (std::filesystem::exists(path) && std::filesystem::exists(out.path()) &&
        std::filesystem::equivalent(path, out.path())) {
      throw Error(fmt::format("cannot merge '{}' into itself: give another --db", path));
    }
    ShardMergeReport rep;
    rep.path = path;
    const size_t conflicts_before = report.conflicts.size(), rejected_before = report.rejected.size();
    try {
      merge_shard(path, out, rep, report);
    } catch (const Error& e) {
      // The shard's transaction was rolled back: drop what it reported too.
      report.conflicts.resize(conflicts_before);
      report.rejected.resize(rejected_before);
      rep = ShardMergeReport{};
      rep.path = path;
      rep.error = e.what();
    }
    report.shards.push_back(rep);
  }
  return report;
}

}  // namespace perfcast::dataset
