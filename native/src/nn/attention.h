// The attention core every architecture shares, after its own projections and norms: rope at the
// cache offset, then the cache's own update and attention (its kind decides the mask and the kernel).
#pragma once

#include <optional>
#include <vector>

#include <mlx/mlx.h>

#include "nn/kv_cache.h"
#include "nn/rope.h"

namespace mlxts {
namespace mx = mlx::core;

// q: [B, n_heads, L, head_dim], k/v: [B, n_kv_heads, L, head_dim]. Returns [B, L, n_heads * head_dim].
mx::array attend(const mx::array& q, const mx::array& k, const mx::array& v, const Rope& rope, KVCache& cache, float scale);

// mlx-lm's create_causal_mask(N, offset, window_size): bool [N, offset + N].
mx::array causal_mask(int n, int offset, std::optional<int> window_size = std::nullopt);

// Whether quantized_sdpa expands the cache and calls SDPA instead of quantized_matmul: on CUDA by default,
// or as MLX_TS_KV_ATTENTION=dequantize|matmul says.
bool kv_attention_dequantizes();

// mlx-lm's quantized_scaled_dot_product_attention (models/base.py): keys/values as {packed, scales, biases}.
// `mask` (bool, [B, 1, L, keys], true = attend) is the batch cache's padding mask; not with `causal`.
mx::array quantized_sdpa(const mx::array& queries, const std::vector<mx::array>& keys, const std::vector<mx::array>& values, float scale,
                         bool causal, int group_size, int bits, const std::optional<mx::array>& mask = std::nullopt);

}  // namespace mlxts
