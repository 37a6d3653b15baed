// Building blocks shared by every architecture, written to match mlx.nn / mlx-lm op for op so logits agree.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config.h"
#include "model.h"
#include "weights.h"

namespace mlxts {

// nn.Linear / nn.QuantizedLinear (and nn.Embedding / QuantizedEmbedding via embed()).
struct Linear {
  mx::array weight;
  std::optional<mx::array> bias;
  std::optional<mx::array> scales;
  std::optional<mx::array> qbiases;
  std::optional<QuantSpec> quant;
  int in_dims = 0;
  int out_dims = 0;

  mx::array operator()(const mx::array& x) const;
  // Row gather, for embeddings: [..] int32 -> [.., in_dims].
  mx::array embed(const mx::array& ids) const;
  // The weight as a float matrix [out, in] in `dtype`.
  mx::array dense_weight(mx::Dtype dtype) const;
  bool quantized() const { return quant.has_value(); }
  // Tensors in the layout mlx-lm saves: weight, scales, biases, bias.
  void export_to(WeightMap& out, const std::string& prefix) const;
  std::vector<mx::array> arrays() const;
};

struct RMSNorm {
  mx::array weight;
  float eps;
  mx::array operator()(const mx::array& x) const { return mx::fast::rms_norm(x, weight, eps); }
};

// Reads "<prefix>.weight" (+ scales/biases when quantized, + bias when has_bias) and checks shapes.
// The quantization of a layer is inferred from its tensor shapes, as mlx-lm's infer_quant_config does;
// the config only decides the mode where the shapes alone cannot.
Linear load_linear(const WeightStore& w, const ModelConfig& cfg, const std::string& prefix, int in_dims, int out_dims, bool has_bias);
RMSNorm load_norm(const WeightStore& w, const std::string& name, int dims, float eps);

struct Rope {
  int dims = 0;
  bool traditional = false;
  std::optional<float> base;
  float scale = 1.0f;
  std::optional<mx::array> freqs;
  mx::array operator()(const mx::array& x, int offset) const {
    return mx::fast::rope(x, dims, traditional, base, scale, offset, freqs);
  }
};
Rope make_rope(const RopeConfig& rc, int dims);

struct AttentionOptions {
  bool qkv_bias = false;
  bool o_bias = false;
  bool qk_norm = false;
};

struct Attention {
  Linear q_proj, k_proj, v_proj, o_proj;
  std::optional<RMSNorm> q_norm, k_norm;
  int n_heads = 0, n_kv_heads = 0, head_dim = 0;
  float scale = 1.0f;
  Rope rope;
  mx::array operator()(const mx::array& x, KVCache& cache) const;
};

struct MLP {
  Linear gate_proj, up_proj, down_proj;
  mx::array operator()(const mx::array& x) const;
};

struct Block {
  Attention self_attn;
  MLP mlp;
  RMSNorm input_layernorm, post_attention_layernorm;
  mx::array operator()(const mx::array& x, KVCache& cache) const;
};

}  // namespace mlxts
