#include "nn/kv_cache_batch_rotating.h"

#include <algorithm>

#include "errors.h"
#include "nn/kv_cache_rotating.h"

namespace mlxts {
namespace {

mx::array slots(const mx::array& x, int a, int b) { return mx::slice(x, {0, 0, a, 0}, {x.shape(0), x.shape(1), b, x.shape(3)}); }

mx::array pad_right(const mx::array& x, int to) {
  if (x.shape(2) >= to) return x;
  return mx::concatenate({x, mx::zeros({x.shape(0), x.shape(1), to - x.shape(2), x.shape(3)}, x.dtype())}, 2);
}

}  // namespace

void BatchRotatingKVCache::reset() {
  keys_.reset();
  values_.reset();
  idx_.clear();
  filled_.clear();
  positions_.clear();
}

std::vector<mx::array> BatchRotatingKVCache::state() const {
  if (!keys_) return {};
  return {*keys_, *values_};
}

size_t BatchRotatingKVCache::nbytes() const { return keys_ ? keys_->nbytes() + values_->nbytes() : 0; }

bool BatchRotatingKVCache::accepts(const LayerKVCache& row) const {
  const auto* r = dynamic_cast<const RotatingKVCache*>(&row);
  return r && r->max_size() == max_size_ && r->keep() == keep_;
}

void BatchRotatingKVCache::grow_to(int cap) {
  cap = std::min(max_size_, (cap + kStep - 1) / kStep * kStep);
  if (!keys_ || keys_->shape(2) >= cap) return;
  keys_ = pad_right(*keys_, cap);
  values_ = pad_right(*values_, cap);
}

void BatchRotatingKVCache::extend(const LayerKVCache& row) {
  if (!accepts(row)) fail("E_MLX", std::string("a BatchRotatingKVCache cannot take a row whose cache is a ") + row.class_name());
  const auto& r = static_cast<const RotatingKVCache&>(row);
  const auto st = r.state();
  const int off = r.offset();
  int idx = r.idx(), filled = 0;
  std::optional<mx::array> rk, rv;
  if (!st.empty() && off > 0) {
    rk = st[0];
    rv = st[1];
    const int S = rk->shape(2);
    if (S > max_size_) {
      // A multi-token prefill leaves up to max_size + chunk - 1 keys in temporal order; the row's next
      // single-token step would first trim them to the first `keep` and the latest max_size - keep.
      auto trim = [&](const mx::array& x) { return mx::concatenate({slots(x, 0, keep_), slots(x, S - (max_size_ - keep_), S)}, 2); };
      rk = trim(*rk);
      rv = trim(*rv);
      idx = filled = max_size_;
    } else {
      filled = std::min(off, S);
    }
  }
  if (rk) {
    const int cap = std::max(keys_ ? keys_->shape(2) : 0, rk->shape(2));
    grow_to(cap);
    const int to = keys_ ? keys_->shape(2) : rk->shape(2);
    rk = pad_right(*rk, to);
    rv = pad_right(*rv, to);
    if (!keys_ && rows() > 0) {
      keys_ = mx::zeros({rows(), rk->shape(1), to, rk->shape(3)}, rk->dtype());
      values_ = mx::zeros({rows(), rv->shape(1), to, rv->shape(3)}, rv->dtype());
    }
    keys_ = keys_ ? mx::concatenate({*keys_, *rk}, 0) : *rk;
    values_ = values_ ? mx::concatenate({*values_, *rv}, 0) : *rv;
  } else if (keys_) {
    keys_ = mx::concatenate({*keys_, mx::zeros({1, keys_->shape(1), keys_->shape(2), keys_->shape(3)}, keys_->dtype())}, 0);
    values_ = mx::concatenate({*values_, mx::zeros({1, values_->shape(1), values_->shape(2), values_->shape(3)}, values_->dtype())}, 0);
  }
  idx_.push_back(idx);
  filled_.push_back(filled);
  positions_.push_back(off);
}

void BatchRotatingKVCache::filter(const std::vector<int>& keep) {
  std::vector<int> idx, filled, pos;
  for (int i : keep) {
    idx.push_back(idx_.at(i));
    filled.push_back(filled_.at(i));
    pos.push_back(positions_.at(i));
  }
  idx_ = std::move(idx);
  filled_ = std::move(filled);
  positions_ = std::move(pos);
  if (positions_.empty()) {
    reset();
    return;
  }
  if (keys_) {
    auto rows = mx::array(keep.data(), {static_cast<int>(keep.size())}, mx::int32);
    keys_ = mx::take(*keys_, rows, 0);
    values_ = mx::take(*values_, rows, 0);
  }
}

mx::array BatchRotatingKVCache::attend(const mx::array& q, const mx::array& k, const mx::array& v, float scale) {
  const int B = q.shape(0);
  auto [rq, rk] = rope_rows(q, k, positions_, rope_cfg_, rope_);
  // Each row's write slot, as its single-row cache's update_in_place picks it (wrapping past max_size to keep).
  std::vector<int> write(B);
  int need = 0;
  for (int i = 0; i < B; ++i) {
    write[i] = idx_[i] >= max_size_ ? keep_ : idx_[i];
    need = std::max(need, write[i] + 1);
  }
  if (!keys_) {
    const int cap = std::min(max_size_, (need + kStep - 1) / kStep * kStep);
    keys_ = mx::zeros({B, k.shape(1), cap, k.shape(3)}, k.dtype());
    values_ = mx::zeros({B, v.shape(1), cap, v.shape(3)}, v.dtype());
  }
  grow_to(need);
  const int H = k.shape(1), D = k.shape(3), Dv = v.shape(3);
  std::vector<mx::array> at{mx::arange(B, mx::int32), mx::array(write.data(), {B}, mx::int32)};
  keys_ = mx::scatter(*keys_, at, mx::reshape(rk, {B, 1, H, 1, D}), {0, 2});
  values_ = mx::scatter(*values_, at, mx::reshape(v, {B, 1, H, 1, Dv}), {0, 2});
  bool full = true;
  for (int i = 0; i < B; ++i) {
    idx_[i] = write[i] + 1;
    filled_[i] = std::max(filled_[i], idx_[i]);
    ++positions_[i];
    full = full && filled_[i] == keys_->shape(2);
  }
  std::optional<mx::array> mask;
  if (!full) {
    const int cap = keys_->shape(2);
    auto f = mx::reshape(mx::array(filled_.data(), {B}, mx::int32), {B, 1, 1, 1});
    mask = mx::less(mx::reshape(mx::arange(cap, mx::int32), {1, 1, 1, cap}), f);
  }
  return mx::fast::scaled_dot_product_attention(rq, *keys_, *values_, scale, "", mask);
}

}  // namespace mlxts
