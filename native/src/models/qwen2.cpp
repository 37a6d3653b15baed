// Qwen2 and Qwen2.5, as mlx_lm/models/qwen2.py: llama's shape with biases on q/k/v (not o), no MLP
// bias, and head_dim always hidden_size / heads.
#include <cmath>

#include "models/gguf_names.h"
#include "models/decoder_stack.h"
#include "models/registry.h"
#include "nn/activations.h"
#include "nn/attention.h"
#include "nn/rope.h"

namespace mlxts {

extern const Architecture qwen2_architecture;

namespace {

struct Attention {
  Linear q_proj, k_proj, v_proj, o_proj;
  int n_heads = 0, n_kv_heads = 0;
  float scale = 1.0f;
  Rope rope;

  static Attention load(ModelLoader& l, const ModelConfig& c, const std::string& p) {
    const int hd = *c.head_dim;
    return Attention{l.linear(p + "q_proj", c.hidden_size, c.num_attention_heads * hd, true),
                     l.linear(p + "k_proj", c.hidden_size, c.num_key_value_heads * hd, true),
                     l.linear(p + "v_proj", c.hidden_size, c.num_key_value_heads * hd, true),
                     l.linear(p + "o_proj", c.num_attention_heads * hd, c.hidden_size, false),
                     c.num_attention_heads,
                     c.num_key_value_heads,
                     1.0f / std::sqrt(static_cast<float>(hd)),
                     make_rope(c.rope, hd)};
  }

  mx::array operator()(const mx::array& x, KVCache& cache) const {
    const int B = x.shape(0), L = x.shape(1);
    auto q = mx::transpose(mx::reshape(q_proj(x), {B, L, n_heads, -1}), {0, 2, 1, 3});
    auto k = mx::transpose(mx::reshape(k_proj(x), {B, L, n_kv_heads, -1}), {0, 2, 1, 3});
    auto v = mx::transpose(mx::reshape(v_proj(x), {B, L, n_kv_heads, -1}), {0, 2, 1, 3});
    return o_proj(attend(q, k, v, rope, cache, scale));
  }
};

struct MLP {
  Linear gate_proj, down_proj, up_proj;

  static MLP load(ModelLoader& l, const ModelConfig& c, const std::string& p) {
    return MLP{l.linear(p + "gate_proj", c.hidden_size, c.intermediate_size),
               l.linear(p + "down_proj", c.intermediate_size, c.hidden_size),
               l.linear(p + "up_proj", c.hidden_size, c.intermediate_size)};
  }

  mx::array operator()(const mx::array& x) const { return down_proj(swiglu(gate_proj(x), up_proj(x))); }
};

struct TransformerBlock {
  Attention self_attn;
  MLP mlp;
  RMSNorm input_layernorm, post_attention_layernorm;

  static TransformerBlock load(ModelLoader& l, const ModelConfig& c, int i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    return TransformerBlock{Attention::load(l, c, p + "self_attn."), MLP::load(l, c, p + "mlp."),
                            l.rms_norm(p + "input_layernorm", c.hidden_size, c.rms_norm_eps),
                            l.rms_norm(p + "post_attention_layernorm", c.hidden_size, c.rms_norm_eps)};
  }

  mx::array operator()(const mx::array& x, KVCache& cache) const {
    auto h = mx::add(x, self_attn(input_layernorm(x), cache));
    return mx::add(h, mlp(post_attention_layernorm(h)));
  }
};

ModelConfig resolve(ModelConfig c, const std::string&, bool) {
  // mlx-lm's qwen2 derives head_dim and ignores the key.
  c.head_dim = c.hidden_size / c.num_attention_heads;
  if (!c.rope.theta) c.rope.theta = 1000000.0f;
  if (!c.tie_word_embeddings) c.tie_word_embeddings = true;
  c.attention_bias = true;
  c.mlp_bias = false;
  return c;
}

void sanitize(WeightMap& w, const ModelConfig& c) {
  // Precomputed rotary tables are unused; a tied head has no lm_head.
  std::erase_if(w, [&](const auto& kv) {
    return kv.first.find("self_attn.rotary_emb.inv_freq") != std::string::npos || (*c.tie_word_embeddings && kv.first.rfind("lm_head.", 0) == 0);
  });
}

void from_gguf(WeightMap& w, ModelConfig&, const std::string& source) { rename_gguf_tensors(w, gguf_decoder_roles(), source); }

std::shared_ptr<Model> build(const ModelConfig& cfg, const WeightStore& w) { return std::make_shared<DecoderStack<TransformerBlock>>(qwen2_architecture, cfg, w); }

}  // namespace

const Architecture qwen2_architecture{"qwen2", "Qwen2ForCausalLM", {"qwen2"}, {"qwen2"}, resolve, sanitize, from_gguf, build};

}  // namespace mlxts
