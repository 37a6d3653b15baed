#include "nn/attention.h"

namespace mlxts {

mx::array attend(const mx::array& q, const mx::array& k, const mx::array& v, const Rope& rope, KVCache& cache, float scale) {
  const int B = q.shape(0);
  const int L = q.shape(2);
  const int offset = cache.offset();
  auto [keys, values] = cache.update_and_fetch(rope(k, offset), v);
  // mlx-lm's create_attention_mask: "causal" for a multi-token step, none for a single token.
  auto out = mx::fast::scaled_dot_product_attention(rope(q, offset), keys, values, scale, L > 1 ? "causal" : "");
  return mx::reshape(mx::transpose(out, {0, 2, 1, 3}), {B, L, -1});
}

}  // namespace mlxts
