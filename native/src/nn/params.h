// A model's parameters under the names mlx-lm saves them with, collected while the architecture loads
// its layers, so quantize/save/release/parameter counts need nothing from the architecture files.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config.h"
#include "nn/linear.h"
#include "nn/norm.h"
#include "weights.h"

namespace mlxts {

struct Params {
  // Quantizable layers by module path ("model.layers.0.self_attn.q_proj", "model.embed_tokens", "lm_head").
  std::vector<std::pair<std::string, std::shared_ptr<LinearWeights>>> linears;
  // Every other tensor (norm weights) by its full name.
  std::vector<std::pair<std::string, std::shared_ptr<mx::array>>> tensors;

  WeightMap export_weights() const;
  std::vector<mx::array> arrays() const;
  size_t num_parameters() const;
  // Replaces every array with an empty one so the buffers go back to MLX now (dispose).
  void release();
};

// Reads layers out of a checkpoint, checking each tensor's shape against the config, and records them.
class ModelLoader {
 public:
  ModelLoader(const WeightStore& w, const ModelConfig& cfg, Params& params) : w_(w), cfg_(cfg), params_(params) {}

  // "<name>.weight" [out, in] (+ scales/biases when quantized, + bias). The quantization is inferred
  // from the tensor shapes, as mlx-lm's infer_quant_config does; config.json only decides the mode
  // where shapes cannot.
  Linear linear(const std::string& name, int in_dims, int out_dims, bool bias = false);
  // nn.Embedding(vocab, dims): a [vocab, dims] table, quantized like a linear layer.
  Linear embedding(const std::string& name, int vocab, int dims) { return linear(name, dims, vocab); }
  // SwitchLinear: "<name>.weight" [experts, out, in].
  Linear switch_linear(const std::string& name, int experts, int in_dims, int out_dims, bool bias = false);
  RMSNorm rms_norm(const std::string& name, int dims, float eps);

  const WeightStore& store() const { return w_; }

 private:
  Linear load(const std::string& name, int experts, int in_dims, int out_dims, bool bias);

  const WeightStore& w_;
  const ModelConfig& cfg_;
  Params& params_;
};

}  // namespace mlxts
