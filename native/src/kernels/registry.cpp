#include "kernels/registry.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include <mlx/backend/cuda/cuda.h>
#include <mlx/backend/metal/metal.h>
#include <mlx/fast.h>

namespace mlxts::kernels {

namespace {

constexpr const char* kDecode = "decode_attention";
constexpr int kWarps = 4;
// Enough blocks to fill a large GPU (an H200 has 132 SMs) several times over; a split never gets
// fewer than kMinChunk keys.
constexpr int kTargetBlocks = 512;
constexpr int kMinChunk = 64;
// decode_attention_from's automatic use: batches of at least this many rows (measured, see there).
constexpr int kBatchFrom = 16;

struct State {
  std::mutex mu;
  std::string dir;
  std::vector<Rule> rules;
  std::vector<std::string> allow;
  bool all_off = false;
  Mode mode = Mode::Auto;
  // (dtype, head_dim, gqa) -> self-check
  std::map<std::tuple<std::string, int, int>, Check> checks;
  std::map<std::string, std::string> sources;
  // partial_from: the batch variant, with an extra input start [B] (each row's first key)
  std::optional<mx::fast::CustomKernelFunction> partial, partial_from, reduce;
};

State& state() {
  static State s;
  return s;
}
std::atomic<uint64_t> g_calls{0}, g_fallbacks{0};

std::string backend_here() {
  if (mx::default_device() != mx::Device::gpu) return "";
  if (mx::cu::is_available()) return "cuda";
  if (mx::metal::is_available()) return "metal";
  return "";
}

std::string dtype_name(mx::Dtype t) {
  if (t == mx::bfloat16) return "bfloat16";
  if (t == mx::float16) return "float16";
  if (t == mx::float32) return "float32";
  return "";
}

std::string read_source(State& s, const std::string& file) {
  auto it = s.sources.find(file);
  if (it != s.sources.end()) return it->second;
  if (s.dir.empty()) throw std::runtime_error("the custom kernels' folder (metal/) was not configured");
  std::ifstream in(s.dir + "/" + file);
  if (!in) throw std::runtime_error("cannot read the kernel source " + s.dir + "/" + file);
  std::stringstream ss;
  ss << in.rdbuf();
  return s.sources[file] = ss.str();
}

// Builds (once) the two kernel functions for this backend. Call with s.mu held.
void ensure_kernels(State& s, const std::string& backend) {
  if (s.partial) return;
  const std::string ext = backend == "cuda" ? ".cu" : ".metal";
  const auto partial_src = read_source(s, std::string(kDecode) + "_partial" + ext);
  const auto reduce_src = read_source(s, std::string(kDecode) + "_reduce" + ext);
  const std::vector<std::string> ins{"q", "k", "v", "scale"}, ins_from{"q", "k", "v", "scale", "start"}, outs{"o_part", "m_part", "l_part"};
  const std::string all = "#define KV_FIRST(b) 0\n", from = "#define KV_FIRST(b) start[b]\n";
  if (backend == "cuda") {
    // ensure_row_contiguous false: the KV cache hands over a slice of its preallocated buffer, and a
    // copy of it per call would cost more than the attention itself; the kernel reads strides.
    s.partial = mx::fast::cuda_kernel("mlxts_decode_attention_partial", ins, outs, partial_src, all, false, 0);
    s.partial_from = mx::fast::cuda_kernel("mlxts_decode_attention_partial_from", ins_from, outs, partial_src, from, false, 0);
    s.reduce = mx::fast::cuda_kernel("mlxts_decode_attention_reduce", {"o_part", "m_part", "l_part"}, {"out"}, reduce_src, "", true, 0);
  } else {
    s.partial = mx::fast::metal_kernel("mlxts_decode_attention_partial", ins, outs, partial_src, all, false, false);
    s.partial_from = mx::fast::metal_kernel("mlxts_decode_attention_partial_from", ins_from, outs, partial_src, from, false, false);
    s.reduce = mx::fast::metal_kernel("mlxts_decode_attention_reduce", {"o_part", "m_part", "l_part"}, {"out"}, reduce_src, "", true, false);
  }
}

// Shapes the kernel takes; empty when it does, else why not.
std::string unsupported(const mx::array& q, const mx::array& k, const mx::array& v) {
  if (q.ndim() != 4 || k.ndim() != 4 || v.ndim() != 4) return "not 4-d";
  if (q.shape(2) != 1) return "more than one query token";
  const int D = q.shape(3);
  if (D != 64 && D != 128) return "head_dim " + std::to_string(D);
  if (k.shape(3) != D || v.shape(3) != D) return "k/v head_dim differs";
  if (q.shape(1) % k.shape(1) != 0) return "query heads not a multiple of KV heads";
  const int G = q.shape(1) / k.shape(1);
  if (G < 1 || G > 8) return "GQA ratio " + std::to_string(G);
  if (q.dtype() != k.dtype() || q.dtype() != v.dtype() || dtype_name(q.dtype()).empty()) return "dtype";
  if (q.strides(3) != 1 || k.strides(3) != 1 || v.strides(3) != 1) return "head_dim not contiguous";
  if (k.shape(2) != v.shape(2) || k.shape(2) < 1) return "k/v lengths";
  return "";
}

// start: each row's first key (int32 [B]; the batch cache's left padding), or none for all keys.
mx::array run_custom(State& s, const mx::array& q, const mx::array& k, const mx::array& v, float scale,
                     const std::optional<mx::array>& start = std::nullopt) {
  const int B = q.shape(0), Hq = q.shape(1), Hkv = k.shape(1), D = q.shape(3), Lk = k.shape(2);
  const int G = Hq / Hkv;
  const int S = std::max(1, std::min((kTargetBlocks + B * Hkv - 1) / (B * Hkv), (Lk + kMinChunk - 1) / kMinChunk));
  const std::vector<std::pair<std::string, mx::fast::TemplateArg>> targs{{"T", q.dtype()}, {"D", D}, {"G", G}, {"WARPS", kWarps}};
  std::vector<mx::array> ins{q, k, v, mx::array({scale})};
  if (start) ins.push_back(*start);
  auto parts = (*(start ? s.partial_from : s.partial))(ins, {{B, Hq, S, D}, {B, Hq, S}, {B, Hq, S}}, {mx::float32, mx::float32, mx::float32},
                                                       {S * kWarps * 32, Hkv, B}, {kWarps * 32, 1, 1}, targs, std::nullopt, false, {});
  auto out = (*s.reduce)({parts[0], parts[1], parts[2]}, {{B, Hq, 1, D}}, {q.dtype()}, {D, Hq, B}, {D, 1, 1},
                         {{"T", q.dtype()}, {"D", D}}, std::nullopt, false, {});
  return out[0];
}

float tolerance(mx::Dtype t) { return t == mx::bfloat16 ? 2e-2f : t == mx::float16 ? 4e-3f : 1e-4f; }

// Our kernel against SDPA on random inputs of this variant, once per process. Call with s.mu held.
const Check& self_check(State& s, mx::Dtype dtype, int D, int G) {
  const auto key = std::make_tuple(dtype_name(dtype), D, G);
  auto it = s.checks.find(key);
  if (it != s.checks.end()) return it->second;
  Check c{dtype_name(dtype), D, G, false, 0.f, ""};
  try {
    const int Hkv = 2, L = 1000;
    auto rk = mx::random::key(7);
    auto ks = mx::random::split(rk, 3);
    auto q = mx::astype(mx::random::normal({1, Hkv * G, 1, D}, mx::float32, mx::take(ks, 0, 0)), dtype);
    auto k = mx::astype(mx::random::normal({1, Hkv, L, D}, mx::float32, mx::take(ks, 1, 0)), dtype);
    auto v = mx::astype(mx::random::normal({1, Hkv, L, D}, mx::float32, mx::take(ks, 2, 0)), dtype);
    const float scale = 1.0f / std::sqrt(static_cast<float>(D));
    auto ref = mx::fast::scaled_dot_product_attention(q, k, v, scale, "");
    auto ours = run_custom(s, q, k, v, scale);
    auto err = mx::max(mx::abs(mx::subtract(mx::astype(ours, mx::float32), mx::astype(ref, mx::float32))));
    // The batch variant: three rows whose keys start at 0, 1 and 700 (the rest is left padding).
    auto q3 = mx::concatenate({q, q, q}, 0), k3 = mx::concatenate({k, k, k}, 0), v3 = mx::concatenate({v, v, v}, 0);
    const std::vector<int> first{0, 1, 700};
    auto start = mx::array(first.data(), {3}, mx::int32);
    auto mask = mx::greater_equal(mx::reshape(mx::arange(L, mx::int32), {1, 1, 1, L}), mx::reshape(start, {3, 1, 1, 1}));
    auto ref3 = mx::fast::scaled_dot_product_attention(q3, k3, v3, scale, "", mask);
    auto err3 = mx::max(mx::abs(mx::subtract(mx::astype(run_custom(s, q3, k3, v3, scale, start), mx::float32), mx::astype(ref3, mx::float32))));
    err = mx::maximum(err, err3);
    mx::eval(err);
    c.max_error = err.item<float>();
    c.ok = c.max_error <= tolerance(dtype);
    if (!c.ok) c.error = "max abs error " + std::to_string(c.max_error) + " over the tolerance " + std::to_string(tolerance(dtype));
  } catch (const std::exception& e) {
    c.error = e.what();
  }
  return s.checks[key] = c;
}

bool allowed(const State& s) {
  if (s.all_off) return false;
  return s.allow.empty() || std::find(s.allow.begin(), s.allow.end(), kDecode) != s.allow.end();
}

bool rule_says_use(const State& s, const std::string& dtype, int D, int G, int Lk, int B) {
  for (const auto& r : s.rules)
    if (r.kernel == kDecode && r.dtype == dtype && r.head_dim == D && r.gqa == G && Lk >= r.kv_min && Lk < r.kv_max && B <= r.batch_max) return r.use;
  return false;
}

// Where the switches and rules allow the kernel (`use`): whether its variant builds and passed its
// self-check; counts the call as the kernel's or as a fallback. Call with s.mu held.
bool confirmed(State& s, const std::string& backend, bool use, const mx::array& q, const mx::array& k) {
  if (use) {
    try {
      ensure_kernels(s, backend);
      use = self_check(s, q.dtype(), q.shape(3), q.shape(1) / k.shape(1)).ok;
    } catch (const std::exception&) {
      use = false;
    }
  }
  ++(use ? g_calls : g_fallbacks);
  return use;
}

}  // namespace

void configure(const std::string& dir, std::vector<Rule> rules, std::vector<std::string> allow, bool all_off) {
  auto& s = state();
  std::lock_guard lock(s.mu);
  if (dir != s.dir) {
    s.sources.clear();
    s.partial.reset();
    s.reduce.reset();
    s.checks.clear();
  }
  s.dir = dir;
  s.rules = std::move(rules);
  s.allow = std::move(allow);
  s.all_off = all_off;
}

void set_mode(const std::string& name, Mode mode) {
  if (name != kDecode) throw std::invalid_argument("no custom kernel named \"" + name + "\" (there is: " + kDecode + ")");
  auto& s = state();
  std::lock_guard lock(s.mu);
  s.mode = mode;
}

void reset_counts() {
  g_calls = 0;
  g_fallbacks = 0;
}

std::vector<Status> status() {
  auto& s = state();
  std::lock_guard lock(s.mu);
  Status st;
  st.name = kDecode;
  st.backend = backend_here();
  st.available = !st.backend.empty();
  if (!st.available)
    st.reason = mx::default_device() == mx::Device::gpu ? "no CUDA or Metal GPU backend in this MLX" : "the default device is the CPU (custom kernels run on the GPU)";
  st.mode = s.mode;
  st.allowed = allowed(s);
  st.calls = g_calls;
  st.fallbacks = g_fallbacks;
  for (const auto& [_, c] : s.checks) st.checks.push_back(c);
  return {st};
}

std::optional<mx::array> decode_attention_from(const mx::array& q, const mx::array& k, const mx::array& v, float scale, const mx::array& start) {
  auto& s = state();
  std::unique_lock lock(s.mu);
  const auto backend = backend_here();
  // Auto: on CUDA from 16 rows, where bench/batch.mjs (distinct prompts, MLX_TS_KERNELS=off against the
  // default) measured it faster on an H100 (10.5 vs 12.2 ms a step at 16 rows, 10.6 vs 15.6 at 64, but 9.4 vs
  // 8.5 at 4); MLX's SDPA with a mask array runs its unfused fallback there. Metal: only when switched on (unverified).
  const bool auto_use = backend == "cuda" && q.shape(0) >= kBatchFrom;
  bool use = !backend.empty() && allowed(s) && s.mode != Mode::Off && unsupported(q, k, v).empty() && (s.mode == Mode::On || auto_use);
  if (!confirmed(s, backend, use, q, k)) return std::nullopt;
  return run_custom(s, q, k, v, scale, start);
}

std::optional<mx::array> decode_attention(const mx::array& q, const mx::array& k, const mx::array& v, float scale) {
  auto& s = state();
  std::unique_lock lock(s.mu);
  const auto backend = backend_here();
  bool use = !backend.empty() && allowed(s) && s.mode != Mode::Off && unsupported(q, k, v).empty();
  if (use && s.mode == Mode::Auto)
    use = rule_says_use(s, dtype_name(q.dtype()), q.shape(3), q.shape(1) / k.shape(1), k.shape(2), q.shape(0));
  if (!confirmed(s, backend, use, q, k)) return std::nullopt;
  return run_custom(s, q, k, v, scale);
}

mx::array decode_attention_custom(const mx::array& q, const mx::array& k, const mx::array& v, float scale) {
  auto& s = state();
  std::lock_guard lock(s.mu);
  const auto backend = backend_here();
  if (backend.empty()) throw std::runtime_error("custom kernels need a CUDA or Metal GPU as the default device");
  const auto why = unsupported(q, k, v);
  if (!why.empty()) throw std::invalid_argument("decode_attention does not take these inputs: " + why);
  ensure_kernels(s, backend);
  return run_custom(s, q, k, v, scale);
}

BenchResult bench_decode_attention(mx::Dtype dtype, int D, int Hq, int Hkv, int L, int B, int iters) {
  auto rk = mx::random::split(mx::random::key(11), 3);
  auto q = mx::astype(mx::random::normal({B, Hq, 1, D}, mx::float32, mx::take(rk, 0, 0)), dtype);
  auto k = mx::astype(mx::random::normal({B, Hkv, L, D}, mx::float32, mx::take(rk, 1, 0)), dtype);
  auto v = mx::astype(mx::random::normal({B, Hkv, L, D}, mx::float32, mx::take(rk, 2, 0)), dtype);
  mx::eval({q, k, v});
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  auto time = [&](auto&& f) {
    for (int w = 0; w < 3; ++w) mx::eval(f());
    mx::synchronize();
    std::vector<mx::array> outs;
    outs.reserve(iters);
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) outs.push_back(f());
    mx::eval(outs);
    mx::synchronize();
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / iters;
  };
  BenchResult r;
  r.sdpa_us = time([&] { return mx::fast::scaled_dot_product_attention(q, k, v, scale, ""); });
  r.custom_us = time([&] { return decode_attention_custom(q, k, v, scale); });
  auto err = mx::max(mx::abs(mx::subtract(mx::astype(decode_attention_custom(q, k, v, scale), mx::float32),
                                          mx::astype(mx::fast::scaled_dot_product_attention(q, k, v, scale, ""), mx::float32))));
  mx::eval(err);
  r.max_error = err.item<float>();
  return r;
}

}  // namespace mlxts::kernels
