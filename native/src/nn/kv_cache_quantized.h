// mlx-lm's QuantizedKVCache (models/cache.py): keys and values stored as (packed uint32, scales, biases),
// quantized per group of head_dim as they arrive, attended with quantized_matmul (base.py).
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "nn/kv_cache.h"

namespace mlxts {

class QuantizedKVCache final : public LayerKVCache {
 public:
  static constexpr int kStep = 256;
  using Quantized = std::vector<mx::array>;  // {packed, scales, biases}

  QuantizedKVCache(int group_size, int bits) : group_size_(group_size), bits_(bits) {}
  // From a state: keys/values empty (nullopt) for a cache that holds nothing yet.
  QuantizedKVCache(std::optional<Quantized> keys, std::optional<Quantized> values, int offset, int group_size, int bits)
      : keys_(std::move(keys)), values_(std::move(values)), offset_(offset), group_size_(group_size), bits_(bits) {}

  const char* class_name() const override { return "QuantizedKVCache"; }
  int offset() const override { return offset_; }
  int group_size() const { return group_size_; }
  int bits() const { return bits_; }
  mx::array attend(const mx::array& q, const mx::array& k, const mx::array& v, float scale) override;
  bool is_trimmable() const override { return true; }
  void trim_to(int n) override { offset_ = std::min(offset_, std::max(0, n)); }
  void reset() override { keys_.reset(); values_.reset(); offset_ = 0; }
  std::vector<mx::array> state() const override;
  size_t nbytes() const override;
  std::vector<CacheStateEntry> saved_state() const override;
  std::unique_ptr<LayerKVCache> clone() const override { return std::make_unique<QuantizedKVCache>(*this); }

 private:
  std::pair<Quantized, Quantized> update_and_fetch(const mx::array& k, const mx::array& v);

  std::optional<Quantized> keys_;
  std::optional<Quantized> values_;
  int offset_ = 0;
  int group_size_;
  int bits_;
};

}  // namespace mlxts
