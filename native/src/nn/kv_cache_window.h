// The rotating cache of a speculative run (speculative_loop.cpp with maxKvSize): what mlx-lm's
// RotatingKVCache keeps for one-token steps (the first `keep` positions and the latest max_size - keep),
// but held as a linear buffer with some slack behind the window, so a verify pass of several tokens can
// give each of them exactly the window a one-token step would see there (a mask), and a rejected
// proposal can be trimmed back even after the ring has wrapped. So a speculative run with maxKvSize
// gives the target's own output with that maxKvSize. mlx-lm's speculative_generate_step has no
// max_kv_size to compare with.
#pragma once

#include <memory>
#include <optional>

#include "nn/kv_cache.h"

namespace mlxts {

class RotatingKVCache;

class WindowKVCache final : public LayerKVCache {
 public:
  // `slack`: positions kept behind the window, at least the longest trim (num_draft + 1).
  WindowKVCache(const RotatingKVCache& from, int slack);

  const char* class_name() const override { return "WindowKVCache"; }
  int offset() const override { return offset_; }
  mx::array attend(const mx::array& q, const mx::array& k, const mx::array& v, float scale) override;
  bool is_trimmable() const override { return true; }
  // Back to n positions; at most `slack` positions back from the furthest offset since the last compaction.
  void trim_to(int n) override;
  void reset() override;
  std::vector<mx::array> state() const override;
  size_t nbytes() const override;
  // Not a kind mlx-lm can load: a run that ends with it leaves no prompt cache (speculative_loop.cpp).
  std::vector<CacheStateEntry> saved_state() const override { return {}; }
  std::unique_ptr<LayerKVCache> clone() const override { return std::make_unique<WindowKVCache>(*this); }

 private:
  // Slot s holds position s for s < keep, else first_ + s - keep.
  int slots() const { return keep_held_ + (offset_ - first_); }
  void compact();

  std::optional<mx::array> keys_, values_;  // [B, H, capacity, D]
  int offset_ = 0;     // positions seen
  int first_ = 0;      // the position in slot keep_held_
  int keep_held_ = 0;  // min(keep, positions held at the start)
  int keep_, max_size_, slack_;
};

}  // namespace mlxts
