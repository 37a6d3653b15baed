#include "models/layers.h"

#include <cmath>

#include "errors.h"

namespace mlxts {

mx::array Linear::operator()(const mx::array& x) const {
  if (quant) {
    auto y = mx::quantized_matmul(x, weight, *scales, qbiases, true, quant->group_size, quant->bits, quant->mode);
    return bias ? mx::add(y, *bias) : y;
  }
  // nn.Linear: addmm(bias, x, w.T) or x @ w.T
  if (bias) return mx::addmm(*bias, x, mx::transpose(weight));
  return mx::matmul(x, mx::transpose(weight));
}

mx::array Linear::embed(const mx::array& ids) const {
  if (!quant) return mx::take(weight, ids, 0);
  std::optional<mx::array> b;
  if (qbiases) b = mx::take(*qbiases, ids, 0);
  return mx::dequantize(mx::take(weight, ids, 0), mx::take(*scales, ids, 0), b, quant->group_size, quant->bits, quant->mode);
}

mx::array Linear::dense_weight(mx::Dtype dtype) const {
  if (!quant) return mx::astype(weight, dtype);
  return mx::astype(mx::dequantize(weight, *scales, qbiases, quant->group_size, quant->bits, quant->mode, std::nullopt, dtype), dtype);
}

void Linear::export_to(WeightMap& out, const std::string& prefix) const {
  out.insert_or_assign(prefix + ".weight", weight);
  if (scales) out.insert_or_assign(prefix + ".scales", *scales);
  if (qbiases) out.insert_or_assign(prefix + ".biases", *qbiases);
  if (bias) out.insert_or_assign(prefix + ".bias", *bias);
}

std::vector<mx::array> Linear::arrays() const {
  std::vector<mx::array> a{weight};
  if (scales) a.push_back(*scales);
  if (qbiases) a.push_back(*qbiases);
  if (bias) a.push_back(*bias);
  return a;
}

Linear load_linear(const WeightStore& w, const ModelConfig& cfg, const std::string& prefix, int in_dims, int out_dims, bool has_bias) {
  const std::string wname = prefix + ".weight";
  Linear l{w.get(wname)};
  l.in_dims = in_dims;
  l.out_dims = out_dims;
  if (auto scales = w.maybe(prefix + ".scales")) {
    const auto& ws = l.weight.shape();
    const auto& ss = scales->shape();
    if (ws.size() != 2 || ss.size() != 2 || ws[0] != out_dims || ss[0] != out_dims || ss[1] == 0 || in_dims % ss[1] != 0 ||
        (static_cast<int64_t>(ws[1]) * 32) % in_dims != 0)
      fail("E_CORRUPT_WEIGHTS", w.source() + ": quantized tensor \"" + wname + "\" " + shape_str(ws) + " with scales " + shape_str(ss) +
                                    " does not fit a [" + std::to_string(out_dims) + ", " + std::to_string(in_dims) +
                                    "] layer. The weights do not match config.json; re-convert the model.");
    QuantSpec q;
    q.group_size = in_dims / ss[1];
    q.bits = static_cast<int>((static_cast<int64_t>(ws[1]) * 32) / in_dims);
    if (scales->dtype() == mx::uint8) {
      q.mode = q.bits == 8 ? "mxfp8" : "mxfp4";
    } else {
      q.mode = "affine";
    }
    if (auto it = cfg.quant_modules.find(prefix); it != cfg.quant_modules.end() && it->second) q.mode = it->second->mode;
    l.scales = *scales;
    if (q.mode == "affine") l.qbiases = w.get(prefix + ".biases", ss);
    l.quant = q;
  } else {
    l.weight = w.get(wname, mx::Shape{out_dims, in_dims});
  }
  if (has_bias) l.bias = w.get(prefix + ".bias", mx::Shape{out_dims});
  return l;
}

RMSNorm load_norm(const WeightStore& w, const std::string& name, int dims, float eps) {
  return RMSNorm{w.get(name, mx::Shape{dims}), eps};
}

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

mx::array Attention::operator()(const mx::array& x, KVCache& cache) const {
  const int B = x.shape(0);
  const int L = x.shape(1);
  auto q = mx::reshape(q_proj(x), {B, L, n_heads, -1});
  auto k = mx::reshape(k_proj(x), {B, L, n_kv_heads, -1});
  auto v = mx::reshape(v_proj(x), {B, L, n_kv_heads, -1});
  if (q_norm) q = (*q_norm)(q);
  if (k_norm) k = (*k_norm)(k);
  q = mx::transpose(q, {0, 2, 1, 3});
  k = mx::transpose(k, {0, 2, 1, 3});
  v = mx::transpose(v, {0, 2, 1, 3});
  const int offset = cache.offset();
  q = rope(q, offset);
  k = rope(k, offset);
  auto [keys, values] = cache.update_and_fetch(k, v);
  // mlx-lm's create_attention_mask: "causal" for a multi-token step, none for a single token.
  auto out = mx::fast::scaled_dot_product_attention(q, keys, values, scale, L > 1 ? "causal" : "");
  out = mx::reshape(mx::transpose(out, {0, 2, 1, 3}), {B, L, -1});
  return o_proj(out);
}

mx::array MLP::operator()(const mx::array& x) const {
  auto g = gate_proj(x);
  // activations.swiglu: silu(gate) * up
  return down_proj(mx::multiply(mx::multiply(g, mx::sigmoid(g)), up_proj(x)));
}

mx::array Block::operator()(const mx::array& x, KVCache& cache) const {
  auto h = mx::add(x, self_attn(input_layernorm(x), cache));
  return mx::add(h, mlp(post_attention_layernorm(h)));
}

}  // namespace mlxts
