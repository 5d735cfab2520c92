#pragma once
#include <stdexcept>
#include <string>

namespace perfcast {

// Every failure a user can cause (bad file, unknown device, impossible request) is reported
// as an Error whose message says what is wrong and, where possible, what to do about it.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace perfcast
