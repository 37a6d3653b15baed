#include "napi_values.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <vector>

namespace mlxts {

Napi::Error to_js_error(Napi::Env env, const std::string& code, const std::string& message) {
  auto err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

double number_arg(const Napi::Env& env, const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw to_js_error(env, "E_BAD_ARGUMENT", std::string(what) + " must be a number.");
  return v.As<Napi::Number>().DoubleValue();
}

std::string string_arg(const Napi::Env& env, const Napi::Value& v, const char* what) {
  if (!v.IsString()) throw to_js_error(env, "E_BAD_ARGUMENT", std::string(what) + " must be a string.");
  return v.As<Napi::String>().Utf8Value();
}

namespace {

[[noreturn]] void bad_config(Napi::Env env, const std::string& key, const char* want) {
  throw to_js_error(env, "E_BAD_ARGUMENT", "loadModel: config." + key + " must be " + want + ".");
}

Napi::Value field(const Napi::Object& o, const char* key) {
  auto v = o.Get(key);
  return v.IsNull() ? o.Env().Undefined() : v;
}

int int_field(Napi::Env env, const Napi::Object& o, const char* key, std::optional<int> fallback = std::nullopt) {
  auto v = field(o, key);
  if (v.IsUndefined() && fallback) return *fallback;
  if (!v.IsNumber()) bad_config(env, key, "a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (d != std::floor(d) || d < 0 || d > 2147483647.0) bad_config(env, key, "a non-negative integer");
  return static_cast<int>(d);
}

std::optional<int> opt_int(Napi::Env env, const Napi::Object& o, const char* key) {
  if (field(o, key).IsUndefined()) return std::nullopt;
  return int_field(env, o, key);
}

std::optional<double> opt_number(Napi::Env env, const Napi::Object& o, const char* key) {
  auto v = field(o, key);
  if (v.IsUndefined()) return std::nullopt;
  if (!v.IsNumber()) bad_config(env, key, "a number");
  return v.As<Napi::Number>().DoubleValue();
}

std::optional<bool> opt_bool(Napi::Env env, const Napi::Object& o, const char* key) {
  auto v = field(o, key);
  if (v.IsUndefined()) return std::nullopt;
  if (!v.IsBoolean()) bad_config(env, key, "true or false");
  return v.As<Napi::Boolean>().Value();
}

QuantSpec quant_from_js(Napi::Env env, const Napi::Value& v, const std::string& what) {
  if (!v.IsObject()) bad_config(env, what, "an object {bits, groupSize, mode}");
  auto o = v.As<Napi::Object>();
  QuantSpec q;
  q.bits = int_field(env, o, "bits");
  q.group_size = int_field(env, o, "groupSize");
  auto mode = field(o, "mode");
  q.mode = mode.IsString() ? mode.As<Napi::String>().Utf8Value() : "affine";
  return q;
}

}  // namespace

ModelConfig config_from_js(Napi::Env env, const Napi::Value& v) {
  if (!v.IsObject()) throw to_js_error(env, "E_BAD_ARGUMENT", "loadModel: config must be a NativeModelConfig object (kernel/engine/model-config.ts makes one).");
  auto o = v.As<Napi::Object>();
  ModelConfig c;
  c.model_type = string_arg(env, o.Get("modelType"), "loadModel: config.modelType");
  c.hidden_size = int_field(env, o, "hiddenSize");
  c.num_hidden_layers = int_field(env, o, "numHiddenLayers");
  c.intermediate_size = int_field(env, o, "intermediateSize");
  c.num_attention_heads = int_field(env, o, "numAttentionHeads");
  c.num_key_value_heads = int_field(env, o, "numKeyValueHeads", c.num_attention_heads);
  c.head_dim = opt_int(env, o, "headDim");
  c.vocab_size = int_field(env, o, "vocabSize");
  c.max_position_embeddings = int_field(env, o, "maxPositionEmbeddings", 0);
  c.rms_norm_eps = static_cast<float>(opt_number(env, o, "rmsNormEps").value_or(1e-6));
  c.tie_word_embeddings = opt_bool(env, o, "tieWordEmbeddings");
  c.attention_bias = opt_bool(env, o, "attentionBias");
  c.mlp_bias = opt_bool(env, o, "mlpBias");
  if (auto t = opt_number(env, o, "ropeTheta")) c.rope.theta = static_cast<float>(*t);
  c.rope.traditional = opt_bool(env, o, "ropeTraditional").value_or(false);
  auto rs = field(o, "ropeScaling");
  if (!rs.IsUndefined()) {
    if (!rs.IsObject()) bad_config(env, "ropeScaling", "an object or null");
    auto r = rs.As<Napi::Object>();
    c.rope.type = string_arg(env, r.Get("type"), "loadModel: config.ropeScaling.type");
    c.rope.factor = static_cast<float>(opt_number(env, r, "factor").value_or(1.0));
    c.rope.low_freq_factor = static_cast<float>(opt_number(env, r, "lowFreqFactor").value_or(1.0));
    c.rope.high_freq_factor = static_cast<float>(opt_number(env, r, "highFreqFactor").value_or(4.0));
    c.rope.original_max_position_embeddings = int_field(env, r, "originalMaxPositionEmbeddings", 8192);
  }
  auto q = field(o, "quantization");
  if (!q.IsUndefined()) c.quantization = quant_from_js(env, q, "quantization");
  auto mods = field(o, "quantizationModules");
  if (!mods.IsUndefined()) {
    if (!mods.IsObject()) bad_config(env, "quantizationModules", "an object");
    auto m = mods.As<Napi::Object>();
    auto keys = m.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); ++i) {
      const auto k = keys.Get(i).As<Napi::String>().Utf8Value();
      auto e = m.Get(k);
      if (e.IsBoolean() && !e.As<Napi::Boolean>().Value()) c.quant_modules[k] = std::nullopt;
      else c.quant_modules[k] = quant_from_js(env, e, "quantizationModules." + k);
    }
  }
  c.num_experts = int_field(env, o, "numExperts", 0);
  c.num_experts_per_tok = int_field(env, o, "numExpertsPerTok", 0);
  c.moe_intermediate_size = int_field(env, o, "moeIntermediateSize", 0);
  c.norm_topk_prob = opt_bool(env, o, "normTopkProb");
  c.decoder_sparse_step = int_field(env, o, "decoderSparseStep", 1);
  c.shared_expert_intermediate_size = int_field(env, o, "sharedExpertIntermediateSize", 0);
  auto mlp_only = field(o, "mlpOnlyLayers");
  if (!mlp_only.IsUndefined()) {
    if (!mlp_only.IsArray()) bad_config(env, "mlpOnlyLayers", "an array of layer indices");
    auto a = mlp_only.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) {
      auto x = a.Get(i);
      if (!x.IsNumber()) bad_config(env, "mlpOnlyLayers", "an array of layer indices");
      c.mlp_only_layers.push_back(x.As<Napi::Number>().Int32Value());
    }
  }
  return c;
}

