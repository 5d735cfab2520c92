// Merging shard stores: duplicates by identity (not row id), conflicts kept and reported, a
// retried error row replaced, provenance kept verbatim, unreadable shards reported and skipped.
#include "dataset/store_merge.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "dataset/store.h"
#include "support/test_helpers.h"

using namespace perfcast;
using namespace perfcast::dataset;

namespace {

namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("perfcast-merge-test-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const auto path = dir / name;
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path.string() + suffix);
  return path.string();
}

struct RowSpec {
  std::string model;
  int64_t batch = 1;
  std::string status = "ok";
  std::optional<double> latency_ms = 10.0;
  std::string recorded_at = "2026-11-23T06:00:00Z";
  std::string graph_hash = "";
  std::string device = "cpu:Test CPU";
};

void add(Store& s, const RowSpec& r) {
  const int64_t dev = s.upsert_device({r.device, "cpu", "", R"({"host":"node1"})"});
  ConfigurationRecord c;
  c.model = r.model;
  c.batch = r.batch;
  if (!r.graph_hash.empty()) c.graph_id = s.upsert_graph({r.graph_hash, "/work/" + r.model + ".onnx", 50, 1.8e9, 11689512});
  const int64_t conf = s.upsert_configuration(c);
  MeasurementRecord m;
  m.configuration_id = conf;
  m.device_id = dev;
  m.status = r.status;
  m.latency_ms = r.status == "ok" ? r.latency_ms : std::nullopt;
  if (r.status == "ok") m.energy_j = 1.5;
  if (r.status != "ok") m.error = r.status == "oom" ? "out of memory at batch 512" : "runner failed";
  m.provenance = {"perfcast profile", "", "alice@node1", r.recorded_at, "pytorch", "1.13.1", "", "0.1.0"};
  m.notes = "shard note";
  ASSERT_TRUE(s.add_measurement(m));
}

int64_t count(Store& s, const std::string& where) { return s.count("measurements", where); }

}  // namespace

TEST(StoreMerge, DisjointShardsAreUnitedWithProvenance) {
  const std::string a = temp_path("a.sqlite"), b = temp_path("b.sqlite"), out_path = temp_path("out.sqlite");
  {
    Store s(a);
    add(s, {"resnet18", 1, "ok", 10.0, "2026-11-23T06:00:00Z", "00000000000000aa"});
    add(s, {"resnet18", 2, "ok", 18.0, "2026-11-23T06:00:01Z", "00000000000000aa"});
  }
  {
    Store s(b);
    add(s, {"vgg11", 1, "ok", 30.0, "2026-11-23T06:00:02Z", "00000000000000bb"});
    add(s, {"vgg11", 512, "oom", std::nullopt, "2026-11-23T06:00:03Z"});
  }
  Store out(out_path);
  const MergeReport rep = merge_stores({a, b}, out);
  ASSERT_TRUE(rep.all_shards_ok());
  EXPECT_EQ(rep.added(), 4);
  EXPECT_EQ(rep.duplicates(), 0);
  EXPECT_EQ(rep.conflict_count(), 0);
  EXPECT_EQ(out.count("measurements"), 4);
  EXPECT_EQ(out.count("devices"), 1);  // the same device name in both shards: one row
  EXPECT_EQ(out.count("graphs"), 2);
  // Provenance and values copied verbatim; configurations keep their graph.
  EXPECT_EQ(count(out, "source = 'perfcast profile' AND who = 'alice@node1' AND framework_version = '1.13.1' AND "
                       "notes = 'shard note' AND recorded_at LIKE '2026-11-23T06:00:0%'"),
            4);
  EXPECT_EQ(count(out, "status = 'oom' AND error LIKE 'out of memory at batch 512%'"), 1);
  EXPECT_EQ(out.count("configurations c JOIN graphs g ON g.id = c.graph_id",
                      "c.model = 'resnet18' AND g.hash = '00000000000000aa' AND g.params = 11689512"),
            2);
  EXPECT_EQ(count(out, "latency_ms = 18.0 AND energy_j = 1.5"), 1);

  // Merging the same shards again changes nothing.
  const MergeReport again = merge_stores({a, b}, out);
  EXPECT_EQ(again.added(), 0);
  EXPECT_EQ(again.duplicates(), 4);
  EXPECT_EQ(out.count("measurements"), 4);
}

