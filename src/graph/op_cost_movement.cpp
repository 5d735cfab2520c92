// Cost rules for operators that move or re-label data: they cost bytes, not FLOPs.
#include "graph/op_cost_rules.h"

namespace perfcast::graph::cost_rules {
namespace {

void no_flops(const Graph&, const Node&, OpCost&) {}

// Gathers and slices read only what they copy out (plus their indices), not the whole source.
void reads_what_it_writes(const Graph& g, const Node& n, OpCost& c) {
  c.bytes_read = c.bytes_written;
  for (size_t i = 1; i < n.inputs.size(); ++i)
    if (has_input(n, i)) c.bytes_read += input(g, n, i).size_bytes();
}

// Metadata-only operators: no data is touched.
void metadata_only(const Graph&, const Node&, OpCost& c) {
  c.bytes_read = 0;
  c.bytes_written = 0;
}

}  // namespace

void add_movement_rules(RuleTable& table) {
  for (const char* op : {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout"}) table[op] = no_flops;
  for (const char* op : {"Transpose", "Concat", "Where", "Split", "Expand", "Tile", "Pad", "DepthToSpace", "SpaceToDepth",
                         "ScatterND", "ScatterElements", "Scatter", "Trilu", "ReverseSequence", "Compress",
                         "ConstantOfShape", "Range", "NonZero", "OneHot", "EyeLike", "SequenceConstruct",
                         "SplitToSequence", "ConcatFromSequence"}) {
    table[op] = no_flops;
  }
  for (const char* op : {"Gather", "GatherElements", "GatherND", "Slice"}) table[op] = reads_what_it_writes;
  for (const char* op : {"Shape", "Size", "Constant"}) table[op] = metadata_only;
}

}  // namespace perfcast::graph::cost_rules
