// The sanitize step mlx-lm's qwen2_moe.py and qwen3_moe.py share: HF checkpoints keep one tensor per
// expert (mlp.experts.E.up_proj.weight); the SwitchGLU loads them stacked as [experts, out, in]
// (mlp.switch_mlp.up_proj.weight), scales and biases too should a checkpoint carry them per expert.
#pragma once

#include "config.h"
#include "weights.h"

namespace mlxts {

void stack_expert_tensors(WeightMap& w, const ModelConfig& c);

}  // namespace mlxts
