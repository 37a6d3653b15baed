// The cache one layer holds in a batched decode (batch_loop.cpp): rows of different cache kinds side by
// side. Each row sits in the group of its kind (full precision, quantized at some bits and group size,
// rotating at some max size), each group a batch cache of that kind; a step takes each group's rows out
// of q/k/v, attends them in their group, and puts the outputs back in row order. So a row with kvBits or
// maxKvSize attends exactly as it would alone, whatever the rows beside it use.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "nn/kv_cache_batch.h"

namespace mlxts {

class BatchGroupsKVCache final : public BatchLayerCache {
 public:
  explicit BatchGroupsKVCache(RopeConfig rope) : rope_cfg_(std::move(rope)) {}

  const char* class_name() const override { return "BatchGroupsKVCache"; }
  mx::array attend(const mx::array& q, const mx::array& k, const mx::array& v, float scale) override;
  void reset() override;
  std::vector<mx::array> state() const override;
  size_t nbytes() const override;

  int rows() const override { return static_cast<int>(where_.size()); }
  bool accepts(const LayerKVCache&) const override { return true; }
  void extend(const LayerKVCache& row) override;
  void filter(const std::vector<int>& keep) override;
  int row_offset(int i) const override;

  // Row i's share of its group's bytes (every row of a group holds as many slots).
  size_t row_nbytes(int i) const;
  // Whether row i is held at full precision in a plain (not rotating) group.
  bool row_is_plain(int i) const;
  // mlx-lm's maybe_quantize_kv_cache for one row: its full-precision cache, quantized, moves to that kind's group.
  void quantize_row(int i, KvQuant spec);

 private:
  // The global rows of group g, in the group's own order.
  std::vector<int> members(int g) const;
  // Drops row (g, j) from group g and renumbers that group's later rows.
  void drop_from_group(int g, int j);
  void erase_empty_groups();

  RopeConfig rope_cfg_;
  std::vector<std::unique_ptr<BatchLayerCache>> groups_;
  std::vector<std::pair<int, int>> where_;  // per row: (group, index in that group)
};

}  // namespace mlxts
