#pragma once
// The number of CPU threads libtorch uses for the graph predictors (process-wide). No libtorch here.
namespace perfcast::learn::gnn {

void set_torch_threads(int threads);  // values < 1 are taken as 1
int torch_threads();

}  // namespace perfcast::learn::gnn
