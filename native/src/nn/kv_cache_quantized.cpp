#include "nn/kv_cache_quantized.h"

#include "errors.h"
#include "nn/attention.h"

namespace mlxts {
namespace {

mx::array head(const mx::array& x, int n) {
  return mx::slice(x, {0, 0, 0, 0}, {x.shape(0), x.shape(1), n, x.shape(3)});
}

}  // namespace

std::pair<QuantizedKVCache::Quantized, QuantizedKVCache::Quantized> QuantizedKVCache::update_and_fetch(const mx::array& k,
                                                                                                     const mx::array& v) {
  const int B = k.shape(0), H = k.shape(1), S = k.shape(2);
  const int prev = offset_;
  if (!keys_ || prev + S > (*keys_)[0].shape(2)) {
    const int el_per_int = 32 / bits_;
    const int new_steps = (kStep + S - 1) / kStep * kStep;
    if (keys_) {
      for (auto* q : {&*keys_, &*values_}) {
        for (auto& x : *q) {
          if (prev % kStep != 0) x = head(x, prev);
          x = mx::concatenate({x, mx::zeros({B, H, new_steps, x.shape(3)}, x.dtype())}, 2);
        }
      }
    } else {
      auto init = [&](int dim) {
        return Quantized{mx::zeros({B, H, new_steps, dim / el_per_int}, mx::uint32), mx::zeros({B, H, new_steps, dim / group_size_}, k.dtype()),
                         mx::zeros({B, H, new_steps, dim / group_size_}, k.dtype())};
      };
      keys_ = init(k.shape(3));
      values_ = init(v.shape(3));
    }
  }
  offset_ += S;
  auto qk = mx::quantize(k, group_size_, bits_);
  auto qv = mx::quantize(v, group_size_, bits_);
  for (size_t i = 0; i < keys_->size(); ++i) {
    auto& kx = (*keys_)[i];
    auto& vx = (*values_)[i];
    kx = mx::slice_update(kx, qk[i], mx::Shape{0, 0, prev, 0}, mx::Shape{B, H, offset_, kx.shape(3)});
    vx = mx::slice_update(vx, qv[i], mx::Shape{0, 0, prev, 0}, mx::Shape{B, H, offset_, vx.shape(3)});
  }
  if (offset_ == (*keys_)[0].shape(2)) return {*keys_, *values_};
  Quantized ks, vs;
  for (const auto& x : *keys_) ks.push_back(head(x, offset_));
  for (const auto& x : *values_) vs.push_back(head(x, offset_));
  return {ks, vs};
}

mx::array QuantizedKVCache::attend(const mx::array& q, const mx::array& k, const mx::array& v, float scale) {
  auto [keys, values] = update_and_fetch(k, v);
  // mlx-lm's make_mask: "causal" for a multi-token step, none for a single token.
  return quantized_sdpa(q, keys, values, scale, q.shape(2) > 1, group_size_, bits_);
}

std::vector<mx::array> QuantizedKVCache::state() const {
  std::vector<mx::array> s;
  if (keys_) {
    s.insert(s.end(), keys_->begin(), keys_->end());
    s.insert(s.end(), values_->begin(), values_->end());
  }
  return s;
}

size_t QuantizedKVCache::nbytes() const {
  size_t n = 0;
  for (const auto& a : state()) n += a.nbytes();
  return n;
}

std::vector<CacheStateEntry> QuantizedKVCache::saved_state() const {
  std::vector<CacheStateEntry> s;
  for (int t = 0; t < 2; ++t) {
    const auto& q = t == 0 ? *keys_ : *values_;
    for (size_t i = 0; i < q.size(); ++i) s.push_back({std::to_string(t) + "." + std::to_string(i), q[i], false});
  }
  s.push_back({"2", mx::array(offset_), true});
  s.push_back({"3", mx::array(group_size_), true});
  s.push_back({"4", mx::array(bits_), true});
  return s;
}

std::unique_ptr<LayerKVCache> PlainKVCache::to_quantized(int group_size, int bits) const {
  if (keys_ && (keys_->shape(3) % group_size != 0 || values_->shape(3) % group_size != 0))
    fail("E_BAD_ARGUMENT", "kvGroupSize " + std::to_string(group_size) + " does not divide this model's head dim (" + std::to_string(keys_->shape(3)) +
                               "), so its KV cache cannot be quantized in such groups. Pass a kvGroupSize that divides it (32, 64 or 128).");
  if (!keys_) {
    auto q = std::make_unique<QuantizedKVCache>(group_size, bits);
    return q;
  }
  // As mlx-lm: the whole allocated buffer is quantized (groups run along head_dim, so the zero tail is inert).
  return std::make_unique<QuantizedKVCache>(mx::quantize(*keys_, group_size, bits), mx::quantize(*values_, group_size, bits), offset_, group_size,
                                            bits);
}

}  // namespace mlxts
