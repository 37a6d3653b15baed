// nn.RMSNorm. The weight is shared with the model's parameter list (save, release).
#pragma once

#include <memory>

#include <mlx/mlx.h>

namespace mlxts {
namespace mx = mlx::core;

struct RMSNorm {
  std::shared_ptr<mx::array> weight;
  float eps = 1e-6f;
  mx::array operator()(const mx::array& x) const { return mx::fast::rms_norm(x, *weight, eps); }
};

}  // namespace mlxts
