// Speculative decoding, as mlx_lm.generate.speculative_generate_step does it: both models prefill the
// prompt; then each round the draft proposes K tokens one step at a time (each async_eval'd so the next
// step's graph is built while it computes), the target runs once over [last token, d_1..d_K] and samples
// a token at each of the K+1 positions, the leading run of proposals equal to the target's own samples is
// accepted, the target's token after that run is emitted as well, and both caches are trimmed back to the
// tokens that were kept.
//
// Acceptance rule (mlx-lm's): a proposal is accepted when the token the *target* sampled at that position
// equals the token the draft sampled there; the first mismatch ends the round and the target's token is
// emitted in its place. Every emitted token is therefore one the target sampled from its own distribution
// given the tokens before it, so the output follows the target's distribution (and, at temperature 0, is
// the target's greedy output token for token); this is exact-match acceptance, not the
// probability-ratio rejection sampling of Leviathan et al.
//
// Repetition penalty: each position's context is the prompt plus the tokens generated before that position
// (proposals included where they precede it), as the plain loop's Sampler sees it, so greedy + penalty
// also equals the plain loop. (mlx-lm's speculative loop starts its context at the last prompt token.)
#include "speculative_loop.h"

#include "nn/kv_cache_factory.h"
#include "nn/kv_cache_rotating.h"
#include "nn/kv_cache_window.h"

#include <algorithm>
#include <string>

#include "generation_pool.h"

namespace mlxts {
namespace {

bool stop_requested(const GenerationRequest& req) {
  return req.cancel.load(std::memory_order_relaxed) || GenerationPool::exiting();
}

// One model's side of the run: its cache, and exactly the tokens whose K/V that cache holds.
struct Side {
  ModelSlot& slot;
  Model& model;
  std::vector<int32_t> fed;
  const KvCacheOptions& kv;

  // After every model call, as mlx-lm's maybe_quantize_kv_cache (a no-op without kvBits).
  void quantize_if_due() { maybe_quantize(slot.cache, kv); }

  int offset() const { return slot.cache.empty() ? 0 : slot.cache[0].offset(); }
  // Drop the last n positions (a rejected proposal's K/V).
  void trim(int n) {
    if (n <= 0) return;
    const int keep = static_cast<int>(fed.size()) - n;
    for (auto& c : slot.cache) c.trim_to(keep);
    fed.resize(keep);
  }
};

// As run_generation does: a cache of the right shape, then the longest common prefix with what it holds.
int prepare_cache(Side& side, const std::vector<int32_t>& prompt, bool reuse_prefix) {
  ModelSlot& slot = side.slot;
  if (static_cast<int>(slot.cache.size()) != side.model.num_layers() || !cache_matches(slot.cache, side.kv)) {
    slot.cache = make_kv_cache(side.model.num_layers(), side.kv);
    slot.cached_tokens.clear();
  }
  if (!slot.cache.empty() && slot.cache[0].offset() != static_cast<int>(slot.cached_tokens.size())) {
    for (auto& c : slot.cache) c.reset();
    slot.cached_tokens.clear();
  }
  int reuse = 0;
  // maxKvSize: the run ends on window caches (below), so nothing is reused, and a rotating cache starts afresh.
  if (side.kv.max_size) {
    for (auto& c : slot.cache) c.reset();
  } else if (reuse_prefix) {
    const auto& old = slot.cached_tokens;
    const size_t lim = std::min(old.size(), prompt.size());
    size_t lcp = 0;
    while (lcp < lim && old[lcp] == prompt[lcp]) ++lcp;
    reuse = static_cast<int>(std::min<size_t>(lcp, prompt.size() - 1));
  }
  for (auto& c : slot.cache) c.trim_to(reuse);
  slot.cached_tokens.clear();
  side.fed.assign(prompt.begin(), prompt.begin() + reuse);
  return reuse;
}

// Feeds prompt[fed.size() .. total-1) in chunks, evaluating only the cache. false = cancelled.
bool prefill(Side& side, const std::vector<int32_t>& prompt, int step, const GenerationRequest& req) {
  const int total = static_cast<int>(prompt.size());
  int pos = static_cast<int>(side.fed.size());
  while (total - pos > 1) {
    if (stop_requested(req)) return false;
    const int n = std::min(step, total - pos - 1);
    mx::array chunk(prompt.data() + pos, mx::Shape{1, n}, mx::int32);
    side.model.forward(chunk, side.slot.cache);
    side.quantize_if_due();
    eval_cache(side.slot.cache);
    side.fed.insert(side.fed.end(), prompt.begin() + pos, prompt.begin() + pos + n);
    pos += n;
    mx::clear_cache();
  }
  return true;
}

// Samples one token per row of `rows` ([R, vocab]); row i's repetition context is `history` followed by
// proposals[0..i). Without a penalty all rows go through the sampler at once, as mlx-lm does.
class RowSampler {
 public:
  RowSampler(const SamplingParams& p, int vocab) : penalty_(p.repetition_penalty), context_(p.repetition_context_size),
        temperature_(p.temperature), sampler_(without_penalty(p), {}, vocab) {
    on_ = p.repetition_penalty != 1.0f && p.repetition_penalty != 0.0f && p.repetition_context_size > 0;
  }

