#pragma once
#include <string>

#include "model_flags.h"
#include "predict/workload.h"

namespace perfcast::cli {

// The model named on the command line at the shapes its flags fix, costed once.
predict::ModelWorkload load_workload(const std::string& model, const ModelFlags& flags);

}  // namespace perfcast::cli
