#include "nn/rope.h"

#include <cmath>

namespace mlxts {

Rope make_rope(const RopeConfig& rc, int dims) {
  Rope r;
  r.dims = dims;
  r.traditional = rc.traditional;
  if (rc.type == "llama3") {
    // rope_utils.Llama3RoPE, step for step.
    const float factor = rc.factor;
    const float low_wavelen = rc.original_max_position_embeddings / rc.low_freq_factor;
    const float high_wavelen = rc.original_max_position_embeddings / rc.high_freq_factor;
    auto freqs = mx::power(mx::array(*rc.theta), mx::divide(mx::arange(0, dims, 2), mx::array(static_cast<float>(dims))));
    auto wavelens = mx::multiply(mx::array(static_cast<float>(2 * M_PI)), freqs);
    freqs = mx::where(mx::greater(wavelens, mx::array(low_wavelen)), mx::multiply(freqs, mx::array(factor)), freqs);
    auto is_medium = mx::logical_and(mx::greater(wavelens, mx::array(high_wavelen)), mx::less(wavelens, mx::array(low_wavelen)));
    auto smooth = mx::divide(mx::subtract(mx::divide(mx::array(static_cast<float>(rc.original_max_position_embeddings)), wavelens),
                                          mx::array(rc.low_freq_factor)),
                             mx::array(rc.high_freq_factor - rc.low_freq_factor));
    auto smooth_freqs = mx::divide(freqs, mx::add(mx::divide(mx::subtract(mx::array(1.0f), smooth), mx::array(factor)), smooth));
    r.freqs = mx::where(is_medium, smooth_freqs, freqs);
    mx::eval(*r.freqs);
    r.base = std::nullopt;
    r.scale = 1.0f;
  } else {
    r.base = *rc.theta;
    r.scale = rc.type == "linear" ? 1.0f / rc.factor : 1.0f;
  }
  return r;
}

}  // namespace mlxts
