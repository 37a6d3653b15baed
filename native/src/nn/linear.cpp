#include "nn/linear.h"

namespace mlxts {

mx::array LinearWeights::dense_weight(mx::Dtype dtype) const {
  if (!quant) return mx::astype(weight, dtype);
  return mx::astype(mx::dequantize(weight, *scales, biases, quant->group_size, quant->bits, quant->mode, std::nullopt, dtype), dtype);
}

void LinearWeights::export_to(WeightMap& out, const std::string& prefix) const {
  out.insert_or_assign(prefix + ".weight", weight);
  if (scales) out.insert_or_assign(prefix + ".scales", *scales);
  if (biases) out.insert_or_assign(prefix + ".biases", *biases);
  if (bias) out.insert_or_assign(prefix + ".bias", *bias);
}

std::vector<mx::array> LinearWeights::arrays() const {
  std::vector<mx::array> a{weight};
  if (scales) a.push_back(*scales);
  if (biases) a.push_back(*biases);
  if (bias) a.push_back(*bias);
  return a;
}

size_t LinearWeights::num_parameters() const {
  return static_cast<size_t>(std::max(1, experts)) * out_dims * in_dims + (bias ? bias->size() : 0);
}

mx::array Linear::operator()(const mx::array& x) const {
  const auto& w = *w_;
  if (!w.lora) return base(x);
  // LoRALinear.__call__: y + (scale * ((x @ a) @ b)).astype(x.dtype)
  auto z = mx::matmul(mx::matmul(x, w.lora->a), w.lora->b);
  return mx::add(base(x), mx::astype(mx::multiply(mx::array(w.lora->scale), z), x.dtype()));
}

mx::array Linear::base(const mx::array& x) const {
  const auto& w = *w_;
  if (w.all_sum_group) {  // dist: a row-split shard
    // As mlx.nn's ShardedToAllLinear: the partial product in x's dtype, summed over the ranks.
    auto y = w.quant ? mx::quantized_matmul(x, w.weight, *w.scales, w.biases, true, w.quant->group_size, w.quant->bits, w.quant->mode)
                     : mx::matmul(x, mx::transpose(w.weight));
    y = mx::distributed::all_sum(y, *w.all_sum_group);
    return w.bias ? mx::add(y, *w.bias) : y;
  }
  if (w.quant) {
    auto y = mx::quantized_matmul(x, w.weight, *w.scales, w.biases, true, w.quant->group_size, w.quant->bits, w.quant->mode);
    return w.bias ? mx::add(y, *w.bias) : y;
  }
  // nn.Linear: addmm(bias, x, w.T) or x @ w.T
  if (w.bias) return mx::addmm(*w.bias, x, mx::transpose(w.weight));
  return mx::matmul(x, mx::transpose(w.weight));
}

mx::array Linear::embed(const mx::array& ids) const {
  const auto& w = *w_;
  if (!w.quant) return mx::take(w.weight, ids, 0);
  std::optional<mx::array> b;
  if (w.biases) b = mx::take(*w.biases, ids, 0);
  return mx::dequantize(mx::take(w.weight, ids, 0), mx::take(*w.scales, ids, 0), b, w.quant->group_size, w.quant->bits, w.quant->mode);
}

mx::array Linear::gather(const mx::array& x, const mx::array& indices, bool sorted_indices) const {
  const auto& w = *w_;
  if (w.lora) {
    // LoRASwitchLinear.__call__ (train/lora.cpp sets it): y + scale * gather_mm(gather_mm(x, a.T), b.T),
    // a [E, r, in], b [E, out, r], x promoted to the adapter's float32 as gather_mm promotes
    LinearWeights frozen = w;
    frozen.lora.reset();
    auto y = Linear(std::make_shared<LinearWeights>(std::move(frozen))).gather(x, indices, sorted_indices);
    auto xl = mx::astype(x, mx::promote_types(x.dtype(), w.lora->a.dtype()));
    auto z = mx::gather_mm(xl, mx::swapaxes(w.lora->a, -1, -2), std::nullopt, indices, sorted_indices);
    z = mx::gather_mm(z, mx::swapaxes(w.lora->b, -1, -2), std::nullopt, indices, sorted_indices);
    return mx::add(y, mx::astype(mx::multiply(mx::array(w.lora->scale), z), x.dtype()));
  }
  if (w.quant)
    return with_bias(mx::gather_qmm(x, w.weight, *w.scales, w.biases, std::nullopt, indices, true, w.quant->group_size, w.quant->bits,
                                    w.quant->mode, std::nullopt, sorted_indices),
                     indices);
  // MLX's CPU GatherMM computes only in float32 (it throws otherwise): there, a half-precision model's
  // experts run in float32 and the result goes back to the model's dtype.
  if (x.dtype() != mx::float32 && mx::default_device() == mx::Device::cpu) {
    auto y = mx::gather_mm(mx::astype(x, mx::float32), mx::astype(mx::swapaxes(w.weight, -1, -2), mx::float32), std::nullopt, indices, sorted_indices);
    return with_bias(mx::astype(y, x.dtype()), indices);
  }
  return with_bias(mx::gather_mm(x, mx::swapaxes(w.weight, -1, -2), std::nullopt, indices, sorted_indices), indices);
}

mx::array Linear::with_bias(const mx::array& y, const mx::array& indices) const {
  const auto& w = *w_;
  return w.bias ? mx::add(y, mx::expand_dims(mx::take(*w.bias, indices, 0), -2)) : y;
}

}  // namespace mlxts
