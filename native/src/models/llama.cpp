// Llama, Mistral and SmolLM (mlx_lm/models/llama.py): optional attention/mlp biases, tied or untied
// embeddings, rope default/linear/llama3 (handled by make_rope).
#include "models/decoder.h"

namespace mlxts {

ArchOptions llama_options(const ModelConfig& cfg) {
  ArchOptions o;
  o.architecture = "llama";
  o.hf_class = "LlamaForCausalLM";
  o.attention.qkv_bias = *cfg.attention_bias;
  o.attention.o_bias = *cfg.attention_bias;
  o.mlp_bias = *cfg.mlp_bias;
  return o;
}

}  // namespace mlxts
