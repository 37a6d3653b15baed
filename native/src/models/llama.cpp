// Llama, Mistral and SmolLM, as mlx_lm/models/llama.py: optional attention/MLP biases, tied or untied
// embeddings, rope default/linear/llama3.
#include <cmath>

#include "models/gguf_names.h"
#include "models/decoder_stack.h"
#include "models/registry.h"
#include "nn/activations.h"
#include "nn/attention.h"
#include "nn/rope.h"

namespace mlxts {

extern const Architecture llama_architecture;

namespace {

struct Attention {
  Linear q_proj, k_proj, v_proj, o_proj;
  int n_heads = 0, n_kv_heads = 0;
  float scale = 1.0f;
  Rope rope;

  static Attention load(ModelLoader& l, const ModelConfig& c, const std::string& p) {
    const int hd = *c.head_dim;
    const bool bias = *c.attention_bias;
    return Attention{l.linear(p + "q_proj", c.hidden_size, c.num_attention_heads * hd, bias),
                     l.linear(p + "k_proj", c.hidden_size, c.num_key_value_heads * hd, bias),
                     l.linear(p + "v_proj", c.hidden_size, c.num_key_value_heads * hd, bias),
                     l.linear(p + "o_proj", c.num_attention_heads * hd, c.hidden_size, bias),
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
    const bool bias = *c.mlp_bias;
    return MLP{l.linear(p + "gate_proj", c.hidden_size, c.intermediate_size, bias),
               l.linear(p + "down_proj", c.intermediate_size, c.hidden_size, bias),
               l.linear(p + "up_proj", c.hidden_size, c.intermediate_size, bias)};
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
  if (!c.head_dim) c.head_dim = c.hidden_size / c.num_attention_heads;
  if (!c.rope.theta) c.rope.theta = 10000.0f;
  if (!c.tie_word_embeddings) c.tie_word_embeddings = true;
  if (!c.attention_bias) c.attention_bias = false;
  if (!c.mlp_bias) c.mlp_bias = false;
  return c;
}

void sanitize(WeightMap& w, const ModelConfig& c) {
  // Precomputed rotary tables are unused; a tied head has no lm_head.
  std::erase_if(w, [&](const auto& kv) {
    return kv.first.find("self_attn.rotary_emb.inv_freq") != std::string::npos || (*c.tie_word_embeddings && kv.first.rfind("lm_head.", 0) == 0);
  });
}

// llama.cpp's convert_hf_to_gguf permutes q/k rows of llama models so rope can run on interleaved
// pairs; HF order (rotate halves, traditional=false) is rows (h, j, i) <- gguf rows (h, i, j).
// Quantization groups run along the input dimension, so gathering rows undoes it for packed
// weights, scales and biases alike.
mx::array unpermute_rows(const mx::array& a, int n_heads) {
  const int rows = a.shape(0);
  const int head_dim = rows / n_heads;
  auto idx = mx::reshape(mx::transpose(mx::reshape(mx::arange(rows, mx::int32), {n_heads, head_dim / 2, 2}), {0, 2, 1}), {rows});
  return mx::take(a, idx, 0);
}

void from_gguf(WeightMap& w, ModelConfig& c, const std::string& source) {
  rename_gguf_tensors(w, gguf_decoder_roles(), source);
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    for (const auto& [proj, nh] : {std::pair<std::string, int>{"q_proj", c.num_attention_heads}, {"k_proj", c.num_key_value_heads}}) {
      for (const char* sfx : {".weight", ".scales", ".biases", ".bias"}) {
        auto it = w.find("model.layers." + std::to_string(i) + ".self_attn." + proj + sfx);
        if (it != w.end()) it->second = unpermute_rows(it->second, nh);
      }
    }
  }
}

std::shared_ptr<Model> build(const ModelConfig& cfg, const WeightStore& w) { return std::make_shared<DecoderStack<TransformerBlock>>(llama_architecture, cfg, w); }

}  // namespace

const Architecture llama_architecture{"llama", "LlamaForCausalLM", {"llama", "mistral", "smollm", "smollm2"}, {"llama"}, resolve, sanitize, from_gguf, build};

}  // namespace mlxts
