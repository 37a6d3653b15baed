// The decoder-only transformer shared by llama, qwen2 and qwen3: embeddings, N blocks, final norm, head.
// Architectures differ only in ArchOptions (see models/<arch>.cpp).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "models/layers.h"

namespace mlxts {

struct ArchOptions {
  // Our implementation name: "llama" | "qwen2" | "qwen3".
  std::string architecture;
  // transformers' class name, written as config.json "architectures" when the source had none (GGUF).
  std::string hf_class;
  AttentionOptions attention;
  bool mlp_bias = false;
};

class DecoderModel : public Model {
 public:
  DecoderModel(const ModelConfig& cfg, ArchOptions opts, const WeightStore& w);

  mx::array forward(const mx::array& tokens, Cache& cache) override;
  int num_layers() const override { return static_cast<int>(layers_.size()); }
  int vocab_size() const override { return vocab_size_; }

  const ArchOptions& options() const { return opts_; }
  bool tied() const { return !lm_head_.has_value(); }
  // The quantizable layers by their HF module path ("model.embed_tokens", "model.layers.0.self_attn.q_proj", "lm_head").
  std::vector<std::pair<std::string, Linear*>> linears();
  std::vector<std::pair<std::string, const Linear*>> linears() const;
  // Every parameter under its HF name, as mlx-lm would save it.
  WeightMap export_weights() const;
  std::vector<mx::array> arrays() const;
  // Dtype of the activations (the embedding's output dtype).
  mx::Dtype compute_dtype() const;
  // Drops every weight (dispose); the model must not be used afterwards.
  void release();

 private:
  template <typename Self, typename L>
  static std::vector<std::pair<std::string, L*>> linears_of(Self& self);

  ArchOptions opts_;
  int vocab_size_;
  Linear embed_;
  std::vector<Block> layers_;
  std::optional<RMSNorm> norm_;
  std::optional<Linear> lm_head_;
};

// Fills in the keys the TypeScript side left to the architecture (head_dim, rope_theta, tie, biases).
ModelConfig resolve_config(const ModelConfig& cfg, const std::string& source);
// Builds the model for cfg.model_type; E_UNSUPPORTED_ARCH lists what is supported.
std::shared_ptr<DecoderModel> build_model(const ModelConfig& cfg, const WeightStore& w);
const std::vector<std::string>& supported_model_types();

// Defined in models/<arch>.cpp.
ArchOptions llama_options(const ModelConfig& cfg);
ArchOptions qwen2_options(const ModelConfig& cfg);
ArchOptions qwen3_options(const ModelConfig& cfg);

}  // namespace mlxts
