// LoRA adapters over a model's linear layers, as mlx-lm's tuner/utils.py linear_to_lora_layers places
// them and load_adapters / the trainer name them ("model.layers.N.self_attn.q_proj.lora_a").
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <mlx/mlx.h>

#include "model.h"
#include "weights.h"

namespace mlxts {
namespace mx = mlx::core;

// adapter_config.json's num_layers and lora_parameters {rank, scale, keys}.
struct LoraConfig {
  int rank = 8;
  float scale = 20.0f;
  // The last num_layers blocks (mlx-lm: model.layers[-max(num_layers, 0):], so 0 or less means all).
  int num_layers = 16;
  // Module paths inside a block ("self_attn.q_proj"); empty: every linear layer of the blocks.
  std::vector<std::string> keys;
};

struct Adapter {
  LoraConfig config;
  // Module path ("model.layers.3.self_attn.q_proj") -> the adapter set on that layer.
  std::vector<std::pair<std::string, std::shared_ptr<LoraWeights>>> layers;

  // "path.lora_a" / "path.lora_b", as mlx-lm saves them.
  WeightMap weights() const;
  std::vector<mx::array> arrays() const;
};

// Fresh adapters (a ~ uniform(-1/sqrt(in), 1/sqrt(in)), b = 0, float32, as LoRALinear.__init__) on the
// layers `config` selects, set on the model's layers. `init`, when given, replaces those values (its
// names and shapes must match exactly). Throws E_BAD_ARGUMENT naming what does not fit.
Adapter attach_lora(Model& model, const LoraConfig& config, uint64_t seed, const std::optional<WeightMap>& init);
// The keys linear_to_lora_layers would pick when none are given (every linear layer in the blocks).
std::vector<std::string> default_lora_keys(const Model& model);
void detach_lora(Model& model);

}  // namespace mlxts
