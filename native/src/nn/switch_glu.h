// mlx-lm's SwitchGLU (switch_layers.py): each token runs through the k experts it was routed to, the
// experts stacked in one gate/up/down SwitchLinear each, with tokens sorted by expert when there are many.
#pragma once

#include <mlx/mlx.h>

#include "nn/linear.h"

namespace mlxts {
namespace mx = mlx::core;

struct SwitchGLU {
  Linear gate_proj, up_proj, down_proj;
  // x: [..., dims], indices: [..., k] int. Returns [..., k, dims].
  mx::array operator()(const mx::array& x, const mx::array& indices) const;
};

}  // namespace mlxts
