#include "models/decoder.h"

#include <cmath>

#include "errors.h"

namespace mlxts {

namespace {

Block load_block(const WeightStore& w, const ModelConfig& c, const ArchOptions& o, int i) {
  const std::string p = "model.layers." + std::to_string(i) + ".";
  const int hd = *c.head_dim;
  const auto& ao = o.attention;
  Attention a{
      load_linear(w, c, p + "self_attn.q_proj", c.hidden_size, c.num_attention_heads * hd, ao.qkv_bias),
      load_linear(w, c, p + "self_attn.k_proj", c.hidden_size, c.num_key_value_heads * hd, ao.qkv_bias),
      load_linear(w, c, p + "self_attn.v_proj", c.hidden_size, c.num_key_value_heads * hd, ao.qkv_bias),
      load_linear(w, c, p + "self_attn.o_proj", c.num_attention_heads * hd, c.hidden_size, ao.o_bias),
  };
  if (ao.qk_norm) {
    a.q_norm = load_norm(w, p + "self_attn.q_norm.weight", hd, c.rms_norm_eps);
    a.k_norm = load_norm(w, p + "self_attn.k_norm.weight", hd, c.rms_norm_eps);
  }
  a.n_heads = c.num_attention_heads;
  a.n_kv_heads = c.num_key_value_heads;
  a.head_dim = hd;
  a.scale = 1.0f / std::sqrt(static_cast<float>(hd));
  a.rope = make_rope(c.rope, hd);
  MLP m{
      load_linear(w, c, p + "mlp.gate_proj", c.hidden_size, c.intermediate_size, o.mlp_bias),
      load_linear(w, c, p + "mlp.up_proj", c.hidden_size, c.intermediate_size, o.mlp_bias),
      load_linear(w, c, p + "mlp.down_proj", c.intermediate_size, c.hidden_size, o.mlp_bias),
  };
  return Block{std::move(a), std::move(m), load_norm(w, p + "input_layernorm.weight", c.hidden_size, c.rms_norm_eps),
               load_norm(w, p + "post_attention_layernorm.weight", c.hidden_size, c.rms_norm_eps)};
}

}  // namespace

DecoderModel::DecoderModel(const ModelConfig& cfg, ArchOptions opts, const WeightStore& w)
    : opts_(std::move(opts)),
      vocab_size_(cfg.vocab_size),
      embed_(load_linear(w, cfg, "model.embed_tokens", cfg.hidden_size, cfg.vocab_size, false)) {
  layers_.reserve(cfg.num_hidden_layers);
  for (int i = 0; i < cfg.num_hidden_layers; ++i) layers_.push_back(load_block(w, cfg, opts_, i));
  norm_ = load_norm(w, "model.norm.weight", cfg.hidden_size, cfg.rms_norm_eps);
  if (!*cfg.tie_word_embeddings) lm_head_ = load_linear(w, cfg, "lm_head", cfg.hidden_size, cfg.vocab_size, false);
}

mx::array DecoderModel::forward(const mx::array& tokens, Cache& cache) {
  auto h = embed_.embed(tokens);
  for (size_t i = 0; i < layers_.size(); ++i) h = layers_[i](h, cache[i]);
  h = (*norm_)(h);
  return lm_head_ ? (*lm_head_)(h) : embed_(h);
}

template <typename Self, typename L>
std::vector<std::pair<std::string, L*>> DecoderModel::linears_of(Self& self) {
  std::vector<std::pair<std::string, L*>> out;
  out.emplace_back("model.embed_tokens", &self.embed_);
  for (size_t i = 0; i < self.layers_.size(); ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    auto& b = self.layers_[i];
    out.emplace_back(p + "self_attn.q_proj", &b.self_attn.q_proj);
    out.emplace_back(p + "self_attn.k_proj", &b.self_attn.k_proj);
    out.emplace_back(p + "self_attn.v_proj", &b.self_attn.v_proj);
    out.emplace_back(p + "self_attn.o_proj", &b.self_attn.o_proj);
    out.emplace_back(p + "mlp.gate_proj", &b.mlp.gate_proj);
    out.emplace_back(p + "mlp.down_proj", &b.mlp.down_proj);
    out.emplace_back(p + "mlp.up_proj", &b.mlp.up_proj);
  }
  if (self.lm_head_) out.emplace_back("lm_head", &*self.lm_head_);
  return out;
}

std::vector<std::pair<std::string, Linear*>> DecoderModel::linears() { return linears_of<DecoderModel, Linear>(*this); }
std::vector<std::pair<std::string, const Linear*>> DecoderModel::linears() const {
  return linears_of<const DecoderModel, const Linear>(*this);
}

WeightMap DecoderModel::export_weights() const {
  WeightMap out;
  for (const auto& [name, l] : linears()) l->export_to(out, name);
  for (size_t i = 0; i < layers_.size(); ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    const auto& b = layers_[i];
    out.insert_or_assign(p + "input_layernorm.weight", b.input_layernorm.weight);
    out.insert_or_assign(p + "post_attention_layernorm.weight", b.post_attention_layernorm.weight);
    if (b.self_attn.q_norm) out.insert_or_assign(p + "self_attn.q_norm.weight", b.self_attn.q_norm->weight);
    if (b.self_attn.k_norm) out.insert_or_assign(p + "self_attn.k_norm.weight", b.self_attn.k_norm->weight);
  }
  if (norm_) out.insert_or_assign("model.norm.weight", norm_->weight);
  return out;
}

std::vector<mx::array> DecoderModel::arrays() const {
  std::vector<mx::array> out;
  for (auto& [k, v] : export_weights()) out.push_back(v);
  return out;
}

mx::Dtype DecoderModel::compute_dtype() const {
  if (embed_.quant) return embed_.scales->dtype() == mx::uint8 ? norm_->weight.dtype() : embed_.scales->dtype();
  return embed_.weight.dtype();
}

void DecoderModel::release() {
  // Replace every array with an empty one so the buffers go back to MLX now, not when JS collects us.
  auto empty = mx::array({}, mx::float32);
  for (auto& [name, l] : linears()) {
    l->weight = empty;
    l->scales.reset();
    l->qbiases.reset();
    l->bias.reset();
  }
  layers_.clear();
  norm_.reset();
}

ModelConfig resolve_config(const ModelConfig& in, const std::string& source) {
  ModelConfig c = in;
  const auto& t = c.model_type;
  // mlx-lm's qwen2 always derives head_dim and ignores the key; qwen3 has no default.
  if (t == "qwen2") c.head_dim = c.hidden_size / c.num_attention_heads;
  if (t == "qwen3" && !c.head_dim)
    fail("E_BAD_CONFIG", source + ": qwen3 config.json needs \"head_dim\" (Qwen3 does not derive it from hidden_size). Add it from the model card.");
  if (!c.head_dim) c.head_dim = c.hidden_size / c.num_attention_heads;
  if (!c.rope.theta) c.rope.theta = t == "qwen2" ? 1000000.0f : 10000.0f;
  if (!c.tie_word_embeddings) c.tie_word_embeddings = true;
  if (!c.attention_bias) c.attention_bias = false;
  if (!c.mlp_bias) c.mlp_bias = false;
  if (*c.head_dim <= 0) fail("E_BAD_CONFIG", source + ": head_dim must be positive.");
  return c;
}

const std::vector<std::string>& supported_model_types() {
  static const std::vector<std::string> types{"llama", "mistral", "smollm", "smollm2", "qwen2", "qwen3"};
  return types;
}

std::shared_ptr<DecoderModel> build_model(const ModelConfig& cfg, const WeightStore& w) {
  ArchOptions o;
  const auto& t = cfg.model_type;
  if (t == "llama" || t == "mistral" || t == "smollm" || t == "smollm2") {
    o = llama_options(cfg);
  } else if (t == "qwen2") {
    o = qwen2_options(cfg);
  } else if (t == "qwen3") {
    o = qwen3_options(cfg);
  } else {
    std::string list;
    for (const auto& s : supported_model_types()) list += (list.empty() ? "" : ", ") + s;
    fail("E_UNSUPPORTED_ARCH", w.source() + ": model_type \"" + t + "\" is not implemented. Supported: " + list + ".");
  }
  return std::make_shared<DecoderModel>(cfg, std::move(o), w);
}

}  // namespace mlxts
