#include "model.h"

namespace mlxts {

mx::Dtype Model::compute_dtype() const {
  std::optional<mx::Dtype> norm;
  for (const auto& [name, t] : params_.tensors)
    if (name == "model.norm.weight") norm = t->dtype();
  for (const auto& [name, l] : params_.linears) {
    if (name != "model.embed_tokens") continue;
    if (!l->quant) return l->weight.dtype();
    // mxfp scales are uint8: the activations then take the dtype of the unquantized weights.
    return l->scales->dtype() == mx::uint8 ? norm.value_or(mx::float32) : l->scales->dtype();
  }
  return norm.value_or(mx::float32);
}

}  // namespace mlxts