  mx::array sample(const mx::array& rows, const std::vector<int32_t>& history, const std::vector<mx::array>& proposals) {
    if (!on_) return sampler_.sample(rows);
    const int r = rows.shape(0);
    const int v = rows.shape(1);
    std::vector<mx::array> out;
    for (int i = 0; i < r; ++i) {
      mx::array row = mx::slice(rows, {i, 0}, {i + 1, v});
      // The plain Sampler penalises in float32 when sampling, in the model's dtype when greedy.
      if (temperature_ > 0.0f) row = mx::astype(row, mx::float32);
      row = apply_repetition_penalty(row, context(history, proposals, i), penalty_);
      out.push_back(sampler_.sample(row));
    }
    return out.size() == 1 ? out[0] : mx::concatenate(out, 0);
  }

 private:
  static SamplingParams without_penalty(SamplingParams p) {
    p.repetition_penalty = 1.0f;
    return p;
  }
  // The last context_ tokens of history ++ proposals[0..n).
  mx::array context(const std::vector<int32_t>& history, const std::vector<mx::array>& proposals, int n) const {
    const int from_props = std::min(n, context_);
    const int from_hist = std::min<int>(static_cast<int>(history.size()), context_ - from_props);
    std::vector<mx::array> parts;
    if (from_hist > 0) parts.emplace_back(history.data() + (history.size() - from_hist), mx::Shape{from_hist}, mx::int32);
    for (int i = n - from_props; i < n; ++i) parts.push_back(mx::reshape(proposals[i], {1}));
    return parts.size() == 1 ? parts[0] : mx::concatenate(parts, 0);
  }

