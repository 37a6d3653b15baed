#include "nn/activations.h"

#include <cstdlib>
#include <cstring>
#include <mutex>

namespace mlxts {
namespace {

std::vector<mx::array> swiglu_ops(const std::vector<mx::array>& in) {
  const auto& gate = in[0];
  return {mx::multiply(mx::multiply(gate, mx::sigmoid(gate)), in[1])};
}

bool fuse_on_gpu() {
  static const bool on = [] {
    const char* v = std::getenv("MLX_TS_COMPILE");
    return !(v && std::strcmp(v, "0") == 0);
  }();
  return on && mx::default_device() == mx::Device::gpu;
}

}  // namespace

mx::array swiglu(const mx::array& gate, const mx::array& x) {
  if (!fuse_on_gpu()) return swiglu_ops({gate, x})[0];
  static const auto fused = mx::compile(swiglu_ops, /*shapeless=*/true);
  // Generations of two models run on two worker threads; MLX's compile cache is not documented as
  // thread-safe, and building the graph here is cheap (nothing is evaluated).
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  return fused({gate, x})[0];
}

}  // namespace mlxts
