#pragma once
// Bytes of the activations a training framework keeps from the forward pass for the backward pass
// (PyTorch autograd's saved tensors), from the operator graph: convolutions and matrix products
// keep their activation inputs, normalisations their input, ReLU/Sigmoid/Tanh/Softmax their output,
// products and smooth activations (Mul, GELU, ...) their inputs, max-pooling its input plus int64
// indices, dropout a one-byte mask; sums, concatenations, views and average pools keep nothing.
// A buffer kept by several consumers counts once (a view counts as the buffer it re-labels).
// Unknown operators keep their inputs (an upper bound). Bytes are in the graph's exported (fp32)
// element size.
#include <cstdint>

#include "graph/graph.h"

namespace perfcast::predict {

struct SavedActivations {
  int64_t float_bytes = 0;  // activation tensors (scale with the precision)
  int64_t fixed_bytes = 0;  // indices and masks (do not)
};

SavedActivations saved_for_backward(const graph::Graph& graph);

// The most activation memory alive at once during one training step (forward, then backward in
// reverse topological order), as autograd frees it: a saved tensor lives from the forward until the
// backward of its first keeper; the gradient of an activation from the backward of its last reader
// until that of its producer (the forward's live range, mirrored). At each step i:
//   forward:  saved by nodes <= i + the live activations not (yet) saved
//   backward: saved by nodes <= i + the gradients alive at i + node i's new weight gradient (computed
//             before it is added into the persistent .grad)
// The graph inputs get no gradient. fixed_bytes (indices, masks) are all counted as alive.
struct TrainingActivationPeak {
  int64_t float_bytes = 0;            // saved tensors + live activations or gradients at the peak
  int64_t fixed_bytes = 0;            // SavedActivations::fixed_bytes
  int64_t weight_gradient_bytes = 0;  // the new weight gradient of the node at the peak (fp32)
  int64_t saved_float_bytes = 0;      // SavedActivations::float_bytes, for reference
};

TrainingActivationPeak training_activation_peak(const graph::Graph& graph);

}  // namespace perfcast::predict
