// Token sampling for the generation loop, matching mlx-lm's make_sampler / make_logits_processors
// (mlx_lm/sample_utils.py): same filters, same order, same arithmetic, built as lazy MLX graphs so a
// whole decode step (model + sampling) is one async_eval.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include <mlx/mlx.h>

namespace mlxts {
namespace mx = mlx::core;

struct SamplingParams {
  float temperature = 0.0f;         // 0 = greedy (argmax)
  float top_p = 1.0f;               // applied when 0 < top_p < 1
  int top_k = 0;                    // applied when 0 < top_k < vocab
  float min_p = 0.0f;               // applied when != 0
  float repetition_penalty = 1.0f;  // applied when != 1 and != 0
  int repetition_context_size = 20;
  std::optional<uint64_t> seed;     // nullopt = fresh entropy per generation
};

// The filters below take and return log-probabilities [..., vocab]; removed entries become -inf.
mx::array apply_top_p(const mx::array& logprobs, float top_p);
mx::array apply_min_p(const mx::array& logprobs, float min_p, int min_tokens_to_keep = 1);
mx::array apply_top_k(const mx::array& logprobs, int top_k);
// logits [1, vocab]; context int32 [n]: divides positive logits of the context tokens, multiplies negative ones.
mx::array apply_repetition_penalty(const mx::array& logits, const mx::array& context, float penalty);

// Turns the last-position logits of each step into the next token. Holds the PRNG key chain and the
// repetition-penalty context, both as lazy arrays, so tokens never have to be read back to build the
// next step.
class Sampler {
 public:
  // prompt: every prompt token (they count as repetition context, as in mlx-lm).
  Sampler(const SamplingParams& params, std::span<const int32_t> prompt, int vocab_size);

  // Records a token that is being fed to the model (lazy [1] or [1,1] int32) as repetition context.
  void observe(const mx::array& token);
  // logits: [1, vocab] in the model's dtype. Returns int32 [1].
  mx::array sample(const mx::array& logits);

  bool uses_context() const { return penalty_on_; }

 private:
  SamplingParams p_;
  int vocab_;
  bool penalty_on_;
  std::optional<mx::array> context_;  // last repetition_context_size tokens
  std::optional<mx::array> key_;      // nullopt for greedy
};

}  // namespace mlxts
