// mlx-lm's KVCache (models/cache.py): grows in steps so decode does not reallocate every token.
#pragma once

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include <mlx/mlx.h>

namespace mlxts {
namespace mx = mlx::core;

class KVCache {
 public:
  static constexpr int kStep = 256;

  // k, v: [B, kv_heads, T, head_dim]. Returns keys/values [B, kv_heads, offset, head_dim].
  std::pair<mx::array, mx::array> update_and_fetch(const mx::array& k, const mx::array& v) {
    const int prev = offset_;
    const int t = k.shape(2);
    if (!keys_ || prev + t > keys_->shape(2)) {
      const int steps = (kStep + t - 1) / kStep;
      mx::Shape ks{k.shape(0), k.shape(1), steps * kStep, k.shape(3)};
      mx::Shape vs{v.shape(0), v.shape(1), steps * kStep, v.shape(3)};
      auto nk = mx::zeros(ks, k.dtype());
      auto nv = mx::zeros(vs, v.dtype());
      if (keys_) {
        auto pk = mx::slice(*keys_, {0, 0, 0, 0}, {keys_->shape(0), keys_->shape(1), prev, keys_->shape(3)});
        auto pv = mx::slice(*values_, {0, 0, 0, 0}, {values_->shape(0), values_->shape(1), prev, values_->shape(3)});
        keys_ = mx::concatenate({pk, nk}, 2);
        values_ = mx::concatenate({pv, nv}, 2);
      } else {
        keys_ = nk;
        values_ = nv;
      }
    }
    offset_ += t;
    keys_ = mx::slice_update(*keys_, k, mx::Shape{0, 0, prev, 0}, mx::Shape{k.shape(0), k.shape(1), offset_, k.shape(3)});
    values_ = mx::slice_update(*values_, v, mx::Shape{0, 0, prev, 0}, mx::Shape{v.shape(0), v.shape(1), offset_, v.shape(3)});
    return {mx::slice(*keys_, {0, 0, 0, 0}, {keys_->shape(0), keys_->shape(1), offset_, keys_->shape(3)}),
            mx::slice(*values_, {0, 0, 0, 0}, {values_->shape(0), values_->shape(1), offset_, values_->shape(3)})};
  }

  int offset() const { return offset_; }
  // Keep only the first n positions (prompt-prefix reuse).
  void trim_to(int n) { offset_ = std::min(offset_, std::max(0, n)); }
  void reset() { keys_.reset(); values_.reset(); offset_ = 0; }
  // Arrays to hand to async_eval so the cache is materialised with the step.
  std::vector<mx::array> state() const {
    std::vector<mx::array> s;
    if (keys_) { s.push_back(*keys_); s.push_back(*values_); }
    return s;
  }

 private:
  std::optional<mx::array> keys_;
  std::optional<mx::array> values_;
  int offset_ = 0;
};

// One cache per layer.
using Cache = std::vector<KVCache>;

}  // namespace mlxts
