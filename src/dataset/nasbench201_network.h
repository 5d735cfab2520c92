#pragma once
// NAS-Bench-201 architectures: the cell string and the whole CIFAR network it stands for, as a
// perfcast graph (the same operators, shapes and costs as an ONNX export of the network).
//
// Network (NAS-Bench-201's TinyNetwork, AutoDL-Projects lib/models/cell_infers/tiny_network.py):
//   stem Conv3x3(3->C) + BN; three stages of N cells with C, 2C, 4C channels, a ResNet basic block
//   (ReLU-Conv3x3/s2-BN, ReLU-Conv3x3-BN, shortcut AvgPool2x2/s2 + Conv1x1, Add) between stages;
//   BN + ReLU, global average pool, Linear(4C -> classes). C = 16, N = 5, 10 classes, 3x32x32 input.
// Cell: node 0 is the cell input; node j = sum over i < j of op(i->j)(node i), the sum a chain of
// Add nodes in the order of i. nor_conv_kxk = ReLU-Conv(kxk, pad k/2, no bias)-BN;
// avg_pool_3x3 = AveragePool 3x3, stride 1, pad 1, count_include_pad 0; skip_connect = the tensor
// itself (no node); none contributes nothing, and a node whose edges are all `none` is zero,
// built as Mul(cell input, 0) (the official Zero op computes x.mul(0.)); ops applied to it are
// still built, as they run.
// as_exported (default) builds the graph torch's ONNX exporter writes for this network, so that it
// matches an imported export node for node: a cell node that does not reach the cell output is
// dead code and left out, and equal operators on the same tensor (the ReLU in front of two convs
// reading one node, the same pooling, the same partial sum) are built once (the exporter's common
// subexpression elimination). as_exported = false builds what an eager framework runs: every node
// and every op of the module (its parameter count is the module's sum(p.numel())).
#include <array>
#include <cstdint>
#include <string>

#include "graph/graph.h"

namespace perfcast::dataset {

enum class Nb201Op { kNone, kSkipConnect, kConv1x1, kConv3x3, kAvgPool3x3 };

// The op names of NAS-Bench-201 strings: "none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3",
// "avg_pool_3x3".
std::string nb201_op_name(Nb201Op op);

// The six edges of a cell, in string order: 0->1 | 0->2, 1->2 | 0->3, 1->3, 2->3.
struct NasBench201Cell {
  std::array<Nb201Op, 6> edges{};
  // Op on the edge from node `from` to node `to` (0 <= from < to <= 3).
  Nb201Op op(int from, int to) const;
  // The canonical NAS-Bench-201 string, "|nor_conv_3x3~0|+|...|".
  std::string str() const;
};

// Parses "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|". Whitespace is not allowed. Throws perfcast::Error
// naming the string and what is wrong (unknown op with the closest names, wrong node count, wrong
// or repeated input index, missing '|').
NasBench201Cell parse_nasbench201_arch(const std::string& arch);

struct NasBench201NetworkOptions {
  int64_t batch = 1;
  int64_t channels = 16;        // C of the first stage
  int64_t cells_per_stage = 5;  // N
  int64_t num_classes = 10;
  int64_t image_size = 32;      // input is batch x 3 x image_size x image_size
  bool as_exported = true;      // see above
};

// Throws perfcast::Error for a batch, size or channel count below 1 (or an image size that the
// two stride-2 reductions cannot halve twice).
graph::Graph build_nasbench201_network(const NasBench201Cell& cell, const NasBench201NetworkOptions& options = {});
graph::Graph build_nasbench201_network(const std::string& arch, int64_t batch);

}  // namespace perfcast::dataset
