// Chunked prefill that evaluates only the cache, then a decode loop that builds step t+1 and async_evals
// it before reading token t, so graph construction on this thread overlaps the compute of the previous step.
#include "generation_loop.h"

#include <algorithm>
#include <string>

#include "generation_pool.h"

namespace mlxts {
namespace {

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

void eval_cache(const Cache& cache) {
  std::vector<mx::array> states;
  states.reserve(cache.size() * 2);
  for (const auto& c : cache)
    for (auto& a : c.state()) states.push_back(a);
  if (!states.empty()) mx::eval(states);
}

void finish_stats(Stats& s, const GenerationRequest& req, Clock::time_point t_start, std::optional<Clock::time_point> t_first,
                  Clock::time_point t_last, Clock::time_point t_end) {
  s.prefill_ms = ms_between(t_start, t_first.value_or(t_end));
  s.ttft_ms = t_first ? ms_between(req.t_call, *t_first) : 0.0;
  s.decode_ms = t_first ? ms_between(*t_first, t_last) : 0.0;
  if (s.prefill_ms > 0 && t_first) s.prompt_tps = (s.prompt_tokens - s.reused_tokens) / (s.prefill_ms / 1000.0);
  // As mlx-lm reports it: every generated token over the time since the first one.
  if (s.decode_ms > 0) s.generation_tps = s.generated_tokens / (s.decode_ms / 1000.0);
  s.peak_memory = static_cast<double>(mx::get_peak_memory());
}

Outcome run_generation(ModelSlot& slot, const GenerationRequest& req, Clock::time_point t_start) {
  Outcome out;
  Stats& s = out.stats;
  const std::vector<int32_t>& prompt = req.prompt;
  const GenParams& p = req.params;
  const int total = static_cast<int>(prompt.size());
  s.prompt_tokens = total;

  std::vector<int32_t> fed;  // exactly the tokens whose K/V the cache holds, in order
  bool cache_consistent = false;
  std::optional<Clock::time_point> t_first;
  Clock::time_point t_last = t_start;
  std::optional<mx::Stream> stream;

  try {
    stream = worker_stream();
    mx::reset_peak_memory();
    // Our own reference: the model object outlives this generation even if the slot drops it.
    const std::shared_ptr<Model> model_ref = slot.model;
    if (!model_ref) fail("E_BAD_ARGUMENT", "this model was disposed; load it again.");
    Model& model = *model_ref;

    // A cache loaded from a file is continued as it is (its kind came with it); otherwise the cache must be
    // the kind these options make, or it is made afresh.
    const bool loaded = slot.cache_loaded && p.reuse_prefix;
    const bool ids_unknown = loaded && slot.loaded_ids_unknown;
    slot.cache_loaded = slot.loaded_ids_unknown = false;
    if (static_cast<int>(slot.cache.size()) != model.num_layers() || (!loaded && !cache_matches(slot.cache, p.kv))) {
      slot.cache = make_kv_cache(model.num_layers(), p.kv);
      slot.cached_tokens.clear();
    }
    if (loaded) {
      const std::string conflict = loaded_cache_conflict(slot.cache, p.kv);
      if (!conflict.empty()) {
        slot.cache = make_kv_cache(model.num_layers(), p.kv);
        slot.cached_tokens.clear();
        fail("E_BAD_ARGUMENT", conflict + "; pass the options it was made with, or generate without reusePrefix to drop it.");
      }
    }
    if (!slot.cache.empty() && slot.cache[0].offset() != static_cast<int>(slot.cached_tokens.size())) {
      for (auto& c : slot.cache) c.reset();
      slot.cached_tokens.clear();
    }

    int reuse = 0;
    // Positions the cache holds before the prompt: a loaded cache without token ids, which the prompt continues.
    int base = 0;
    if (p.reuse_prefix && ids_unknown) {
      base = static_cast<int>(slot.cached_tokens.size());
    } else if (p.reuse_prefix) {
      const auto& old = slot.cached_tokens;
      const size_t lim = std::min(old.size(), prompt.size());
      size_t lcp = 0;
      while (lcp < lim && old[lcp] == prompt[lcp]) ++lcp;
      // The last prompt token is always recomputed: its logits give the first generated token.
      reuse = static_cast<int>(std::min<size_t>(lcp, prompt.size() - 1));
      // mlx-lm's can_trim_prompt_cache: a rotating cache that has wrapped cannot go back; prefill afresh.
      if (!slot.cache.empty() && reuse < slot.cache[0].offset() && !can_trim(slot.cache)) reuse = 0;
    }
    if (base == 0 && reuse == 0) {
      // A cold start: a fresh cache of the options' kind (a plain one keeps its buffers, so it does not reallocate).
      restart_kv_cache(slot.cache, p.kv);
      fed.clear();
    } else if (base == 0) {
      for (auto& c : slot.cache) c.trim_to(reuse);
      fed.assign(prompt.begin(), prompt.begin() + reuse);
    } else {
      fed = slot.cached_tokens;
    }
    slot.cached_tokens.clear();
    s.reused_tokens = reuse;
    cache_consistent = true;

    Sampler sampler(p.sampling, prompt, model.vocab_size());
    auto step = [&](const mx::array& input) {
      auto logits = model.forward(input, slot.cache);
      maybe_quantize(slot.cache, p.kv);
      const int t = logits.shape(1);
      const int v = logits.shape(2);
      auto last = mx::reshape(mx::slice(logits, {0, t - 1, 0}, {1, t, v}), {1, v});
      return sampler.sample(last);
    };

    bool cancelled = false;
    int pos = reuse;
    while (total - pos > 1) {
      if (req.cancel.load(std::memory_order_relaxed) || GenerationPool::exiting()) {
        cancelled = true;
        break;
      }
      const int n = std::min(p.prefill_step, total - pos - 1);
      mx::array chunk(prompt.data() + pos, mx::Shape{1, n}, mx::int32);
      // Only the cache is evaluated: the chunk's logits stay an unevaluated graph and are never computed.
      cache_consistent = false;
      model.forward(chunk, slot.cache);
      maybe_quantize(slot.cache, p.kv);
      eval_cache(slot.cache);
      fed.insert(fed.end(), prompt.begin() + pos, prompt.begin() + pos + n);
      cache_consistent = true;
      pos += n;
      mx::clear_cache();
    }

    if (cancelled) {
      s.stop_reason = "cancelled";
    } else {
      cache_consistent = false;
      mx::array y = step(mx::array(prompt.data() + pos, mx::Shape{1, total - pos}, mx::int32));
      mx::async_eval({y});
      fed.insert(fed.end(), prompt.begin() + pos, prompt.end());

      for (int n = 0;; ++n) {
        const bool stop_requested = req.cancel.load(std::memory_order_relaxed) || GenerationPool::exiting();
        const bool more = !stop_requested && n + 1 < p.max_tokens;
        std::optional<mx::array> next;
        if (more) {
          auto y_in = mx::reshape(y, {1, 1});
          sampler.observe(y_in);
          next = step(y_in);
          mx::async_eval({*next});
        }
        const int32_t token = y.item<int32_t>();
        t_last = Clock::now();
        if (n == 0) t_first = t_last;
        if (more) fed.push_back(token);  // step(y) is queued, so y's K/V will be in the cache
        ++s.generated_tokens;
        if (std::find(p.eos.begin(), p.eos.end(), token) != p.eos.end()) {
          s.stop_reason = "eos";
          break;
        }
        req.emit(token, false);
        if (n + 1 >= p.max_tokens) {
          s.stop_reason = "length";
          break;
        }
        if (stop_requested) {
          s.stop_reason = "cancelled";
          break;
        }
        if (n % 256 == 0) mx::clear_cache();
        y = *next;
      }
      // A step queued for a token we then stopped on still writes that token's K/V: wait for it so the
      // cache holds concrete arrays (and matches `fed`) before the next generation, on another thread.
      eval_cache(slot.cache);
      cache_consistent = true;
    }
  } catch (const std::exception& e) {
    out.error = classify_exception(e, "generation failed");
    s.stop_reason = "error";
    cache_consistent = false;
  }

  const auto t_end = Clock::now();
  if (stream) {
    try {
      mx::synchronize(*stream);
    } catch (const std::exception&) {
      cache_consistent = false;  // the error is already reported (or the cache state is unknown)
    }
  }
  s.kv_cache_bytes = static_cast<double>(cache_nbytes(slot.cache));
  if (cache_consistent && !slot.cache.empty() && slot.cache[0].offset() == static_cast<int>(fed.size())) {
    slot.cached_tokens = std::move(fed);
  } else {
    for (auto& c : slot.cache) c.reset();
    slot.cached_tokens.clear();
  }

  finish_stats(s, req, t_start, t_first, t_last, t_end);
  return out;
}

}  // namespace mlxts
