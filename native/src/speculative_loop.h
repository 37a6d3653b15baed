// Speculative decoding with a draft model, free of N-API: mirrors mlx_lm.generate.speculative_generate_step.
#pragma once

#include "generation_loop.h"

namespace mlxts {

// Runs on a pool worker with both slots' mutexes held (the caller locks them); never throws. The draft
// proposes up to params.num_draft tokens, the target checks them in one forward pass, and both caches are
// trimmed back past the first rejected token. Both slots' caches and cached_tokens stay consistent, so
// prefix reuse works on either model afterwards.
Outcome run_speculative_generation(ModelSlot& target, ModelSlot& draft, const GenerationRequest& req, Clock::time_point t_start);

}  // namespace mlxts
