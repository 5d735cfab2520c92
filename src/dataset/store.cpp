#include "dataset/store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "common/error.h"

namespace perfcast::dataset {
namespace {

const char* kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS devices (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  driver TEXT NOT NULL DEFAULT '',
  spec TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS graphs (
  id INTEGER PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  hash_kind TEXT NOT NULL DEFAULT 'fnv1a64',
  onnx_path TEXT NOT NULL DEFAULT '',
  nodes INTEGER,
  macs REAL,
  params INTEGER
);
CREATE TABLE IF NOT EXISTS configurations (
  id INTEGER PRIMARY KEY,
  model TEXT NOT NULL,
  graph_id INTEGER REFERENCES graphs(id),
  batch INTEGER NOT NULL CHECK (batch >= 0),
  seq_len INTEGER NOT NULL DEFAULT 0 CHECK (seq_len >= 0),
  precision TEXT NOT NULL,
  mode TEXT NOT NULL CHECK (mode IN ('inference', 'training')),
  variant TEXT NOT NULL DEFAULT '',
  UNIQUE (model, batch, seq_len, precision, mode, variant)
);
CREATE TABLE IF NOT EXISTS measurements (
  id INTEGER PRIMARY KEY,
  configuration_id INTEGER NOT NULL REFERENCES configurations(id),
  device_id INTEGER NOT NULL REFERENCES devices(id),
  latency_ms REAL,
  throughput_per_s REAL,
  peak_memory_bytes REAL,
  energy_j REAL,
  avg_power_w REAL,
  status TEXT NOT NULL CHECK (status IN ('ok', 'oom', 'error')),
  error TEXT NOT NULL DEFAULT '',
  source TEXT NOT NULL,
  source_key TEXT NOT NULL DEFAULT '',
  who TEXT NOT NULL DEFAULT '',
  recorded_at TEXT NOT NULL,
  framework TEXT NOT NULL DEFAULT '',
  framework_version TEXT NOT NULL DEFAULT '',
  driver TEXT NOT NULL DEFAULT '',
  perfcast_version TEXT NOT NULL DEFAULT '',
  notes TEXT NOT NULL DEFAULT '',
  UNIQUE (configuration_id, device_id, source, source_key)
);
CREATE INDEX IF NOT EXISTS measurements_device ON measurements(device_id);
)SQL";

struct StmtCache {
  std::map<std::string, sqlite3_stmt*> stmts;
  ~StmtCache() {
    for (auto& [_, s] : stmts) sqlite3_finalize(s);
  }
};
std::map<const sqlite3*, std::unique_ptr<StmtCache>>& caches() {
  static std::map<const sqlite3*, std::unique_ptr<StmtCache>> c;
  return c;
}

// A reset, cleared cached statement; reset again when the guard goes.
struct Stmt {
  sqlite3_stmt* s;
  explicit Stmt(sqlite3_stmt* st) : s(st) {}
  ~Stmt() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
  Stmt& text(int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& integer(int i, int64_t v) {
    sqlite3_bind_int64(s, i, v);
    return *this;
  }
  Stmt& real(int i, const std::optional<double>& v) {
    if (v) sqlite3_bind_double(s, i, *v); else sqlite3_bind_null(s, i);
    return *this;
  }
};

std::string column_text(sqlite3_stmt* s, int i) {
  const unsigned char* t = sqlite3_column_text(s, i);
  return t ? reinterpret_cast<const char*>(t) : "";
}

std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

void validate(const MeasurementRecord& m) {
  if (m.device_id <= 0) throw Error("measurement rejected: missing device");
  if (m.configuration_id <= 0) throw Error("measurement rejected: missing configuration");
  if (m.status != "ok" && m.status != "oom" && m.status != "error") {
    throw Error(fmt::format("measurement rejected: status '{}' is not ok, oom or error", m.status));
  }
  const std::pair<const char*, const std::optional<double>*> numbers[] = {
      {"latency_ms", &m.latency_ms}, {"throughput_per_s", &m.throughput_per_s},
      {"peak_memory_bytes", &m.peak_memory_bytes}, {"energy_j", &m.energy_j}, {"avg_power_w", &m.avg_power_w}};
  for (const auto& [name, value] : numbers) {
    if (!*value) continue;
    if (!std::isfinite(**value)) throw Error(fmt::format("measurement rejected: {} is not a finite number", name));
    if (**value < 0) throw Error(fmt::format("measurement rejected: {} is negative ({})", name, **value));
  }
  if (m.status == "ok" && (!m.latency_ms || *m.latency_ms <= 0)) {
    throw Error("measurement rejected: an ok row needs a positive latency_ms");
  }
  if (m.status != "ok" && m.error.empty()) {
    throw Error(fmt::format("measurement rejected: a {} row needs an error text", m.status));
  }
  if (m.provenance.source.empty()) throw Error("measurement rejected: provenance source is missing");
  if (m.provenance.recorded_at.empty()) throw Error("measurement rejected: provenance time is missing");
}

std::string fnv1a64_hex(const std::string& bytes) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("{:016x}", h);
}

std::string hash_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot read '{}' to hash it", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return fnv1a64_hex(ss.str());
}

std::string now_iso8601() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string perfcast_version() { return "0.1.0"; }

Store::Store(const std::string& path) : path_(path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(fmt::format("cannot open measurement store '{}': {}", path, why));
  }
  caches()[db_] = std::make_unique<StmtCache>();
  sqlite3_busy_timeout(db_, 5000);
  try {
    exec("PRAGMA foreign_keys = ON");
    exec("PRAGMA journal_mode = WAL");
    exec("PRAGMA synchronous = NORMAL");
    exec("BEGIN IMMEDIATE");
    exec(kSchema);
    if (count("schema_version") == 0) exec(fmt::format("INSERT INTO schema_version VALUES ({})", kSchemaVersion));
    exec("COMMIT");
    const int v = schema_version();
    if (v > kSchemaVersion) {
      throw Error(fmt::format("measurement store '{}' has schema version {}; this perfcast reads up to {}", path, v,
                              kSchemaVersion));
    }
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    caches().erase(db_);
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

Store::~Store() {
  if (!db_) return;
  caches().erase(db_);
  sqlite3_close(db_);
}

void Store::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string why = err ? err : "unknown error";
    sqlite3_free(err);
    throw Error(fmt::format("measurement store '{}': {}", path_, why));
  }
}

