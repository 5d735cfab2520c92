#include "learn/gnn/torch_threads.h"

#include <ATen/Parallel.h>

namespace perfcast::learn::gnn {

void set_torch_threads(int threads) { at::set_num_threads(threads < 1 ? 1 : threads); }
int torch_threads() { return at::get_num_threads(); }

}  // namespace perfcast::learn::gnn
