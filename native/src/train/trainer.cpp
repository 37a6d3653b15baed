#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>

#include <mlx/graph_utils.h>

#include "errors.h"
#include "generation_pool.h"

namespace mlxts {

namespace {

struct Batch {
  mx::array tokens;   // [B, T] int32
  mx::array lengths;  // [B, 2] int32: (offset, length)
};

// iterate_batches: pad to 1 + the next multiple of 32 above the longest example, at most max_seq_len.
Batch make_batch(const std::vector<std::vector<int32_t>>& examples, const std::vector<int32_t>& offsets, const int32_t* rows, int B, int max_seq_len) {
  int longest = 0;
  for (int j = 0; j < B; ++j) longest = std::max<int>(longest, examples[rows[j]].size());
  constexpr int kPadTo = 32;
  const int T = std::min(1 + kPadTo * ((longest + kPadTo - 1) / kPadTo), max_seq_len);
  std::vector<int32_t> data(static_cast<size_t>(B) * T, 0);
  std::vector<int32_t> lens(static_cast<size_t>(B) * 2);
  for (int j = 0; j < B; ++j) {
    const int idx = rows[j];
    const auto& ex = examples[idx];
    const int n = std::min<int>(ex.size(), max_seq_len);
    std::copy(ex.begin(), ex.begin() + n, data.begin() + static_cast<size_t>(j) * T);
    lens[2 * j] = offsets[idx];
    lens[2 * j + 1] = n;
  }
  return {mx::array(data.data(), {B, T}, mx::int32), mx::array(lens.data(), {B, 2}, mx::int32)};
}

Batch make_batch(const TrainParams& p, int step) {
  return make_batch(p.examples, p.offsets, p.schedule.data() + static_cast<size_t>(step) * p.batch_size, p.batch_size, p.max_seq_len);
}

// The "cache" a training forward passes to each layer: mlx-lm's model(inputs) runs with cache=None, so
// attention is SDPA over this call's keys/values with a causal mask. A PlainKVCache would allocate a
// 256-step buffer per layer and copy k/v into it (slice_update), and the backward pass would go through
// those copies too: more memory and time per step for nothing, since training never reuses it.
class NoCache final : public LayerKVCache {
 public:
  const char* class_name() const override { return "None"; }
  int offset() const override { return 0; }
  mx::array attend(const mx::array& q, const mx::array& k, const mx::array& v, float scale) override {
    return mx::fast::scaled_dot_product_attention(q, k, v, scale, q.shape(2) > 1 ? "causal" : "");
  }
  bool is_trimmable() const override { return false; }
  void trim_to(int) override {}
  void reset() override {}
  std::vector<mx::array> state() const override { return {}; }
  size_t nbytes() const override { return 0; }
  std::vector<CacheStateEntry> saved_state() const override { return {}; }
  std::unique_ptr<LayerKVCache> clone() const override { return std::make_unique<NoCache>(); }
};

Cache no_cache(const Model& model) {
  Cache c;
  c.reserve(model.num_layers());
  for (int i = 0; i < model.num_layers(); ++i) c.emplace_back(std::make_unique<NoCache>());
  return c;
}

// nn.losses.cross_entropy with class indices: on a GPU, MLX's fused kernel (mx.fast.cross_entropy, one kernel and
// one for its gradient, instead of logsumexp, a gather and, for the gradient, a scatter into a zeroed logits-sized
// buffer), as mlx-lm gets it there; elsewhere logsumexp(logits) - logits[target]. MLX_TS_TRAIN_FAST_CE=0|1 overrides.
mx::array cross_entropy(const mx::array& logits, const mx::array& targets) {
  const char* env = std::getenv("MLX_TS_TRAIN_FAST_CE");
  const bool fast = env && *env ? std::string(env) != "0" : mx::default_device() == mx::Device::gpu;
  if (fast) return mx::astype(mx::fast::cross_entropy(logits, targets), logits.dtype());
  auto score = mx::squeeze(mx::take_along_axis(logits, mx::expand_dims(targets, -1), -1), -1);
  return mx::subtract(mx::logsumexp(logits, -1), score);
}

// default_loss: cross-entropy over targets whose step lies in [offset, length], mean over those tokens.
std::vector<mx::array> default_loss(Model& model, const Batch& b) {
  const int B = b.tokens.shape(0), T = b.tokens.shape(1);
  auto inputs = mx::slice(b.tokens, {0, 0}, {B, T - 1});
  auto targets = mx::slice(b.tokens, {0, 1}, {B, T});
  Cache cache = no_cache(model);
  auto logits = model.forward(inputs, cache);
  auto steps = mx::arange(1, T, mx::int32);
  auto lo = mx::slice(b.lengths, {0, 0}, {B, 1});
  auto hi = mx::slice(b.lengths, {0, 1}, {B, 2});
  auto mask = mx::logical_and(mx::greater_equal(steps, lo), mx::less_equal(steps, hi));
  auto ce = mx::multiply(cross_entropy(logits, targets), mask);
  auto ntoks = mx::sum(mask);
  return {mx::divide(mx::sum(mx::astype(ce, mx::float32)), ntoks), ntoks};
}

// trainer.evaluate: the token-weighted mean of default_loss over the evaluation's batches.
float evaluate(Model& model, const TrainParams& p, const TrainParams::Evaluation& ev) {
  auto all = mx::array(0.0f);
  auto ntok = mx::array(0, mx::int32);
  for (const auto& rows : ev.batches) {
    auto b = make_batch(p.val_examples, p.val_offsets, rows.data(), static_cast<int>(rows.size()), p.max_seq_len);
    auto r = default_loss(model, b);
    all = mx::add(all, mx::multiply(r[0], r[1]));
    ntok = mx::add(ntok, r[1]);
    mx::eval({all, ntok});
  }
  return mx::divide(all, ntok).item<float>();
}

// mlx.optimizers.Adam (bias_correction=False) / AdamW: w <- w' - lr * m / (sqrt(v) + eps), w' = w * (1 - lr*wd) for AdamW.
// Updates params, m and v in place (the vectors, not the arrays: inside a compiled step they are tracers).
void adam_update(std::vector<mx::array>& params, const std::vector<mx::array>& grads, std::vector<mx::array>& m, std::vector<mx::array>& v, const TrainParams& p) {
  // the betas are Python floats there: 1 - b2 is taken in double, then rounded (1.0f - 0.999f is 1.3e-5 smaller)
  const double b1 = 0.9, b2 = 0.999;
  const float eps = 1e-8f;
  auto scalar = [](double x) { return mx::array(static_cast<float>(x)); };
  for (size_t i = 0; i < params.size(); ++i) {
    const auto& g = grads[i];
    auto lr = mx::astype(mx::array(p.learning_rate), g.dtype());
    auto w = params[i];
    if (p.adamw) w = mx::multiply(w, mx::subtract(mx::array(1.0f), mx::multiply(lr, mx::array(p.weight_decay))));
    m[i] = mx::add(mx::multiply(scalar(b1), m[i]), mx::multiply(scalar(1.0 - b1), g));
    v[i] = mx::add(mx::multiply(scalar(b2), v[i]), mx::multiply(scalar(1.0 - b2), mx::square(g)));
    params[i] = mx::subtract(w, mx::divide(mx::multiply(lr, m[i]), mx::add(mx::sqrt(v[i]), mx::array(eps))));
  }
}

void set_arrays(Adapter& ad, const std::vector<mx::array>& a) {
  for (size_t i = 0; i < ad.layers.size(); ++i) {
    ad.layers[i].second->a = a[2 * i];
    ad.layers[i].second->b = a[2 * i + 1];
  }
}

// MLX enforces its memory limit only on some backends (Metal, when nothing is left to wait for; not on the
// CPU): training checks it itself, before the first step and after each, so a run over the limit stops
// with E_MEMORY_LIMIT on every backend instead of swapping.
void check_memory(const char* when, int step, const TrainParams& p) {
  const size_t limit = mx::get_memory_limit();
  const size_t used = step == 0 ? mx::get_active_memory() : mx::get_peak_memory();
  if (used <= limit) return;
  const std::string what = step == 0 ? std::string("the model and its adapter already take ") : std::string("training ") + when + " needed ";
  fail("E_MEMORY_LIMIT", what + human_bytes(used) + ", above the MLX memory limit of " + human_bytes(limit) +
                             " (batch " + std::to_string(p.batch_size) + ", longest sequence up to " + std::to_string(p.max_seq_len) +
                             "). Lower --batch or --max-seq-len, adapt fewer --layers, free memory (%unload a model), or raise the limit (%limit memory SIZE).");
}

// MLX_TS_TRAIN_GRAPH=PREFIX: the first step's lazy graphs as DOT, for bench/train-graph.mjs to count primitives
// against mlx-lm's (PREFIX.grads.dot: loss, ntoks and grads; .step.dot: the step uncompiled; .compiled.dot: after
// mx::compile's simplification and fusion), and PREFIX.json with the batch shape the Python side rebuilds.
void write_dot(const std::string& file, const std::vector<mx::array>& outputs) {
  std::ofstream f(file);
  mx::export_to_dot(f, outputs);
  if (!f) fail("E_IO", "train: could not write " + file + ".");
}

std::string checkpoint_name(int step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%07d_adapters.safetensors", step);
  return buf;
}

}  // namespace

void save_adapter(const Adapter& ad, const std::string& file) {
  auto w = ad.weights();
  std::unordered_map<std::string, mx::array> m(w.begin(), w.end());
  mx::save_safetensors(file, m, {{"format", "mlx"}});
}

TrainOutcome run_training(Model& model, const TrainParams& p, const std::atomic<bool>& cancel, const std::function<void(const StepReport&)>& on_step) {
  if (p.batch_size < 1 || p.grad_accum < 1 || p.iters < 0) fail("E_BAD_ARGUMENT", "train: batch size and grad accumulation must be at least 1.");
  if (p.schedule.size() != static_cast<size_t>(p.iters) * p.batch_size) fail("E_BAD_ARGUMENT", "train: the schedule must hold iters * batch_size example indices.");
  for (auto i : p.schedule)
    if (i < 0 || static_cast<size_t>(i) >= p.examples.size()) fail("E_BAD_ARGUMENT", "train: schedule index " + std::to_string(i) + " is outside the examples.");
  if (p.val_offsets.size() != p.val_examples.size()) fail("E_BAD_ARGUMENT", "train: the validation set needs one offset per example.");
  for (const auto& ev : p.evals)
    for (const auto& rows : ev.batches) {
      if (rows.empty()) fail("E_BAD_ARGUMENT", "train: an evaluation batch is empty.");
      for (auto i : rows)
        if (i < 0 || static_cast<size_t>(i) >= p.val_examples.size()) fail("E_BAD_ARGUMENT", "train: validation index " + std::to_string(i) + " is outside the validation examples.");
    }
  size_t next_eval = 0;
  TrainOutcome out;
  out.adapter = attach_lora(model, p.lora, p.seed, p.init_adapter);
  Adapter& ad = out.adapter;
  std::vector<mx::array> params = ad.arrays();
  if (params.empty()) fail("E_BAD_ARGUMENT", "train: no layer was selected for LoRA (num_layers / targets).");
  const size_t n = params.size();
  std::vector<int> argnums(n);
  for (size_t i = 0; i < n; ++i) argnums[i] = static_cast<int>(i);
  // Adam's moments, and the summed gradients while accumulating (empty otherwise).
  std::vector<mx::array> m_state, v_state, accum;
  for (const auto& a : params) {
    m_state.push_back(mx::zeros_like(a));
    v_state.push_back(mx::zeros_like(a));
  }
  // as the optimizer's state is before mlx-lm's first step: arrays, not a zero-fill for the first step's graph to run
  mx::eval(m_state);
  mx::eval(v_state);
  // The loss of (adapter arrays..., tokens, lengths); the frozen base weights are constants of the graph.
  auto loss_fn = [&ad, &model, n](const std::vector<mx::array>& xs) {
    set_arrays(ad, std::vector<mx::array>(xs.begin(), xs.begin() + n));
    return default_loss(model, Batch{xs[n], xs[n + 1]});
  };
  auto vg = mx::value_and_grad(std::function<std::vector<mx::array>(const std::vector<mx::array>&)>(loss_fn), argnums);
  // trainer.train's step as a pure function, so it can be compiled as mlx-lm's mx.compile(step, inputs=state,
  // outputs=state) is: what it reads and changes (adapter arrays, Adam moments, accumulated gradients) comes in
  // and goes out as arrays instead of being captured, so value_and_grad, the gradient sum and Adam's many small
  // elementwise ops become one graph MLX fuses. Inputs: params, [m, v when updating], [accum when has_prev],
  // tokens, lengths. Outputs: loss, ntoks, then params', m', v' when updating, else the new accum.
  using StepFn = std::function<std::vector<mx::array>(const std::vector<mx::array>&)>;
  auto make_step = [&vg, &p, n](bool has_prev, bool do_update) -> StepFn {
    return [&vg, &p, n, has_prev, do_update](const std::vector<mx::array>& xs) {
      auto it = xs.begin();
      auto take = [&it, n]() {
        std::vector<mx::array> r(it, it + n);
        it += n;
        return r;
      };
      auto w = take();
      std::vector<mx::array> m, v, prev;
      if (do_update) {
        m = take();
        v = take();
      }
      if (has_prev) prev = take();
      std::vector<mx::array> args = w;
      args.insert(args.end(), it, xs.end());  // tokens, lengths
      auto [vals, grads] = vg(args);
      if (has_prev)
        for (size_t i = 0; i < n; ++i) grads[i] = mx::add(grads[i], prev[i]);
      std::vector<mx::array> out = vals;
      if (!do_update) {
        out.insert(out.end(), grads.begin(), grads.end());
        return out;
      }
      if (p.grad_accum > 1)
        for (auto& g : grads) g = mx::divide(g, mx::array(static_cast<float>(p.grad_accum)));
      adam_update(w, grads, m, v, p);
      for (auto* part : {&w, &m, &v}) out.insert(out.end(), part->begin(), part->end());
      return out;
    };
  };
  // MLX_TS_TRAIN_COMPILE=0 runs the same step uncompiled (to measure or rule out compile).
  const char* compile_env = std::getenv("MLX_TS_TRAIN_COMPILE");
  bool compiled = !(compile_env && std::string(compile_env) == "0");
  if (!compiled) out.uncompiled_reason = "disabled by MLX_TS_TRAIN_COMPILE=0";
  // One function per (has_prev, do_update), built on first use; each compiled one keeps a trace per padded length.
  std::map<std::pair<bool, bool>, StepFn> steps;
  auto step_for = [&](bool has_prev, bool do_update) -> StepFn& {
    auto key = std::make_pair(has_prev, do_update);
    auto f = steps.find(key);
    if (f == steps.end()) f = steps.emplace(key, compiled ? mx::compile(make_step(has_prev, do_update)) : make_step(has_prev, do_update)).first;
    return f->second;
  };
  double trained = 0, train_s = 0;
  auto save_to = [&](const std::string& name) {
    if (p.adapter_dir.empty()) return std::string();
    const std::string file = p.adapter_dir + "/" + name;
    save_adapter(ad, file);
    return file;
  };
  mx::reset_peak_memory();
  check_memory("", 0, p);
  for (int it = 1; it <= p.iters; ++it) {
    if (cancel.load() || GenerationPool::exiting()) {
      out.cancelled = true;
      break;
    }
    std::optional<float> val_loss;
    double val_s = 0;
    while (next_eval < p.evals.size() && p.evals[next_eval].step < it) ++next_eval;
    if (next_eval < p.evals.size() && p.evals[next_eval].step == it && !p.evals[next_eval].batches.empty()) {
      // before this step's update, as trainer.train evaluates; its time is not training time
      const auto v0 = std::chrono::steady_clock::now();
      val_loss = evaluate(model, p, p.evals[next_eval]);
      val_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - v0).count();
    }
    const auto t0 = std::chrono::steady_clock::now();
    Batch b = make_batch(p, it - 1);
    const bool has_prev = !accum.empty();
    const bool do_update = it % p.grad_accum == 0;
    std::vector<mx::array> xs = params;
    if (do_update) {
      xs.insert(xs.end(), m_state.begin(), m_state.end());
      xs.insert(xs.end(), v_state.begin(), v_state.end());
    }
    if (has_prev) xs.insert(xs.end(), accum.begin(), accum.end());
    xs.push_back(b.tokens);
    xs.push_back(b.lengths);
    const char* graph_env = it == 1 ? std::getenv("MLX_TS_TRAIN_GRAPH") : nullptr;
    const std::string graph_prefix = graph_env ? graph_env : "";
    if (!graph_prefix.empty()) {
      std::vector<mx::array> gx = params;
      gx.push_back(b.tokens);
      gx.push_back(b.lengths);
      write_dot(graph_prefix + ".grads.dot", make_step(false, false)(gx));
      write_dot(graph_prefix + ".step.dot", make_step(has_prev, do_update)(xs));
      std::ofstream(graph_prefix + ".json") << "{\"batch\": " << b.tokens.shape(0) << ", \"length\": " << b.tokens.shape(1) << ", \"trainable\": " << n << "}\n";
    }
    // the step, its new state and one eval for all of it, as trainer.train's mx.eval(state, losses,
    // n_tokens, grad_accum); returns [loss, ntoks]
    auto run_step = [&]() {
      auto res = step_for(has_prev, do_update)(xs);
      auto r_it = res.begin() + 2;
      auto take = [&r_it, n]() {
        std::vector<mx::array> r(r_it, r_it + n);
        r_it += n;
        return r;
      };
      if (do_update) {
        params = take();
        m_state = take();
        v_state = take();
        accum.clear();
      } else {
        accum = take();
      }
      set_arrays(ad, params);  // the trace left tracers on the layers; they get the real (new) arrays
      std::vector<mx::array> to_eval{res[0], res[1]};
      for (auto* part : {&params, &m_state, &v_state, &accum}) to_eval.insert(to_eval.end(), part->begin(), part->end());
      if (!graph_prefix.empty()) write_dot(graph_prefix + ".compiled.dot", to_eval);
      mx::eval(to_eval);
      return std::vector<mx::array>{res[0], res[1]};
    };
    std::vector<mx::array> vals;
    try {
      vals = run_step();
    } catch (const std::exception& e) {
      if (!compiled) throw;
      // the compiled graph failed, tracing (an op that evaluates mid-way) or running (a fused kernel that
      // does not build on this backend): the plain step does the same math from the state before this step
      out.uncompiled_reason = e.what();
      compiled = false;
      steps.clear();
      params = std::vector<mx::array>(xs.begin(), xs.begin() + n);
      if (do_update) {
        m_state.assign(xs.begin() + n, xs.begin() + 2 * n);
        v_state.assign(xs.begin() + 2 * n, xs.begin() + 3 * n);
      }
      if (has_prev) accum.assign(xs.end() - 2 - n, xs.end() - 2);
      else accum.clear();
      set_arrays(ad, params);
      vals = run_step();
    }
    check_memory(("step " + std::to_string(it)).c_str(), it, p);
    train_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    StepReport r;
    r.step = it;
    r.loss = vals[0].item<float>();
    r.tokens = vals[1].item<int32_t>();
    trained += r.tokens;
    r.trained_tokens = trained;
    r.elapsed_s = train_s;
    r.tokens_per_sec = train_s > 0 ? trained / train_s : 0;
    r.peak_memory = static_cast<double>(mx::get_peak_memory());
    r.val_loss = val_loss;
    r.val_s = val_s;
    out.steps = it;
    if (p.save_every > 0 && it % p.save_every == 0 && it < p.iters) {
      save_to("adapters.safetensors");
      r.saved = save_to(checkpoint_name(it));
    }
    on_step(r);
  }
  out.compiled = compiled;
  out.saved = save_to("adapters.safetensors");
  return out;
}

}  // namespace mlxts
