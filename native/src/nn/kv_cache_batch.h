// mlx-lm's BatchKVCache (models/cache.py) for the batched decode of batch_loop.cpp: rows left-padded so
// they end on the same slot, a per-row mask that hides each row's padding, and per-row RoPE positions.
//
// Rows are prefilled one at a time with a plain cache (exactly the single-row path) and merged in here
// (mlx-lm's `extend`: right-aligned, the shorter side padded on the left); finished rows are dropped with
// `filter`, which also trims padding every remaining row has. Only single-token steps run on it.
//
// RoPE: attend() (nn/attention.cpp) ropes q and k at offset() before calling the cache. This cache
// reports offset() == 0, and a rotation at position 0 is the identity (cos 0 = 1, sin 0 = 0, exact in
// every dtype), so q and k arrive unrotated for a one-token step; the cache then ropes each row at its
// own position (mx::fast::rope with an array offset), the positions the row would have alone.
#pragma once

#include <optional>
#include <vector>

#include "nn/kv_cache.h"
#include "nn/rope.h"

namespace mlxts {

class BatchKVCache final : public LayerKVCache {
 public:
  static constexpr int kStep = 256;

  explicit BatchKVCache(RopeConfig rope) : rope_cfg_(std::move(rope)) {}

  const char* class_name() const override { return "BatchKVCache"; }
  // See the header comment: the rope in attend() must be the identity; the cache ropes per row.
  int offset() const override { return 0; }
  mx::array attend(const mx::array& q, const mx::array& k, const mx::array& v, float scale) override;
  bool is_trimmable() const override { return false; }
  void trim_to(int) override {}
  void reset() override;
  std::vector<mx::array> state() const override;
  size_t nbytes() const override;
  // Batch caches are never saved as prompt caches (the batch loop leaves the slot's own cache alone).
  std::vector<CacheStateEntry> saved_state() const override { return {}; }

  int rows() const { return static_cast<int>(positions_.size()); }
  // Appends one row whose cache is `row` (a PlainKVCache holding `row.offset()` positions, batch 1).
  void extend(const LayerKVCache& row);
  // Keeps the rows `keep` (indices into the current rows, in that order).
  void filter(const std::vector<int>& keep);

 private:
  void grow(int extra);

  RopeConfig rope_cfg_;
  std::optional<Rope> rope_;  // made on first use, when the head dim is known
  std::optional<mx::array> keys_, values_;  // [B, kv_heads, capacity, head_dim]
  int idx_ = 0;                       // slots in use (the same for every row)
  std::vector<int> left_pad_;         // per row: padding slots before its first position
  std::vector<int> positions_;        // per row: the position of its next token (= idx_ - left_pad_)
};

}  // namespace mlxts
