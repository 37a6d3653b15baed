// The architecture's parameters, handed over typed by the TypeScript side (kernel/engine/model-config.ts
// parses config.json; native-types.ts NativeModelConfig is the contract). Keys whose default differs
// between architectures stay optional until the architecture's file fills them in.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mlxts {

struct QuantSpec {
  int group_size = 64;
  int bits = 4;
  std::string mode = "affine";
  bool operator==(const QuantSpec&) const = default;
};

struct RopeConfig {
  std::optional<float> theta;
  bool traditional = false;
  // "default" | "linear" | "llama3"
  std::string type = "default";
  float factor = 1.0f;
  float low_freq_factor = 1.0f;
  float high_freq_factor = 4.0f;
  int original_max_position_embeddings = 8192;
};

// dist (src/dist/pipeline.h): pipeline mode; this process builds only layers [begin, end), the embedding
// when `embed` and the final norm and head when `head`.
struct PipelineStage {
  int begin = 0;
  int end = 0;
  bool embed = true;
  bool head = true;
};

struct ModelConfig {
  std::string model_type;
  int hidden_size = 0;
  int num_hidden_layers = 0;
  int intermediate_size = 0;
  int num_attention_heads = 0;
  int num_key_value_heads = 0;
  std::optional<int> head_dim;
  int vocab_size = 0;
  int max_position_embeddings = 0;
  float rms_norm_eps = 1e-6f;
  std::optional<bool> tie_word_embeddings;
  std::optional<bool> attention_bias;
  std::optional<bool> mlp_bias;
  RopeConfig rope;
  // config.json "quantization" and its per-module entries (nullopt = `false`, left unquantized).
  std::optional<QuantSpec> quantization;
  std::map<std::string, std::optional<QuantSpec>> quant_modules;
  // Mixture of experts; zero/empty for dense models.
  int num_experts = 0;
  int num_experts_per_tok = 0;
  int moe_intermediate_size = 0;
  std::optional<bool> norm_topk_prob;
  int decoder_sparse_step = 1;
  std::vector<int> mlp_only_layers;
  // qwen2_moe: the shared expert's hidden size.
  int shared_expert_intermediate_size = 0;
  // dist: set on a pipeline rank (src/dist/pipeline.cpp); absent = the whole model.
  std::optional<PipelineStage> pipeline_stage;
};

}  // namespace mlxts
