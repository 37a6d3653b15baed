// Pipeline-parallel ranks, as mlx-lm's pipeline() (models/deepseek_v3.py, qwen3_moe.py): each rank holds a
// contiguous run of layers, the first also the embedding and the last the final norm and head (and the
// embedding when the head is tied to it); rank r receives the hidden state from r-1 and sends its own to r+1,
// each rank keeping the KV cache of its own layers only. The last rank's logits reach every rank through an
// all_sum (the others add zeros), so every rank's generation loop samples the same token.
#pragma once

#include <memory>
#include <string>

#include <mlx/mlx.h>

#include "config.h"
#include "dist/shard_plan.h"
#include "model.h"
#include "models/registry.h"
#include "weights.h"

namespace mlxts::dist {

// Layers [begin, end) of rank `s.rank`: the layers split as evenly as they go, the first ranks taking one
// more when they do not divide.
PipelineStage stage_of(int num_layers, bool tied, const ShardSpec& s);

// Sets cfg.pipeline_stage and drops every tensor this rank does not hold (before they are read, so they are
// never resident). E_BAD_ARGUMENT for too few layers; every architecture has the stages (models/decoder_stack.h).
void stage_weights(WeightMap& w, ModelConfig& cfg, const ShardSpec& s, const std::string& source);

// The stage as a whole model's forward (send/recv between the ranks).
std::shared_ptr<Model> wrap_pipeline_model(std::shared_ptr<Model> stage, mlx::core::distributed::Group g);

}  // namespace mlxts::dist
