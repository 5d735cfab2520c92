#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace perfcast::dataset {

// The measurement store: one SQLite file (WAL mode, foreign keys on). Schema version 1:
//   schema_version(version)
//   devices(id, name UNIQUE, kind, driver, spec JSON text)
//   graphs(id, hash UNIQUE, hash_kind = "fnv1a64" of the ONNX file bytes, onnx_path, nodes, macs, params)
//   configurations(id, model, graph_id -> graphs NULL, batch (0 = not stated by the source), seq_len
//                  (0 = none), precision, mode (inference|training), variant (free text, "" = none),
//                  UNIQUE(model, batch, seq_len, precision, mode, variant))
//   measurements(id, configuration_id -> configurations, device_id -> devices, latency_ms (one step
//                of one batch), throughput_per_s (samples/s), peak_memory_bytes, energy_j (one step),
//                avg_power_w, status ok|oom|error, error, provenance: source, source_key, who,
//                recorded_at (ISO 8601 UTC), framework, framework_version, driver, perfcast_version, notes,
//                UNIQUE(configuration_id, device_id, source, source_key))
// Every statement outside an explicit Transaction commits on its own, so an interrupted run keeps
// every row it finished.

struct DeviceRecord {
  std::string name;    // catalog id when known ("rtx-3090"), else the source's own name
  std::string kind;    // gpu | cpu | phone | embedded | asic | fpga
  std::string driver;  // "" when unknown
  std::string spec = "{}";  // JSON text
};

struct GraphRecord {
  std::string hash;  // fnv1a64 hex of the ONNX bytes
  std::string onnx_path;
  int64_t nodes = 0;
  double macs = 0;
  int64_t params = 0;
};

struct ConfigurationRecord {
  std::string model;
  std::optional<int64_t> graph_id;
  int64_t batch = 1;
  int64_t seq_len = 0;
  std::string precision = "fp32";
  std::string mode = "inference";
  std::string variant;
};

struct Provenance {
  std::string source;      // "timm", "help-nasbench201", "neusight", "perfcast profile"
  std::string source_key;  // distinguishes rows of one source (the file name); "" for the profiler
  std::string who;         // repository @ commit (license) or user@host
  std::string recorded_at; // ISO 8601
  std::string framework, framework_version, driver, perfcast_version;
};

struct MeasurementRecord {
  int64_t configuration_id = 0;
  int64_t device_id = 0;
  std::optional<double> latency_ms, throughput_per_s, peak_memory_bytes, energy_j, avg_power_w;
  std::string status = "ok";  // ok | oom | error
  std::string error;
  Provenance provenance;
  std::string notes;  // how energy and memory were obtained, caveats
};

// Throws perfcast::Error with the reason a row is corrupt or partial: missing device or
// configuration, unknown status, NaN/infinite or negative numbers, an ok row without a positive
// latency, missing provenance source or time.
void validate(const MeasurementRecord& m);

// 64-bit FNV-1a of bytes as 16 hex digits (fast, not cryptographic).
std::string fnv1a64_hex(const std::string& bytes);
// fnv1a64_hex of a file's bytes; throws perfcast::Error when unreadable.
std::string hash_file(const std::string& path);
std::string now_iso8601();  // UTC, "2026-11-23T03:40:33Z"
std::string perfcast_version();

class Store {
 public:
  static constexpr int kSchemaVersion = 1;

  // Opens or creates the database; throws perfcast::Error when it cannot, or when its schema
  // version is newer than this build's.
  explicit Store(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  int schema_version() const;

  int64_t upsert_device(const DeviceRecord& d);             // by name; fills kind/driver/spec when new
  int64_t upsert_graph(const GraphRecord& g);               // by hash
  int64_t upsert_configuration(const ConfigurationRecord& c);  // by the unique key (graph_id not part)
  void set_configuration_graph(int64_t configuration_id, int64_t graph_id);

  // Validates and inserts; false (nothing written) when a row with the same configuration, device,
  // source and source_key exists.
  bool add_measurement(const MeasurementRecord& m);
  // Status of the row with this key, if any.
  std::optional<std::string> measurement_status(int64_t configuration_id, int64_t device_id,
                                                const std::string& source, const std::string& source_key) const;
  void delete_measurement(int64_t configuration_id, int64_t device_id, const std::string& source,
                          const std::string& source_key);

  int64_t count(const std::string& table, const std::string& where = "") const;

  // Every measurement joined with its configuration, graph and device, one CSV row each
  // (RFC 4180). Returns the number of data rows.
  int64_t export_csv(const std::string& csv_path) const;

  void exec(const std::string& sql);
  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }

  // BEGIN IMMEDIATE ... COMMIT (rolled back when destroyed uncommitted).
  class Transaction {
   public:
    explicit Transaction(Store& s);
    ~Transaction();
    void commit();

   private:
    Store& store_;
    bool done_ = false;
  };

 private:
  sqlite3_stmt* prepare(const std::string& sql) const;
  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace perfcast::dataset
