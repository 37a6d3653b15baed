#include "nn/attention.h"

#include <cstdlib>
#include <cstring>

#include <mlx/backend/cuda/cuda.h>

namespace mlxts {

mx::array attend(const mx::array& q, const mx::array& k, const mx::array& v, const Rope& rope, KVCache& cache, float scale) {
  const int B = q.shape(0);
  const int L = q.shape(2);
  auto& c = cache.impl();
  const int offset = cache.offset();
  // A batch cache ropes each row at its own position (two rope launches a layer fewer than an identity rope first).
  auto out = c.ropes_itself() ? c.attend(q, k, v, scale) : c.attend(rope(q, offset), rope(k, offset), v, scale);
  return mx::reshape(mx::transpose(out, {0, 2, 1, 3}), {B, L, -1});
}

mx::array causal_mask(int n, int offset, std::optional<int> window_size) {
  auto rinds = mx::arange(offset + n);
  auto linds = offset ? mx::arange(offset, offset + n) : rinds;
  linds = mx::expand_dims(linds, 1);
  rinds = mx::expand_dims(rinds, 0);
  auto mask = mx::greater_equal(linds, rinds);
  if (window_size) mask = mx::logical_and(mask, mx::less(linds, mx::add(rinds, mx::array(*window_size))));
  return mask;
}

bool kv_attention_dequantizes() {
  // MLX 0.32.4's CUDA quantized_matmul has no kernel for most attention shapes (a 2048-query prefill chunk,
  // or one query over 32421 keys: "No implementation for problem shape"), so on CUDA the quantized cache is
  // expanded per layer for the call and the cache itself stays quantized.
  const char* e = std::getenv("MLX_TS_KV_ATTENTION");
  if (e && std::strcmp(e, "dequantize") == 0) return true;
  if (e && std::strcmp(e, "matmul") == 0) return false;
  return mx::default_device().type == mx::Device::gpu && mx::cu::is_available();
}

mx::array quantized_sdpa(const mx::array& queries, const std::vector<mx::array>& keys, const std::vector<mx::array>& values, float scale,
                         bool causal, int group_size, int bits, const std::optional<mx::array>& mask) {
  if (kv_attention_dequantizes()) {
    auto k = mx::dequantize(keys[0], keys[1], keys[2], group_size, bits, "affine", std::nullopt, queries.dtype());
    auto v = mx::dequantize(values[0], values[1], values[2], group_size, bits, "affine", std::nullopt, queries.dtype());
    return mx::fast::scaled_dot_product_attention(queries, k, v, scale, causal ? "causal" : "", mask);
  }
  const int B = queries.shape(0), n_q_heads = queries.shape(1), L = queries.shape(2), D = queries.shape(3);
  const int n_kv_heads = keys[0].shape(-3);
  const int n_repeats = n_q_heads / n_kv_heads;
  // A Python float scalar keeps the array's dtype; so does a scalar of that dtype here.
  auto q = mx::multiply(queries, mx::array(scale, queries.dtype()));
  std::vector<mx::array> k = keys, v = values;
  if (n_repeats > 1) {
    q = mx::reshape(q, {B, n_kv_heads, n_repeats, L, D});
    for (auto& x : k) x = mx::expand_dims(x, -3);
    for (auto& x : v) x = mx::expand_dims(x, -3);
  }
  auto scores = mx::quantized_matmul(q, k[0], k[1], k[2], true, group_size, bits);
  if (causal) {
    const int qL = scores.shape(-2), kL = scores.shape(-1);
    auto mask = mx::greater_equal(mx::expand_dims(mx::arange(kL - qL, kL), 1), mx::expand_dims(mx::arange(kL), 0));
    scores = mx::where(mask, scores, mx::array(static_cast<float>(mx::finfo(scores.dtype()).min), scores.dtype()));
  }
  if (mask) {
    // [B, 1, L, keys] against scores [B, kv_heads, repeats, L, keys] when the heads were grouped
    auto m = n_repeats > 1 ? mx::expand_dims(*mask, 1) : *mask;
    scores = mx::where(m, scores, mx::array(static_cast<float>(mx::finfo(scores.dtype()).min), scores.dtype()));
  }
  scores = mx::softmax(scores, -1, true);
  auto out = mx::quantized_matmul(scores, v[0], v[1], v[2], false, group_size, bits);
  if (n_repeats > 1) out = mx::reshape(out, {B, n_q_heads, L, D});
  return out;
}

}  // namespace mlxts
