// Tensor-parallel shards as mlx-lm's `shard()` (models/llama.py, qwen3.py) with mlx.nn's shard_linear:
// q/k/v/gate/up split by output rows ("all-to-sharded"), o/down split by input columns ("sharded-to-all",
// followed by an all_sum); embeddings, norms and the head stay whole. Quantized weights split with their
// scales and biases (groups run along the input, so a column split must fall on a group boundary).
#pragma once

#include <mlx/mlx.h>

#include "config.h"
#include "nn/params.h"
#include "weights.h"

namespace mlxts::dist {

struct ShardSpec {
  int rank = 0;
  int size = 1;
  // pipeline mode (src/dist/pipeline.h): layers split across ranks instead of tensors
  bool pipeline = false;
};

// Replaces each split tensor in `w` by this rank's part, materialised in its own buffer (the whole tensor
// is read once and freed), and divides the config's heads and intermediate size so the architecture builds
// the per-shard shapes. Call after the architecture's resolve and sanitize. E_BAD_ARGUMENT when the model
// does not split into spec.size parts.
void shard_weights(WeightMap& w, ModelConfig& cfg, const ShardSpec& spec, const std::string& source);

// Marks the row-split layers (o_proj, down_proj) so their partial products are summed over `g`.
void mark_all_sums(Params& params, const mlx::core::distributed::Group& g);

}  // namespace mlxts::dist
