// mlx-lm's BatchKVCache (models/cache.py) for the batched decode of batch_loop.cpp: rows left-padded so
// they end on the same slot, a per-row mask that hides each row's padding, and per-row RoPE positions.
// With a KvQuant it holds keys and values as mlx-lm's QuantizedKVCache does ({packed, scales, biases},
// quantized per position as they arrive) and attends as quantized_sdpa does, with the padding mask.
//
// Rows are prefilled one at a time (exactly the single-row path) and merged in here (mlx-lm's `extend`:
// right-aligned, the shorter side padded on the left); finished rows are dropped with `filter`, which also
// trims padding every remaining row has. Only single-token steps run on it.
//
// RoPE: attend() (nn/attention.cpp) ropes q and k at offset() before calling a single-row cache; a batch
// cache says ropes_itself(), gets them unrotated, and ropes each row at its own position
// (mx::fast::rope with an array offset), the positions the row would have alone.
#pragma once

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "nn/kv_cache.h"
#include "nn/rope.h"

namespace mlxts {

// A quantized KV cache's kind (kvGroupSize, kvBits).
struct KvQuant {
  int group_size = 64;
  int bits = 8;
};

[[noreturn]] void fail_uncloneable();

// A batch cache's one-token step: checks q has one token for each of the rows, then ropes q and k
// ([B, heads, 1, D]) each row at its own position (the rope made on first use, when D is known).
std::pair<mx::array, mx::array> rope_rows(const mx::array& q, const mx::array& k, const std::vector<int>& positions, const RopeConfig& cfg,
                                          std::optional<Rope>& rope);

// What every batch cache kind does besides attending: rows come in one at a time and leave in any set.
class BatchLayerCache : public LayerKVCache {
 public:
  // See the header comment: the cache ropes per row, so attend() leaves q and k as they are.
  int offset() const override { return 0; }
  bool ropes_itself() const override { return true; }
  bool is_trimmable() const override { return false; }
  void trim_to(int) override {}
  // Batch caches are never saved as prompt caches (the batch loop leaves the slot's own cache alone).
  std::vector<CacheStateEntry> saved_state() const override { return {}; }
  std::unique_ptr<LayerKVCache> clone() const override { fail_uncloneable(); }

  virtual int rows() const = 0;
  // Whether a row whose single-row cache is `row` can join this cache.
  virtual bool accepts(const LayerKVCache& row) const = 0;
  // Appends one row whose cache is `row` (batch 1, holding row.offset() positions); accepts(row) holds.
  virtual void extend(const LayerKVCache& row) = 0;
  // Keeps the rows `keep` (indices into the current rows, in that order).
  virtual void filter(const std::vector<int>& keep) = 0;
  // The position of row i's next token.
  virtual int row_offset(int i) const = 0;
};

class BatchKVCache final : public BatchLayerCache {
 public:
  static constexpr int kStep = 256;

  explicit BatchKVCache(RopeConfig rope, std::optional<KvQuant> quant = std::nullopt) : rope_cfg_(std::move(rope)), quant_(quant) {}

  const char* class_name() const override { return quant_ ? "BatchQuantizedKVCache" : "BatchKVCache"; }
  mx::array attend(const mx::array& q, const mx::array& k, const mx::array& v, float scale) override;
  void reset() override;
  std::vector<mx::array> state() const override;
  size_t nbytes() const override;

  const std::optional<KvQuant>& quant() const { return quant_; }
  int rows() const override { return static_cast<int>(positions_.size()); }
  bool accepts(const LayerKVCache& row) const override;
  void extend(const LayerKVCache& row) override;
  void filter(const std::vector<int>& keep) override;
  int row_offset(int i) const override { return positions_.at(i); }
  // Row i's cache as the single-row path would hold it (full precision only): to move it to another kind.
  std::unique_ptr<LayerKVCache> row_cache(int i) const;

 private:
  void grow(int extra);

  RopeConfig rope_cfg_;
  std::optional<KvQuant> quant_;
  std::optional<Rope> rope_;  // made on first use, when the head dim is known
  // [B, kv_heads, capacity, *]: one array each (full precision) or {packed, scales, biases} (quantized); empty = none yet
  std::vector<mx::array> keys_, values_;
  int idx_ = 0;                       // slots in use (the same for every row)
  std::vector<int> left_pad_;         // per row: padding slots before its first position
  std::vector<int> positions_;        // per row: the position of its next token (= idx_ - left_pad_)
};

}  // namespace mlxts
