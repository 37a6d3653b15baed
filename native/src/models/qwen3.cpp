// Qwen3 (mlx_lm/models/qwen3.py): no qkv bias, per-head RMSNorm on queries and keys before rope,
// explicit head_dim.
#include "models/decoder.h"

#include "errors.h"

namespace mlxts {

ArchOptions qwen3_options(const ModelConfig& cfg) {
  if (!cfg.raw.has("head_dim"))
    fail("E_BAD_CONFIG", "qwen3 config.json needs \"head_dim\" (Qwen3 does not derive it from hidden_size). Add it from the model card.");
  ArchOptions o;
  o.architecture = "qwen3";
  o.attention.qk_norm = true;
  return o;
}

}  // namespace mlxts
