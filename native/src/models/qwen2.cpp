// Qwen2 (mlx_lm/models/qwen2.py): like llama, with biases on q/k/v (not o) and head_dim = hidden/heads.
#include "models/decoder.h"

namespace mlxts {

ArchOptions qwen2_options(const ModelConfig&) {
  ArchOptions o;
  o.architecture = "qwen2";
  o.hf_class = "Qwen2ForCausalLM";
  o.attention.qkv_bias = true;
  return o;
}

}  // namespace mlxts
