#pragma once
// Opens libperfcast_gnn.so (the libtorch part of perfcast) on first use and returns its entry
// points. Looked for in $PERFCAST_GNN_PLUGIN (a file; only there when set), else next to the running
// executable, then in the build folder. Throws perfcast::Error naming every place tried when it cannot be loaded.
#include "learn/gnn/gnn_commands.h"

namespace perfcast::learn {

const gnn::GnnCommands& gnn_commands();

}  // namespace perfcast::learn
