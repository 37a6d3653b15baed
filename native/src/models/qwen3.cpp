// Qwen3 (mlx_lm/models/qwen3.py): no qkv bias, per-head RMSNorm on queries and keys before rope,
// explicit head_dim.
#include "models/decoder.h"

#include "errors.h"

namespace mlxts {

ArchOptions qwen3_options(const ModelConfig&) {
  ArchOptions o;
  o.architecture = "qwen3";
  o.hf_class = "Qwen3ForCausalLM";
  o.attention.qk_norm = true;
  return o;
}

}  // namespace mlxts