Napi::Object quant_spec_to_js(Napi::Env env, const QuantSpec& q) {
  auto o = Napi::Object::New(env);
  o.Set("group_size", q.group_size);
  o.Set("bits", q.bits);
  o.Set("mode", q.mode);
  return o;
}

Napi::Object quant_layout_to_js(Napi::Env env, const QuantLayout& q) {
  auto o = q.common ? quant_spec_to_js(env, *q.common) : Napi::Object::New(env);
  for (const auto& [name, spec] : q.modules) {
    if (spec) o.Set(name, quant_spec_to_js(env, *spec));
    else o.Set(name, Napi::Boolean::New(env, false));
  }
  return o;
}

void write_json_file(Napi::Env env, const std::string& path, const Napi::Object& value, bool sort_keys) {
  Napi::Object v = value;
  if (sort_keys) {
    auto keys = value.GetPropertyNames();
    std::vector<std::string> names;
    for (uint32_t i = 0; i < keys.Length(); ++i) names.push_back(keys.Get(i).As<Napi::String>().Utf8Value());
    std::sort(names.begin(), names.end());
    v = Napi::Object::New(env);
    for (const auto& n : names) v.Set(n, value.Get(n));
  }
  auto json = env.Global().Get("JSON").As<Napi::Object>();
  auto text = json.Get("stringify").As<Napi::Function>().Call(json, {v, env.Null(), Napi::Number::New(env, 4)});
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f || !(f << text.As<Napi::String>().Utf8Value()))
    throw to_js_error(env, "E_BAD_ARGUMENT", "cannot write " + path + ". Check that the directory is writable and the disk is not full.");
}

}  // namespace mlxts
