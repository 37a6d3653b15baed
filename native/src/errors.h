// Errors that cross into JS carry a NativeErrorCode (kernel/engine/native-types.ts) in `.code`.
#pragma once

#include <stdexcept>
#include <string>

namespace mlxts {

class NativeError : public std::runtime_error {
 public:
  NativeError(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

[[noreturn]] inline void fail(const char* code, const std::string& message) { throw NativeError(code, message); }

// Classifies any exception (ours, MLX's, the standard library's) into a NativeError. `context` says what
// we were doing ("loading /x/model.safetensors") so MLX's terse text gets a what and a why.
NativeError classify_exception(const std::exception& e, const std::string& context);

// "43.8 MB": decimal units, the way the TypeScript side (formatBytes) writes them.
std::string human_bytes(size_t n);

}  // namespace mlxts
