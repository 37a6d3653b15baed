// mlx-lm's activations.py.
#pragma once

#include <mlx/mlx.h>

namespace mlxts {
namespace mx = mlx::core;

// swiglu(gate, x) = silu(gate) * x. On a GPU it is one fused kernel (mx::compile, shapeless, as mlx-lm's
// @mx.compile swiglu) instead of three: a decode step is bound by kernel launches there. On the CPU the
// plain ops run, because MLX compiles fused CPU kernels with the system C++ compiler at first use.
// MLX_TS_COMPILE=0 turns the fused form off (for A/B measurement).
mx::array swiglu(const mx::array& gate, const mx::array& x);

}  // namespace mlxts
