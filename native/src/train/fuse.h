// Merging a LoRA adapter into its base and writing the result (mlx_lm.fuse with tuner/lora.py's
// LoRALinear.fuse): W' = W + (scale * b.T) @ a.T in W's dtype; a quantized base is dequantized first and
// the sum quantized again with the layer's own bits / group size / mode, unless `dequantize`, which
// (as mlx-lm's dequantize_model) also turns every other quantized layer into plain weights.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "model.h"

namespace mlxts {

struct FuseReport {
  int fused_layers = 0;
  int dequantized_layers = 0;
  // tensor name -> shard file, as model.safetensors.index.json's weight_map
  std::vector<std::pair<std::string, std::string>> weight_map;
  size_t total_bytes = 0;
  size_t total_parameters = 0;
};

// The model's weights with its adapter (if any) merged, written into `dir` (an existing directory) as
// model.safetensors or model-0000i-of-0000n.safetensors shards. The model itself is left unchanged.
FuseReport fuse_and_save(Model& model, const std::string& dir, bool dequantize);

}  // namespace mlxts
