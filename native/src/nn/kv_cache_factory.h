// Which caches a generation uses, from its options, as mlx-lm's make_prompt_cache and
// maybe_quantize_kv_cache (generate.py) decide it. Any generation loop (the plain one, a draft model's)
// makes its per-layer caches here.
#pragma once

#include <optional>
#include <string>

#include "nn/kv_cache.h"

namespace mlxts {

struct KvCacheOptions {
  std::optional<int> bits;        // kv_bits: quantize the cache (4 or 8); nullopt = full precision
  int group_size = 64;            // kv_group_size
  int quantized_start = 5000;     // quantized_kv_start: quantize once the offset reaches it
  std::optional<int> max_size;    // max_kv_size: a RotatingKVCache (keep = 4, as make_prompt_cache)
};

inline constexpr int kRotatingKeep = 4;

// mlx-lm's make_prompt_cache.
Cache make_kv_cache(int num_layers, const KvCacheOptions& o);
// A generation that reuses nothing starts from what make_kv_cache(o) gives, as every mlx-lm generate does
// (so its first prefill chunk runs at full precision); plain layers keep their buffers (trimmed to 0).
void restart_kv_cache(Cache& cache, const KvCacheOptions& o);
// mlx-lm's maybe_quantize_kv_cache, called after every model call. Throws E_BAD_ARGUMENT for a cache
// kind mlx-lm cannot quantize (RotatingKVCache).
void maybe_quantize(Cache& cache, const KvCacheOptions& o);
// mlx-lm's can_trim_prompt_cache.
bool can_trim(const Cache& cache);
// Sum of every layer's nbytes.
size_t cache_nbytes(const Cache& cache);
// Whether `cache` is what make_kv_cache(o) would grow into, so its prefix can be reused under o.
bool cache_matches(const Cache& cache, const KvCacheOptions& o);
// For a cache loaded from a file: "" if o can continue it, else why not (mlx-lm refuses a --kv-bits or
// --kv-group-size that differs from a quantized prompt cache's).
std::string loaded_cache_conflict(const Cache& cache, const KvCacheOptions& o);

}  // namespace mlxts
