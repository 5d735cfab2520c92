#pragma once
// Module scopes of an exported PyTorch graph. torch.onnx.export names each node after the module
// call stack that ran it: "/layer1/layer1.0/conv1/Conv" ran inside module call "/layer1/", inside
// it "/layer1/layer1.0/", inside it "/layer1/layer1.0/conv1/"; a module called twice gets a
// suffix ("relu" then "relu_1"), so each scope string names one call.
#include <string>
#include <string_view>
#include <vector>

#include "graph/graph.h"

namespace perfcast::graph {

// The scopes enclosing a node named like "/a/a.0/conv/Conv", outermost first, each ending in '/':
// {"/a/", "/a/a.0/", "/a/a.0/conv/"}. Empty for a top-level "/Flatten" and for names without a
// leading '/' (not scoped).
std::vector<std::string_view> enclosing_scopes(std::string_view node_name);

bool is_scoped_name(std::string_view node_name);

// True when every node that reads an activation carries a scoped name (a torch.onnx.export graph),
// so module calls can be recovered from the names.
bool names_carry_module_scopes(const Graph& graph);

// The nodes in file order when that order is topological (an exporter's trace order: the order
// eager PyTorch ran them in), else Graph::topological_order().
std::vector<NodeId> execution_order(const Graph& graph);

}  // namespace perfcast::graph
