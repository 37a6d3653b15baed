// The attention core every architecture shares, after its own projections and norms: rope at the
// cache offset, the KV-cache update, and scaled dot-product attention with mlx-lm's mask rule.
#pragma once

#include <mlx/mlx.h>

#include "nn/kv_cache.h"
#include "nn/rope.h"

namespace mlxts {
namespace mx = mlx::core;

// q: [B, n_heads, L, head_dim], k/v: [B, n_kv_heads, L, head_dim]. Returns [B, L, n_heads * head_dim].
mx::array attend(const mx::array& q, const mx::array& k, const mx::array& v, const Rope& rope, KVCache& cache, float scale);

}  // namespace mlxts
