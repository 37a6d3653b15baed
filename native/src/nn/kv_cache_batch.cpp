#include "nn/kv_cache_batch.h"

#include <algorithm>

#include "errors.h"

namespace mlxts {
namespace {

// The first n slots of a [B, H, S, D] buffer.
mx::array slots(const mx::array& x, int n) { return mx::slice(x, {0, 0, 0, 0}, {x.shape(0), x.shape(1), n, x.shape(3)}); }

mx::array pad_left(const mx::array& x, int d) {
  if (d == 0) return x;
  return mx::concatenate({mx::zeros({x.shape(0), x.shape(1), d, x.shape(3)}, x.dtype()), x}, 2);
}

}  // namespace

void BatchKVCache::reset() {
  keys_.reset();
  values_.reset();
  idx_ = 0;
  left_pad_.clear();
  positions_.clear();
}

std::vector<mx::array> BatchKVCache::state() const {
  if (!keys_) return {};
  return {*keys_, *values_};
}

size_t BatchKVCache::nbytes() const { return keys_ ? keys_->nbytes() + values_->nbytes() : 0; }

void BatchKVCache::grow(int extra) {
  const int cap = keys_ ? keys_->shape(2) : 0;
  if (idx_ + extra <= cap) return;
  const int steps = (kStep + extra - 1) / kStep;
  auto more = [&](const mx::array& x) {
    return mx::concatenate({slots(x, idx_), mx::zeros({x.shape(0), x.shape(1), steps * kStep, x.shape(3)}, x.dtype())}, 2);
  };
  keys_ = more(*keys_);
  values_ = more(*values_);
}

void BatchKVCache::extend(const LayerKVCache& row) {
  const int n = row.offset();
  const auto st = row.state();  // a PlainKVCache: {keys, values} buffers, or nothing when it holds no positions
  if (n > 0 && st.size() != 2) fail("E_MLX", std::string("a batch row's cache must be a plain KVCache, got ") + row.class_name());
  const int new_idx = std::max(idx_, n);
  std::optional<mx::array> rk, rv;
  if (n > 0) {
    rk = slots(st[0], n);
    rv = slots(st[1], n);
  }
  if (keys_ || rk) {
    // The side without arrays yet takes the other side's head count, head dims and dtype.
    const mx::array& kref = keys_ ? *keys_ : *rk;
    const mx::array& vref = values_ ? *values_ : *rv;
    auto fill = [&](std::optional<mx::array>& x, const mx::array& ref, int batch, int len) {
      if (!x) x = mx::zeros({batch, ref.shape(1), len, ref.shape(3)}, ref.dtype());
    };
    std::optional<mx::array> ek = keys_ ? std::optional<mx::array>(slots(*keys_, idx_)) : std::nullopt;
    std::optional<mx::array> ev = values_ ? std::optional<mx::array>(slots(*values_, idx_)) : std::nullopt;
    fill(ek, kref, rows(), idx_);
    fill(ev, vref, rows(), idx_);
    fill(rk, kref, 1, n);
    fill(rv, vref, 1, n);
    if (rows() == 0) {
      keys_ = *rk;
      values_ = *rv;
    } else {
      keys_ = mx::concatenate({pad_left(*ek, new_idx - idx_), pad_left(*rk, new_idx - n)}, 0);
      values_ = mx::concatenate({pad_left(*ev, new_idx - idx_), pad_left(*rv, new_idx - n)}, 0);
    }
  }
  if (rows() == 0) {
    left_pad_.clear();
    positions_.clear();
    idx_ = n;
  } else {
    for (auto& p : left_pad_) p += new_idx - idx_;
    idx_ = new_idx;
  }
  left_pad_.push_back(new_idx - n);
  positions_.push_back(n);
}

void BatchKVCache::filter(const std::vector<int>& keep) {
  std::vector<int> pad, pos;
  for (int i : keep) {
    pad.push_back(left_pad_.at(i));
    pos.push_back(positions_.at(i));
  }
  left_pad_ = std::move(pad);
  positions_ = std::move(pos);
  if (left_pad_.empty()) {
    reset();
    return;
  }
  if (keys_) {
    auto idx = mx::array(keep.data(), {static_cast<int>(keep.size())}, mx::int32);
    keys_ = mx::take(*keys_, idx, 0);
    values_ = mx::take(*values_, idx, 0);
  }
  // Slots that are padding in every remaining row go (mlx-lm's filter shifts left the same way).
  const int m = *std::min_element(left_pad_.begin(), left_pad_.end());
  if (m > 0) {
    if (keys_) {
      keys_ = mx::slice(*keys_, {0, 0, m, 0}, {keys_->shape(0), keys_->shape(1), idx_, keys_->shape(3)});
      values_ = mx::slice(*values_, {0, 0, m, 0}, {values_->shape(0), values_->shape(1), idx_, values_->shape(3)});
    }
    idx_ -= m;
    for (auto& p : left_pad_) p -= m;
  }
}

mx::array BatchKVCache::attend(const mx::array& q, const mx::array& k, const mx::array& v, float scale) {
  const int B = q.shape(0);
  if (q.shape(2) != 1) fail("E_MLX", "the batch cache runs one-token steps only (rows are prefilled alone)");
  if (B != rows()) fail("E_MLX", "batch cache: " + std::to_string(B) + " rows in the step, " + std::to_string(rows()) + " in the cache");
  if (!rope_) rope_ = make_rope(rope_cfg_, q.shape(3));
  auto pos = mx::array(positions_.data(), {B}, mx::int32);
  auto rq = mx::fast::rope(q, rope_->dims, rope_->traditional, rope_->base, rope_->scale, pos, rope_->freqs);
  auto rk = mx::fast::rope(k, rope_->dims, rope_->traditional, rope_->base, rope_->scale, pos, rope_->freqs);
  if (!keys_) {
    keys_ = mx::zeros({B, k.shape(1), kStep, k.shape(3)}, k.dtype());
    values_ = mx::zeros({B, v.shape(1), kStep, v.shape(3)}, v.dtype());
  }
  grow(1);
  keys_ = mx::slice_update(*keys_, rk, mx::Shape{0, 0, idx_, 0}, mx::Shape{B, k.shape(1), idx_ + 1, k.shape(3)});
  values_ = mx::slice_update(*values_, v, mx::Shape{0, 0, idx_, 0}, mx::Shape{B, v.shape(1), idx_ + 1, v.shape(3)});
  ++idx_;
  for (auto& p : positions_) ++p;
  auto keys = slots(*keys_, idx_);
  auto values = slots(*values_, idx_);
  const int max_pad = *std::max_element(left_pad_.begin(), left_pad_.end());
  if (max_pad == 0) return mx::fast::scaled_dot_product_attention(rq, keys, values, scale, "");
  // mlx-lm's create_causal_mask with left_padding, for one query: a row sees its own slots only.
  auto lp = mx::reshape(mx::array(left_pad_.data(), {B}, mx::int32), {B, 1, 1, 1});
  auto mask = mx::greater_equal(mx::reshape(mx::arange(idx_, mx::int32), {1, 1, 1, idx_}), lp);
  return mx::fast::scaled_dot_product_attention(rq, keys, values, scale, "", mask);
}

}  // namespace mlxts
