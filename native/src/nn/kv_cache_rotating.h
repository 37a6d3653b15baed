// mlx-lm's RotatingKVCache (models/cache.py): at most max_size positions; once full, the first `keep`
// stay and the rest is overwritten in a ring. Multi-token steps concatenate in temporal order (so every
// new token sees max_size positions), single tokens write in place.
#pragma once

#include <optional>

#include "nn/kv_cache.h"

namespace mlxts {

class RotatingKVCache final : public LayerKVCache {
 public:
  static constexpr int kStep = 256;

  RotatingKVCache(int max_size, int keep) : keep_(keep), max_size_(max_size) {}
  RotatingKVCache(mx::array keys, mx::array values, int offset, int keep, int max_size, int idx)
      : keys_(std::move(keys)), values_(std::move(values)), offset_(offset), keep_(keep), max_size_(max_size), idx_(idx) {}

  const char* class_name() const override { return "RotatingKVCache"; }
  int offset() const override { return offset_; }
  int max_size() const { return max_size_; }
  int keep() const { return keep_; }
  // The slot the next single token is written to (before the ring wraps it back to keep).
  int idx() const { return idx_; }
  mx::array attend(const mx::array& q, const mx::array& k, const mx::array& v, float scale) override;
  // As mlx-lm: only until it first fills (after that, old positions are gone).
  bool is_trimmable() const override { return offset_ < max_size_; }
  void trim_to(int n) override {
    const int t = std::max(0, offset_ - std::max(0, n));
    offset_ -= t;
    idx_ -= t;
  }
  void reset() override { keys_.reset(); values_.reset(); offset_ = 0; idx_ = 0; }
  std::vector<mx::array> state() const override {
    std::vector<mx::array> s;
    if (keys_) { s.push_back(*keys_); s.push_back(*values_); }
    return s;
  }
  size_t nbytes() const override { return keys_ ? keys_->nbytes() + values_->nbytes() : 0; }
  std::vector<CacheStateEntry> saved_state() const override;
  std::unique_ptr<LayerKVCache> clone() const override { return std::make_unique<RotatingKVCache>(*this); }

 private:
  mx::array trim(int trim_size, const mx::array& v, const std::optional<mx::array>& append = std::nullopt) const;
  mx::array temporal_order(const mx::array& v) const;
  std::pair<mx::array, mx::array> update_concat(const mx::array& k, const mx::array& v);
  std::pair<mx::array, mx::array> update_in_place(const mx::array& k, const mx::array& v);
  std::pair<mx::array, mx::array> keys_and_values() const;

  std::optional<mx::array> keys_;
  std::optional<mx::array> values_;
  int offset_ = 0;
  int keep_;
  int max_size_;
  int idx_ = 0;
};

}  // namespace mlxts
