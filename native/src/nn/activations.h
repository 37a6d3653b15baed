// mlx-lm's activations.py.
#pragma once

#include <mlx/mlx.h>

namespace mlxts {
namespace mx = mlx::core;

// swiglu(gate, x) = silu(gate) * x
inline mx::array swiglu(const mx::array& gate, const mx::array& x) {
  return mx::multiply(mx::multiply(gate, mx::sigmoid(gate)), x);
}

}  // namespace mlxts
