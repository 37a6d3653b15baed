#include "nn/kv_cache.h"

#include "kernels/registry.h"

namespace mlxts {

mx::array PlainKVCache::attend(const mx::array& q, const mx::array& k, const mx::array& v, float scale) {
  auto [keys, values] = update_and_fetch(k, v);
  // mlx-lm's create_attention_mask: "causal" for a multi-token step, none for a single token.
  if (q.shape(2) == 1)
    if (auto out = kernels::decode_attention(q, keys, values, scale)) return *out;
  return mx::fast::scaled_dot_product_attention(q, keys, values, scale, q.shape(2) > 1 ? "causal" : "");
}

std::vector<CacheStateEntry> PlainKVCache::saved_state() const {
  return {{"0", *keys_, false}, {"1", *values_, false}, {"2", mx::array(offset_), true}};
}

}  // namespace mlxts
