#include "nn/kv_cache_rotating.h"

#include "nn/attention.h"

namespace mlxts {
namespace {

// x[..., a:b, :]
mx::array positions(const mx::array& x, int a, int b) {
  return mx::slice(x, {0, 0, a, 0}, {x.shape(0), x.shape(1), b, x.shape(3)});
}

}  // namespace

mx::array RotatingKVCache::trim(int trim_size, const mx::array& v, const std::optional<mx::array>& append) const {
  std::vector<mx::array> parts;
  if (trim_size > 0) {
    parts.push_back(positions(v, 0, keep_));
    parts.push_back(positions(v, trim_size + keep_, v.shape(2)));
  } else {
    parts.push_back(v);
  }
  if (append) parts.push_back(*append);
  return mx::concatenate(parts, 2);
}

mx::array RotatingKVCache::temporal_order(const mx::array& v) const {
  if (idx_ == v.shape(2)) return v;
  if (idx_ < offset_) return mx::concatenate({positions(v, 0, keep_), positions(v, idx_, v.shape(2)), positions(v, keep_, idx_)}, 2);
  return positions(v, 0, idx_);
}

std::pair<mx::array, mx::array> RotatingKVCache::update_concat(const mx::array& k, const mx::array& v) {
  if (!keys_) {
    keys_ = k;
    values_ = v;
  } else {
    // Temporal order first, so the positions kept are the most recent ones.
    keys_ = temporal_order(*keys_);
    values_ = temporal_order(*values_);
    idx_ = keys_->shape(2);
    // The largest size is max_size + S - 1, so that every new token sees max_size positions.
    const int trim_size = idx_ - max_size_ + 1;
    keys_ = trim(trim_size, *keys_, k);
    values_ = trim(trim_size, *values_, v);
  }
  offset_ += k.shape(2);
  idx_ = keys_->shape(2);
  return {*keys_, *values_};
}

std::pair<mx::array, mx::array> RotatingKVCache::update_in_place(const mx::array& k, const mx::array& v) {
  const int B = k.shape(0), H = k.shape(1), S = k.shape(2);
  const int prev = offset_;
  if (!keys_ || (prev >= keys_->shape(2) && keys_->shape(2) < max_size_)) {
    const int new_size = std::min(kStep, max_size_ - prev);
    auto nk = mx::zeros({B, H, new_size, k.shape(3)}, k.dtype());
    auto nv = mx::zeros({B, H, new_size, v.shape(3)}, v.dtype());
    if (keys_) {
      keys_ = mx::concatenate({*keys_, nk}, 2);
      values_ = mx::concatenate({*values_, nv}, 2);
    } else {
      keys_ = nk;
      values_ = nv;
    }
    idx_ = prev;
  }
  const int trim_size = keys_->shape(2) - max_size_;
  if (trim_size > 0) {
    keys_ = trim(trim_size, *keys_);
    values_ = trim(trim_size, *values_);
    idx_ = max_size_;
  }
  if (idx_ == max_size_) idx_ = keep_;  // rotate
  keys_ = mx::slice_update(*keys_, k, mx::Shape{0, 0, idx_, 0}, mx::Shape{B, H, idx_ + S, k.shape(3)});
  values_ = mx::slice_update(*values_, v, mx::Shape{0, 0, idx_, 0}, mx::Shape{B, H, idx_ + S, v.shape(3)});
  offset_ += S;
  idx_ += S;
  return keys_and_values();
}

std::pair<mx::array, mx::array> RotatingKVCache::keys_and_values() const {
  if (offset_ < keys_->shape(2)) return {positions(*keys_, 0, offset_), positions(*values_, 0, offset_)};
  return {*keys_, *values_};
}

mx::array RotatingKVCache::attend(const mx::array& q, const mx::array& k, const mx::array& v, float scale) {
  const int n = q.shape(2);
  // mlx-lm's RotatingKVCache.make_mask (window_size = max_size), taken before the update as the model does.
  std::string mode;
  std::optional<mx::array> mask;
  if (n > 1) {
    const int off = std::min(max_size_ - 1, offset_);
    if (off + n > max_size_) {
      mask = causal_mask(n, off, max_size_);
      mode = "array";
    } else {
      mode = "causal";
    }
  }
  auto [keys, values] = n == 1 ? update_in_place(k, v) : update_concat(k, v);
  return mx::fast::scaled_dot_product_attention(q, keys, values, scale, mode, mask);
}

std::vector<CacheStateEntry> RotatingKVCache::saved_state() const {
  return {{"0", *keys_, false},
          {"1", *values_, false},
          {"2", mx::array(offset_), true},
          {"3", mx::array(keep_), true},
          {"4", mx::array(max_size_), true},
          {"5", mx::array(idx_), true}};
}

}  // namespace mlxts
