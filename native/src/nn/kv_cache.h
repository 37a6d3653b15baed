// A layer's KV cache, of any kind mlx-lm has (models/cache.py): the interface attention calls, mlx-lm's
// plain KVCache (grows in steps so decode does not reallocate every token), and `KVCache`, the handle
// each layer holds. The handle keeps its old surface (offset/trim_to/reset/state) whatever the kind, and
// lets the generation loop swap the kind in place (maybe_quantize_kv_cache).
#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <mlx/mlx.h>

namespace mlxts {
namespace mx = mlx::core;

// One entry of mlx-lm's `cache.state`, flattened as save_prompt_cache does: the key is relative to the
// layer ("0", "2", "0.1" for the second array of a quantized tuple); scalars are 0-d int32 arrays.
struct CacheStateEntry {
  std::string key;
  mx::array value;
  bool scalar = false;
};

// mlx-lm's _BaseCache, as much of it as the generation loop and attention use.
class LayerKVCache {
 public:
  virtual ~LayerKVCache() = default;
  // mlx-lm's class name, written into prompt-cache files.
  virtual const char* class_name() const = 0;
  // Positions seen so far (rope offset).
  virtual int offset() const = 0;
  // q, k already roped at offset(); k/v: [B, kv_heads, L, head_dim]. Stores k/v and returns attention
  // output [B, n_heads, L, head_dim] with the mask mlx-lm's make_mask gives this kind.
  virtual mx::array attend(const mx::array& q, const mx::array& k, const mx::array& v, float scale) = 0;
  virtual bool is_trimmable() const = 0;
  // Keep only the first n positions (prompt-prefix reuse); only called when is_trimmable().
  virtual void trim_to(int n) = 0;
  virtual void reset() = 0;
  // Arrays to evaluate so the cache is materialised with the step.
  virtual std::vector<mx::array> state() const = 0;
  // mlx-lm's nbytes: the arrays the cache holds, as allocated.
  virtual size_t nbytes() const = 0;
  // mlx-lm's `state` property, in order, for save_prompt_cache.
  virtual std::vector<CacheStateEntry> saved_state() const = 0;
  // mlx-lm's to_quantized; nullptr where mlx-lm has none (RotatingKVCache: "Quantization NYI").
  virtual std::unique_ptr<LayerKVCache> to_quantized(int group_size, int bits) const {
    (void)group_size;
    (void)bits;
    return nullptr;
  }
  // A copy sharing the (immutable) arrays: a batch row continues it while the original stays as it was.
  virtual std::unique_ptr<LayerKVCache> clone() const = 0;
  // Whether attend() ropes q and k itself (per row, in a batch): then they come in unrotated.
  virtual bool ropes_itself() const { return false; }
};

// mlx-lm's KVCache.
class PlainKVCache final : public LayerKVCache {
 public:
  static constexpr int kStep = 256;

  PlainKVCache() = default;
  PlainKVCache(mx::array keys, mx::array values, int offset) : keys_(std::move(keys)), values_(std::move(values)), offset_(offset) {}

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

  const char* class_name() const override { return "KVCache"; }
  int offset() const override { return offset_; }
  mx::array attend(const mx::array& q, const mx::array& k, const mx::array& v, float scale) override;
  bool is_trimmable() const override { return true; }
  void trim_to(int n) override { offset_ = std::min(offset_, std::max(0, n)); }
  // Keeps nothing: mlx-lm starts a fresh KVCache.
  void reset() override { keys_.reset(); values_.reset(); offset_ = 0; }
  std::vector<mx::array> state() const override {
    std::vector<mx::array> s;
    if (keys_) { s.push_back(*keys_); s.push_back(*values_); }
    return s;
  }
  size_t nbytes() const override { return keys_ ? keys_->nbytes() + values_->nbytes() : 0; }
  std::vector<CacheStateEntry> saved_state() const override;
  std::unique_ptr<LayerKVCache> to_quantized(int group_size, int bits) const override;
  std::unique_ptr<LayerKVCache> clone() const override { return std::make_unique<PlainKVCache>(*this); }

 private:
  std::optional<mx::array> keys_;
  std::optional<mx::array> values_;
  int offset_ = 0;
};

// The cache one layer holds: any LayerKVCache, a plain one by default.
class KVCache {
 public:
  KVCache() : impl_(std::make_unique<PlainKVCache>()) {}
  explicit KVCache(std::unique_ptr<LayerKVCache> impl) : impl_(std::move(impl)) {}

  int offset() const { return impl_->offset(); }
  // Keep only the first n positions (prompt-prefix reuse); a cache that cannot be trimmed is emptied.
  void trim_to(int n) {
    if (impl_->is_trimmable()) impl_->trim_to(n);
    else if (n < impl_->offset()) impl_->reset();
  }
  void reset() { impl_->reset(); }
  std::vector<mx::array> state() const { return impl_->state(); }
  size_t nbytes() const { return impl_->nbytes(); }
  bool is_trimmable() const { return impl_->is_trimmable(); }
  const char* class_name() const { return impl_->class_name(); }
  LayerKVCache& impl() { return *impl_; }
  const LayerKVCache& impl() const { return *impl_; }
  void replace(std::unique_ptr<LayerKVCache> impl) { impl_ = std::move(impl); }

 private:
  std::unique_ptr<LayerKVCache> impl_;
};

// One cache per layer.
using Cache = std::vector<KVCache>;

}  // namespace mlxts