  float penalty_;
  int context_;
  float temperature_;
  bool on_ = false;
  Sampler sampler_;
};

// Logits of the last n positions of forward(tokens) as [n, vocab].
mx::array last_rows(const mx::array& logits, int n) {
  const int t = logits.shape(1);
  const int v = logits.shape(2);
  return mx::reshape(mx::slice(logits, {0, t - n, 0}, {1, t, v}), {n, v});
}

}  // namespace

Outcome run_speculative_generation(ModelSlot& target_slot, ModelSlot& draft_slot, const GenerationRequest& req, Clock::time_point t_start) {
  Outcome out;
  Stats& s = out.stats;
  s.speculative = true;
  const std::vector<int32_t>& prompt = req.prompt;
  const GenParams& p = req.params;
  s.prompt_tokens = static_cast<int>(prompt.size());

  std::optional<Side> tgt, drf;
  bool consistent = false;
  std::optional<Clock::time_point> t_first;
  Clock::time_point t_last = t_start;
  std::optional<mx::Stream> stream;

  try {
    stream = worker_stream();
    mx::reset_peak_memory();
    // Our own references: the models outlive this generation even if a slot drops them.
    const std::shared_ptr<Model> target_ref = target_slot.model;
    const std::shared_ptr<Model> draft_ref = draft_slot.model;
    if (!target_ref) fail("E_BAD_ARGUMENT", "this model was disposed; load it again.");
    if (!draft_ref) fail("E_BAD_ARGUMENT", "the draft model was disposed; load it again.");
    tgt.emplace(Side{target_slot, *target_ref, {}, p.kv});
    drf.emplace(Side{draft_slot, *draft_ref, {}, p.kv});

    // Draft first, as mlx-lm prefills it first. A cancelled prefill leaves each cache at a chunk boundary.
    s.reused_tokens = prepare_cache(*tgt, prompt, p.reuse_prefix);
    prepare_cache(*drf, prompt, p.reuse_prefix);
    consistent = true;
    const bool prefilled = prefill(*drf, prompt, p.prefill_step, req) && prefill(*tgt, prompt, p.prefill_step, req);

    if (prefilled && p.kv.max_size) {
      // From here on each side attends as one-token steps of its rotating cache would, trimmable by a round.
      for (auto* side : {&*tgt, &*drf})
        for (auto& c : side->slot.cache) c.replace(std::make_unique<WindowKVCache>(static_cast<const RotatingKVCache&>(c.impl()), p.num_draft + 2));
    }
    if (!prefilled) {
      s.stop_reason = "cancelled";
    } else {
      const int vocab = tgt->model.vocab_size();
      RowSampler target_sampler(p.sampling, vocab);
      SamplingParams dp = p.sampling;
      if (dp.seed) dp.seed = *dp.seed + 1;  // the draft's own key chain, reproducible with the seed
      RowSampler draft_sampler(dp, drf->model.vocab_size());

      std::vector<int32_t> history(prompt.begin(), prompt.end());  // prompt + emitted: the penalty context
      std::vector<int32_t> y{prompt.back()};    // target input: tokens not yet in its cache
      std::vector<int32_t> dy{prompt.back()};   // draft input: one or two tokens not yet in its cache
      int ntoks = 0;
      bool done = false;
      while (!done) {
        if (stop_requested(req)) {
          s.stop_reason = "cancelled";
          break;
        }
        int nd = std::min(p.max_tokens - ntoks, p.num_draft);

        // The draft proposes nd tokens. A cancel cuts the proposals short (a long K must not delay it); the
        // ones made are still checked, so the round ends as any other and the caches stay consistent.
        consistent = false;
        std::vector<mx::array> props;
        mx::array din(dy.data(), mx::Shape{1, static_cast<int>(dy.size())}, mx::int32);
        for (int i = 0; i < nd; ++i) {
          if (i > 0 && stop_requested(req)) {
            nd = i;
            break;
          }
          auto drow = last_rows(drf->model.forward(din, drf->slot.cache), 1);
          drf->quantize_if_due();
          auto tok = draft_sampler.sample(drow, history, props);
          mx::async_eval({tok});
          props.push_back(tok);
          din = mx::reshape(tok, {1, 1});
        }

        // The target checks them: one pass over y ++ proposals, a token sampled at each of the nd+1 positions.
        std::vector<mx::array> vin_parts{mx::array(y.data(), mx::Shape{static_cast<int>(y.size())}, mx::int32)};
        for (auto& d : props) vin_parts.push_back(mx::reshape(d, {1}));
        mx::array vin = mx::reshape(mx::concatenate(vin_parts, 0), {1, -1});
        auto vrows = last_rows(tgt->model.forward(vin, tgt->slot.cache), nd + 1);
        tgt->quantize_if_due();
        mx::array toks = target_sampler.sample(vrows, history, props);
        mx::array dtoks = mx::concatenate(props, 0);
        mx::eval({toks, dtoks});
        const int32_t* tp = toks.data<int32_t>();
        const int32_t* dp_ = dtoks.data<int32_t>();
        std::vector<int32_t> t(tp, tp + nd + 1), d(dp_, dp_ + nd);

        tgt->fed.insert(tgt->fed.end(), y.begin(), y.end());
        tgt->fed.insert(tgt->fed.end(), d.begin(), d.end());
        drf->fed.insert(drf->fed.end(), dy.begin(), dy.end());
        drf->fed.insert(drf->fed.end(), d.begin(), d.end() - 1);
        int n = 0;
        while (n < nd && t[n] == d[n]) ++n;
        // mlx-lm's _rewind_cache: the target keeps the accepted proposals; the draft never fed its last one.
        tgt->trim(nd - n);
        drf->trim(std::max(nd - n - 1, 0));
        consistent = true;
        ++s.target_steps;
        s.drafted_tokens += nd;
        s.accepted_tokens += n;

        // Emit the accepted proposals, then the target's own token (unless max_tokens came first).
        const int emit_n = std::min(n + 1, p.max_tokens - ntoks);
        for (int i = 0; i < emit_n; ++i) {
          const int32_t token = t[i];
          t_last = Clock::now();
          if (!t_first) t_first = t_last;
          ++ntoks;
          ++s.generated_tokens;
          if (std::find(p.eos.begin(), p.eos.end(), token) != p.eos.end()) {
            s.stop_reason = "eos";
            done = true;
            break;
          }
          req.emit(token, i < n);
          history.push_back(token);
          if (ntoks >= p.max_tokens) {
            s.stop_reason = "length";
            done = true;
            break;
          }
        }
        if (done) break;
        y.assign(1, t[n]);
        dy = n == nd ? std::vector<int32_t>{d[nd - 1], t[n]} : std::vector<int32_t>{t[n]};
        if (s.target_steps % 64 == 0) mx::clear_cache();
      }
      eval_cache(tgt->slot.cache);
      eval_cache(drf->slot.cache);
    }
  } catch (const std::exception& e) {
    out.error = classify_exception(e, "speculative generation failed");
    s.stop_reason = "error";
    consistent = false;
  }

  const auto t_end = Clock::now();
  if (stream) {
    try {
      mx::synchronize(*stream);
    } catch (const std::exception&) {
      consistent = false;
    }
  }
  // Each cache is kept for prefix reuse only when it holds exactly the tokens we recorded, and is a kind a
  // later generation can continue (a maxKvSize run ends on window caches: dropped).
  for (auto* side : {tgt ? &*tgt : nullptr, drf ? &*drf : nullptr}) {
    if (!side) continue;
    if (p.kv.max_size) {
      side->slot.cache.clear();
      side->slot.cached_tokens.clear();
    } else if (consistent && side->offset() == static_cast<int>(side->fed.size())) {
      side->slot.cached_tokens = std::move(side->fed);
    } else {
      for (auto& c : side->slot.cache) c.reset();
      side->slot.cached_tokens.clear();
    }
  }

  finish_stats(s, req, t_start, t_first, t_last, t_end);
  if (tgt) s.kv_cache_bytes = static_cast<double>(cache_nbytes(tgt->slot.cache));  // the target's, as without a draft
  return out;
}

}  // namespace mlxts
