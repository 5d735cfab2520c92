#pragma once
#include <onnx/onnx_pb.h>

namespace perfcast::graph {

// Runs ONNX shape inference (with its data propagation), then folds the small integer shape
// computations it leaves open (Shape -> Gather -> Concat -> Reshape chains that exporters emit
// for dynamic axes) and runs it again, until every shape is known or nothing more folds.
// Writes the inferred shapes into `model`'s value_info; the nodes themselves are not changed.
void infer_shapes_with_folding(onnx::ModelProto& model);

}  // namespace perfcast::graph
