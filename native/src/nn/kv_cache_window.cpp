#include "nn/kv_cache_window.h"

#include <algorithm>

#include "errors.h"
#include "nn/kv_cache_rotating.h"

namespace mlxts {
namespace {

mx::array range(const mx::array& x, int a, int b) { return mx::slice(x, {0, 0, a, 0}, {x.shape(0), x.shape(1), b, x.shape(3)}); }

}  // namespace

WindowKVCache::WindowKVCache(const RotatingKVCache& from, int slack) : keep_(from.keep()), max_size_(from.max_size()), slack_(slack) {
  offset_ = from.offset();
  const auto st = from.state();
  if (st.empty() || offset_ == 0) {
    offset_ = 0;
    return;
  }
  // What the rotating cache's next one-token step would attend to, in temporal order: the first `keep`
  // positions and the latest max_size - keep (all of them before it has wrapped).
  const int S = st[0].shape(2);
  const int held = std::min(offset_, S);
  auto take = [&](const mx::array& x) {
    if (offset_ <= S && S <= max_size_) return range(x, 0, held);  // never wrapped: slots are positions
    if (S > max_size_) return mx::concatenate({range(x, 0, keep_), range(x, S - (max_size_ - keep_), S)}, 2);  // after a prefill chunk
    // wrapped in place: slot idx is the oldest of the ring
    const int idx = from.idx();
    return mx::concatenate({range(x, 0, keep_), range(x, idx, S), range(x, keep_, idx)}, 2);
  };
  keys_ = take(st[0]);
  values_ = take(st[1]);
  const int n = keys_->shape(2);
  keep_held_ = std::min(keep_, n);
  first_ = offset_ - (n - keep_held_);
}

void WindowKVCache::reset() {
  keys_.reset();
  values_.reset();
  offset_ = first_ = keep_held_ = 0;
}

std::vector<mx::array> WindowKVCache::state() const {
  if (!keys_) return {};
  return {*keys_, *values_};
}

size_t WindowKVCache::nbytes() const { return keys_ ? keys_->nbytes() + values_->nbytes() : 0; }

void WindowKVCache::trim_to(int n) {
  n = std::max(0, n);
  if (n >= offset_) return;
  // While nothing was dropped, slot s holds position s: trimming into the first positions is fine.
  if (first_ == keep_held_ && n < keep_held_) keep_held_ = first_ = n;
  if (n < first_) fail("E_MLX", "a speculative run's rotating cache was trimmed further back than it keeps");
  offset_ = n;
}

void WindowKVCache::compact() {
  // Keep the first positions and the latest max_size - keep + slack; the rest can no longer be seen or trimmed to.
  const int behind = max_size_ - keep_ + slack_;
  const int n = slots();
  if (n - keep_held_ <= behind + slack_) return;
  const int drop = n - keep_held_ - behind;
  auto cut = [&](const mx::array& x) { return mx::concatenate({range(x, 0, keep_held_), range(x, keep_held_ + drop, n)}, 2); };
  keys_ = cut(*keys_);
  values_ = cut(*values_);
  first_ += drop;
}

mx::array WindowKVCache::attend(const mx::array& q, const mx::array& k, const mx::array& v, float scale) {
  const int L = k.shape(2);
  const int start = slots();
  if (!keys_) {
    keys_ = k;
    values_ = v;
    keep_held_ = std::min(keep_, L);
    first_ = keep_held_;
  } else {
    keys_ = mx::concatenate({range(*keys_, 0, start), k}, 2);
    values_ = mx::concatenate({range(*values_, 0, start), v}, 2);
  }
  const int p0 = offset_;
  offset_ += L;
  // Still contiguous from position 0: the first `keep` positions are all held now if there are that many.
  if (first_ == keep_held_ && keep_held_ < keep_) keep_held_ = first_ = std::min(keep_, offset_);
  const int n = slots();
  // The position each slot holds, and each query's window: the first `keep` and the latest max_size - keep, itself included.
  auto slot = mx::arange(n, mx::int32);
  auto pos = mx::where(mx::less(slot, mx::array(keep_held_)), slot, mx::add(slot, mx::array(first_ - keep_held_)));
  auto qpos = mx::reshape(mx::arange(p0, p0 + L, mx::int32), {L, 1});
  pos = mx::reshape(pos, {1, n});
  auto seen = mx::logical_and(mx::less_equal(pos, qpos),
                              mx::logical_or(mx::less(pos, mx::array(keep_)), mx::greater(pos, mx::subtract(qpos, mx::array(max_size_ - keep_)))));
  auto out = mx::fast::scaled_dot_product_attention(q, *keys_, *values_, scale, "", seen);
  compact();
  return out;
}

}  // namespace mlxts
