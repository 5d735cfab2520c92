#pragma once
// Bytes of the activations a training framework keeps from the forward pass for the backward pass
// (PyTorch autograd's saved tensors), from the operator graph: convolutions and matrix products
// keep their activation inputs, normalisations their input, ReLU/Sigmoid/Tanh/Softmax their output,
// products and smooth activations (Mul, GELU, ...) their inputs, max-pooling its input plus int64
// indices, dropout a one-byte mask; sums, concatenations, views and average pools keep nothing.
// A tensor kept by several consumers counts once. Unknown operators keep their inputs (an upper
// bound). Bytes are in the graph's exported (fp32) element size.
#include <cstdint>

#include "graph/graph.h"

namespace perfcast::predict {

struct SavedActivations {
  int64_t float_bytes = 0;  // activation tensors (scale with the precision)
  int64_t fixed_bytes = 0;  // indices and masks (do not)
};

SavedActivations saved_for_backward(const graph::Graph& graph);

}  // namespace perfcast::predict
