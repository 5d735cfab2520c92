// The measurement store: schema, validation, idempotent inserts, CSV export, WAL.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "common/csv.h"
#include "dataset/store.h"
#include "support/test_helpers.h"

using namespace perfcast;
using namespace perfcast::dataset;

namespace {

std::string temp_db(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("perfcast-store-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / name;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
  return path.string();
}

MeasurementRecord ok_row(int64_t conf, int64_t dev) {
  MeasurementRecord m;
  m.configuration_id = conf;
  m.device_id = dev;
  m.latency_ms = 12.5;
  m.throughput_per_s = 80;
  m.provenance = {"test", "", "me@host", now_iso8601(), "pytorch", "1.13", "", ""};
  return m;
}

}  // namespace

TEST(Store, CreatesSchemaWithVersionAndWal) {
  const std::string path = temp_db("schema.db");
  Store s(path);
  EXPECT_EQ(s.schema_version(), Store::kSchemaVersion);
  for (const char* t : {"devices", "graphs", "configurations", "measurements", "schema_version"}) {
    EXPECT_EQ(s.count("sqlite_master", std::string("type = 'table' AND name = '") + t + "'"), 1) << t;
  }
  sqlite3_stmt* q = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(s.handle(), "PRAGMA journal_mode", -1, &q, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(sqlite3_column_text(q, 0))), "wal");
  sqlite3_finalize(q);
}

TEST(Store, InsertsOnceAndSurvivesReopen) {
  const std::string path = temp_db("rows.db");
  {
    Store s(path);
    const int64_t dev = s.upsert_device({"rtx-3090", "gpu", "CUDA 11.7", "{}"});
    EXPECT_EQ(s.upsert_device({"rtx-3090", "gpu", "", "{}"}), dev);
    const int64_t g = s.upsert_graph({"0123456789abcdef", "/x.onnx", 10, 1.8e9, 11000000});
    const int64_t c = s.upsert_configuration({"resnet18", g, 8, 0, "fp32", "inference", ""});
    EXPECT_EQ(s.upsert_configuration({"resnet18", std::nullopt, 8, 0, "fp32", "inference", ""}), c);
    EXPECT_TRUE(s.add_measurement(ok_row(c, dev)));
    EXPECT_FALSE(s.add_measurement(ok_row(c, dev)));  // same configuration + device + source key
    EXPECT_EQ(s.measurement_status(c, dev, "test", ""), "ok");
  }
  Store s(path);  // every row committed on its own
  EXPECT_EQ(s.count("measurements"), 1);
  EXPECT_EQ(s.count("configurations", "graph_id IS NOT NULL"), 1);
}

TEST(Store, RejectsCorruptRowsWithTheReason) {
  Store s(temp_db("reject.db"));
  const int64_t dev = s.upsert_device({"cpu:x", "cpu", "", "{}"});
  const int64_t c = s.upsert_configuration({"m", std::nullopt, 1, 0, "fp32", "inference", ""});
  auto neg = ok_row(c, dev);
  neg.latency_ms = -1;
  EXPECT_NE(perfcast::testing::error_of([&] { s.add_measurement(neg); }).find("latency_ms is negative"), std::string::npos);
  auto nan = ok_row(c, dev);
  nan.energy_j = std::numeric_limits<double>::quiet_NaN();
  EXPECT_NE(perfcast::testing::error_of([&] { s.add_measurement(nan); }).find("energy_j is not a finite number"),
            std::string::npos);
  EXPECT_NE(perfcast::testing::error_of([&] { s.add_measurement(ok_row(c, 0)); }).find("missing device"), std::string::npos);
  // A device id that does not exist: the foreign key refuses it.
  EXPECT_NE(perfcast::testing::error_of([&] { s.add_measurement(ok_row(c, 999)); }).find("measurement rejected"),
            std::string::npos);
  auto partial = ok_row(c, dev);
  partial.latency_ms.reset();
  EXPECT_NE(perfcast::testing::error_of([&] { s.add_measurement(partial); }).find("positive latency_ms"), std::string::npos);
  auto oom = ok_row(c, dev);
  oom.status = "oom";
  oom.latency_ms.reset();
  EXPECT_NE(perfcast::testing::error_of([&] { s.add_measurement(oom); }).find("needs an error text"), std::string::npos);
  oom.error = "out of memory at batch 1024";
  EXPECT_TRUE(s.add_measurement(oom));
  EXPECT_EQ(s.count("measurements"), 1);
}

TEST(Store, InterruptedTransactionLosesOnlyUnfinishedRows) {
  const std::string path = temp_db("tx.db");
  Store s(path);
  const int64_t dev = s.upsert_device({"d", "cpu", "", "{}"});
  const int64_t c1 = s.upsert_configuration({"a", std::nullopt, 1, 0, "fp32", "inference", ""});
  s.add_measurement(ok_row(c1, dev));
  {
    Store::Transaction tx(s);
    const int64_t c2 = s.upsert_configuration({"b", std::nullopt, 1, 0, "fp32", "inference", ""});
    s.add_measurement(ok_row(c2, dev));
  }  // not committed
  EXPECT_EQ(s.count("measurements"), 1);
  EXPECT_EQ(s.count("configurations"), 1);
}

TEST(Store, ExportsCsv) {
  const std::string path = temp_db("export.db");
  Store s(path);
  const int64_t dev = s.upsert_device({"t4", "gpu", "", "{}"});
  const int64_t c = s.upsert_configuration({"bert, base", std::nullopt, 4, 128, "fp32", "training", ""});
  s.add_measurement(ok_row(c, dev));
  const std::string csv = path + ".csv";
  EXPECT_EQ(s.export_csv(csv), 1);
  const CsvTable t = read_csv(csv);
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(t.rows[0].at("model"), "bert, base");
  EXPECT_EQ(t.rows[0].at("device"), "t4");
  EXPECT_DOUBLE_EQ(t.rows[0].number("latency_ms"), 12.5);
  EXPECT_EQ(t.rows[0].integer("seq_len"), 128);
  EXPECT_EQ(t.rows[0].at("status"), "ok");
}

TEST(Store, HashIsFnv1a64) {
  EXPECT_EQ(fnv1a64_hex(""), "cbf29ce484222325");
  EXPECT_EQ(fnv1a64_hex("a"), "af63dc4c8601ec8c");
}
