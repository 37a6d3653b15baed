// Quantization and MLX's fused "fast" kernels (rms_norm, layer_norm, rope, scaled dot-product attention).
#include "common.h"

namespace mlxts::mxb {

namespace {

bool absent(const Napi::Value& v) { return v.IsUndefined() || v.IsNull(); }
std::optional<int> opt_int(const Napi::Value& v, const char* what) { return absent(v) ? std::nullopt : std::optional<int>(to_int(v, what)); }

}  // namespace

void register_nn(Napi::Env env, Napi::Object exports) {
  // quantize(w, groupSize, bits, mode) -> [wq, scales, biases?]
  def(env, exports, "quantize", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap_all(info.Env(), mx::quantize(unwrap(info[0], "w"), opt_int(info[1], "groupSize"), opt_int(info[2], "bits"), to_string(info[3], "mode")));
  });
  // dequantize(wq, scales, biases|null, groupSize, bits, mode, dtype|null)
  def(env, exports, "dequantize", [](const Napi::CallbackInfo& info) -> Napi::Value {
    std::optional<mx::Dtype> dtype = absent(info[6]) ? std::nullopt : std::optional<mx::Dtype>(to_dtype(info[6]));
    return wrap(info.Env(), mx::dequantize(unwrap(info[0], "w"), unwrap(info[1], "scales"), unwrap_optional(info[2], "biases"), opt_int(info[3], "groupSize"),
                                           opt_int(info[4], "bits"), to_string(info[5], "mode"), std::nullopt, dtype));
  });
  // quantizedMatmul(x, wq, scales, biases|null, transpose, groupSize, bits, mode)
  def(env, exports, "quantizedMatmul", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::quantized_matmul(unwrap(info[0], "x"), unwrap(info[1], "w"), unwrap(info[2], "scales"), unwrap_optional(info[3], "biases"),
                                                 info[4].ToBoolean().Value(), opt_int(info[5], "groupSize"), opt_int(info[6], "bits"),
                                                 to_string(info[7], "mode")));
  });
  def(env, exports, "rmsNorm", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::fast::rms_norm(unwrap(info[0], "x"), unwrap_optional(info[1], "weight"), static_cast<float>(to_double(info[2], "eps"))));
  });
  def(env, exports, "layerNorm", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::fast::layer_norm(unwrap(info[0], "x"), unwrap_optional(info[1], "weight"), unwrap_optional(info[2], "bias"),
                                                 static_cast<float>(to_double(info[3], "eps"))));
  });
  // rope(x, dims, traditional, base|null, scale, offset: number | array, freqs|null)
  def(env, exports, "rope", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const mx::array& x = unwrap(info[0], "x");
    int dims = to_int(info[1], "dims");
    bool traditional = info[2].ToBoolean().Value();
    std::optional<float> base = absent(info[3]) ? std::nullopt : std::optional<float>(static_cast<float>(to_double(info[3], "base")));
    float scale = static_cast<float>(to_double(info[4], "scale"));
    auto freqs = unwrap_optional(info[6], "freqs");
    if (info[5].IsNumber()) return wrap(info.Env(), mx::fast::rope(x, dims, traditional, base, scale, to_int(info[5], "offset"), freqs));
    return wrap(info.Env(), mx::fast::rope(x, dims, traditional, base, scale, unwrap(info[5], "offset"), freqs));
  });
  // sdpa(q, k, v, scale, maskMode: "" | "causal", mask|null, sinks|null)
  def(env, exports, "scaledDotProductAttention", [](const Napi::CallbackInfo& info) -> Napi::Value {
    std::string mode = absent(info[4]) ? "" : to_string(info[4], "mask mode");
    auto mask = unwrap_optional(info[5], "mask");
    if (mask) mode = "array";
    return wrap(info.Env(), mx::fast::scaled_dot_product_attention(unwrap(info[0], "queries"), unwrap(info[1], "keys"), unwrap(info[2], "values"),
                                                                   static_cast<float>(to_double(info[3], "scale")), mode, mask,
                                                                   unwrap_optional(info[6], "sinks")));
  });
}

}  // namespace mlxts::mxb
