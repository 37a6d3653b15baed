#include "nn/kv_cache_batch.h"

#include <algorithm>

#include "errors.h"
#include "kernels/registry.h"
#include "nn/attention.h"
#include "nn/kv_cache_quantized.h"

namespace mlxts {
namespace {

// Slots [a, b) of a [B, H, S, *] buffer.
mx::array slots(const mx::array& x, int a, int b) { return mx::slice(x, {0, 0, a, 0}, {x.shape(0), x.shape(1), b, x.shape(3)}); }

mx::array pad_left(const mx::array& x, int d) {
  if (d == 0) return x;
  return mx::concatenate({mx::zeros({x.shape(0), x.shape(1), d, x.shape(3)}, x.dtype()), x}, 2);
}

std::vector<mx::array> first_slots(const std::vector<mx::array>& xs, int n) {
  std::vector<mx::array> out;
  for (const auto& x : xs) out.push_back(slots(x, 0, n));
  return out;
}

// Zeros shaped as each of `ref` but with `batch` rows and `len` slots.
std::vector<mx::array> zeros_like_rows(const std::vector<mx::array>& ref, int batch, int len) {
  std::vector<mx::array> out;
  for (const auto& r : ref) out.push_back(mx::zeros({batch, r.shape(1), len, r.shape(3)}, r.dtype()));
  return out;
}

}  // namespace

std::pair<mx::array, mx::array> rope_rows(const mx::array& q, const mx::array& k, const std::vector<int>& positions, const RopeConfig& cfg,
                                          std::optional<Rope>& rope) {
  const int B = q.shape(0);
  if (q.shape(2) != 1) fail("E_MLX", "the batch cache runs one-token steps only (rows are prefilled alone)");
  if (B != static_cast<int>(positions.size()))
    fail("E_MLX", "batch cache: " + std::to_string(B) + " rows in the step, " + std::to_string(positions.size()) + " in the cache");
  if (!rope) rope = make_rope(cfg, q.shape(3));
  auto pos = mx::array(positions.data(), {B}, mx::int32);
  return {mx::fast::rope(q, rope->dims, rope->traditional, rope->base, rope->scale, pos, rope->freqs),
          mx::fast::rope(k, rope->dims, rope->traditional, rope->base, rope->scale, pos, rope->freqs)};
}

void fail_uncloneable() { fail("E_MLX", "a batch cache is not copied (only single-row caches are)"); }

void BatchKVCache::reset() {
  keys_.clear();
  values_.clear();
  idx_ = 0;
  left_pad_.clear();
  positions_.clear();
}

std::vector<mx::array> BatchKVCache::state() const {
  std::vector<mx::array> s = keys_;
  s.insert(s.end(), values_.begin(), values_.end());
  return s;
}

size_t BatchKVCache::nbytes() const {
  size_t n = 0;
  for (const auto& a : state()) n += a.nbytes();
  return n;
}

bool BatchKVCache::accepts(const LayerKVCache& row) const {
  if (!quant_) return dynamic_cast<const PlainKVCache*>(&row) != nullptr;
  const auto* q = dynamic_cast<const QuantizedKVCache*>(&row);
  return q && q->bits() == quant_->bits && q->group_size() == quant_->group_size;
}

void BatchKVCache::grow(int extra) {
  const int cap = keys_.empty() ? 0 : keys_[0].shape(2);
  if (idx_ + extra <= cap) return;
  const int steps = (kStep + extra - 1) / kStep;
  for (auto* side : {&keys_, &values_})
    for (auto& x : *side) x = mx::concatenate({slots(x, 0, idx_), mx::zeros({x.shape(0), x.shape(1), steps * kStep, x.shape(3)}, x.dtype())}, 2);
}

void BatchKVCache::extend(const LayerKVCache& row) {
  if (!accepts(row)) fail("E_MLX", std::string("a ") + class_name() + " cannot take a row whose cache is a " + row.class_name());
  const int n = row.offset();
  // {keys, values} for a plain row, {keys packed, scales, biases, values packed, scales, biases} for a quantized one
  const auto st = row.state();
  const size_t m = quant_ ? 3 : 1;
  if (n > 0 && st.size() != 2 * m) fail("E_MLX", std::string("a batch row's ") + row.class_name() + " holds " + std::to_string(st.size()) + " arrays");
  const int new_idx = std::max(idx_, n);
  std::vector<mx::array> rk, rv;
  if (n > 0) {
    rk = first_slots({st.begin(), st.begin() + m}, n);
    rv = first_slots({st.begin() + m, st.end()}, n);
  }
  if (!keys_.empty() || !rk.empty()) {
    // The side without arrays yet takes the other side's head count, widths and dtypes.
    const auto& kref = keys_.empty() ? rk : keys_;
    const auto& vref = values_.empty() ? rv : values_;
    auto ek = keys_.empty() ? zeros_like_rows(kref, rows(), idx_) : first_slots(keys_, idx_);
    auto ev = values_.empty() ? zeros_like_rows(vref, rows(), idx_) : first_slots(values_, idx_);
    if (rk.empty()) {
      rk = zeros_like_rows(kref, 1, 0);
      rv = zeros_like_rows(vref, 1, 0);
    }
    if (rows() == 0) {
      keys_ = rk;
      values_ = rv;
    } else {
      for (size_t i = 0; i < m; ++i) {
        ek[i] = mx::concatenate({pad_left(ek[i], new_idx - idx_), pad_left(rk[i], new_idx - n)}, 0);
        ev[i] = mx::concatenate({pad_left(ev[i], new_idx - idx_), pad_left(rv[i], new_idx - n)}, 0);
      }
      keys_ = std::move(ek);
      values_ = std::move(ev);
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
  auto idx = mx::array(keep.data(), {static_cast<int>(keep.size())}, mx::int32);
  for (auto* side : {&keys_, &values_})
    for (auto& x : *side) x = mx::take(x, idx, 0);
  // Slots that are padding in every remaining row go (mlx-lm's filter shifts left the same way).
  const int m = *std::min_element(left_pad_.begin(), left_pad_.end());
  if (m > 0) {
    for (auto* side : {&keys_, &values_})
      for (auto& x : *side) x = slots(x, m, idx_);
    idx_ -= m;
    for (auto& p : left_pad_) p -= m;
  }
}

std::unique_ptr<LayerKVCache> BatchKVCache::row_cache(int i) const {
  if (quant_) fail("E_MLX", "a quantized batch row cannot be taken back out of the batch");
  const int n = positions_.at(i);
  if (n == 0 || keys_.empty()) return std::make_unique<PlainKVCache>();
  auto row = [&](const mx::array& x) { return slots(mx::slice(x, {i, 0, 0, 0}, {i + 1, x.shape(1), x.shape(2), x.shape(3)}), left_pad_.at(i), idx_); };
  return std::make_unique<PlainKVCache>(row(keys_[0]), row(values_[0]), n);
}

mx::array BatchKVCache::attend(const mx::array& q, const mx::array& k, const mx::array& v, float scale) {
  const int B = q.shape(0);
  auto [rq, rk] = rope_rows(q, k, positions_, rope_cfg_, rope_);
  // What this step stores: the roped keys and the values, quantized per position as mlx-lm's QuantizedKVCache does.
  std::vector<mx::array> nk{rk}, nv{v};
  if (quant_) {
    nk = mx::quantize(rk, quant_->group_size, quant_->bits);
    nv = mx::quantize(v, quant_->group_size, quant_->bits);
  }
  if (keys_.empty()) {
    keys_ = zeros_like_rows(nk, B, kStep);
    values_ = zeros_like_rows(nv, B, kStep);
  }
  grow(1);
  for (size_t i = 0; i < keys_.size(); ++i) {
    keys_[i] = mx::slice_update(keys_[i], nk[i], mx::Shape{0, 0, idx_, 0}, mx::Shape{B, nk[i].shape(1), idx_ + 1, nk[i].shape(3)});
    values_[i] = mx::slice_update(values_[i], nv[i], mx::Shape{0, 0, idx_, 0}, mx::Shape{B, nv[i].shape(1), idx_ + 1, nv[i].shape(3)});
  }
  ++idx_;
  for (auto& p : positions_) ++p;
  auto keys = first_slots(keys_, idx_);
  auto values = first_slots(values_, idx_);
  const int max_pad = *std::max_element(left_pad_.begin(), left_pad_.end());
  std::optional<mx::array> mask;
  if (max_pad > 0) {
    auto first = mx::array(left_pad_.data(), {B}, mx::int32);
    // MLX's SDPA takes a mask array only in its unfused fallback (several launches a layer on CUDA); our
    // decode kernel skips each row's padding itself.
    if (!quant_)
      if (auto out = kernels::decode_attention_from(rq, keys[0], values[0], scale, first)) return *out;
    // mlx-lm's create_causal_mask with left_padding, for one query: a row sees its own slots only.
    mask = mx::greater_equal(mx::reshape(mx::arange(idx_, mx::int32), {1, 1, 1, idx_}), mx::reshape(first, {B, 1, 1, 1}));
  }
  if (quant_) return quantized_sdpa(rq, keys, values, scale, false, quant_->group_size, quant_->bits, mask);
  return mx::fast::scaled_dot_product_attention(rq, keys[0], values[0], scale, "", mask);
}

}  // namespace mlxts