TEST(StoreMerge, DuplicatesConflictsAndRetriedErrors) {
  const std::string a = temp_path("c1.sqlite"), b = temp_path("c2.sqlite"), out_path = temp_path("c-out.sqlite");
  {
    Store s(a);
    add(s, {"resnet18", 1, "ok", 10.0, "2026-11-23T06:00:00Z"});   // also in b, identical: duplicate
    add(s, {"resnet18", 2, "ok", 18.0, "2026-11-23T06:00:01Z"});   // in b with another latency: conflict
    add(s, {"resnet18", 4, "error", std::nullopt, "2026-11-23T06:00:02Z"});  // b's ok retry replaces it
    add(s, {"resnet18", 8, "ok", 60.0, "2026-11-23T06:00:03Z"});   // b's error row is superseded
  }
  {
    Store s(b);
    add(s, {"resnet18", 8, "error", std::nullopt, "2026-11-23T07:00:03Z"});
    add(s, {"resnet18", 1, "ok", 10.0, "2026-11-23T06:00:00Z"});
    add(s, {"resnet18", 2, "ok", 19.5, "2026-11-23T07:00:01Z"});
    add(s, {"resnet18", 4, "ok", 33.0, "2026-11-23T07:00:02Z"});
  }
  Store out(out_path);
  const MergeReport rep = merge_stores({a, b}, out);
  ASSERT_TRUE(rep.all_shards_ok());
  ASSERT_EQ(rep.shards.size(), 2u);
  EXPECT_EQ(rep.shards[0].added, 4);
  EXPECT_EQ(rep.shards[1].duplicates, 1);
  EXPECT_EQ(rep.shards[1].conflicts, 1);
  EXPECT_EQ(rep.shards[1].replaced, 1);
  EXPECT_EQ(rep.shards[1].superseded, 1);
  EXPECT_EQ(out.count("measurements"), 4);  // one row per identity
  // The conflict keeps the first shard's row and names both values.
  EXPECT_EQ(count(out, "latency_ms = 18.0"), 1);
  EXPECT_EQ(count(out, "latency_ms = 19.5"), 0);
  ASSERT_EQ(rep.conflicts.size(), 1u);
  EXPECT_NE(rep.conflicts[0].find("resnet18 batch 2"), std::string::npos) << rep.conflicts[0];
  EXPECT_NE(rep.conflicts[0].find("19.5 ms"), std::string::npos) << rep.conflicts[0];
  EXPECT_NE(rep.conflicts[0].find("18 ms"), std::string::npos) << rep.conflicts[0];
  // The retried job's ok row replaced the error row; the later error did not replace an ok row.
  EXPECT_EQ(count(out, "status = 'ok' AND latency_ms = 33.0 AND recorded_at = '2026-11-23T07:00:02Z'"), 1);
  EXPECT_EQ(count(out, "status = 'error'"), 0);
  EXPECT_EQ(count(out, "latency_ms = 60.0"), 1);
}

TEST(StoreMerge, GraphHashConflictIsReported) {
  const std::string a = temp_path("g1.sqlite"), b = temp_path("g2.sqlite"), out_path = temp_path("g-out.sqlite");
  {
    Store s(a);
    add(s, {"resnet18", 1, "ok", 10.0, "2026-11-23T06:00:00Z", "00000000000000aa"});
  }
  {
    Store s(b);
    add(s, {"resnet18", 1, "ok", 10.0, "2026-11-23T06:00:00Z", "00000000000000cc", "cpu:Other CPU"});
  }
  Store out(out_path);
  const MergeReport rep = merge_stores({a, b}, out);
  EXPECT_EQ(out.count("measurements"), 2);  // two devices: two identities
  ASSERT_EQ(rep.conflicts.size(), 1u);
  EXPECT_NE(rep.conflicts[0].find("graph 00000000000000cc differs from 00000000000000aa"), std::string::npos)
      << rep.conflicts[0];
  EXPECT_EQ(out.count("configurations c JOIN graphs g ON g.id = c.graph_id", "g.hash = '00000000000000aa'"), 1);
}

