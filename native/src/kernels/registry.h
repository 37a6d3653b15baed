// Custom kernels from metal/ (Metal and CUDA twins), each with a measured fallback: the switches
// (%kernels on|off NAME, MLX_TS_KERNELS), the dispatch rules measured by %kernels bench, and the counts
// of calls that went to each kernel or its fallback.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <mlx/mlx.h>

namespace mlxts::kernels {
namespace mx = mlx::core;

// One row of the measured table: where the kernel may run (the table is per device).
struct Rule {
  std::string kernel;
  std::string dtype;  // "bfloat16" | "float16" | "float32"
  int head_dim = 0;
  int gqa = 0;  // query heads per KV head
  int kv_min = 0;  // KV length range [kv_min, kv_max)
  int kv_max = 0;
  int batch_max = 1;
  bool use = false;  // the bench showed it at least 5% faster there
};

enum class Mode { Auto, On, Off };

// One self-check of a compiled variant against MLX's SDPA on random inputs.
struct Check {
  std::string dtype;
  int head_dim = 0;
  int gqa = 0;
  bool ok = false;
  float max_error = 0.f;
  std::string error;  // compile or run failure
};

struct Status {
  std::string name;
  std::string backend;  // the backend its source is for on this machine: "cuda", "metal" or ""
  bool available = false;
  std::string reason;  // why not available
  Mode mode = Mode::Auto;
  bool allowed = true;  // not switched off by MLX_TS_KERNELS
  uint64_t calls = 0;
  uint64_t fallbacks = 0;
  std::vector<Check> checks;
};

// dir: the metal/ folder; allow: MLX_TS_KERNELS's names (empty with all_off false: every kernel).
void configure(const std::string& dir, std::vector<Rule> rules, std::vector<std::string> allow, bool all_off);
void set_mode(const std::string& name, Mode mode);
std::vector<Status> status();
// Zeroes the call counts (a model load starts them again).
void reset_counts();

// Decode attention (one query token, no mask): our kernel where the switches and rules say so and its
// self-check passed, else nullopt (the caller runs SDPA; counted as a fallback).
std::optional<mx::array> decode_attention(const mx::array& q, const mx::array& k, const mx::array& v, float scale);
// The batch cache's decode attention: row b attends to keys [start[b], L) (start: int32 [B], its left
// padding). Our kernel on CUDA from 16 rows unless switched off, elsewhere only when switched on; else
// nullopt (the caller runs SDPA with the padding mask).
std::optional<mx::array> decode_attention_from(const mx::array& q, const mx::array& k, const mx::array& v, float scale, const mx::array& start);
// Our kernel whatever the rules say (bench, tests); throws if it cannot run here.
mx::array decode_attention_custom(const mx::array& q, const mx::array& k, const mx::array& v, float scale);

struct BenchResult {
  double sdpa_us = 0;
  double custom_us = 0;
  float max_error = 0;
};
// Microseconds per call of SDPA and ours on random [batch, heads, 1|kv_len, head_dim] inputs, calls
// queued back to back (no host sync between them).
BenchResult bench_decode_attention(mx::Dtype dtype, int head_dim, int n_heads, int n_kv_heads, int kv_len, int batch, int iters);

}  // namespace mlxts::kernels
