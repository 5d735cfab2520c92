#include "predict/interval.h"

#include <nlohmann/json.hpp>

namespace perfcast::predict {

nlohmann::json to_json(const Interval& interval) {
  return {{"value", interval.value}, {"low", interval.low}, {"high", interval.high}};
}

}  // namespace perfcast::predict
