#include "sampling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace mlxts {

namespace {
mx::array neg_inf(mx::Dtype dtype) { return mx::array(-std::numeric_limits<float>::infinity(), dtype); }
}  // namespace

mx::array apply_top_p(const mx::array& logprobs, float top_p) {
  auto sorted = mx::sort(logprobs, -1);
  auto sorted_probs = mx::exp(mx::astype(sorted, mx::float32));
  auto mass_above = mx::cumsum(sorted_probs, -1, /*reverse=*/true, /*inclusive=*/false);
  const int last = logprobs.ndim() - 1;
  mx::Shape start(logprobs.ndim(), 0);
  mx::Shape stop = logprobs.shape();
  stop[last] = 1;
  auto total_mass = mx::add(mx::slice(mass_above, start, stop), mx::slice(sorted_probs, start, stop));
  auto dropped = mx::greater_equal(mass_above, mx::multiply(mx::array(top_p, mx::float32), total_mass));
  auto num_dropped = mx::astype(mx::sum(dropped, -1, /*keepdims=*/true), mx::int32);
  auto threshold = mx::take_along_axis(sorted, num_dropped, -1);
  return mx::where(mx::less(logprobs, threshold), neg_inf(logprobs.dtype()), logprobs);
}

mx::array apply_min_p(const mx::array& logprobs, float min_p, int min_tokens_to_keep) {
  auto top = mx::max(logprobs, -1, /*keepdims=*/true);
  auto scaled = mx::add(top, mx::array(std::log(min_p), logprobs.dtype()));
  auto remove = mx::less(logprobs, scaled);
  if (min_tokens_to_keep > 1) {
    const int last = logprobs.ndim() - 1;
    auto idx = mx::argpartition(logprobs, -min_tokens_to_keep, -1);
    mx::Shape start(logprobs.ndim(), 0);
    start[last] = logprobs.shape(last) - min_tokens_to_keep;
    idx = mx::slice(idx, start, idx.shape());
    remove = mx::put_along_axis(remove, idx, mx::array(false), -1);
  }
  return mx::where(remove, neg_inf(logprobs.dtype()), logprobs);
}

mx::array apply_top_k(const mx::array& logprobs, int top_k) {
  const int last = logprobs.ndim() - 1;
  auto idx = mx::argpartition(mx::negative(logprobs), top_k - 1, -1);
  mx::Shape start(logprobs.ndim(), 0);
  start[last] = top_k;
  auto mask_idx = mx::slice(idx, start, idx.shape());
  return mx::put_along_axis(logprobs, mask_idx, neg_inf(logprobs.dtype()), -1);
}

mx::array apply_repetition_penalty(const mx::array& logits, const mx::array& context, float penalty) {
  auto idx = mx::reshape(context, {1, -1});
  auto selected = mx::take_along_axis(logits, idx, -1);
  auto p = mx::array(penalty, logits.dtype());
  auto penalised = mx::where(mx::less(selected, mx::array(0.0f, logits.dtype())), mx::multiply(selected, p),
                             mx::divide(selected, p));
  return mx::put_along_axis(logits, idx, penalised, -1);
}

Sampler::Sampler(const SamplingParams& params, std::span<const int32_t> prompt, int vocab_size)
    : p_(params),
      vocab_(vocab_size),
      penalty_on_(params.repetition_penalty != 1.0f && params.repetition_penalty != 0.0f &&
                  params.repetition_context_size > 0) {
  if (penalty_on_ && !prompt.empty()) {
    const size_t n = std::min<size_t>(prompt.size(), static_cast<size_t>(p_.repetition_context_size));
    const int32_t* tail = prompt.data() + (prompt.size() - n);
    context_ = mx::array(tail, mx::Shape{static_cast<int>(n)}, mx::int32);
  }
  if (p_.temperature > 0.0f) {
    // Without a seed each generation draws fresh entropy: MLX's default key sequence is seeded once per
    // process per thread from the clock, so two unseeded runs on fresh threads would repeat each other.
    uint64_t seed = p_.seed ? *p_.seed : (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
    key_ = mx::random::key(seed);
  }
}

void Sampler::observe(const mx::array& token) {
  if (!penalty_on_) return;
  auto t = mx::reshape(token, {-1});
  if (!context_) {
    context_ = t;
    return;
  }
  auto c = mx::concatenate({*context_, t}, 0);
  const int n = c.shape(0);
  if (n > p_.repetition_context_size) c = mx::slice(c, {n - p_.repetition_context_size}, {n});
  context_ = c;
}

mx::array Sampler::sample(const mx::array& last_logits) {
  // Greedy keeps the model's dtype so argmax (ties included) is exactly mlx-lm's; sampling works in float32.
  const bool greedy = p_.temperature <= 0.0f;
  mx::array logits = greedy ? last_logits : mx::astype(last_logits, mx::float32);
  if (penalty_on_ && context_) logits = apply_repetition_penalty(logits, *context_, p_.repetition_penalty);
  auto logprobs = mx::subtract(logits, mx::logsumexp(logits, -1, /*keepdims=*/true));
  if (greedy) return mx::astype(mx::argmax(logprobs, -1), mx::int32);

  if (p_.top_p > 0.0f && p_.top_p < 1.0f) logprobs = apply_top_p(logprobs, p_.top_p);
  if (p_.min_p != 0.0f) logprobs = apply_min_p(logprobs, p_.min_p, 1);
  if (p_.top_k > 0 && p_.top_k < vocab_) logprobs = apply_top_k(logprobs, p_.top_k);

  auto keys = mx::random::split(*key_);
  key_ = keys.first;
  auto scaled = mx::multiply(logprobs, mx::array(1.0f / p_.temperature, mx::float32));
  return mx::astype(mx::random::categorical(scaled, -1, keys.second), mx::int32);
}

}  // namespace mlxts
