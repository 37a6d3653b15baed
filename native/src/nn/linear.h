// nn.Linear / nn.QuantizedLinear, nn.Embedding / QuantizedEmbedding, and mlx-lm's SwitchLinear /
// QuantizedSwitchLinear (switch_layers.py): one weight type, because quantize() and save() treat them
// alike. A Linear is a handle: copies share the weights, so quantizing through the model's parameter
// list changes the layer the forward pass calls.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <mlx/mlx.h>

#include "config.h"
#include "weights.h"

namespace mlxts {
namespace mx = mlx::core;

// A LoRA adapter on a linear layer (mlx-lm tuner/lora.py LoRALinear): y + scale * ((x @ a) @ b), with
// a [in, r] and b [r, out]. Set and cleared by src/train/ (training, or an adapter loaded from a file).
struct LoraWeights {
  mx::array a;
  mx::array b;
  float scale = 1.0f;
};

struct LinearWeights {
  // [out, in], or [experts, out, in] for a switch layer; packed uint32 when quantized.
  mx::array weight;
  std::optional<mx::array> bias;  // [out] / [experts, out]
  std::optional<mx::array> scales;
  std::optional<mx::array> biases;  // affine quantization's biases
  std::optional<QuantSpec> quant;
  int in_dims = 0;
  int out_dims = 0;
  int experts = 0;  // 0: an ordinary layer
  std::shared_ptr<LoraWeights> lora;  // not saved with the base weights
  // dist (src/dist/shard_plan.cpp): a row-split shard of a tensor-parallel model; its partial product is
  // summed over the group before the bias is added (mlx.nn's ShardedToAllLinear).
  std::optional<mx::distributed::Group> all_sum_group;

  // The weight as floats ([out, in] or [experts, out, in]) in `dtype`.
  mx::array dense_weight(mx::Dtype dtype) const;
  // Tensors in the layout mlx-lm saves: weight, scales, biases, bias.
  void export_to(WeightMap& out, const std::string& prefix) const;
  std::vector<mx::array> arrays() const;
  // Parameters as mlx-lm's get_total_parameters counts them (quantized layers at their unpacked size).
  size_t num_parameters() const;
};

class Linear {
 public:
  Linear() = default;
  explicit Linear(std::shared_ptr<LinearWeights> w) : w_(std::move(w)) {}

  // x @ W.T (+ bias): nn.Linear, nn.QuantizedLinear, and Embedding.as_linear for a tied head.
  mx::array operator()(const mx::array& x) const;
  // Row gather: nn.Embedding; ids [..] int32 -> [.., in_dims].
  mx::array embed(const mx::array& ids) const;
  // SwitchLinear: x [..., 1, in] times the experts `indices` [..., k] picks, with gather_mm / gather_qmm.
  mx::array gather(const mx::array& x, const mx::array& indices, bool sorted_indices) const;

  LinearWeights& weights() const { return *w_; }
  const std::shared_ptr<LinearWeights>& shared() const { return w_; }

 private:
  mx::array base(const mx::array& x) const;
  mx::array with_bias(const mx::array& y, const mx::array& indices) const;
  std::shared_ptr<LinearWeights> w_;
};

}  // namespace mlxts