sqlite3_stmt* Store::prepare(const std::string& sql) const {
  auto& cache = caches()[db_]->stmts;
  auto it = cache.find(sql);
  if (it != cache.end()) return it->second;
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
    throw Error(fmt::format("measurement store '{}': {} in: {}", path_, sqlite3_errmsg(db_), sql));
  }
  cache[sql] = s;
  return s;
}

int Store::schema_version() const {
  Stmt q(prepare("SELECT MAX(version) FROM schema_version"));
  return sqlite3_step(q.s) == SQLITE_ROW ? sqlite3_column_int(q.s, 0) : 0;
}

int64_t Store::count(const std::string& table, const std::string& where) const {
  Stmt q(prepare("SELECT COUNT(*) FROM " + table + (where.empty() ? "" : " WHERE " + where)));
  if (sqlite3_step(q.s) != SQLITE_ROW) throw Error(fmt::format("measurement store: {}", sqlite3_errmsg(db_)));
  return sqlite3_column_int64(q.s, 0);
}

int64_t Store::upsert_device(const DeviceRecord& d) {
  if (d.name.empty()) throw Error("device rejected: empty name");
  {
    Stmt q(prepare("SELECT id FROM devices WHERE name = ?1"));
    q.text(1, d.name);
    if (sqlite3_step(q.s) == SQLITE_ROW) return sqlite3_column_int64(q.s, 0);
  }
  Stmt ins(prepare("INSERT INTO devices (name, kind, driver, spec) VALUES (?1, ?2, ?3, ?4)"));
  ins.text(1, d.name).text(2, d.kind).text(3, d.driver).text(4, d.spec.empty() ? "{}" : d.spec);
  if (sqlite3_step(ins.s) != SQLITE_DONE) throw Error(fmt::format("device '{}': {}", d.name, sqlite3_errmsg(db_)));
  return sqlite3_last_insert_rowid(db_);
}

