// The generation loop, free of N-API: mirrors mlx_lm.generate.generate_step + stream_generate.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "errors.h"
#include "loaded_model.h"
#include "nn/kv_cache_factory.h"
#include "sampling.h"

namespace mlxts {

using Clock = std::chrono::steady_clock;

struct GenParams {
  int max_tokens = 256;
  SamplingParams sampling;
  std::vector<int32_t> eos;
  int prefill_step = 2048;
  bool reuse_prefix = false;
  // kvcache: the cache kind (kvBits, kvGroupSize, quantizedKvStart, maxKvSize)
  KvCacheOptions kv;
  // Speculative decoding (speculative_loop.cpp): the draft model's slot, and how many tokens it proposes
  // per target step (mlx-lm's num_draft_tokens). No draft = the plain loop.
  std::shared_ptr<ModelSlot> draft;
  int num_draft = 2;
};

struct Stats {
  int prompt_tokens = 0;
  int reused_tokens = 0;
  int generated_tokens = 0;
  double ttft_ms = 0, prefill_ms = 0, decode_ms = 0, prompt_tps = 0, generation_tps = 0;
  double peak_memory = 0;
  // kvcache: the KV cache's bytes when the generation ended (mlx-lm's nbytes over the layers)
  double kv_cache_bytes = 0;
  const char* stop_reason = "error";
  // Speculative decoding only (speculative = true): tokens the draft proposed, how many of them the target
  // accepted, and how many target forward passes the decode took.
  bool speculative = false;
  int drafted_tokens = 0, accepted_tokens = 0, target_steps = 0;
  // batch: rows in the batched step that produced this row's last token, and the most it ran beside (0 = not batched)
  int batch_size = 0, max_batch_size = 0;
  // batch: the whole batch's KV cache bytes when the row ended (kv_cache_bytes is then the row's share)
  double batch_kv_cache_bytes = 0;
};

struct Outcome {
  Stats stats;
  std::optional<NativeError> error;
};

// One generation's inputs. `emit` is called on the worker for every token not stopped on, with whether
// it is a draft model's proposal the target accepted (speculative decoding only).
struct GenerationRequest {
  const std::vector<int32_t>& prompt;
  const GenParams& params;
  const std::atomic<bool>& cancel;
  std::function<void(int32_t, bool drafted)> emit;
  Clock::time_point t_call;
};

// Runs on a pool worker with slot.mu held; never throws (errors come back in Outcome). Leaves the slot's
// cache and cached_tokens consistent for prefix reuse by the next generation.
Outcome run_generation(ModelSlot& slot, const GenerationRequest& req, Clock::time_point t_start);

// Shared by the plain and the speculative loop: evaluate every layer's K/V, and the timing stats at the end.
void eval_cache(const Cache& cache);
void finish_stats(Stats& s, const GenerationRequest& req, Clock::time_point t_start, std::optional<Clock::time_point> t_first,
                  Clock::time_point t_last, Clock::time_point t_end);

}  // namespace mlxts
