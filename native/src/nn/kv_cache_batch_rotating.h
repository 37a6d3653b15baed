// A batch of mlx-lm RotatingKVCache rows (models/cache.py) for batch_loop.cpp's one-token steps. mlx-lm's
// own BatchRotatingKVCache left-pads and rolls every row together; this one gives each row its own ring
// instead, laid out slot for slot as that row's single-row RotatingKVCache is: slot j of row r is slot j
// of the cache the row would have alone, each row writes at its own ring position (a scatter), and a mask
// hides the slots a row has not filled. Attention does not depend on where a key sits (positions are
// in the keys through RoPE), so each row attends to exactly the keys it would alone: the first `keep`
// and the latest max_size - keep, its own token included.
#pragma once

#include <optional>
#include <vector>

#include "nn/kv_cache_batch.h"

namespace mlxts {

class BatchRotatingKVCache final : public BatchLayerCache {
 public:
  static constexpr int kStep = 256;

  BatchRotatingKVCache(RopeConfig rope, int max_size, int keep) : rope_cfg_(std::move(rope)), max_size_(max_size), keep_(keep) {}

  const char* class_name() const override { return "BatchRotatingKVCache"; }
  mx::array attend(const mx::array& q, const mx::array& k, const mx::array& v, float scale) override;
  void reset() override;
  std::vector<mx::array> state() const override;
  size_t nbytes() const override;

  int rows() const override { return static_cast<int>(positions_.size()); }
  bool accepts(const LayerKVCache& row) const override;
  void extend(const LayerKVCache& row) override;
  void filter(const std::vector<int>& keep) override;
  int row_offset(int i) const override { return positions_.at(i); }

 private:
  void grow_to(int cap);

  RopeConfig rope_cfg_;
  int max_size_, keep_;
  std::optional<Rope> rope_;
  std::optional<mx::array> keys_, values_;  // [B, kv_heads, capacity <= max_size, head_dim]
  std::vector<int> idx_;        // per row: its single-row cache's idx (next write slot, max_size = wrap to keep)
  std::vector<int> filled_;     // per row: slots [0, filled) hold its keys
  std::vector<int> positions_;  // per row: the position of its next token
};

}  // namespace mlxts