int64_t Store::upsert_graph(const GraphRecord& g) {
  if (g.hash.empty()) throw Error("graph rejected: empty hash");
  {
    Stmt q(prepare("SELECT id FROM graphs WHERE hash = ?1"));
    q.text(1, g.hash);
    if (sqlite3_step(q.s) == SQLITE_ROW) return sqlite3_column_int64(q.s, 0);
  }
  Stmt ins(prepare("INSERT INTO graphs (hash, hash_kind, onnx_path, nodes, macs, params) VALUES (?1, 'fnv1a64', ?2, ?3, ?4, ?5)"));
  ins.text(1, g.hash).text(2, g.onnx_path).integer(3, g.nodes).real(4, g.macs).integer(5, g.params);
  if (sqlite3_step(ins.s) != SQLITE_DONE) throw Error(fmt::format("graph {}: {}", g.hash, sqlite3_errmsg(db_)));
  return sqlite3_last_insert_rowid(db_);
}

int64_t Store::upsert_configuration(const ConfigurationRecord& c) {
  if (c.model.empty()) throw Error("configuration rejected: empty model");
  if (c.batch < 0) throw Error(fmt::format("configuration rejected: negative batch {}", c.batch));
  if (c.mode != "inference" && c.mode != "training") {
    throw Error(fmt::format("configuration rejected: mode '{}' is not inference or training", c.mode));
  }
  {
    Stmt q(prepare("SELECT id, graph_id FROM configurations WHERE model = ?1 AND batch = ?2 AND seq_len = ?3 AND "
                   "precision = ?4 AND mode = ?5 AND variant = ?6"));
    q.text(1, c.model).integer(2, c.batch).integer(3, c.seq_len).text(4, c.precision).text(5, c.mode).text(6, c.variant);
    if (sqlite3_step(q.s) == SQLITE_ROW) {
      const int64_t id = sqlite3_column_int64(q.s, 0);
      const bool has_graph = sqlite3_column_type(q.s, 1) != SQLITE_NULL;
      if (c.graph_id && !has_graph) set_configuration_graph(id, *c.graph_id);
      return id;
    }
  }
  Stmt ins(prepare("INSERT INTO configurations (model, graph_id, batch, seq_len, precision, mode, variant) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  ins.text(1, c.model).integer(3, c.batch).integer(4, c.seq_len).text(5, c.precision).text(6, c.mode).text(7, c.variant);
  if (c.graph_id) ins.integer(2, *c.graph_id); else sqlite3_bind_null(ins.s, 2);
  if (sqlite3_step(ins.s) != SQLITE_DONE) throw Error(fmt::format("configuration {}: {}", c.model, sqlite3_errmsg(db_)));
  return sqlite3_last_insert_rowid(db_);
}

void Store::set_configuration_graph(int64_t configuration_id, int64_t graph_id) {
  Stmt u(prepare("UPDATE configurations SET graph_id = ?1 WHERE id = ?2"));
  u.integer(1, graph_id).integer(2, configuration_id);
  if (sqlite3_step(u.s) != SQLITE_DONE) throw Error(fmt::format("configuration {}: {}", configuration_id, sqlite3_errmsg(db_)));
}

bool Store::add_measurement(const MeasurementRecord& m) {
  validate(m);
  const Provenance& p = m.provenance;
  Stmt ins(prepare(
      "INSERT OR IGNORE INTO measurements (configuration_id, device_id, latency_ms, throughput_per_s, peak_memory_bytes, "
      "energy_j, avg_power_w, status, error, source, source_key, who, recorded_at, framework, framework_version, "
      "driver, perfcast_version, notes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
      "?18)"));
  ins.integer(1, m.configuration_id).integer(2, m.device_id).real(3, m.latency_ms).real(4, m.throughput_per_s)
      .real(5, m.peak_memory_bytes).real(6, m.energy_j).real(7, m.avg_power_w).text(8, m.status).text(9, m.error)
      .text(10, p.source).text(11, p.source_key).text(12, p.who).text(13, p.recorded_at).text(14, p.framework)
      .text(15, p.framework_version).text(16, p.driver)
      .text(17, p.perfcast_version.empty() ? perfcast_version() : p.perfcast_version)
      .text(18, m.notes);
  const int rc = sqlite3_step(ins.s);
  if (rc != SQLITE_DONE) {
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
      throw Error(fmt::format("measurement rejected: {} (configuration {} or device {} does not exist?)",
                              sqlite3_errmsg(db_), m.configuration_id, m.device_id));
    }
    throw Error(fmt::format("measurement store '{}': {}", path_, sqlite3_errmsg(db_)));
  }
  return sqlite3_changes(db_) > 0;
}

std::optional<std::string> Store::measurement_status(int64_t configuration_id, int64_t device_id,
                                                     const std::string& source, const std::string& source_key) const {
  Stmt q(prepare("SELECT status FROM measurements WHERE configuration_id = ?1 AND device_id = ?2 AND source = ?3 "
                 "AND source_key = ?4"));
  q.integer(1, configuration_id).integer(2, device_id).text(3, source).text(4, source_key);
  if (sqlite3_step(q.s) == SQLITE_ROW) return column_text(q.s, 0);
  return std::nullopt;
}

void Store::delete_measurement(int64_t configuration_id, int64_t device_id, const std::string& source,
                               const std::string& source_key) {
  Stmt d(prepare("DELETE FROM measurements WHERE configuration_id = ?1 AND device_id = ?2 AND source = ?3 AND "
                 "source_key = ?4"));
  d.integer(1, configuration_id).integer(2, device_id).text(3, source).text(4, source_key);
  if (sqlite3_step(d.s) != SQLITE_DONE) throw Error(fmt::format("measurement store: {}", sqlite3_errmsg(db_)));
}

int64_t Store::export_csv(const std::string& csv_path) const {
  std::ofstream out(csv_path, std::ios::binary);
  if (!out) throw Error(fmt::format("cannot write '{}'", csv_path));
  const char* sql =
      "SELECT m.id, c.model, IFNULL(g.hash, ''), IFNULL(g.macs, ''), IFNULL(g.params, ''), c.batch, c.seq_len, "
      "c.precision, c.mode, c.variant, d.name, d.kind, m.latency_ms, m.throughput_per_s, m.peak_memory_bytes, "
      "m.energy_j, m.avg_power_w, m.status, m.error, m.source, m.source_key, m.who, m.recorded_at, m.framework, "
      "m.framework_version, m.driver, m.perfcast_version, m.notes FROM measurements m JOIN configurations c ON "
      "c.id = m.configuration_id JOIN devices d ON d.id = m.device_id LEFT JOIN graphs g ON g.id = c.graph_id "
      "ORDER BY m.id";
  out << "id,model,graph_hash,graph_macs,graph_params,batch,seq_len,precision,mode,variant,device,device_kind,"
         "latency_ms,throughput_per_s,peak_memory_bytes,energy_j,avg_power_w,status,error,source,source_key,who,"
         "recorded_at,framework,framework_version,driver,perfcast_version,notes\n";
  Stmt q(prepare(sql));
  int64_t rows = 0;
  int rc;
  while ((rc = sqlite3_step(q.s)) == SQLITE_ROW) {
    const int n = sqlite3_column_count(q.s);
    for (int i = 0; i < n; ++i) {
      if (i) out << ',';
      if (sqlite3_column_type(q.s, i) == SQLITE_FLOAT) {
        out << fmt::format("{}", sqlite3_column_double(q.s, i));
      } else {
        out << csv_field(column_text(q.s, i));
      }
    }
    out << '\n';
    ++rows;
  }
  if (rc != SQLITE_DONE) throw Error(fmt::format("export: {}", sqlite3_errmsg(db_)));
  if (!out) throw Error(fmt::format("error writing '{}'", csv_path));
  return rows;
}

Store::Transaction::Transaction(Store& s) : store_(s) { store_.exec("BEGIN IMMEDIATE"); }
Store::Transaction::~Transaction() {
  if (!done_) sqlite3_exec(store_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
}
void Store::Transaction::commit() {
  store_.exec("COMMIT");
  done_ = true;
}

}  // namespace perfcast::dataset
