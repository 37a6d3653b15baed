#include "nn/switch_glu.h"

#include "nn/activations.h"

namespace mlxts {

mx::array SwitchGLU::operator()(const mx::array& x_in, const mx::array& indices) const {
  auto x = mx::expand_dims(x_in, {-2, -3});
  // Many tokens: sort them by expert so each expert's rows are read once (_gather_sort / _scatter_unsort).
  const bool do_sort = indices.size() >= 64;
  auto idx = indices;
  std::optional<mx::array> inv_order;
  if (do_sort) {
    const int M = indices.shape(-1);
    auto flat = mx::flatten(indices);
    auto order = mx::argsort(flat);
    inv_order = mx::argsort(order);
    x = mx::take(mx::flatten(x, 0, -3), mx::floor_divide(order, mx::array(M, order.dtype())), 0);
    idx = mx::take(flat, order, 0);
  }
  auto x_up = up_proj.gather(x, idx, do_sort);
  auto x_gate = gate_proj.gather(x, idx, do_sort);
  auto y = down_proj.gather(swiglu(x_gate, x_up), idx, do_sort);
  if (do_sort) y = mx::unflatten(mx::take(y, *inv_order, 0), 0, indices.shape());
  return mx::squeeze(y, -2);
}

}  // namespace mlxts
