// Writing a model's tensors as mlx-lm's save_model does: model.safetensors, or
// model-0000i-of-0000n.safetensors once the next tensor would pass 5 GB (its MAX_FILE_SIZE_GB).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "weights.h"

namespace mlxts {

struct WrittenShards {
  std::vector<std::pair<std::string, std::string>> weight_map;  // tensor -> file name
  size_t total_bytes = 0;
};

// Writes `weights` into the existing directory `dir`; each shard's tensors are evaluated as it is written.
// Throws NativeError (MLX failures classified as writing to `what`).
WrittenShards write_weight_shards(const WeightMap& weights, const std::string& dir, const std::string& what);

}  // namespace mlxts
