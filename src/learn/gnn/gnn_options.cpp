#include "learn/gnn/gnn_options.h"

#include "common/error.h"

namespace perfcast::learn::gnn {

std::string kind_name(GnnKind kind) {
  switch (kind) {
    case GnnKind::kSage: return "sage";
    case GnnKind::kGin: return "gin";
    case GnnKind::kGaeSage: return "gae-sage";
  }
  return "sage";
}

GnnKind parse_kind(const std::string& text) {
  if (text == "sage") return GnnKind::kSage;
  if (text == "gin") return GnnKind::kGin;
  if (text == "gae-sage") return GnnKind::kGaeSage;
  throw Error("unknown graph predictor '" + text + "'; expected sage, gin or gae-sage");
}

}  // namespace perfcast::learn::gnn
