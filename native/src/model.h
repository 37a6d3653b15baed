// The contract between model architectures (src/models/*.cpp, src/loader*.cpp) and the generation
// loop (src/generate.cpp). A Model owns its weights; the generation loop owns the caches.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <mlx/mlx.h>

namespace mlxts {
namespace mx = mlx::core;

// Grows in steps like mlx-lm's KVCache so decode does not reallocate every token.
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

using Cache = std::vector<KVCache>;

class Model {
 public:
  virtual ~Model() = default;
  // tokens: int32 [1, T]. Returns logits [1, T, vocab] in the model's compute dtype.
  // Positions start at cache[0].offset(); the cache is updated in place.
  virtual mx::array forward(const mx::array& tokens, Cache& cache) = 0;
  virtual int num_layers() const = 0;
  virtual int vocab_size() const = 0;
  Cache make_cache() const { return Cache(num_layers()); }
};

}  // namespace mlxts

#include <atomic>
#include <mutex>

namespace mlxts {

// One per loaded model: the model plus the KV cache the generation loop keeps between calls, so a
// follow-up prompt that shares a prefix with cached_tokens reuses it. `busy` guards against two
// generations (or a quantize during a generation) on one model.
struct ModelSlot {
  std::shared_ptr<Model> model;
  Cache cache;
  std::vector<int32_t> cached_tokens;
  std::mutex mu;
  std::atomic<bool> busy{false};
};

}  // namespace mlxts
