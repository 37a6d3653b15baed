// nn.RoPE and mlx-lm's rope_utils variants (default, linear scaling, Llama3RoPE), all on mx::fast::rope.
#pragma once

#include <optional>

#include <mlx/mlx.h>

#include "config.h"

namespace mlxts {
namespace mx = mlx::core;

struct Rope {
  int dims = 0;
  bool traditional = false;
  std::optional<float> base;
  float scale = 1.0f;
  std::optional<mx::array> freqs;
  mx::array operator()(const mx::array& x, int offset) const { return mx::fast::rope(x, dims, traditional, base, scale, offset, freqs); }
};

// rope_utils.initialize_rope: rc.theta must be set (the architecture's defaults fill it in).
Rope make_rope(const RopeConfig& rc, int dims);

}  // namespace mlxts
