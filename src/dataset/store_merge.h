#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "dataset/store.h"

namespace perfcast::dataset {

// Merging measurement stores (the shards of a campaign) into one, without duplicates.
//
// A measurement's identity is its configuration (model, batch, seq_len, precision, mode, variant),
// device name, source and source_key: the store's own UNIQUE key, compared by value, not by row
// id. Devices are matched by name, graphs by content hash, configurations by their key. Rows are
// copied verbatim, provenance included. When the identity is already in the output:
//   - the same values and provenance time: a duplicate, skipped (merging twice changes nothing);
//   - the output has an error row and the shard an ok or oom row: replaced (a retry succeeded);
//   - the shard has an error row and the output an ok or oom row: skipped as superseded;
//   - anything else: a conflict; the row already in the output is kept, the conflict reported.
// A configuration whose graph hash differs between stores is a conflict too (the output's kept).
// Each shard is merged in one transaction: a shard that cannot be read (not SQLite, not a
// perfcast store, newer schema, truncated) changes nothing and is reported, the others still merge.
// Rows that fail validate() are rejected with the reason.

struct ShardMergeReport {
  std::string path;
  bool ok = false;
  std::string error;  // why the shard was not merged
  int64_t rows = 0, added = 0, duplicates = 0, replaced = 0, superseded = 0, conflicts = 0, rejected = 0;
};

struct MergeReport {
  std::vector<ShardMergeReport> shards;
  std::vector<std::string> conflicts;  // one line each, naming the row and both values
  std::vector<std::string> rejected;   // "shard: row: reason"
  int64_t added() const;
  int64_t duplicates() const;
  int64_t conflict_count() const;
  bool all_shards_ok() const;
};

MergeReport merge_stores(const std::vector<std::string>& shard_paths, Store& out);

}  // namespace perfcast::dataset