TEST(StoreMerge, UnreadableShardsAreReportedAndTheOthersMerged) {
  const std::string good = temp_path("good.sqlite"), garbage = temp_path("garbage.sqlite"),
                    empty = temp_path("empty.sqlite"), truncated = temp_path("truncated.sqlite"),
                    missing = temp_path("missing.sqlite"), out_path = temp_path("u-out.sqlite");
  {
    Store s(good);
    for (int b = 1; b <= 200; ++b) add(s, {"resnet18", b, "ok", 10.0 + b});
  }
  { std::ofstream(garbage) << "this is not an SQLite database, but a shard a crashed node left behind\n"; }
  { std::ofstream create_empty(empty); }
  // The first half of a real store: SQLite sees a malformed file.
  {
    std::ifstream in(good, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_GT(bytes.size(), 8192u);
    std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  Store out(out_path);
  MergeReport rep;
  ASSERT_NO_THROW(rep = merge_stores({garbage, good, empty, truncated, missing}, out));
  ASSERT_EQ(rep.shards.size(), 5u);
  EXPECT_FALSE(rep.all_shards_ok());
  EXPECT_FALSE(rep.shards[0].ok);
  EXPECT_NE(rep.shards[0].error.find("not a database"), std::string::npos) << rep.shards[0].error;
  EXPECT_TRUE(rep.shards[1].ok);
  EXPECT_EQ(rep.shards[1].added, 200);
  EXPECT_FALSE(rep.shards[2].ok);
  EXPECT_NE(rep.shards[2].error.find("not a perfcast measurement store"), std::string::npos) << rep.shards[2].error;
  EXPECT_FALSE(rep.shards[3].ok);
  EXPECT_FALSE(rep.shards[3].error.empty());
  EXPECT_FALSE(rep.shards[4].ok);
  EXPECT_NE(rep.shards[4].error.find("file not found"), std::string::npos) << rep.shards[4].error;
  EXPECT_EQ(out.count("measurements"), 200);
  // The unreadable shards were only read: nothing was created in or written to them.
  EXPECT_EQ(fs::file_size(empty), 0u);
  EXPECT_FALSE(fs::exists(missing));
}

TEST(StoreMerge, InvalidRowsAreRejectedWithTheReason) {
  const std::string a = temp_path("bad-rows.sqlite"), out_path = temp_path("bad-out.sqlite");
  {
    Store s(a);
    add(s, {"resnet18", 1, "ok", 10.0});
    add(s, {"resnet18", 2, "ok", 12.0});
    // A partial row written behind the store's back: ok without a latency.
    s.exec("UPDATE measurements SET latency_ms = NULL WHERE id = 2");
  }
  Store out(out_path);
  const MergeReport rep = merge_stores({a}, out);
  ASSERT_TRUE(rep.all_shards_ok());
  EXPECT_EQ(rep.shards[0].added, 1);
  EXPECT_EQ(rep.shards[0].rejected, 1);
  ASSERT_EQ(rep.rejected.size(), 1u);
  EXPECT_NE(rep.rejected[0].find("resnet18 batch 2"), std::string::npos) << rep.rejected[0];
  EXPECT_NE(rep.rejected[0].find("positive latency_ms"), std::string::npos) << rep.rejected[0];
  EXPECT_EQ(out.count("measurements"), 1);
}

TEST(StoreMerge, RefusesToMergeAStoreIntoItself) {
  const std::string a = temp_path("self.sqlite");
  Store s(a);
  EXPECT_NE(perfcast::testing::error_of([&] { merge_stores({a}, s); }).find("into itself"), std::string::npos);
}
